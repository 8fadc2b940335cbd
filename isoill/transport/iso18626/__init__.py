"""ISO 18626 over HTTP: the link delivery POSTs each stored message on."""
