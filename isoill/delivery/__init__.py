"""Delivery: stored APDUs to their targets, in order per address, with retries."""
