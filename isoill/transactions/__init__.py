"""ISO 10161 transactions as the gateway sees them: the requester's and the responder's protocol
machines (:mod:`isoill.transactions.machine`), which say whether an APDU may follow the ones
already seen and which state each party is in after it.
"""
