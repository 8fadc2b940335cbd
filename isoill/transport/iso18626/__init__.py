"""ISO 18626 over HTTP: the link delivery POSTs stored messages on (``link.py``), beside the
endpoint peers POST their messages to."""
