"""Prometheus metrics and the admin HTTP endpoint (``/metrics``, ``/healthz``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

APDUS_IN = Counter("isoill_apdus_in_total", "APDUs received from peers", ["type", "peer"])
APDUS_OUT = Counter("isoill_apdus_out_total", "APDUs delivered to peers", ["type", "peer"])
REJECTIONS = Counter("isoill_rejections_total", "APDUs refused, by reason", ["reason"])
RULE_FINDINGS = Counter(
    "isoill_rule_findings_total", "Rule findings on received APDUs", ["rule", "severity"]
)
DUPLICATES = Counter("isoill_duplicates_total", "APDUs received again, acknowledged, not resent")
PROHIBITED = Counter(
    "isoill_state_prohibited_total", "APDUs their transaction's state forbids", ["mode"]
)
STATUS_FROM_HISTORY = Counter(
    "isoill_status_from_history_total", "Status-Queries answered by the gateway itself"
)
RETRIES = Counter("isoill_delivery_retries_total", "Delivery attempts that will be retried")
QUEUE_DEPTH = Gauge("isoill_queue_depth", "Deliveries by state", ["state"])
DELIVERY_LATENCY = Histogram(
    "isoill_delivery_latency_seconds",
    "From acceptance to delivery",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600, 3600),
)
CONNECTIONS = Gauge("isoill_connections", "Open peer connections")
INTERNAL_ERRORS = Counter(
    "isoill_internal_errors_total",
    "Unexpected exceptions (bugs) caught, logged with their traceback and survived, by where",
    ["component"],
)
STORE_COMMITS = Counter("isoill_store_commits_total", "Group commits of the store (each one sync)")
STORE_WRITES = Counter("isoill_store_writes_total", "Writes committed in the group commits")

_MAX_REQUEST = 8192


async def serve_admin(host: str, port: int, healthy: Callable[[], bool]) -> asyncio.Server:
    """A minimal HTTP/1.0 server: GET /metrics and GET /healthz, nothing else."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
        if path == b"/metrics":
            status, body, kind = b"200 OK", generate_latest(), CONTENT_TYPE_LATEST.encode()
        elif path == b"/healthz":
            ok = healthy()
            status = b"200 OK" if ok else b"503 Service Unavailable"
            body, kind = (b"ok\n" if ok else b"unhealthy\n"), b"text/plain"
        else:
            status, body, kind = b"404 Not Found", b"not found\n", b"text/plain"
        writer.write(
            b"HTTP/1.0 "
            + status
            + b"\r\nContent-Type: "
            + kind
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        try:
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port, limit=_MAX_REQUEST)
