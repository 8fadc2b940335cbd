"""ISO 10161's terms, in one place: the protocol versions (:mod:`.versions`).

Pure: no I/O, no asyncio, and nothing but :mod:`isoill.codec` beneath it. Nothing is imported
here, so that each command imports only the modules it uses.
"""
