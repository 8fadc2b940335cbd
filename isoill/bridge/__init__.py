"""The bridge between ISO 10161 and ISO 18626: the mapping itself, pure (no I/O, no clock:
the time is an argument), below the core in the layer contract.

Every message through the gateway is judged and stored as its ISO 10161 APDU. So:

- an ISO 18626 message that comes in becomes its APDU, statelessly
  (:func:`isoill.bridge.inbound.inbound`), with what the APDU does not carry beside it
  (:class:`isoill.bridge.via.Via`);
- an APDU accepted for an ISO 18626 target becomes its message, with the transaction's
  :class:`isoill.bridge.state.Bridged` state (:func:`isoill.bridge.outbound.outbound`), or
  :class:`~isoill.bridge.outbound.Unmappable` when ISO 18626 has no form for it;
- intake's answer becomes the Confirmation, and an ERROR Confirmation from a target the
  error-report for the sender (:mod:`isoill.bridge.confirmations`).

Beneath them: agency ids (:mod:`.agency`), request ids (:mod:`.ids`), dates and times
(:mod:`.times`), the code lists side by side (:mod:`.codes`), the Request's fields
(:mod:`.request`), the messages as version-neutral values (:mod:`.messages`, read and written
by :mod:`.forms`), and a peer's settings (:mod:`.settings`).
"""
