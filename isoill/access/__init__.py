"""Credentials: the peers' Prompt-1 password hashes and the gateway's own logins (the
credentials file), scrypt hashing, and the throttle on failed logins. Who may connect and
speak is the service's (:mod:`isoill.service.access`)."""
