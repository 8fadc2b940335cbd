"""The bridge between ISO 10161 and ISO 18626: the mapping itself, pure (no I/O, no clock:
the time is an argument), below the core in the layer contract.

So far: agency ids (:mod:`.agency`), request ids (:mod:`.ids`), dates and times
(:mod:`.times`), and ISO 18626's messages as values that are the same for both schemas
(:mod:`.messages`), read from and written as either schema's models by :mod:`.forms`.
"""
