"""How every notebook starts: the Colab badge, the set-up cell, the data, the environment report.

The repository's address and release are settings of :mod:`helpers.config` (``REPOSITORY``,
``RELEASE``, ``INSTALL_SOURCE``), read here at call time. After a fork changes them,
``python -m helpers.course.colab notebooks`` (``make badges``) rewrites every notebook's badge,
set-up cell and data-settings comment; ``tests/test_notebooks.py`` checks they agree.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from types import ModuleType

from .. import config
from ..config import RunConfig, find_real_data, project_root

BADGE_PATTERN = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((?P<url>[^)]*)\)")


NOTEBOOK_NAME = re.compile(r"\d\d_[A-Za-z0-9_]+\.ipynb")


def colab_url(notebook: str) -> str:
    """The address that opens ``notebooks/<notebook>`` of the pinned release in Colab.

    ``notebook`` is a file name of the series, such as ``"02_finetune_resnet50.ipynb"``; where
    the project's ``notebooks/`` folder is at hand (a clone), it must be one of its files."""
    folder = project_root() / "notebooks"
    known = sorted(p.name for p in folder.glob("[0-9][0-9]_*.ipynb")) if folder.is_dir() else []
    if not isinstance(notebook, str) or not NOTEBOOK_NAME.fullmatch(notebook) or (
            known and notebook not in known):
        listed = f" The series: {', '.join(known)}." if known else ""
        raise ValueError(f"notebook={notebook!r}: expected a notebook's file name such as "
                         f"'02_finetune_resnet50.ipynb'.{listed}")
    return (f"https://colab.research.google.com/github/{config.REPOSITORY}/blob/{config.RELEASE}"
            f"/notebooks/{notebook}")


def colab_badge(notebook: str) -> str:
    """Markdown for the "Open in Colab" badge of one notebook."""
    image = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"[![Open In Colab]({image})]({colab_url(notebook)})"


def install_source() -> str:
    """``helpers.config.INSTALL_SOURCE``, or the pinned release on GitHub when it is None."""
    return config.INSTALL_SOURCE or f"git+https://github.com/{config.REPOSITORY}@{config.RELEASE}"


def install_line(source: str | None = None) -> str:
    """The pip line of the set-up cell: ``source`` (default :func:`install_source`), with the
    real-data extras.

    Its requirements are ranges, so pip keeps the torch that Colab already has.
    """
    return f'%pip install -q "{config.PACKAGE}[data] @ {source or install_source()}"'


#: the heading of book/troubleshooting.md that says what to do when the set-up cell stops
TROUBLESHOOTING_SECTION = "When the set-up cell stops"


def troubleshooting_url() -> str:
    """The address of :data:`TROUBLESHOOTING_SECTION` in ``book/troubleshooting.md`` of the
    pinned release (GitHub's anchor: the heading in lower case, spaces as hyphens)."""
    anchor = re.sub(r"[^a-z0-9 -]", "", TROUBLESHOOTING_SECTION.lower()).replace(" ", "-")
    return (f"https://github.com/{config.REPOSITORY}/blob/{config.RELEASE}/book/"
            f"troubleshooting.md#{anchor}")


#: the start of what the set-up cell raises when the install failed; the address follows
INSTALL_FAILED = "helpers did not install (pip's message above says why). What to do: "


def install_failure_message() -> str:
    """What the set-up cell raises when ``helpers`` is still missing after its ``%pip`` line.

    pip's own message is printed above it; the steps to take (the runtime's internet, the
    release tag, a local clone) are in ``book/troubleshooting.md``, at :func:`troubleshooting_url`.
    The cell itself says no more: when the install failed, no code of ``helpers`` is there to
    print the steps, and the cell stays short."""
    return INSTALL_FAILED + troubleshooting_url()


def setup_cell(source: str | None = None) -> str:
    """The first code cell of every notebook, eight lines: where ``helpers`` is missing, install
    it from ``source`` (default :func:`install_source`) and find it in the same kernel (no
    restart), or stop with :func:`install_failure_message` (a failing ``%pip`` does not raise by
    itself)."""
    return "\n".join([
        "import importlib.util  # Set-up: installs the series' helpers where they are missing",
        "",
        'if importlib.util.find_spec("helpers") is None:',
        f"    {install_line(source)}",
        "    importlib.invalidate_caches()  # this kernel sees the new package: no restart",
        '    if importlib.util.find_spec("helpers") is None:',
        f"        raise RuntimeError({json.dumps(INSTALL_FAILED)}",
        f"                           {json.dumps(troubleshooting_url())})",
    ])


def show_environment(cfg: RunConfig) -> None:
    """Print the profile, the data, the device, and what to do when no GPU is found."""
    import torch

    print(cfg.describe())
    print(f"torch {torch.__version__} | python {sys.version.split()[0]}")
    if cfg.dataset == "demo":
        print("DEMO data: real HAM10000 metadata, synthetic pixels. For real images set "
              "HAM10000_DIR (see the README).")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    else:
        print("No GPU found: fine for the demo. For the full profile in Colab choose "
              "Runtime > Change runtime type > T4 GPU, then run the notebook again.")


SETTINGS_COMMENT = (
    '# SETTINGS: the data. "demo" runs anywhere, offline (real metadata, synthetic pixels).\n'
    '# In Colab pick real images: "ham10000-kaggle" (a 5.2 GB download, no Kaggle account\n'
    '# needed), "ham10000-zip" (the Kaggle zip on Google Drive: use_data(DATA_SOURCE,\n'
    '# zip_path=...)), or "dermamnist" (see notebook 01 on its split).\n'
)
#: the comment over ``DATA_SOURCE = ...`` in the data-settings cell, and only there (a lesson's
#: own ``# SETTINGS:`` comment, such as notebook 09's ``MY_IMAGE``, is the lesson's)
SETTINGS_PATTERN = re.compile(r"^# SETTINGS:.*\n(?:#.*\n)*(?=DATA_SOURCE\s*=)", re.M)


def _synced_source(source: str, notebook: str, first_code_cell: bool) -> str:
    """One cell's source with the badge, the set-up cell and the settings comment rewritten."""
    if first_code_cell:
        return setup_cell()
    new = BADGE_PATTERN.sub(colab_badge(notebook).replace("\\", r"\\"), source)
    return SETTINGS_PATTERN.sub(SETTINGS_COMMENT.replace("\\", r"\\"), new, count=1)


#: the set-up cell's metadata: folded in JupyterLab (its output, and any failure, still shows),
#: so a student sees the lesson's first lines, not the install machinery
SETUP_METADATA = {"jupyter": {"source_hidden": True}}


def _fold_in_the_book(cell: dict) -> None:
    """A code cell folded in JupyterLab (``source_hidden``) is folded in the book too: MyST-NB
    folds the input of cells tagged ``hide-input`` (a closed ``<details>``)."""
    if cell["cell_type"] != "code" or not cell.get("metadata", {}).get("jupyter", {}).get(
            "source_hidden"):
        return
    tags = cell["metadata"].setdefault("tags", [])
    if "hide-input" not in tags:
        tags.append("hide-input")


def sync_notebook(path: Path) -> bool:
    """Rewrite one notebook's badge, set-up cell (the first code cell, folded with
    :data:`SETUP_METADATA`) and data-settings comment from the settings above; True if changed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No notebook at {path}: give the path of one of the series' "
                                "notebooks (python -m helpers.course.colab notebooks syncs them "
                                "all).")
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    code_cells = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        new = _synced_source(source, path.name, bool(code_cells) and cell is code_cells[0])
        if new != source:
            cell["source"] = new.splitlines(keepends=True)
        if code_cells and cell is code_cells[0]:
            for key, value in SETUP_METADATA.items():
                cell.setdefault("metadata", {})[key] = {**cell["metadata"].get(key, {}), **value}
        _fold_in_the_book(cell)
    updated = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    return True


COLAB_LINK_PATTERN = re.compile(
    r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/[^/\s)]+/notebooks/"
    r"(?P<notebook>[^/\s)]+\.ipynb)"
)


def sync_links(path: Path) -> bool:
    """Rewrite every Colab link in a text file (the README) from the settings above."""
    text = path.read_text(encoding="utf-8")
    updated = COLAB_LINK_PATTERN.sub(lambda m: colab_url(m["notebook"]), text)
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    return True


def main(folder: str = "notebooks") -> None:
    """Bring every notebook's badge, set-up cell and settings comment, and the README's Colab
    links, in line with the release settings of :mod:`helpers.config`."""
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb")):
        print(f"{path}: {'updated' if sync_notebook(path) else 'up to date'}")
    readme = Path(folder).resolve().parent / "README.md"
    if readme.is_file():
        print(f"{readme.name}: {'updated' if sync_links(readme) else 'up to date'}")



# --------------------------------------------------------------------------- data sources
#
# The settings cell of every notebook: DATA_SOURCE = "demo" | ...; use_data(DATA_SOURCE). Each
# real source ends with HAM10000_DIR pointing at a folder in HAM10000's layout, so the
# load_config() that follows picks the full profile on it.

DATA_SOURCES = ("demo", "ham10000-kaggle", "ham10000-zip", "dermamnist")
ZIP_NAMES = ("HAM10000.zip", "archive.zip", "skin-cancer-mnist-ham10000.zip")
UPLOAD_LIMIT_GB = 1.0  # about what Colab's upload box carries: it holds the file in the browser
HAM10000_LICENCE = (
    "Licence: HAM10000 is CC BY-NC 4.0 on the Harvard Dataverse (the original, "
    "doi:10.7910/DVN/DBW86T); the Kaggle mirror states CC BY-NC-SA 4.0 (share adaptations of that "
    "copy alike). Non-commercial use only. Cite Tschandl, Rosendahl & Kittler, 'The HAM10000 "
    "dataset', Sci. Data 5, 180161 (2018), doi:10.1038/sdata.2018.161."
)
DERMAMNIST_LICENCE = (
    "Licence: DermaMNIST is CC BY-NC 4.0 (non-commercial use only). Cite Yang et al., "
    "'MedMNIST v2', Sci. Data 10, 41 (2023) and Tschandl et al., Sci. Data 5, 180161 (2018)."
)
DERMAMNIST_WARNING = (
    "WARNING: DermaMNIST has no lesion ids, so any split of it (DermaMNIST's own or ours) puts "
    "images of one lesion on both sides. That inflates test scores; notebook 01 measures by how "
    "much on the real HAM10000 metadata."
)


def _report_demo() -> None:
    """Say what the demo source means, and that real data wins when it is found."""
    real = find_real_data()
    if real is None:
        print("Demo data: nothing to download; load_config() writes the synthetic demo set.")
    else:
        print(f"DATA_SOURCE is 'demo', but real data was found at {real} (HAM10000_DIR or "
              "data/HAM10000): load_config() will use it. For the demo, unset HAM10000_DIR.")


def _use_kaggle(base: Path) -> Path:
    """HAM10000 from Kaggle with kagglehub, linked at ``base/HAM10000``."""
    from ..data import KAGGLE_HANDLE
    from .sources import download_ham10000

    root = download_ham10000(base / "HAM10000")
    print(f"HAM10000 downloaded from Kaggle ({KAGGLE_HANDLE}) and linked at {root}.")
    print(HAM10000_LICENCE)
    return root


def _colab_files() -> ModuleType | None:
    """``google.colab.files`` when running in Colab, else None."""
    try:
        from google.colab import files  # type: ignore[import-not-found]
    except ImportError:
        return None
    return files


def zip_routes() -> str:
    """The two routes that bring Kaggle's zip into Colab (the upload box cannot carry it)."""
    from ..data import KAGGLE_HANDLE
    from .sources import KAGGLE_ZIP_GB

    return (
        f"Kaggle's HAM10000 archive is about {KAGGLE_ZIP_GB:g} GB; Colab's upload box carries "
        f"files up to about {UPLOAD_LIMIT_GB:g} GB (the browser holds the whole file in memory), "
        "so it is not offered for it. Two routes work:\n"
        "  1. Google Drive: put the zip in your Drive, then run\n"
        "       from google.colab import drive; drive.mount('/content/drive')\n"
        "       use_data('ham10000-zip', zip_path='/content/drive/MyDrive/archive.zip')\n"
        "  2. Kaggle: DATA_SOURCE = 'ham10000-kaggle' downloads it inside Colab with kagglehub "
        f"(no Kaggle account needed; {KAGGLE_HANDLE}).\n"
        f"A smaller zip (under about {UPLOAD_LIMIT_GB:g} GB, e.g. resized images your teacher "
        "prepared) can be uploaded: use_data('ham10000-zip', upload=True)."
    )


def _saved_upload(name: str, data: bytes) -> Path:
    """The file Colab saved for the upload ``name``, whose bytes ``files.upload()`` returned.

    ``files.upload()`` returns the browser's file names, but saves a name that already exists
    as ``name (1).zip``, ``name (2).zip``, ... (the first free one), so ``name`` itself may be an
    older file. The saved file is the newest of that row with the upload's size; when there is
    none (an upload box that did not save), the bytes are written to the next free name.
    """
    stem, suffix = os.path.splitext(name)
    row = [Path(name)]
    while row[-1].exists():
        row.append(Path(f"{stem} ({len(row)}){suffix}"))
    same_size = [path for path in row[:-1] if path.stat().st_size == len(data)]
    if same_size:
        return max(same_size, key=lambda path: path.stat().st_mtime_ns).absolute()
    row[-1].write_bytes(data)
    return row[-1].absolute()


def _upload_zip(files: ModuleType) -> Path:
    """Ask for a small zip (under about 1 GB) with Colab's upload box; the path it was saved at."""
    print(f"Choose the zip in the upload box. It must be under about {UPLOAD_LIMIT_GB:g} GB: the "
          "browser holds the whole file in its memory while it sends it.")
    uploaded: dict[str, bytes] = files.upload()
    zips = [name for name in uploaded if name.lower().endswith(".zip")]
    if not zips:
        raise FileNotFoundError(
            f"No zip among the uploaded files ({', '.join(uploaded) or 'none'}). Upload a .zip, "
            "or pass zip_path=..."
        )
    return _saved_upload(zips[0], uploaded[zips[0]])


def find_zip(zip_path: str | Path | None = None, upload: bool = False) -> Path:
    """The HAM10000 zip: ``zip_path``, else one of :data:`ZIP_NAMES` in the current folder,
    else (in Colab, with ``upload=True``) one uploaded now.

    Kaggle's archive is about 5.2 GB, far over what Colab's upload box carries (about 1 GB), so
    the box is only opened when asked for, for a smaller zip; without it the error gives the two
    routes that work (Google Drive with ``zip_path``, or the Kaggle source).
    """
    if zip_path is not None:
        path = Path(zip_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"No zip at {path.absolute()}; check zip_path.")
        return path.absolute()
    for name in ZIP_NAMES:
        if Path(name).is_file():
            return Path(name).absolute()
    from ..data import KAGGLE_HANDLE
    from .sources import KAGGLE_ZIP_GB

    files = _colab_files()
    if files is not None and upload:
        return _upload_zip(files)
    if files is not None:
        raise FileNotFoundError(f"No HAM10000 zip found in {Path.cwd()}. {zip_routes()}")
    raise FileNotFoundError(
        f"No HAM10000 zip found: looked for {', '.join(ZIP_NAMES)} in {Path.cwd()}. Download "
        f"the archive from https://www.kaggle.com/datasets/{KAGGLE_HANDLE} (about "
        f"{KAGGLE_ZIP_GB:g} GB) and put it there under one "
        "of these names, or pass use_data('ham10000-zip', zip_path='path/to/the.zip')."
    )


def _use_zip(base: Path, zip_path: str | Path | None, upload: bool) -> Path:
    """HAM10000 from a zip of the Kaggle archive, extracted into ``base/HAM10000``."""
    from .sources import existing_extraction, extract_ham10000_zip

    dest = base / "HAM10000"
    if dest.exists() or dest.is_symlink():  # extracted before: no zip, no upload needed
        root = existing_extraction(dest)
        if zip_path is not None:  # the zip named must be the data extracted
            _same_data(find_zip(zip_path, False), root, dest)
        print(f"HAM10000 already extracted at {root}.")
    else:
        archive = find_zip(zip_path, upload)
        root = extract_ham10000_zip(archive, dest)
        print(f"HAM10000 extracted from {archive} into {root}.")
    print(HAM10000_LICENCE)
    return root


def _same_data(archive: Path, root: Path, dest: Path) -> None:
    """Refuse an earlier extraction at ``dest`` (data folder ``root``) of other data than the
    zip ``archive``: it would be used in its place without a word."""
    from .resized import data_fingerprint
    from .sources import zip_fingerprint

    if zip_fingerprint(archive) != data_fingerprint(root):
        raise FileExistsError(
            f"{dest} holds data extracted earlier from another zip than {archive} (its table or "
            f"images differ). Delete {dest} to extract {archive.name} there, or pass another "
            "folder= to use_data.")


def _use_dermamnist(base: Path) -> Path:
    """DermaMNIST 224 px via medmnist, written as a HAM10000-layout folder."""
    from .sources import dermamnist_to_folder, download_dermamnist

    npz = download_dermamnist(base / "dermamnist", size=224)
    root = dermamnist_to_folder(npz, base / "DermaMNIST-224")
    print(f"DermaMNIST ({npz.name}) written in HAM10000's layout at {root}.")
    print(DERMAMNIST_WARNING)
    print(DERMAMNIST_LICENCE)
    return root


DRIVE_ROOT = "/content/drive"  # where Colab mounts Google Drive


def _mount_drive(folder: Path) -> None:
    """Mount Google Drive at :data:`DRIVE_ROOT` for ``folder`` (only inside Colab)."""
    try:
        from google.colab import drive  # type: ignore[import-not-found]
    except ImportError:
        raise RuntimeError(
            f"course_folder={str(folder)!r} is on Google Drive, which can be mounted only inside "
            "Colab. Here, give a local folder instead (e.g. course_folder='course'), or set "
            "TUTORIAL_HOME to one.") from None
    print(f"Mounting Google Drive at {DRIVE_ROOT} for the course folder (Colab asks you to "
          "allow it once per runtime).")
    drive.mount(DRIVE_ROOT)


def use_course_folder(folder: str | Path) -> Path:
    """Make ``folder`` the course folder: ``TUTORIAL_HOME``, which holds the resized-image cache,
    ``outputs/`` and the checkpoints, so that a later runtime with the same folder neither
    downloads nor trains again. A path under ``/content/drive`` mounts Google Drive first."""
    path = Path(folder).expanduser().absolute()
    if str(path) == DRIVE_ROOT or str(path).startswith(DRIVE_ROOT + "/"):
        _mount_drive(path)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["TUTORIAL_HOME"] = str(path)
    print(f"Course folder {path} (TUTORIAL_HOME): the cache, outputs and checkpoints live there.")
    return path


def use_data(source: str = "demo", folder: str | Path = "data",
             zip_path: str | Path | None = None, upload: bool = False,
             course_folder: str | Path | None = None) -> Path | None:
    """Fetch the data ``source`` names into ``folder`` and point ``HAM10000_DIR`` at it.

    ``"demo"``: nothing to fetch, returns None (HAM10000_DIR is left alone). ``"ham10000-kaggle"``:
    download with kagglehub (about 5.2 GB; this public data set needs no Kaggle account).
    ``"ham10000-zip"``: extract the Kaggle archive (``zip_path``, e.g. on Google Drive, else
    ``HAM10000.zip``/``archive.zip``/``skin-cancer-mnist-ham10000.zip`` here, else, with
    ``upload=True`` in Colab, a zip under about 1 GB from the upload box). ``"dermamnist"``:
    DermaMNIST 224 px via medmnist, as a HAM10000-layout folder (no lesion ids: leaky splits).
    ``course_folder``: see :func:`use_course_folder` (e.g. ``/content/drive/MyDrive/course``).
    When the cache (the course folder's, or the teacher's published one, fetched first) holds a
    resized copy of HAM10000 (:mod:`helpers.resized`), that copy is the data and nothing is
    downloaded. Returns the data folder; run ``load_config()`` after it.
    """
    if source not in DATA_SOURCES:
        raise ValueError(f"Unknown data source {source!r}. Valid sources: "
                         f"{', '.join(DATA_SOURCES)}.")
    if course_folder is not None:
        use_course_folder(course_folder)
    if source == "demo":
        _report_demo()
        return None
    root = _course_copy(source, zip_path)
    if root is None:
        base = Path(folder).expanduser().absolute()
        if source == "ham10000-kaggle":
            root = _use_kaggle(base)
        elif source == "ham10000-zip":
            root = _use_zip(base, zip_path, upload)
        else:
            root = _use_dermamnist(base)
    os.environ["HAM10000_DIR"] = str(root)
    print(f"HAM10000_DIR={root}: load_config() now picks the full profile on this data.")
    return root


def _course_copy(source: str, zip_path: str | Path | None = None) -> Path | None:
    """HAM10000 resized, ready in the cache (the course folder's, or the teacher's published
    cache, fetched here): then nothing is downloaded. None: fetch the data ``source`` names.

    For ``"ham10000-zip"`` with a zip at hand (``zip_path``, or one of :data:`ZIP_NAMES` here),
    only a copy made from that zip's data counts (:func:`helpers.course.sources.zip_fingerprint`,
    read from the zip's table of contents): a copy of other data is never announced as it."""
    if source == "dermamnist":  # the copies are of HAM10000
        return None
    from ..config import default_cache_dir
    from .publish import fetch_folder
    from .resized import copy_size, find_resized_copy
    from .sources import zip_fingerprint

    cache = default_cache_dir()
    fetch_folder("CACHE", cache)  # the teacher's resized images, if published
    fingerprint = None
    if source == "ham10000-zip":
        try:
            archive = find_zip(zip_path, upload=False)
        except FileNotFoundError:
            if zip_path is not None:
                raise
            archive = None  # no zip here: any copy of HAM10000 in the cache will do
        fingerprint = None if archive is None else zip_fingerprint(archive)
    found = find_resized_copy(cache, fingerprint)
    if found is not None:
        made = ("from the data in that zip" if fingerprint is not None else
                "from the original data by an earlier run or published by the teacher")
        print(f"The cache holds HAM10000 resized to {copy_size(found)} px ({found}): using it, "
              f"nothing to download. (It was made {made}; delete that folder to start from "
              "the original.)")
    elif fingerprint is not None and find_resized_copy(cache) is not None:
        print(f"The cache holds resized copies of other data than {archive.name}; they are not "
              "used for it.")
    return found


if __name__ == "__main__":
    main(*sys.argv[1:])
