"""A resized copy of a HAM10000 folder, known by the content of the data it was made from.

Real HAM10000 is 10,015 JPEGs of 600x450 (2.6 GB; Kaggle's download is 5.2 GB). The model sees
224x224, so a run reads each image once, shrinks it (short side ``size``) and keeps the result
in a **resized copy**: a folder in HAM10000's own layout,

    <cache>/ham10000-224px-<fingerprint[:12]>/
        HAM10000_metadata.csv            the original table, byte for byte
        images/<image_id>.jpg            short side 224 px, JPEG quality 95
        HAM10000_segmentations_lesion/   the lesion masks at the images' size, if there are any
        origin.json                      written last: the original's fingerprint, the size,
                                         and the copy's own (its table and images as written)

about 0.33 GB at 224 px. :func:`helpers.data.load_metadata` reads it like the original.

* **Identity by content.** :func:`data_fingerprint` hashes the metadata CSV's bytes and every
  listed image's id and file size, never the folder's path: the same data at another path (a
  second runtime, Google Drive) has the same fingerprint, changed data another. A copy answers
  with its original's fingerprint (from ``origin.json``), so a checkpoint trained on the
  original is valid for a runtime that has only the copy, and the copy's folder name changes
  when the data does. A copy whose table or images changed after it was finished (its own
  fingerprint is no longer the recorded one) is no longer its original's copy: it answers
  with its own fingerprint, like original data, is not found as a copy, and the next run of
  the original restores it.
* **A course folder outlives runtimes.** The copy lives in the cache (``TUTORIAL_HOME/cache``):
  a later runtime, or a student who fetched the teacher's published cache, finds it with
  :func:`find_resized_copy` and needs neither the 5.2 GB download nor the resizing.
* **Safe to share.** Every file is written atomically (a temporary name, then a rename), and
  ``origin.json`` last: a copy without it is unfinished, is never used as data, and the next run
  completes it. Two runtimes that resize at once write the same bytes under the same names.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from .. import _checks as checks
from ..data import (
    HOW_TO_GET,
    MASK_FOLDER,
    METADATA_FILE,
    find_metadata_csv,
    image_index,
    load_metadata,
    mask_index,
    open_image,
    write_file_atomically,
)

__all__ = ["ORIGIN_FILE", "data_fingerprint", "fingerprint_of", "resized_copy", "copy_size",
           "find_resized_copy"]

ORIGIN_FILE = "origin.json"  #: in a resized copy: its original's fingerprint and the size
_MASK_SUFFIX = "_segmentation.png"


def _resize_one(src: str, dst: Path, size: int) -> None:
    img = open_image(src, draft=size)
    scale = size / min(img.size)
    if scale < 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)),
                         Image.Resampling.BICUBIC, reducing_gap=2.0)
    write_file_atomically(dst, lambda tmp: img.save(tmp, format="JPEG", quality=95))


def fingerprint_of(table: bytes, sizes: Mapping[str, int]) -> str:
    """SHA-256 of a metadata CSV's bytes ``table``, then ``image_id:size`` for every image it
    lists (sorted by id; ``sizes`` maps an id to its file's size in bytes, -1 when missing)."""
    digest = hashlib.sha256(table)
    listed = pd.read_csv(io.BytesIO(table), usecols=["image_id"])["image_id"].astype(str)
    for image_id in sorted(set(listed)):
        digest.update(f"\n{image_id}:{sizes.get(image_id, -1)}".encode())
    return digest.hexdigest()


def _own_fingerprint(folder: Path) -> str | None:
    """The content fingerprint of the files in ``folder`` as they are (a copy read as original
    data); None when it has no metadata CSV."""
    try:
        csv = find_metadata_csv(folder)
    except FileNotFoundError:
        return None
    table = csv.read_bytes()
    if b"image_id" not in table.split(b"\n", 1)[0]:
        raise ValueError(f"{csv} has no image_id column; expected HAM10000's metadata table. "
                         f"{HOW_TO_GET}")
    images, _, _ = image_index(folder)
    return fingerprint_of(table, {i: p.stat().st_size for i, p in images.items()})


def _record(folder: Path) -> dict | None:
    """``origin.json`` of ``folder`` when it is well formed, else None (not checked further)."""
    try:
        record = json.loads((Path(folder) / ORIGIN_FILE).read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(record, dict) and isinstance(record.get("fingerprint"), str)
    return record if ok and isinstance(record.get("size"), int) else None


def _origin(folder: Path, own: str | None = None) -> dict | None:
    """The ``origin.json`` record of a finished resized copy whose table and images are still
    those it was finished with (``own``: its :func:`_own_fingerprint`, when already known),
    else None. A record written before copies recorded their own fingerprint is trusted."""
    record = _record(folder)
    if record is None or "copy" not in record:
        return record
    own = own if own is not None else _own_fingerprint(Path(folder))
    return record if own == record["copy"] else None


def data_fingerprint(folder: Path) -> str | None:
    """SHA-256 of real data's content: its metadata CSV's bytes, then ``image_id:size`` of every
    listed image found (sorted by id); None when the folder has no metadata CSV yet. A resized
    copy (:func:`resized_copy`) gives its original's.

    The folder's path is not part of it, so a copy of the same data elsewhere (another runtime,
    Google Drive) has the same fingerprint, and a changed table, a missing image or an image
    of another size gives another one. Reading sizes is one ``stat`` per image, no image read.
    """
    if not Path(folder).is_dir():
        return None
    own = _own_fingerprint(Path(folder))  # one stat per image, no image read
    record = _origin(Path(folder), own)
    return record["fingerprint"] if record is not None else own


def copy_size(folder: Path) -> int | None:
    """The short side in pixels of the resized copy at ``folder``; None for original data."""
    record = _origin(Path(folder))
    return None if record is None else record["size"]


def _resize_mask(src: Path, dst: Path, image: Path) -> None:
    """The mask ``src`` at the size of the resized ``image`` (nearest neighbour: it stays 0/255)."""
    with Image.open(image) as img:
        size = img.size
    with Image.open(src) as mask:
        small = mask.convert("L").resize(size, Image.Resampling.NEAREST)
    write_file_atomically(dst, lambda tmp: small.save(tmp, format="PNG"))


def resized_copy(root: str | Path, size: int, cache_dir: str | Path,
                 progress: bool = True) -> Path:
    """The resized copy of the HAM10000 folder ``root`` at short side ``size`` in ``cache_dir``,
    made (or finished) if needed; its folder, ready for :func:`helpers.data.load_metadata`.

    Only what is missing is resized (a progress bar shows it), so a second call, or a second
    runtime with the same cache, costs one :func:`data_fingerprint` of ``root``. ``root`` may
    itself be a copy of a larger size. Refused: a copy smaller than ``size`` (upscaling would
    only blur: give the original data).
    """
    size = checks.integer(size, "size", hint="the short side in pixels, e.g. 224")
    root = Path(root)
    have = copy_size(root)
    if have is not None and have < size:
        raise ValueError(f"{root} is HAM10000 resized to {have} px; a {size} px run needs the "
                         "original images (use_data(...) without that course folder, or a "
                         "copy at least that large).")
    if have == size:
        return root
    fingerprint = data_fingerprint(root)  # one stat per image: all a finished copy costs
    if fingerprint is None:  # no folder or no metadata CSV: load_metadata says how to get it
        load_metadata(root)
    folder = Path(cache_dir).expanduser() / f"ham10000-{size}px-{fingerprint[:12]}"
    if _origin(folder) is not None:
        return folder
    if _record(folder) is not None:  # finished once, changed since: made again from root
        print(f"The resized copy {folder} was changed after it was made (its table or "
              f"images differ); restoring it from {root}.")
        (folder / ORIGIN_FILE).unlink(missing_ok=True)
    meta = load_metadata(root)  # every listed image must be there (the error says what is not)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    todo = [(src, images / f"{image_id}.jpg") for image_id, src in
            zip(meta["image_id"], meta["path"], strict=True)
            if not (images / f"{image_id}.jpg").is_file()]
    if todo:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            jobs = pool.map(lambda job: _resize_one(job[0], job[1], size), todo)
            for _ in tqdm(jobs, total=len(todo), desc=f"resize to {size} px (once, into the "
                          "cache)", unit="img", disable=not progress):
                pass
    masks = mask_index(root)
    for image_id, src in masks.items():
        dst = folder / MASK_FOLDER / f"{image_id}{_MASK_SUFFIX}"
        if not dst.is_file() and (images / f"{image_id}.jpg").is_file():
            _resize_mask(src, dst, images / f"{image_id}.jpg")
    csv = find_metadata_csv(root)
    write_file_atomically(folder / METADATA_FILE, lambda tmp: shutil.copyfile(csv, tmp))
    record = {"fingerprint": fingerprint, "size": size, "images": len(meta),
              "copy": _own_fingerprint(folder)}
    write_file_atomically(folder / ORIGIN_FILE,
                          lambda tmp: tmp.write_text(json.dumps(record, indent=1) + "\n"))
    return folder


def find_resized_copy(cache_dir: str | Path, fingerprint: str | None = None) -> Path | None:
    """The finished resized copy in ``cache_dir`` to use as data (the largest size, then the
    newest), only of the data with ``fingerprint`` when given (:func:`data_fingerprint` of
    the original); None when there is none."""
    folder = Path(cache_dir).expanduser()
    if not folder.is_dir():
        return None
    found = [(record["size"], (p / ORIGIN_FILE).stat().st_mtime, p)
             for p in folder.glob("ham10000-*px-*")
             if (fingerprint is None or p.name.endswith(f"-{fingerprint[:12]}"))
             and (record := _origin(p)) is not None
             and (fingerprint is None or record["fingerprint"] == fingerprint)]
    return max(found)[2] if found else None
