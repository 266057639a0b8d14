"""How every notebook starts: the Colab badge, the set-up cell, and the environment report.

The repository's address lives here and nowhere else. A fork changes ``REPOSITORY`` (and
``RELEASE`` when it tags its own), then runs ``python -m helpers.colab`` (``make badges``) to
rewrite every notebook's badge and install line; ``tests/test_notebooks.py`` checks they agree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from .config import RunConfig

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


def main(folder: str = "notebooks") -> None:
    """Bring every notebook's badge and install line in line with ``REPOSITORY`` and ``RELEASE``."""
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb")):
        print(f"{path}: {'updated' if sync_notebook(path) else 'up to date'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
