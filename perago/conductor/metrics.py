"""Prometheus metrics of one worker, and an optional HTTP endpoint serving ``/metrics`` and ``/healthz``.

Each worker owns its registry (no process-global state), so several workers can run in one test process.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class WorkerMetrics:
    """Counters and gauges of attempts, transfers and fencing."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.attempts = Counter(
            "perago_attempts", "Attempts finished, by task and outcome", ["task", "outcome"], registry=self.registry
        )
        self.duration = Histogram(
            "perago_attempt_duration_seconds", "Attempt duration", ["task"], registry=self.registry
        )
        self.in_flight = Gauge("perago_attempts_in_flight", "Attempts running now", ["task"], registry=self.registry)
        self.fenced = Counter(
            "perago_stale_attempts_fenced", "Attempts found stale and stopped", ["task"], registry=self.registry
        )
        self.bytes = Counter(
            "perago_bytes_transferred", "Workspace bytes moved", ["task", "direction"], registry=self.registry
        )
        self.files = Counter(
            "perago_files_transferred", "Workspace files moved", ["task", "direction"], registry=self.registry
        )

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent), for tests and summaries."""
        found = self.registry.get_sample_value(name, labels)
        return float(found or 0.0)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)


def serve_metrics(metrics: WorkerMetrics, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``/metrics`` and ``/healthz`` on a daemon thread; returns the server (``server_address`` has the port)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/healthz"):
                body, kind, code = b"ok\n", "text/plain", 200
            elif self.path.startswith("/metrics"):
                body, kind, code = metrics.render(), CONTENT_TYPE_LATEST, 200
            else:
                body, kind, code = b"not found\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="perago-metrics", daemon=True).start()
    return server
