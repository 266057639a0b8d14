"""Notebook 09 in a real browser: JupyterLab on loopback, headless Chromium driven by Selenium.

The test opens the notebook, runs every cell (``notebook:run-all-cells``), checks that no cell
failed and that the explorer's picture is drawn, clicks the ``layer3`` button of the explorer
and checks that the picture changed (its bytes, read in the browser, and its pixels on screen),
then clicks ``layer4`` again and checks that the picture is the first one, from the cache. It
saves a screenshot to ``outputs/browser/09_explorer.png``.

The server's kernels run with ``TUTORIAL_PROFILE=smoke``: a model trained in seconds (the unit
tests run before notebook 02 has saved the demo model). Nothing leaves 127.0.0.1. Without
Chromium and its driver the test is skipped with the command that installs them.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("jupyterlab")
pytest.importorskip("ipywidgets")
pytest.importorskip("selenium.webdriver", reason="Selenium is missing: pip install -e '.[dev]'")
from labserver import running_lab  # noqa: E402  (tests/labserver.py)
from selenium.webdriver.common.by import By  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "09_appendix_explore_and_explain.ipynb"
SCREENSHOT = ROOT / "outputs" / "browser" / "09_explorer.png"
RUN_TIMEOUT = 600  # seconds for the whole notebook (smoke profile; a busy 2-core machine)
CHANGE_TIMEOUT = 120  # seconds for the explorer to redraw after a click
# JupyterLab settings for the test: every cell stays in the page (JupyterLab 4 detaches cells
# scrolled out of view), no autosave, no news pop-up over the page.
LAB_SETTINGS = {
    "notebook-extension/tracker": {"windowingMode": "none"},
    "docmanager-extension/plugin": {"autosave": False},
    "apputils-extension/notification": {"fetchNews": "false"},
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of notebook 09 (the browser never writes to the repository's
    file); its kernels use the smoke profile, so the copy trains a model in seconds."""
    tmp = tmp_path_factory.mktemp("lab-browser")
    for name, values in LAB_SETTINGS.items():
        path = tmp / "settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    root = tmp / "notebooks"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    env = {"TUTORIAL_PROFILE": "smoke", "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings")}
    with running_lab(tmp, root, env, ("--LabApp.expose_app_in_browser=True",)) as server:
        yield server


# JavaScript run in the page: the notebook's state from JupyterLab's own model.
NOTEBOOK_STATE = """
const app = window.jupyterapp;
const panel = app && Array.from(app.shell.widgets("main")).find(w => w.sessionContext && w.content);
if (!panel || !panel.content.model) { return null; }
const cells = [];
const model = panel.content.model;
for (let i = 0; i < model.cells.length; i++) {
  const cell = model.cells.get(i);
  if (cell.type !== "code") { continue; }
  const outputs = cell.outputs.toJSON();
  cells.push({count: cell.executionCount,
              errors: outputs.filter(o => o.output_type === "error")
                             .map(o => o.ename + ": " + o.evalue)});
}
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
return {id: panel.id, cells: cells, kernel: kernel ? kernel.status : "none"};
"""
# The explorer's picture: the <img> of the ipywidgets Image inside the explorer's box.
PICTURE = ".widget-vbox .widget-image"
# Its bytes, read in the page (a blob: URL made from the widget's value).
PICTURE_BYTES = """
const done = arguments[arguments.length - 1];
const img = document.querySelector(arguments[0]);
if (!img || !img.src) { done(null); return; }
fetch(img.src).then(r => r.arrayBuffer()).then(b => {
  const bytes = new Uint8Array(b);
  let hash = 0;
  for (let i = 0; i < bytes.length; i++) { hash = (hash * 31 + bytes[i]) >>> 0; }
  done(bytes.length + ":" + hash);
}).catch(() => done(null));
"""
STATUS = ".widget-vbox .widget-html"


def _wait(what: str, timeout: float, probe, driver, lab):
    """Poll ``probe()`` until it returns something truthy; fail with ``what`` and the lab log."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(SCREENSHOT.with_name("09_failure.png")))
            pytest.fail(f"timed out after {timeout} s waiting for {what}{lab.log_tail()}")
        time.sleep(1)


def _button(driver, text: str):
    buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, ".widget-toggle-button")
               if b.text.strip() == text]
    assert buttons, f"no '{text}' button in the explorer"
    return buttons[0]


def test_notebook_09_runs_in_chromium_and_the_explorer_reacts(lab, browser):
    browser.get(f"{lab.url}/lab/tree/{NOTEBOOK}?token={lab.token}")

    def ready():
        state = browser.execute_script(NOTEBOOK_STATE)
        return state if state and state["kernel"] == "idle" else None

    panel = _wait("the notebook and its kernel", 180, ready, browser, lab)["id"]
    browser.execute_script(  # not awaited: the command's promise settles when all cells ran
        "window.jupyterapp.shell.activateById(arguments[0]);"
        "window.jupyterapp.commands.execute('notebook:run-all-cells'); return true;", panel)

    def finished():
        state = browser.execute_script(NOTEBOOK_STATE)
        errors = [e for cell in state["cells"] for e in cell["errors"]]
        assert not errors, f"a cell failed in the browser: {errors}"
        done = all(cell["count"] for cell in state["cells"]) and state["kernel"] == "idle"
        return done and browser.find_elements(By.CSS_SELECTOR, PICTURE)

    _wait("every cell to run", RUN_TIMEOUT, finished, browser, lab)
    counts = [cell["count"] for cell in browser.execute_script(NOTEBOOK_STATE)["cells"]]
    assert counts == list(range(1, len(counts) + 1)), counts  # each cell ran once, in order

    picture = browser.find_element(By.CSS_SELECTOR, PICTURE)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", picture)
    first_bytes = browser.execute_async_script(PICTURE_BYTES, PICTURE)
    first_pixels = picture.screenshot_as_png
    assert first_bytes and int(first_bytes.split(":")[0]) > 10_000, first_bytes

    _button(browser, "layer3").click()

    def changed():
        now = browser.execute_async_script(PICTURE_BYTES, PICTURE)
        return now if now and now != first_bytes else None

    second_bytes = _wait("the map to change after clicking layer3", CHANGE_TIMEOUT, changed,
                         browser, lab)
    picture = browser.find_element(By.CSS_SELECTOR, PICTURE)
    assert picture.screenshot_as_png != first_pixels, "the bytes changed but not the pixels"
    status = browser.find_element(By.CSS_SELECTOR, STATUS).text
    assert "computed" in status, status  # layer3's maps were not in the cache

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", picture)
    browser.save_screenshot(str(SCREENSHOT))

    _button(browser, "layer4").click()  # back to the first choice: from the cache
    back = _wait("the map to change back", CHANGE_TIMEOUT, lambda: (
        browser.execute_async_script(PICTURE_BYTES, PICTURE) == first_bytes), browser, lab)
    assert back and second_bytes != first_bytes
    assert "all from the cache" in browser.find_element(By.CSS_SELECTOR, STATUS).text
