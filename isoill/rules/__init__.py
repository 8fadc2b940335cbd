"""The rules every APDU passes between decoding and forwarding.

A rule (:mod:`isoill.rules.engine`) checks one thing about some APDU types and says what is
wrong in the terms of the IPIG Additional User Error Information extension: a missing
element, unrecognized data, inconsistent data. Rules are grouped into named profiles
(:mod:`isoill.rules.profiles`); the configuration assigns a profile to what each peer sends
and to what is sent to it. The rules themselves live by origin: :mod:`isoill.rules.standard`
(ISO 10161 and the IPIG profile) and :mod:`isoill.rules.oclc` (OCLC's ISO ILL profile).
"""
