"""The bridge between ISO 10161 and ISO 18626: the mapping itself, pure (no I/O, no clock:
the time is an argument), below the core in the layer contract.

So far: an ISO 18626 message that comes in becomes its APDU, statelessly
(:func:`isoill.bridge.inbound.inbound`), with what the APDU does not carry beside it
(:class:`isoill.bridge.via.Via`); intake's answer becomes the Confirmation, and an ERROR
Confirmation from a target the error-report for the sender (:mod:`.confirmations`).

Beneath them: agency ids (:mod:`.agency`), request ids (:mod:`.ids`), dates and times
(:mod:`.times`), the code lists side by side (:mod:`.codes`), the Request's fields
(:mod:`.request`), the messages as version-neutral values (:mod:`.messages`, read and written
by :mod:`.forms`), and a peer's settings (:mod:`.settings`).
"""
