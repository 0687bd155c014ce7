"""The process's Prometheus metrics (the ground floor: web and worker both count here).

`sessionbot serve` shows them at /metrics; `sessionbot worker --metrics-port N` serves
its own on 127.0.0.1:N (a separate process has its own counters).
"""

from __future__ import annotations

from prometheus_client import Counter, start_http_server

OUTBOX_FAILED = Counter(
    "sessionbot_outbox_failed_total",
    "Outbox messages given up on, by reason (a fixed word: no participant data)",
    ["reason"],
)


def serve_metrics(port: int, host: str = "127.0.0.1") -> int:
    """Serve /metrics of this process on a thread; the port bound (0: any free one)."""
    server, _thread = start_http_server(port, addr=host)
    return int(server.server_port)
