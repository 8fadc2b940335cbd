"""ISO 18626 over HTTP: the endpoint peers POST their messages to."""
