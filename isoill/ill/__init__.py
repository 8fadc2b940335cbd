"""ISO 10161's terms, in one place: the APDU types, the parties and which sends each APDU
(:mod:`.apdus`) and as other APDUs name them (:mod:`.enumerated`), library symbols
(:mod:`.symbols`), the transaction-id as a key (:mod:`.transaction_id`), and the protocol
versions (:mod:`.versions`).

Pure: no I/O, no asyncio, and nothing but :mod:`isoill.codec` beneath it. Nothing is imported
here, so that each command imports only the modules it uses: ``isoill tx list`` shows keys
through :mod:`.transaction_id` without loading the codec's models.
"""
