"""Getting the real data: HAM10000 from Kaggle (kagglehub) or a Kaggle zip, and DermaMNIST
(medmnist) written in HAM10000's layout.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from ..data import (
    CLASSES,
    DERMAMNIST_ZENODO,
    HOW_TO_GET,
    IMAGE_FOLDERS,
    KAGGLE_HANDLE,
    METADATA_FILE,
    find_metadata_csv,
    has_marker,
    load_dermamnist,
    load_metadata,
    require_dermamnist_file,
    write_folder_atomically,
)

# --------------------------------------------------------------------------- download

KAGGLE_ZIP_GB = 5.2  # the Kaggle archive, every image twice; unpacking it all takes ~10 GB


def by_hand_hint() -> str:
    """How to get HAM10000 when the download in code did not work (never "call it again")."""
    return (
        f"Download the archive by hand from https://www.kaggle.com/datasets/{KAGGLE_HANDLE} "
        f"(about {KAGGLE_ZIP_GB:g} GB) or the images from the Harvard Dataverse "
        "(https://doi.org/10.7910/DVN/DBW86T), then use it with use_data('ham10000-zip', "
        "zip_path='path/to/the.zip') (in Colab: a zip on Google Drive), or unpack it and set "
        f"HAM10000_DIR to the folder that holds {METADATA_FILE} and {IMAGE_FOLDERS[0]}/, "
        f"{IMAGE_FOLDERS[1]}/."
    )


def download_ham10000(dest: str | Path | None = None) -> Path:
    """Fetch HAM10000 from Kaggle with ``kagglehub`` and return the data folder.

    Needs ``pip install kagglehub`` (Colab has it), but no Kaggle account: kagglehub downloads
    this public data set without logging in. The archive is about 5.2 GB (Kaggle ships every
    image twice, in upper- and lower-case folders); kagglehub unpacks it into its cache, so
    about 10 GB of free disk are needed while it does. With ``dest``, a link named ``dest``
    points to the downloaded folder (no copy). When the download fails, the error says how to
    get the data by hand.
    """
    try:
        import kagglehub  # optional dependency
    except ImportError as err:
        raise RuntimeError(
            "kagglehub is not installed: pip install kagglehub (the notebooks' set-up cell "
            f"installs it), then try again. Or: {by_hand_hint()}"
        ) from err
    try:
        folder = Path(kagglehub.dataset_download(KAGGLE_HANDLE))
    except Exception as err:  # network, disk, a Kaggle outage ...
        raise RuntimeError(
            f"Downloading {KAGGLE_HANDLE} with kagglehub failed ({err}). Check the internet "
            f"connection and the free disk (about 10 GB), or: {by_hand_hint()}"
        ) from err
    find_metadata_csv(folder)
    if dest is None:
        return folder
    dest = Path(dest).expanduser()
    if dest.exists() or dest.is_symlink():
        if dest.resolve() == folder.resolve():
            return dest
        raise FileExistsError(f"{dest} exists; HAM10000 was downloaded to {folder}.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.symlink_to(folder, target_is_directory=True)
    return dest


# --------------------------------------------------------------------------- a Kaggle zip


def _is_unsafe_member(name: str) -> bool:
    """True for a zip member that would land outside the target: absolute, drive or ``..``."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts


def _check_members(names: Iterable[str], archive: Path) -> None:
    unsafe = [name for name in names if _is_unsafe_member(name)]
    if unsafe:
        raise ValueError(
            f"{archive} holds {len(unsafe)} member(s) that would be written outside the target "
            f"folder ({', '.join(unsafe[:5])}); refusing to extract. Use the archive as "
            "downloaded from Kaggle."
        )


def _csv_prefix(names: Iterable[str], archive: Path) -> str:
    """The folder inside the zip that holds the metadata CSV: ``""`` (top) or ``"sub/"``."""
    found = sorted((n for n in names if PurePosixPath(n).name == METADATA_FILE),
                   key=lambda n: (n.count("/"), n))
    if not found:
        raise FileNotFoundError(f"{archive} holds no {METADATA_FILE}; is it the Kaggle archive "
                                f"of HAM10000? {HOW_TO_GET}")
    return found[0][: -len(METADATA_FILE)]


def _skip_lowercase_duplicates(infos: list[zipfile.ZipInfo], prefix: str) -> list[zipfile.ZipInfo]:
    """Drop ``ham10000_images_part_*`` (Kaggle's lower-case copies, half of its 5.2 GB) when
    the ``HAM10000_images_part_*`` folders are in the zip too."""
    def top(info: zipfile.ZipInfo) -> str | None:
        name = info.filename
        return name[len(prefix):].split("/", 1)[0] if name.startswith(prefix) else None

    tops = {top(info) for info in infos}
    present = {name.lower() for name in IMAGE_FOLDERS if name in tops}

    def is_copy(info: zipfile.ZipInfo) -> bool:
        folder = top(info)
        return folder is not None and folder not in IMAGE_FOLDERS and folder.lower() in present

    return [info for info in infos if not is_copy(info)]


def _extract(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], dest: Path) -> None:
    """Extract ``infos``; a damaged member (bad CRC, truncated data) raises ValueError naming
    the archive, the member and the fix."""
    with tqdm(total=sum(i.file_size for i in infos), desc="extract", unit="B",
              unit_scale=True) as bar:
        for info in infos:
            try:
                archive.extract(info, dest)
            except (zipfile.BadZipFile, zlib.error, EOFError) as err:
                raise ValueError(
                    f"The archive {archive.filename} is damaged: {info.filename} cannot be "
                    f"extracted ({err}). Delete {archive.filename} and download it again (an "
                    "interrupted download or copy leaves such files); nothing was extracted."
                ) from err
            bar.update(info.file_size)


def _folder_with_csv(dest: Path) -> Path | None:
    """``dest`` or its first subfolder that holds the metadata CSV; None when neither does."""
    candidates = [dest, *sorted(p for p in dest.iterdir() if p.is_dir())] if dest.is_dir() else []
    return next((p for p in candidates if (p / METADATA_FILE).is_file()), None)


def existing_extraction(dest: Path) -> Path:
    """The data folder of an earlier extraction at ``dest``, checked with ``load_metadata``."""
    root = _folder_with_csv(dest)
    try:
        if root is None:
            raise FileNotFoundError(f"no {METADATA_FILE} in it or its subfolders")
        load_metadata(root)
    except (FileNotFoundError, ValueError) as err:
        raise FileExistsError(
            f"{dest} exists but is not a complete HAM10000 folder ({err}). Delete it to extract "
            "the zip again, or pass another folder."
        ) from err
    return root


def zip_fingerprint(zip_path: str | Path) -> str:
    """:func:`helpers.course.resized.data_fingerprint` of the folder that
    :func:`extract_ham10000_zip` would make from ``zip_path``, read from the archive's table of
    contents and its metadata CSV alone (no image is extracted): which resized copy in a
    cache, if any, was made from this zip's data."""
    from .resized import fingerprint_of

    archive = Path(zip_path).expanduser().absolute()
    try:
        opened = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"zip_path {archive} is not a readable zip file ({err}). Delete it and "
                         "download or copy it again.") from err
    with opened:
        infos = opened.infolist()
        prefix = _csv_prefix((info.filename for info in infos), archive)
        wanted = {name.lower() for name in IMAGE_FOLDERS} | {"images"}
        by_folder: dict[str, list[zipfile.ZipInfo]] = {}
        for info in _skip_lowercase_duplicates(infos, prefix):
            parts = info.filename[len(prefix):].split("/")
            if not info.filename.startswith(prefix) or info.is_dir() or len(parts) > 2:
                continue
            folder = parts[0] if len(parts) == 2 else ""
            if folder == "" or folder.lower() in wanted:
                by_folder.setdefault(folder, []).append(info)
        sizes: dict[str, int] = {}  # as helpers.data.image_index: folders by name, then the top
        for folder in [*sorted(f for f in by_folder if f), ""]:
            for info in sorted(by_folder.get(folder, []), key=lambda i: i.filename):
                stem, ext = os.path.splitext(PurePosixPath(info.filename).name)
                if ext.lower() in (".jpg", ".jpeg"):
                    sizes.setdefault(stem, info.file_size)
        return fingerprint_of(opened.read(prefix + METADATA_FILE), sizes)


def extract_ham10000_zip(zip_path: str | Path, dest: str | Path) -> Path:
    """Extract Kaggle's HAM10000 zip into ``dest`` (once); return the folder holding the CSV.

    Refuses members with absolute paths or ``..``; skips the lower-case duplicate image
    folders when the upper-case ones are there. Extracts into a temporary folder and renames it
    only once ``load_metadata`` finds every image. An existing ``dest`` is never overwritten:
    returned when complete, refused otherwise.
    """
    archive, dest = Path(zip_path).expanduser().absolute(), Path(dest).expanduser().absolute()
    if dest.exists() or dest.is_symlink():
        return existing_extraction(dest)
    if archive.is_dir():
        raise IsADirectoryError(f"zip_path {archive} is a folder; expected the downloaded zip "
                                "file. If it is already extracted, pass it to load_metadata.")
    if not archive.is_file():
        raise FileNotFoundError(f"zip_path {archive} does not exist. {by_hand_hint()}")
    try:
        opened = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{archive} is not a zip file ({err}): an unfinished download or "
                         "copy? Delete it and download or copy it again.") from err
    with opened:
        infos = opened.infolist()
        _check_members((info.filename for info in infos), archive)
        prefix = _csv_prefix((info.filename for info in infos), archive)
        keep = _skip_lowercase_duplicates(infos, prefix)

        def write(tmp: Path) -> None:
            _extract(opened, keep, tmp)
            load_metadata(tmp / prefix)  # every listed image is there

        write_folder_atomically(dest, write, lambda d: _folder_with_csv(d) is not None)
    return dest / prefix if prefix else dest


# --------------------------------------------------------------------------- DermaMNIST as a folder
#
# DermaMNIST (MedMNIST+) holds HAM10000's images, resized, as arrays. Written out in HAM10000's
# layout, the whole pipeline (load_metadata, lesion_split, loaders, caches) runs on it unchanged.

DERMAMNIST_SIZES = (28, 64, 128, 224)
DERMAMNIST_SPLITS = ("train", "val", "test")
_DERMAMNIST_MARKER = "dermamnist.json"


def dermamnist_file_name(size: int = 224) -> str:
    """The file medmnist writes for DermaMNIST at ``size`` px: ``dermamnist_224.npz`` (28: none)."""
    if size not in DERMAMNIST_SIZES:
        raise ValueError(f"DermaMNIST comes in sizes {DERMAMNIST_SIZES}, not {size}.")
    return "dermamnist.npz" if size == 28 else f"dermamnist_{size}.npz"


def file_sha1(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-1 of a file's bytes, read in chunks (the 224 px npz is over a gigabyte)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path {path} is {'a folder' if path.is_dir() else 'missing'}; "
                                "expected a file.")
    digest = hashlib.sha1()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _dermamnist_marker(npz: Path) -> dict[str, object]:
    """What identifies the converted set: the npz's name, size in bytes and SHA-1."""
    return {"generator": "helpers.data.dermamnist_to_folder", "version": 1, "npz": npz.name,
            "bytes": npz.stat().st_size, "sha1": file_sha1(npz)}


def _is_converted_dermamnist(root: Path, marker: dict[str, object]) -> bool:
    """True when ``root`` holds this npz converted; raise when it holds another one."""
    return has_marker(root, _DERMAMNIST_MARKER, marker, lambda found: (
        f"{root} holds DermaMNIST converted from another file ({found.get('npz')}, "
        f"{found.get('bytes')} bytes); asked for {marker['npz']} ({marker['bytes']} bytes). "
        f"Delete {root} to convert again, or pass another folder."
    ))


def _refuse_foreign_folder(root: Path) -> None:
    """Refuse a file, or a non-empty folder that is not a converted DermaMNIST set."""
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"{root} is a file; pass a folder for the DermaMNIST images.")
    if root.is_dir() and any(root.iterdir()):
        raise FileExistsError(
            f"{root} is not empty and is not a folder written by dermamnist_to_folder (no "
            f"{_DERMAMNIST_MARKER}); refusing to write into it. Pass a new or empty folder, or "
            f"delete {root} if nothing in it is needed."
        )


def _check_dermamnist_arrays(data: dict[str, tuple[np.ndarray, np.ndarray]], npz: Path) -> None:
    """Images (N, H, W, 3) uint8 and as many labels in 0..6 for every split."""
    for split, (images, labels) in data.items():
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"{npz}: {split}_images is {images.dtype} {images.shape}; "
                             "expected uint8 (N, H, W, 3), as MedMNIST+ writes DermaMNIST.")
        if len(images) != len(labels):
            raise ValueError(f"{npz}: {len(images)} {split} images but {len(labels)} labels.")
        if len(labels) and not 0 <= labels.min() <= labels.max() < len(CLASSES):
            raise ValueError(f"{npz}: {split} labels outside 0..{len(CLASSES) - 1}.")


def _dermamnist_rows(data: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """The metadata table: one lesion per image, dx from the label, the rest unknown."""
    frames = []
    for split in DERMAMNIST_SPLITS:
        numbers = [f"{split}_{k:05d}" for k in range(1, len(data[split][1]) + 1)]
        frames.append(pd.DataFrame({
            "lesion_id": [f"DERMA_L_{n}" for n in numbers],
            "image_id": [f"DERMA_{n}" for n in numbers],
            "dx": np.asarray(CLASSES)[data[split][1]],
            "dx_type": "unknown", "age": np.nan, "sex": "unknown", "localization": "unknown",
            "dermamnist_split": split,
        }))
    return pd.concat(frames, ignore_index=True)


def _save_jpeg(image: np.ndarray, path: Path) -> None:
    Image.fromarray(image).save(path, format="JPEG", quality=95)


def _write_dermamnist_files(data: dict[str, tuple[np.ndarray, np.ndarray]], rows: pd.DataFrame,
                            folder: Path) -> None:
    """Every image as ``HAM10000_images_part_1/<image_id>.jpg`` (JPEG q95) and the CSV."""
    images_dir = folder / IMAGE_FOLDERS[0]
    images_dir.mkdir()
    images = (image for split in DERMAMNIST_SPLITS for image in data[split][0])
    jobs = [(image, images_dir / f"{image_id}.jpg")
            for image, image_id in zip(images, rows["image_id"], strict=True)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        done = pool.map(lambda job: _save_jpeg(*job), jobs)
        for _ in tqdm(done, total=len(jobs), desc="DermaMNIST to JPEG", unit="img"):
            pass
    rows.to_csv(folder / METADATA_FILE, index=False)


def dermamnist_to_folder(npz_path: str | Path, root: str | Path) -> Path:
    """Write a MedMNIST+ DermaMNIST npz as a HAM10000-layout folder at ``root``; return it.

    Images go to ``HAM10000_images_part_1/DERMA_<split>_<00001>.jpg`` (JPEG quality 95);
    ``HAM10000_metadata.csv`` has the HAM10000 columns with ``dx`` from the label,
    ``dx_type``/``sex``/``localization`` "unknown", ``age`` empty, plus ``dermamnist_split``
    (DermaMNIST's own train/val/test). DermaMNIST has no lesion ids, so each image gets its own
    ``lesion_id`` (``DERMA_L_<split>_<00001>``): images of one lesion cannot be grouped, and
    any split of this folder (:func:`lesion_split` too) puts images of one lesion on both sides.

    Written to a temporary folder beside ``root`` and renamed, so a half-written set is never
    seen. A finished set of the same npz (its name, size and SHA-1 are kept in
    ``dermamnist.json``) is returned untouched; a non-empty folder that is not one is refused.
    """
    npz = Path(npz_path).expanduser().absolute()
    root = Path(root).expanduser().absolute()
    require_dermamnist_file(npz)
    marker = _dermamnist_marker(npz)
    if _is_converted_dermamnist(root, marker):
        return root
    _refuse_foreign_folder(root)
    data = load_dermamnist(npz)
    _check_dermamnist_arrays(data, npz)
    rows = _dermamnist_rows(data)

    def write(tmp: Path) -> None:
        _write_dermamnist_files(data, rows, tmp)
        (tmp / "README.txt").write_text(
            f"DermaMNIST (MedMNIST+, CC BY-NC 4.0) from {npz.name}, written in HAM10000's layout "
            "by helpers.sources.dermamnist_to_folder.\nThe images are HAM10000's, resized by "
            "MedMNIST. lesion_id is one per image: DermaMNIST has no lesion ids.\nCite Yang et "
            "al., Sci. Data 10, 41 (2023) and Tschandl et al., Sci. Data 5, 180161 (2018).\n"
        )
        (tmp / _DERMAMNIST_MARKER).write_text(json.dumps(marker, indent=1))

    return write_folder_atomically(root, write, lambda r: _is_converted_dermamnist(r, marker))


def download_dermamnist(root: str | Path, size: int = 224) -> Path:
    """Download DermaMNIST (MedMNIST+) at ``size`` px into ``root`` with ``medmnist``.

    Returns the npz (``root/dermamnist_224.npz`` for 224). medmnist checks the file's MD5 and
    skips the download when it is already there. Needs ``pip install medmnist``.
    """
    name = dermamnist_file_name(size)
    try:
        import medmnist  # optional dependency
    except ImportError as err:
        raise RuntimeError(
            f"medmnist is not installed (pip install medmnist). Or download {name} from "
            f"{DERMAMNIST_ZENODO} and pass its path to dermamnist_to_folder."
        ) from err
    root = Path(root).expanduser().absolute()
    root.mkdir(parents=True, exist_ok=True)  # medmnist refuses a root that does not exist
    try:  # the download fetches all splits; "val" is the smallest to load afterwards
        medmnist.DermaMNIST(split="val", download=True, size=size, root=str(root))
    except Exception as err:  # network, checksum, disk ...
        raise RuntimeError(
            f"Downloading DermaMNIST ({size} px) with medmnist failed ({err}). Try again, or "
            f"download {name} from {DERMAMNIST_ZENODO} into {root}."
        ) from err
    npz = root / name
    if not npz.is_file():
        raise RuntimeError(f"medmnist wrote no {name} in {root}; download it from "
                           f"{DERMAMNIST_ZENODO} into {root}.")
    return npz

