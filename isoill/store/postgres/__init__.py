"""The PostgreSQL backend: the store in a database several gateway processes share, and what
they coordinate through it (one sender per address, wake-ups); the only part of isoill that
imports ``psycopg``. See docs/store.md."""
