"""The PostgreSQL store's advisory locks, each named by a pair of 32-bit keys: the first a class
of lock of isoill's own (numbers after ISO 10161's), the second the object locked. PostgreSQL
keeps such pairs apart from the single 64-bit keys that other programs may use.
"""

from __future__ import annotations

#: Held by the transaction that applies a migration (see :mod:`.migrate`).
MIGRATIONS = (10161, 0)

#: The first key of the lock a process holds on an address it sends to; the second is
#: ``hashtext(address)`` (see :mod:`.coordination`).
ADDRESSES = 10162
