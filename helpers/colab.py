"""How every notebook starts: the Colab badge, the set-up cell, the data, the environment report.

The repository's address lives here and nowhere else. A fork changes ``REPOSITORY`` (and
``RELEASE`` when it tags its own), then runs ``python -m helpers.colab`` (``make badges``) to
rewrite every notebook's badge and install line; ``tests/test_notebooks.py`` checks they agree.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from types import ModuleType

from .config import RunConfig, find_real_data

REPOSITORY = "ham10000-xai/gradcam-plus-plus-ham10000"  # GitHub owner/name: the line a fork edits
RELEASE = "v0.1.0"  # the tag Colab installs `helpers` from, so a lesson never changes under you
PACKAGE = "gradcam-ham10000-helpers"

BADGE_PATTERN = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((?P<url>[^)]*)\)")
INSTALL_PATTERN = re.compile(r'%pip install -q "[^"]*"')


def colab_url(notebook: str) -> str:
    """The address that opens ``notebooks/<notebook>`` of the pinned release in Colab."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{RELEASE}/notebooks/{notebook}"


def colab_badge(notebook: str) -> str:
    """Markdown for the "Open in Colab" badge of one notebook."""
    image = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"[![Open In Colab]({image})]({colab_url(notebook)})"


def install_line() -> str:
    """The pip line of the set-up cell: the pinned release, with the real-data extras.

    Its requirements are ranges, so pip keeps the torch that Colab already has.
    """
    return f'%pip install -q "{PACKAGE}[data] @ git+https://github.com/{REPOSITORY}@{RELEASE}"'


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


def sync_notebook(path: Path) -> bool:
    """Rewrite one notebook's badge and install line from the settings above; True if changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        new = BADGE_PATTERN.sub(colab_badge(path.name).replace("\\", r"\\"), source)
        new = INSTALL_PATTERN.sub(install_line().replace("\\", r"\\"), new)
        if new != source:
            cell["source"] = new.splitlines(keepends=True)
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
    """Bring every notebook's badge and install line, and the README's Colab links, in line with
    ``REPOSITORY`` and ``RELEASE``."""
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
HAM10000_LICENCE = (
    "Licence: HAM10000 is CC BY-NC 4.0 (non-commercial use only). Cite Tschandl, Rosendahl & "
    "Kittler, 'The HAM10000 dataset', Sci. Data 5, 180161 (2018), doi:10.1038/sdata.2018.161."
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
    from .data import KAGGLE_HANDLE
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


def _upload_zip(files: ModuleType) -> Path:
    """Ask for the zip with Colab's upload box; the path of the uploaded zip in the cwd."""
    print("Choose the HAM10000 zip from Kaggle in the upload box (2.6 GB: a slow upload; a zip "
          "on Google Drive, passed as zip_path, is faster).")
    uploaded: dict[str, bytes] = files.upload()
    zips = [name for name in uploaded if name.lower().endswith(".zip")]
    if not zips:
        raise FileNotFoundError(
            f"No zip among the uploaded files ({', '.join(uploaded) or 'none'}). Upload the "
            "archive downloaded from Kaggle (a .zip), or pass zip_path=..."
        )
    path = Path(zips[0]).absolute()
    if not path.is_file():  # files.upload() saves into the cwd; write it if it did not
        path.write_bytes(uploaded[zips[0]])
    return path


def find_zip(zip_path: str | Path | None = None) -> Path:
    """The HAM10000 zip: ``zip_path``, else one of :data:`ZIP_NAMES` in the current folder,
    else (in Colab) one uploaded now."""
    if zip_path is not None:
        path = Path(zip_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"No zip at {path.absolute()}; check zip_path.")
        return path.absolute()
    for name in ZIP_NAMES:
        if Path(name).is_file():
            return Path(name).absolute()
    files = _colab_files()
    if files is not None:
        return _upload_zip(files)
    raise FileNotFoundError(
        f"No HAM10000 zip found: looked for {', '.join(ZIP_NAMES)} in {Path.cwd()}. Download "
        "the archive from https://www.kaggle.com/datasets/kmader/skin-cancer-mnist-ham10000 "
        "and put it there under one of these names, or pass use_data('ham10000-zip', "
        "zip_path='path/to/the.zip')."
    )


def _use_zip(base: Path, zip_path: str | Path | None) -> Path:
    """HAM10000 from a zip of the Kaggle archive, extracted into ``base/HAM10000``."""
    from .sources import existing_extraction, extract_ham10000_zip

    dest = base / "HAM10000"
    if dest.exists() or dest.is_symlink():  # extracted before: no zip, no upload needed
        root = existing_extraction(dest)
        print(f"HAM10000 already extracted at {root}.")
    else:
        archive = find_zip(zip_path)
        root = extract_ham10000_zip(archive, dest)
        print(f"HAM10000 extracted from {archive} into {root}.")
    print(HAM10000_LICENCE)
    return root


def _use_dermamnist(base: Path) -> Path:
    """DermaMNIST 224 px via medmnist, written as a HAM10000-layout folder."""
    from .sources import dermamnist_to_folder, download_dermamnist

    npz = download_dermamnist(base / "dermamnist", size=224)
    root = dermamnist_to_folder(npz, base / "DermaMNIST-224")
    print(f"DermaMNIST ({npz.name}) written in HAM10000's layout at {root}.")
    print(DERMAMNIST_WARNING)
    print(DERMAMNIST_LICENCE)
    return root


def use_data(source: str = "demo", folder: str | Path = "data",
             zip_path: str | Path | None = None) -> Path | None:
    """Fetch the data ``source`` names into ``folder`` and point ``HAM10000_DIR`` at it.

    ``"demo"``: nothing to fetch, returns None (HAM10000_DIR is left alone). ``"ham10000-kaggle"``:
    download with kagglehub (Kaggle credentials). ``"ham10000-zip"``: extract the Kaggle
    archive (``zip_path``, else ``HAM10000.zip``/``archive.zip``/
    ``skin-cancer-mnist-ham10000.zip`` here, else Colab's upload box). ``"dermamnist"``:
    DermaMNIST 224 px via medmnist, as a HAM10000-layout folder (no lesion ids: leaky splits).
    Returns the data folder; run ``load_config()`` after it.
    """
    if source not in DATA_SOURCES:
        raise ValueError(f"Unknown data source {source!r}. Valid sources: "
                         f"{', '.join(DATA_SOURCES)}.")
    if source == "demo":
        _report_demo()
        return None
    base = Path(folder).expanduser().absolute()
    if source == "ham10000-kaggle":
        root = _use_kaggle(base)
    elif source == "ham10000-zip":
        root = _use_zip(base, zip_path)
    else:
        root = _use_dermamnist(base)
    os.environ["HAM10000_DIR"] = str(root)
    print(f"HAM10000_DIR={root}: load_config() now picks the full profile on this data.")
    return root


if __name__ == "__main__":
    main(*sys.argv[1:])
