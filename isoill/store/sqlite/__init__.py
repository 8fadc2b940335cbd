"""The SQLite backend: the store in one file (WAL, ``synchronous=FULL``); the only part of
isoill that imports ``sqlite3``."""
