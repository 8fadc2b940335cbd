"""The durable store-and-forward queue: every accepted APDU, kept until delivered, and the
transactions the APDUs belong to (see docs/store.md).

Callers change the store with writes as data (:mod:`isoill.store.writes`), committed by a
:class:`~isoill.store.backend.Backend` (:func:`isoill.store.open.open_store`: SQLite in
:mod:`isoill.store.sqlite`, PostgreSQL in :mod:`isoill.store.postgres`), and the daemon goes through
:class:`~isoill.store.group.GroupWriter`, which commits them in groups. Every backend keeps
these promises (``tests/store/`` holds each to them):

- Durable: a write is stored for good once the commit that holds it has returned, alone or in
  a group, and only then does its caller (the acknowledgement) go on. Nothing acknowledged is
  lost, and nothing is dropped silently: an APDU that cannot be routed is kept as
  ``unroutable``, one whose retries run out as ``failed`` (operators can list and resend
  both), a refused one as ``refused``, with the reason.
- Per-address order: a delivery is due only while it is the oldest pending delivery for its
  address, so a later APDU never overtakes an earlier one on the way to the same address;
  each address has its own queue (during an address change the old and the new progress
  independently).
- Stored once: a second message with the ``dedup_key`` of one not refused is not stored
  (:class:`~isoill.store.records.Duplicate`); a refused message's key may come again.
- At-least-once on the wire: a delivery becomes ``delivered`` only when the forwarder says so.
- Index-only reads: every query the gateway and the forwarder make per APDU is an index seek,
  so its cost does not grow with the number of stored messages or transactions.
"""
