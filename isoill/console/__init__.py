"""The admin listener: an HTTP server (aiohttp) with the Prometheus metrics, the liveness and
readiness checks and, when ``[console]`` is on, the operator console (server-rendered pages)
and its JSON API (``openapi.json`` beside this file). An adapter beside the transports and
delivery: it calls the service layer (:mod:`isoill.service.console`), never them.
See docs/console.md."""
