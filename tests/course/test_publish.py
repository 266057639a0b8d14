"""helpers.course.publish: the published course checkpoint (issue 24), fetched from a
loopback HTTP server by URL and SHA-256 and kept only when every check passes; every bad
download is refused with a clear message, the run trains instead, and the course folder
is left exactly as it was."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from standins import Trained, no_training

from helpers import imagenet, models
from helpers.config import load_config
from helpers.course import publish
from helpers.models import (
    build_model,
    checkpoint_meta,
    checkpoint_path,
    load_or_train,
    save_checkpoint,
)


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, routes: dict[str, bytes]):
    for name in ("HAM10000_DIR", "TUTORIAL_PROFILE", "TUTORIAL_HOME", "TUTORIAL_CACHE",
                 "TUTORIAL_CHECKPOINT_URL", "TUTORIAL_CHECKPOINT_SHA256"):
        monkeypatch.setitem(os.environ, name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("TUTORIAL_HOME", str(tmp_path / "course"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(publish, "DOWNLOAD_TIMEOUT", 1.0)
    monkeypatch.setattr(models, "prepare_metadata", no_training)  # training's first step
    cfg = load_config(profile="smoke", num_workers=0, seed=0)
    made = tmp_path / "made"
    files = {}
    for name, changes in [("good.pt", {}), ("resnet34.pt", {"arch": "resnet34"}),
                          ("classes.pt", {"classes": ["a", "b"]}), ("epochs.pt", {"epochs": 5})]:
        meta = checkpoint_meta(cfg, metrics={"balanced_accuracy": 0.5})
        if "epochs" in changes:
            meta["config"]["epochs"] = changes["epochs"]
        arch = changes.get("arch", cfg.arch)
        meta.update(arch=arch, **{k: v for k, v in changes.items() if k == "classes"})
        net = build_model(arch, num_classes=2 if "classes" in changes else 7,
                          dilated_layer4=cfg.dilated_layer4)
        save_checkpoint(net, made / name, **meta)
        files[name] = (made / name).read_bytes()
    routes.clear()
    routes.update(files)
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "notes.txt").write_text("the teacher's")
    return cfg, monkeypatch, tmp_path / "course"


def _point_at(monkeypatch, url: str, body: bytes) -> None:
    monkeypatch.setenv("TUTORIAL_CHECKPOINT_URL", url)
    monkeypatch.setenv("TUTORIAL_CHECKPOINT_SHA256", hashlib.sha256(body).hexdigest())


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_good_published_checkpoint_is_fetched_checked_and_kept(server, routes, course, capsys):
    cfg, monkeypatch, home = course
    _point_at(monkeypatch, f"{server}/good.pt", routes["good.pt"])
    _, meta = load_or_train(cfg, progress=False)
    said = capsys.readouterr().out
    assert "SHA-256 checked" in said and meta["metrics"]["balanced_accuracy"] == 0.5
    assert checkpoint_path(cfg).read_bytes() == routes["good.pt"]
    assert not [p for p in home.rglob("*") if p.name.endswith(".part")]
    load_or_train(cfg, progress=False)  # the next runtime: from the course folder, no download
    assert "Fetching" not in capsys.readouterr().out


BAD = [
    ("page.html", "good.pt", "HTML page"),
    ("truncated.pt", "good.pt", "truncated"),
    ("good.pt", "classes.pt", "SHA-256"),  # the hash of another file: wrong hash
    ("missing.pt", "good.pt", "HTTP 404"),
    ("stalls.pt", "good.pt", "stopped answering"),
    ("resnet34.pt", "resnet34.pt", "resnet34 model, not the resnet18"),
    ("classes.pt", "classes.pt", "trained for the classes"),
    ("epochs.pt", "epochs.pt", "other settings or data: epochs"),
]


@pytest.mark.parametrize(("route", "hash_of", "phrase"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_download_is_refused_and_leaves_the_course_folder_as_it_was(
        route, hash_of, phrase, server, routes, course, capsys):
    cfg, monkeypatch, home = course
    before = _listing(home)
    _point_at(monkeypatch, f"{server}/{route}", routes[hash_of])
    with pytest.raises(Trained):
        load_or_train(cfg, progress=False)
    said = capsys.readouterr().out
    assert "Not using the published checkpoint" in said and "Training instead" in said
    assert phrase in said, said
    assert ".part" not in said  # the message names the URL, not the temporary file
    assert _listing(home) == before


def test_a_url_without_its_hash_is_refused(course):
    cfg, monkeypatch, _ = course
    monkeypatch.setenv("TUTORIAL_CHECKPOINT_URL", "http://127.0.0.1:9/x.pt")
    with pytest.raises(ValueError, match="TUTORIAL_CHECKPOINT_SHA256"):
        load_or_train(cfg, progress=False)


def test_publish_prints_the_lines_to_paste(course, capsys):
    path = course[2].parent / "made" / "good.pt"
    assert models.main(["publish", str(path)]) == 0
    said = capsys.readouterr().out
    assert f'CHECKPOINT_SHA256 = "{hashlib.sha256(path.read_bytes()).hexdigest()}"' in said
    assert "/releases/download/" in said and 'CHECKPOINT_URL = "https://github.com/' in said


# --------------------------------------------------------------------------- the cache route


@pytest.fixture
def cache_archive(tmp_path: Path, course, routes) -> tuple[Path, bytes]:
    """A resized-image cache packed by :func:`publish.pack_folder`, served as cache.tar."""
    made = tmp_path / "teacher-cache" / "resized-224-abc"
    made.mkdir(parents=True)
    for k in range(3):
        (made / f"ISIC_{k:07d}-00000000.jpg").write_bytes(bytes([k]) * 100)
    lines = publish.pack_folder(made.parent, tmp_path / "cache.tar")
    body = (tmp_path / "cache.tar").read_bytes()
    assert hashlib.sha256(body).hexdigest() in lines and "CACHE_URL" in lines
    routes["cache.tar"] = body
    return made, body


def test_the_published_cache_is_unpacked_once(server, course, cache_archive, capsys):
    _, monkeypatch, home = course
    made, body = cache_archive
    monkeypatch.setenv("TUTORIAL_CACHE_URL", f"{server}/cache.tar")
    monkeypatch.setenv("TUTORIAL_CACHE_SHA256", hashlib.sha256(body).hexdigest())
    dest = home / "cache"
    assert publish.fetch_folder("CACHE", dest, progress=False)
    got = dest / made.name
    assert sorted(p.name for p in got.iterdir()) == sorted(p.name for p in made.iterdir())
    assert (got / "ISIC_0000001-00000000.jpg").read_bytes() == bytes([1]) * 100
    capsys.readouterr()
    assert publish.fetch_folder("CACHE", dest, progress=False)  # a later runtime: no download
    assert "Fetching" not in capsys.readouterr().out


@pytest.mark.parametrize("route", ["good.pt", "cache.tar"], ids=["not-a-tar", "wrong-hash"])
def test_a_bad_cache_archive_leaves_the_cache_as_it_was(route, server, routes, course,
                                                        cache_archive):
    _, monkeypatch, home = course
    dest = home / "cache"
    dest.mkdir()
    (dest / "kept.txt").write_text("x")
    before = _listing(home)
    sha = hashlib.sha256(routes["good.pt"]).hexdigest()  # right for good.pt, wrong for the tar
    monkeypatch.setenv("TUTORIAL_CACHE_URL", f"{server}/{route}")
    monkeypatch.setenv("TUTORIAL_CACHE_SHA256", sha)
    with pytest.raises(publish.DownloadError, match="not a tar archive|SHA-256"):
        publish.fetch_folder("CACHE", dest, progress=False)
    assert _listing(home) == before


PAGE = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
BODY = bytes(range(256)) * 40
TRICKLE_BYTES = 40  # the server stops by itself after this many bytes (4 s)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.file_server's name
        name = self.path.rsplit("/", 1)[-1]
        if name.startswith("trickle"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            for k in range(TRICKLE_BYTES):  # one byte every 0.1 s, then the file_server gives up
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
def file_server() -> Iterator[str]:
    """A loopback file_server of the routes above, for this module's tests."""
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as httpd:
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


def test_a_trickling_server_is_cut_off_by_a_total_deadline(file_server, tmp_path,
                                                           monkeypatch) -> None:
    monkeypatch.setattr(publish, "DOWNLOAD_DEADLINE", 1.0)
    sha = hashlib.sha256(BODY).hexdigest()
    with pytest.raises(publish.DownloadError, match="did not finish within 1 s"):
        publish.download_verified(f"{file_server}/trickle", sha, tmp_path / "file.pt", timeout=5,
                                  progress=False)
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


def test_a_deadline_given_as_an_argument_is_used(file_server, tmp_path) -> None:
    sha = hashlib.sha256(BODY).hexdigest()
    with pytest.raises(publish.DownloadError, match="within 0.5 s"):
        publish.download_verified(f"{file_server}/trickle", sha, tmp_path / "file.pt", timeout=5,
                                  deadline=0.5, progress=False)


def test_a_hash_prefix_checks_the_download(file_server, tmp_path) -> None:
    sha = hashlib.sha256(BODY).hexdigest()
    tmp = publish.download_verified(f"{file_server}/body.bin", sha[:8], tmp_path / "b.bin",
                                    progress=False)
    assert tmp.read_bytes() == BODY
    with pytest.raises(publish.DownloadError, match="SHA-256"):
        publish.download_verified(f"{file_server}/body.bin", "0" * 8, tmp_path / "b.bin",
                                  progress=False)


@pytest.fixture
def hub(tmp_path, monkeypatch, file_server) -> Path:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    name = imagenet.resnet50_weights_path().name
    monkeypatch.setattr(imagenet, "RESNET50_URL", f"{file_server}/{name}")  # serves an HTML page
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


def test_an_upper_case_hash_is_the_same_hash(file_server, tmp_path) -> None:
    sha = hashlib.sha256(BODY).hexdigest().upper()  # as some release pages show it
    tmp = publish.download_verified(f"{file_server}/body.bin", sha, tmp_path / "b.bin",
                                    progress=False)
    assert tmp.read_bytes() == BODY
