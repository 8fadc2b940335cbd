"""ISO 18626 over HTTP: the endpoint peers POST their messages to (``endpoint.py``, ``messages.py``)
and the link delivery POSTs stored messages on (``link.py``)."""
