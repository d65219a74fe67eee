"""A local HTTP server that honours Range requests and counts the body bytes it sends per
path: the remote storage of the index tests and benchmark (127.0.0.1, a thread per
request). ``delay`` makes every GET wait that long, as object storage does (tens of
milliseconds); ``max_in_flight`` is the most GETs it was serving at once."""

from __future__ import annotations

import http.server
import os
import re
import threading
import time
from collections import Counter
from typing import Any

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: "RangeServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass

    def _file(self) -> str | None:
        path = self.translate_path(self.path)
        return path if os.path.isfile(path) else None

    def do_HEAD(self) -> None:  # noqa: N802 - the base's name
        path = self._file()
        if path is None:
            return super().do_HEAD()
        self.send_response(200)
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{os.stat(path).st_mtime_ns:x}"')
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - the base's name
        path = self._file()
        if path is None:
            return super().do_GET()  # directory listings, 404
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            time.sleep(server.delay)
            self._send_range(path)
        finally:
            with server.lock:
                server.in_flight -= 1

    def _send_range(self, path: str) -> None:
        size = os.path.getsize(path)
        start, end = 0, size
        match = _RANGE.match(self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = min(size, int(match.group(2)) + 1) if match.group(2) else size
        with open(path, "rb") as f:
            f.seek(start)
            body = f.read(max(0, end - start))
        self.send_response(206 if match else 200)
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        with self.server.lock:  # counted before sending: the client may look at once
            self.server.sent[self.path] += len(body)
            self.server.requests[self.path] += 1
        self.wfile.write(body)


class RangeServer(http.server.ThreadingHTTPServer):
    """Serves ``root`` on 127.0.0.1; ``sent[url path]`` counts body bytes sent."""

    daemon_threads = True

    def __init__(self, root: str, delay: float = 0.0) -> None:
        self.delay = delay
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.sent: Counter = Counter()
        self.requests: Counter = Counter()

        def handler(*args: Any) -> _Handler:
            return _Handler(*args, directory=root)

        super().__init__(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "RangeServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()


if __name__ == "__main__":  # python tests/http_range_server.py ROOT [DELAY]: until killed
    import sys
    with RangeServer(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.0) as served:
        print(served.url, flush=True)
        threading.Event().wait()
