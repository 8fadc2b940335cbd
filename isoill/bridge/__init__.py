"""The bridge between ISO 10161 and ISO 18626: the mapping itself, pure (no I/O, no clock:
the time is an argument), below the core in the layer contract.

So far: agency ids (:mod:`.agency`), request ids (:mod:`.ids`), dates and times
(:mod:`.times`).
"""
