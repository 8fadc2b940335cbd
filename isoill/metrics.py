"""The Prometheus metrics the gateway keeps (served by :mod:`isoill.transport.admin`)."""

from __future__ import annotations

import functools

from prometheus_client import Counter, Gauge, Histogram

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
ISO18626_POSTS = Counter(
    "isoill_iso18626_posts_total",
    "POSTs to the ISO 18626 endpoint, by the message they held and the HTTP status answered",
    ["message", "status"],
)
CONNECTIONS = Gauge("isoill_connections", "Open peer connections")
INTERNAL_ERRORS = Counter(
    "isoill_internal_errors_total",
    "Unexpected exceptions (bugs) caught, logged with their traceback and survived, by where",
    ["component"],
)
STORE_COMMITS = Counter("isoill_store_commits_total", "Group commits of the store (each one sync)")
STORE_WRITES = Counter("isoill_store_writes_total", "Writes committed in the group commits")
JUDGED_AGAIN = Counter(
    "isoill_judged_again_total",
    "APDUs judged again because another process moved their transaction on meanwhile",
)
ROUTES_INFO = Gauge(
    "isoill_routes_info",
    "The routes this process routes by: 1 for the sha256 of its routes file as last loaded",
    ["sha256"],
)
WORKER_RESTARTS = Counter(
    "isoill_worker_restarts_total",
    "Times the supervisor started this worker again after it died (isoill serve --workers)",
)


@functools.cache
def labelled(metric: Counter, *values: str) -> Counter:
    """``metric.labels(*values)``, looked up once: the per-APDU counters' label values come
    from a bounded set (see ``IntakeService.metric_peer``), and prometheus-client's own lookup
    validates and joins them on every call. Not for a metric whose children are removed."""
    return metric.labels(*values)
