"""ISO 18626 wire layer: XML messages read, validated and written, with no I/O.

The two schemas the project speaks (v1.2 and 2021-2) are package data in ``schemas/``.
"""
