"""Downloads that end, and that keep only the file published (issue 36): a server that trickles
a byte at a time is cut off after a total deadline; ResNet-50's ImageNet weights are checked
against the hash torchvision publishes in the file name, a bad download is refused and deleted,
and a bad file already cached is named with its fix instead of a raw unpickling error."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from helpers import imagenet
from helpers.course import publish

PAGE = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
BODY = bytes(range(256)) * 40
TRICKLE_BYTES = 40  # the server stops by itself after this many bytes (4 s)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        name = self.path.rsplit("/", 1)[-1]
        if name.startswith("trickle"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            for k in range(TRICKLE_BYTES):  # one byte every 0.1 s, then the server gives up
                try:
                    self.wfile.write(BODY[k:k + 1])
                    self.wfile.flush()
                except OSError:  # the client hung up: as it should
                    return
                time.sleep(0.1)
            self.close_connection = True
            return
        body = PAGE if name.endswith(".html") or name.startswith("resnet50") else BODY
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if body is PAGE else
                         "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A loopback server of the routes above, for this module's tests."""
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as httpd:
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


def test_a_trickling_server_is_cut_off_by_a_total_deadline(server, tmp_path,
                                                           monkeypatch) -> None:
    monkeypatch.setattr(publish, "DOWNLOAD_DEADLINE", 1.0)
    sha = hashlib.sha256(BODY).hexdigest()
    with pytest.raises(publish.DownloadError, match="did not finish within 1 s"):
        publish.download_verified(f"{server}/trickle", sha, tmp_path / "file.pt", timeout=5,
                                  progress=False)
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


def test_a_deadline_given_as_an_argument_is_used(server, tmp_path) -> None:
    sha = hashlib.sha256(BODY).hexdigest()
    with pytest.raises(publish.DownloadError, match="within 0.5 s"):
        publish.download_verified(f"{server}/trickle", sha, tmp_path / "file.pt", timeout=5,
                                  deadline=0.5, progress=False)


def test_a_hash_prefix_checks_the_download(server, tmp_path) -> None:
    sha = hashlib.sha256(BODY).hexdigest()
    tmp = publish.download_verified(f"{server}/body.bin", sha[:8], tmp_path / "b.bin",
                                    progress=False)
    assert tmp.read_bytes() == BODY
    with pytest.raises(publish.DownloadError, match="SHA-256"):
        publish.download_verified(f"{server}/body.bin", "0" * 8, tmp_path / "b.bin",
                                  progress=False)


@pytest.fixture
def hub(tmp_path, monkeypatch, server) -> Path:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    name = imagenet.resnet50_weights_path().name
    monkeypatch.setattr(imagenet, "RESNET50_URL", f"{server}/{name}")  # serves an HTML page
    return imagenet.resnet50_weights_path()


def test_an_html_page_is_never_stored_as_resnets_weights(hub) -> None:
    with pytest.raises(RuntimeError, match="HTML page"):
        imagenet.imagenet_model(prefer="resnet50", download=True, verbose=False)
    assert not hub.exists() and not list(hub.parent.glob("*.part"))
    chosen = imagenet.imagenet_model(download=True, verbose=False)  # auto: falls back
    assert chosen.name == "efficientnet_lite0" and "HTML page" in chosen.reason
    assert not hub.exists()


def test_a_bad_cached_file_is_named_with_its_fix(hub) -> None:
    hub.parent.mkdir(parents=True, exist_ok=True)
    hub.write_bytes(PAGE)  # as an older version stored it
    with pytest.raises(RuntimeError) as info:
        imagenet.imagenet_model(prefer="resnet50", download=False, verbose=False)
    said = str(info.value)
    assert str(hub) in said and "Delete" in said and "UnpicklingError" not in type(
        info.value).__name__
    chosen = imagenet.imagenet_model(download=False, verbose=False)
    assert chosen.name == "efficientnet_lite0" and str(hub) in chosen.reason
    assert "Delete" in chosen.reason


def test_an_upper_case_hash_is_the_same_hash(server, tmp_path) -> None:
    sha = hashlib.sha256(BODY).hexdigest().upper()  # as some release pages show it
    tmp = publish.download_verified(f"{server}/body.bin", sha, tmp_path / "b.bin",
                                    progress=False)
    assert tmp.read_bytes() == BODY
