"""Sphinx configuration of the series' book (``make book``).

The source folder is the repository root (``sphinx-build -c book . outputs/book``), so the
committed notebooks are read where they are: ``notebooks/[0-9][0-9]_*.ipynb`` (a new numbered
notebook appears by itself) and the pages in ``book/``. Nothing is executed: the book shows the
notebooks' committed outputs. MathJax is served from the build folder (no CDN).
"""

from __future__ import annotations

project = "Grad-CAM++ on skin lesions"
author = "the series' authors"
copyright = "the series' authors; HAM10000 metadata CC BY-NC 4.0"

extensions = ["myst_nb", "sphinx-mathjax-offline"]
root_doc = "book/index"
include_patterns = ["book/*.md", "notebooks/[0-9][0-9]_*.ipynb"]
exclude_patterns = [".venv", "outputs", "data", ".cache", "build", "**/.ipynb_checkpoints",
                    "book/README.md"]

nb_execution_mode = "off"  # the committed outputs, as they are
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "html_image", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "misc.highlighting_failure"]

html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
}
html_extra_path = ["_extra"]  # index.html at the top: forwards to book/index.html
