"""Published files of a course: a checkpoint (or the resized-image cache) a teacher trained once,
fetched by URL and SHA-256 instead of being made again in every runtime.

:func:`published` says where the file is (``CHECKPOINT_URL`` and ``CHECKPOINT_SHA256`` of
:mod:`helpers.config`, or the environment's ``TUTORIAL_CHECKPOINT_URL`` and
``TUTORIAL_CHECKPOINT_SHA256``). :func:`download_verified` fetches it with a progress bar into a
temporary file beside its destination and checks it before anything is kept: the server's
answer (404, an HTML error page), its length (a truncated download), a server that stops
answering (``timeout`` seconds) or never finishes (``deadline`` seconds in all: a server that
trickles a byte at a time), and its SHA-256. On any failure the temporary file is removed and
:class:`DownloadError` says what happened and what to do. :func:`publish_lines` prints what a
teacher pastes into ``helpers/config.py``. Standard library only (``urllib``), plus tqdm.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tqdm.auto import tqdm

from .. import config

#: seconds without a byte from the server before a download is given up
DOWNLOAD_TIMEOUT = 60.0
#: seconds for a whole download (the published cache, 0.35 GB, at 1 MB/s takes 6 min)
DOWNLOAD_DEADLINE = 1800.0
_CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")


class DownloadError(RuntimeError):
    """A published file could not be fetched or is not the one published; nothing was kept."""


def sha256_of(path: str | Path) -> str:
    """The SHA-256 of the file at ``path``, as 64 hex digits (read in 1 MiB pieces)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def published(kind: str = "CHECKPOINT", profile: str = "full") -> tuple[str, str] | None:
    """``(url, sha256)`` of the published ``kind`` (``"CHECKPOINT"`` or ``"CACHE"``), or None.

    ``TUTORIAL_<kind>_URL`` and ``TUTORIAL_<kind>_SHA256`` win (for any profile); else
    ``helpers.config.<kind>_URL`` and ``<kind>_SHA256``, which are made for the full profile and
    so are used only for it. A URL without its SHA-256 is refused: an unchecked file is never
    loaded.
    """
    url = os.environ.get(f"TUTORIAL_{kind}_URL", "").strip() or None
    sha = os.environ.get(f"TUTORIAL_{kind}_SHA256", "").strip() or None
    if url is None and profile == "full":
        url, sha = getattr(config, f"{kind}_URL"), getattr(config, f"{kind}_SHA256")
    if url is None:
        return None
    sha = (sha or "").lower()
    if len(sha) != 64 or not set(sha) <= _HEX:
        raise ValueError(
            f"The published {kind.lower()} {url} has no valid SHA-256 (got {sha or None!r}; "
            f"expected 64 hex digits). Set TUTORIAL_{kind}_SHA256 (or {kind}_SHA256 in "
            "helpers/config.py) to what `python -m helpers.models publish PATH` printed.")
    return url, sha


def _is_html(head: bytes, content_type: str) -> bool:
    start = head.lstrip()[:15].lower()
    return content_type == "text/html" or start.startswith((b"<!doctype", b"<html"))


def download_verified(url: str, sha256: str, dest: Path, *, timeout: float | None = None,
                      deadline: float | None = None, progress: bool = True) -> Path:
    """Fetch ``url`` into a temporary file beside ``dest`` and return it, once its SHA-256 is
    ``sha256`` (or begins with it: torchvision publishes 8 hex digits in its file names); the
    caller checks it further, then ``os.replace``-s it to ``dest`` (or deletes it).

    Raises :class:`DownloadError` (the temporary file removed) for an HTTP error (404, ...), a
    connection that fails or stops answering for ``timeout`` seconds (default
    :data:`DOWNLOAD_TIMEOUT`), a download not finished after ``deadline`` seconds in all
    (default :data:`DOWNLOAD_DEADLINE`; checked after each read, which returns what has
    arrived, so a server that trickles bytes is cut off), an HTML page instead of the file,
    fewer bytes than announced, or another hash.
    """
    timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
    deadline = DOWNLOAD_DEADLINE if deadline is None else deadline
    sha256 = sha256.strip().lower()  # hex digits, whichever case they were given in
    start = time.monotonic()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    request = urllib.request.Request(url, headers={"User-Agent": "gradcam-ham10000-helpers"})
    fix = ("Check the URL and SHA-256 in helpers/config.py (or the TUTORIAL_..._URL and _SHA256 "
           "variables), or unset them to make the file here instead.")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            announced = int(response.headers.get("Content-Length") or 0) or None
            kind = response.headers.get_content_type()
            digest, size, head = hashlib.sha256(), 0, b""
            with tmp.open("wb") as out, tqdm(total=announced, unit="B", unit_scale=True,
                                             desc=f"download {dest.name}",
                                             disable=not progress) as bar:
                while chunk := response.read1(_CHUNK):
                    if time.monotonic() - start > deadline:
                        raise DownloadError(
                            f"{url}: the download did not finish within {deadline:g} s "
                            f"({size} bytes so far): the server or the connection is too "
                            "slow. Run the cell again later, or on another connection.")
                    head = head or chunk[:512]
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
        if _is_html(head, kind):
            raise DownloadError(f"{url} sent an HTML page ({size} bytes), not the file: a login "
                                f"or error page, or a link to a web page. {fix}")
        if announced is not None and size != announced:
            raise DownloadError(f"{url}: the download stopped after {size} of {announced} bytes "
                                "(truncated). Run the cell again.")
        found = digest.hexdigest()
        if not (len(sha256) >= 8 and found.startswith(sha256)):
            raise DownloadError(f"{url}: SHA-256 {found} but {sha256} was published: another "
                                f"or a damaged file, not kept. {fix}")
    except urllib.error.HTTPError as err:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{url} answered HTTP {err.code} ({err.reason}). {fix}") from err
    except http.client.IncompleteRead as err:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{url}: the download stopped before its end (truncated). Run the "
                            "cell again.") from err
    except TimeoutError as err:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{url} stopped answering (no data for {timeout:g} s). Check the "
                            "runtime's internet and run the cell again.") from err
    except urllib.error.URLError as err:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{url} could not be reached ({err.reason}). Check the runtime's "
                            f"internet. {fix}") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def publish_lines(path: str | Path, url: str | None = None) -> str:
    """The two lines to paste into ``helpers/config.py`` for the file at ``path``, published at
    ``url`` (default: a release asset of ``REPOSITORY`` at ``RELEASE``)."""
    path = Path(path)
    url = url or (f"https://github.com/{config.REPOSITORY}/releases/download/{config.RELEASE}/"
                  f"{path.name}")
    return f'CHECKPOINT_URL = "{url}"\nCHECKPOINT_SHA256 = "{sha256_of(path)}"'


def pack_folder(folder: str | Path, archive: str | Path, url: str | None = None) -> str:
    """Write ``folder``'s contents (the resized-image cache) to the tar ``archive`` (JPEGs do not
    compress: no gzip), atomically, and return the two lines to paste into ``helpers/config.py``.

    HAM10000 is CC BY-NC 4.0: the resized images may be shared for non-commercial use with the
    attribution (Tschandl, Rosendahl & Kittler, Sci. Data 5, 180161, 2018), as the archive's
    release notes should say.
    """
    folder, archive = Path(folder), Path(archive)
    tmp = archive.with_name(f".{archive.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(tmp, "w") as tar:
            for item in sorted(folder.iterdir()):
                if not item.name.startswith("."):  # no temporary files, no markers
                    tar.add(item, arcname=item.name)
        os.replace(tmp, archive)
    finally:
        tmp.unlink(missing_ok=True)
    url = url or (f"https://github.com/{config.REPOSITORY}/releases/download/{config.RELEASE}/"
                  f"{archive.name}")
    return f'CACHE_URL = "{url}"\nCACHE_SHA256 = "{sha256_of(archive)}"'


def _safe_extract(tar: tarfile.TarFile, into: Path) -> None:
    """Extract only plain files and folders inside ``into`` (tarfile's ``data`` filter where
    this Python has it; the same rule by hand before 3.11.4)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(into, filter="data")
        return
    for member in tar.getmembers():
        target = (into / member.name).resolve()
        if not (member.isfile() or member.isdir()) or not target.is_relative_to(into.resolve()):
            raise tarfile.TarError(f"refusing the entry {member.name!r}")
    tar.extractall(into)  # noqa: S202 - every entry checked above


def fetch_folder(kind: str, dest: Path, profile: str = "full", progress: bool = True) -> bool:
    """Unpack the published archive ``kind`` (``"CACHE"``) into ``dest`` once; False when none is
    published. Checked like a checkpoint (:func:`download_verified`), unpacked into a hidden
    folder with tarfile's ``data`` filter (no absolute paths, links out or devices), then each
    entry moved in, never over a finished entry ``dest`` has; an unfinished resized copy of the
    same name (a runtime stopped while resizing: no ``origin.json``, or changed since) is
    replaced by the published one. A marker records it, so a later runtime skips the
    download. A refused archive leaves ``dest`` as it was."""
    from .resized import copy_size

    where = published(kind, profile)
    if where is None:
        return False
    url, sha = where
    marker = dest / f".published-{sha[:16]}"
    if marker.is_file():
        return True
    print(f"Fetching the published {kind.lower()} {url} ...")
    dest.mkdir(parents=True, exist_ok=True)
    tmp = download_verified(url, sha, dest / f"{kind.lower()}.tar", progress=progress)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
    try:
        try:
            with tarfile.open(tmp) as tar:
                _safe_extract(tar, staging)
        except (tarfile.TarError, OSError) as err:
            raise DownloadError(f"{url} is not a tar archive this code can unpack ({err})."
                                ) from err
        for item in sorted(staging.iterdir()):
            there = dest / item.name
            if there.exists() and item.is_dir() and copy_size(item) is not None \
                    and copy_size(there) is None:  # ours unfinished: the published one wins
                print(f"Replacing the unfinished resized copy {there} with the published one.")
                aside = Path(tempfile.mkdtemp(prefix=".replaced-", dir=dest))
                os.replace(there, aside / item.name)
                shutil.rmtree(aside, ignore_errors=True)
            if not there.exists():
                os.replace(item, there)
        marker.write_text(url + "\n")
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    print(f"Unpacked the published {kind.lower()} into {dest} (SHA-256 checked).")
    return True


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.course.publish cache FOLDER ARCHIVE [URL]``: pack the resized-image
    cache and print the lines to paste (for a checkpoint: ``python -m helpers.models publish
    PATH``)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (3, 4) or args[0] != "cache":
        print("usage: python -m helpers.course.publish cache FOLDER ARCHIVE [URL]", file=sys.stderr)
        return 2
    print(pack_folder(args[1], args[2], args[3] if len(args) == 4 else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
