"""ISO 10161 codec: stream framing (:mod:`.framing`), BER decoding (:mod:`.decoder`) and
encoding (:mod:`.encoder`) into typed models (:mod:`.models`, generated from :mod:`isoill.asn1`
by :mod:`.modelgen`) and their JSON form (:mod:`.jsonform`). No I/O.

Nothing is imported here, so that :mod:`.modelgen` can run while :mod:`.models` is stale.
"""
