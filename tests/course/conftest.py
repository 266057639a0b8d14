"""Shared by the course wing's tests: a loopback HTTP server (tests/course/test_publish.py and
tests/course/test_resized.py fetch published checkpoints and caches from it)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

ROUTES: dict[str, bytes] = {}  # path -> body, filled per test


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        name = self.path.lstrip("/")
        if name == "page.html":
            body = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if name not in ROUTES and not name.startswith(("truncated", "stalls")):
            self.send_error(404, "Not Found")
            return
        body = ROUTES.get(name, ROUTES.get("good.pt", b""))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name.startswith("truncated"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif name.startswith("stalls"):
            self.wfile.write(body[:1000])
            self.wfile.flush()
            time.sleep(3)
        else:
            self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def routes() -> dict[str, bytes]:
    """What :func:`server` answers: path -> body, filled per test."""
    return ROUTES
