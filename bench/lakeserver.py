"""``python -m bench.lakeserver``: the lakeFS emulator in its own process, with a control port for the benchmarks.

The emulator is used unchanged; this process adds, from the outside:

- network distance: the emulator's own added latency on every request (API calls and presigned reads and writes),
  i.e. one round trip per HTTP request on a kept-alive connection;
- request counts: API calls and presigned transfers as the emulator records them;
- seeding without HTTP: thousands of objects committed in milliseconds (the scale benchmarks need 100,000);

First line printed: ``<lakeFS endpoint> <control endpoint>``. Control routes (GET): ``/latency?ms=``, ``/stats``,
``/reset``, ``/seed?repo=&count=&size=&dirs=&sha256=0|1[&path=one/object]`` (answers the commit id).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from perago.testing.lakefs.emulator import LakeFSEmulator
from perago.testing.lakefs.faults import FaultOptions


class Controls:
    def __init__(self, emulator: LakeFSEmulator) -> None:
        self.emulator = emulator

    def latency(self, ms: float) -> dict[str, Any]:
        # the emulator's own per-request latency: every API call and every presigned read or write
        self.emulator.faults.configure(FaultOptions(latency_s=ms / 1000))
        return {"latency_ms": ms}

    def stats(self) -> dict[str, Any]:
        presigned = self.emulator.request_count("presigned")
        objects = presigned + self.emulator.request_count("getObject")
        return {"api": self.emulator.request_count() - presigned, "presigned": presigned, "object_reads": objects}

    def reset(self) -> dict[str, Any]:
        self.emulator.reset_requests()
        return {}

    def seed(self, repo: str, count: int, size: int, dirs: int, sha256: bool, path: str) -> dict[str, Any]:
        """``count`` random objects of ``size`` bytes spread over ``dirs`` folders (or the one object ``path``),
        committed on main."""
        api = self.emulator.api
        if repo not in api.repos:
            self.emulator.create_repository(repo)
        repository = api.repos[repo]
        paths = [path] if path else [f"d{i % dirs:03}/f{i:06}.bin" for i in range(count)]
        with repository.lock:
            staging = repository.branch("main").staging
            for name in paths:
                data = os.urandom(size)
                meta = {"sha256": hashlib.sha256(data).hexdigest()} if sha256 else {}
                staging[name] = api.store(repository, data, meta, "application/octet-stream")
            commit = repository.commit_branch("main", f"seed {len(paths)}", {}, allow_empty=False)
        return {"commit": commit.id}


def handler_for(controls: Controls) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            q = dict(parse_qsl(url.query))
            if url.path == "/latency":
                body = controls.latency(float(q["ms"]))
            elif url.path == "/stats":
                body = controls.stats()
            elif url.path == "/reset":
                body = controls.reset()
            elif url.path == "/seed":
                body = controls.seed(
                    q["repo"],
                    int(q["count"]),
                    int(q["size"]),
                    int(q.get("dirs", "10")),
                    q.get("sha256") == "1",
                    q.get("path", ""),
                )
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lakeserver")
    parser.add_argument("--access-key-id", default="AKIABENCH")
    parser.add_argument("--secret-access-key", default="bench-secret")
    parser.add_argument("--no-presign", action="store_true")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with LakeFSEmulator(args.access_key_id, args.secret_access_key, presign=not args.no_presign) as emulator:
        controls = Controls(emulator)
        control = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(controls))
        threading.Thread(target=control.serve_forever, daemon=True).start()
        print(emulator.endpoint, f"http://127.0.0.1:{control.server_address[1]}", flush=True)
        while not stop.wait(0.5):
            pass
        control.shutdown()


if __name__ == "__main__":
    main()
