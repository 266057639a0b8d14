"""The book (``make book``) in a real browser: built once, served on loopback, read in Chromium.

The module builds the book from the committed notebooks into a temporary folder (as ``make book``
does, with the same ``book/conf.py``), serves it with ``http.server`` on 127.0.0.1 and opens it
in headless Chromium (the fixture of ``tests/chromium.py``). It checks the index page (every
numbered notebook in its table of contents), notebook 03's page (an equation typeset by the
locally served MathJax, a figure that loaded, the Colab badge, solutions folded) and its link to
the next notebook, and saves a screenshot to ``outputs/browser/book_03.png``. Without Chromium
and its driver the browser tests are skipped with the command that installs them.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("myst_nb", reason="the book's packages are missing: pip install -e '.[book]'")
pytest.importorskip("selenium.webdriver", reason="Selenium is missing: pip install -e '.[dev]'")
from selenium.webdriver.common.by import By  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGE = next(p for p in NOTEBOOKS if p.name.startswith("03_"))  # the derivation: maths, figures
NEXT = NOTEBOOKS[NOTEBOOKS.index(PAGE) + 1]
SCREENSHOT = ROOT / "outputs" / "browser" / "book_03.png"
BUILD_TIMEOUT = 600  # seconds (about 5 s on an idle 2-core machine)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book") / "html"
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-c", "book", ".", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, f"the book did not build:\n{done.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def site(built: Path):
    """The built book on http://127.0.0.1:<free port>/ (a thread; stopped after the module)."""
    handler = functools.partial(_QuietHandler, directory=str(built))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002  (the base class's name)
        pass


def test_build_lists_every_notebook_and_uses_no_cdn(built: Path) -> None:
    for nb in NOTEBOOKS:
        assert (built / "notebooks" / f"{nb.stem}.html").is_file(), nb.name
    page = (built / "notebooks" / f"{PAGE.stem}.html").read_text(encoding="utf-8")
    assert "_static/mathjax/tex-chtml.js" in page, "MathJax should be served from the book"
    assert "cdn.jsdelivr.net" not in page and "mathjax@" not in page


def _wait(what: str, timeout: float, probe):
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)
    return value


def test_index_page_has_the_table_of_contents(site: str, browser) -> None:
    browser.get(f"{site}/")  # forwards to book/index.html
    _wait("the index page", 30, lambda: browser.current_url.endswith("/book/index.html"))
    assert "Grad-CAM++" in browser.title
    found = _wait("the table of contents", 30,  # the forward may still be loading the page
                  lambda: browser.find_elements(By.CSS_SELECTOR, "nav a[href*='notebooks/']"))
    links = {a.get_attribute("href").rsplit("/", 1)[-1] for a in found}
    assert {f"{nb.stem}.html" for nb in NOTEBOOKS} <= links, links


MATH = """
const boxes = document.querySelectorAll('mjx-container');
return {typeset: boxes.length, errors: document.querySelectorAll('mjx-merror').length,
        raw: (document.body.innerText.match(/\\$\\$/g) || []).length};
"""
FIGURES = """
return Array.from(document.querySelectorAll('.cell_output img, .output img'))
  .filter(img => img.complete && img.naturalWidth > 100).length;
"""


def test_notebook_page_typesets_maths_shows_figures_and_links_on(site: str, browser) -> None:
    browser.get(f"{site}/notebooks/{PAGE.stem}.html")
    math = _wait("MathJax to typeset the equations", 60,
                 lambda: (m := browser.execute_script(MATH)) and m["typeset"] > 10 and m)
    assert math["errors"] == 0, math
    assert math["raw"] == 0, "display maths left as $$...$$ source"
    assert _wait("a figure to load", 30, lambda: browser.execute_script(FIGURES)) >= 1
    badge = browser.find_elements(By.CSS_SELECTOR, "a[href*='colab.research.google.com']")
    assert badge and PAGE.name in badge[0].get_attribute("href")
    solutions = browser.find_elements(By.CSS_SELECTOR, "details")
    assert solutions, "the notebook's solutions should be <details> blocks"
    assert not any(d.get_attribute("open") for d in solutions), "a solution is shown unfolded"
    assert all(not d.find_element(By.XPATH, "./*[not(self::summary)]").is_displayed()
               for d in solutions if d.find_elements(By.XPATH, "./*[not(self::summary)]"))

    equation = browser.find_element(By.CSS_SELECTOR, "mjx-container[display='true']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", equation)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))

    browser.find_element(By.CSS_SELECTOR, "a.right-next").click()
    _wait(f"the page of {NEXT.name}", 30,
          lambda: browser.current_url.endswith(f"/notebooks/{NEXT.stem}.html"))
    heading = browser.find_element(By.CSS_SELECTOR, "article h1").text
    assert heading.startswith(NEXT.name[:2]), heading
