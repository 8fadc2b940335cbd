"""Transports: how APDUs arrive and leave (ISO 10161 over TCP; the admin endpoint); adapters
over the intake service."""
