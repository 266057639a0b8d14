"""JupyterLab serves the notebooks as a student meets them.

One ``jupyter lab`` server runs on loopback for the whole module (token auth, settings and
runtime files kept in a temporary folder). For every notebook the test opens it through the
contents API, creates a session as JupyterLab does, runs its first code cells over the kernel
websocket (up to the cell that prints the run profile, never a cell that trains), checks the
kernel is this venv's Python, deletes the session and checks the kernel is gone. At the end the
server is shut down through its API and must exit cleanly.

Only the standard library and tornado (a JupyterLab dependency) are used; no browser, no network
beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

pytest.importorskip("jupyterlab")
pytest.importorskip("jupyter_server")
websocket = pytest.importorskip("tornado.websocket")
from labserver import Lab, running_lab  # noqa: E402  (tests/labserver.py)
from tornado.httpclient import HTTPRequest  # noqa: E402  (after the skip above)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))

CELL_TIMEOUT = 180  # seconds per cell (the first cell of a notebook may import torch)
MAX_CELLS = 3  # run at most this many code cells per notebook
# Cells that train or run the slow CAM method are never run here: calls, not imports.
TRAINING = re.compile(r"\bfit\(|\bload_or_train\(|ScoreCAM\(")
PROFILE_CELL = re.compile(r"\bload_config\(|\.describe\(\)")


# --------------------------------------------------------------------------- server fixture


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory.mktemp("jupyterlab"), NOTEBOOK_DIR) as server:
        yield server


# --------------------------------------------------------------------------- server-level checks


def test_server_status_and_lab_page(lab):
    status, body = lab.request("GET", "/api/status")
    assert status == 200, body
    assert isinstance(body, dict) and "started" in body, body

    status, page = lab.request("GET", "/lab")
    assert status == 200, f"GET /lab gave {status}{lab.log_tail()}"
    assert "jupyter-config-data" in page, "the JupyterLab page is not the one served"

    status, listing = lab.request("GET", "/api/contents?content=1")
    assert status == 200, listing
    names = {item["name"] for item in listing["content"]}
    assert {nb.name for nb in NOTEBOOKS} <= names, names

    status, specs = lab.request("GET", "/api/kernelspecs")
    assert status == 200, specs
    assert "python3" in specs["kernelspecs"], specs


def test_requests_without_token_are_refused(lab):
    req = urllib.request.Request(lab.url + "/api/contents")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 403


# --------------------------------------------------------------------------- per notebook


def _cells_to_run(cells: list[dict]) -> list[str]:
    """Code cells up to and including the one that prints the profile (at most MAX_CELLS)."""
    sources = [c["source"] for c in cells if c["cell_type"] == "code"][:MAX_CELLS]
    chosen = []
    for source in sources:
        if TRAINING.search(source):
            continue
        chosen.append(source)
        if PROFILE_CELL.search(source):
            break
    return chosen


def _message(session: str, code: str) -> dict:
    msg_id = uuid.uuid4().hex
    return {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": session,
            "username": "student",
            "version": "5.3",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }


async def _execute(ws, session: str, code: str) -> tuple[dict, str]:
    """Run ``code``; return the execute_reply content and the text the cell showed."""
    msg = _message(session, code)
    msg_id = msg["header"]["msg_id"]
    await ws.write_message(json.dumps(msg))
    reply, idle, out = None, False, []
    deadline = time.monotonic() + CELL_TIMEOUT
    while reply is None or not idle:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply within {CELL_TIMEOUT} s for:\n{code}\noutput: {out}")
        raw = await asyncio.wait_for(ws.read_message(), timeout=left)
        if raw is None:
            raise ConnectionError(f"kernel websocket closed while running:\n{code}")
        if isinstance(raw, bytes):
            continue  # binary frames carry buffers (widgets); not needed here
        data = json.loads(raw)
        if data.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = data["msg_type"], data["content"]
        if data["channel"] == "shell" and kind == "execute_reply":
            reply = content
        elif kind == "status":
            idle = content["execution_state"] == "idle"
        elif kind == "stream":
            out.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            out.append(content.get("data", {}).get("text/plain", ""))
        elif kind == "error":
            trace = "\n".join(content["traceback"])
            out.append(f"{content['ename']}: {content['evalue']}\n{trace}")
    return reply, "".join(out)


async def _run_cells(lab: Lab, kernel_id: str, cells: list[str]) -> list[tuple[dict, str]]:
    url = lab.url.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
    session = uuid.uuid4().hex
    request = HTTPRequest(
        f"{url}?session_id={session}",
        headers={"Authorization": f"token {lab.token}"},
        connect_timeout=30,
        request_timeout=30,
    )
    ws = await websocket.websocket_connect(request)
    try:
        results = []
        for code in cells:
            reply, text = await _execute(ws, session, code)
            results.append((reply, text))
            if reply.get("status") != "ok":
                break
        return results
    finally:
        ws.close()


WHICH_PYTHON = "import sys; print('PYTHON=' + sys.executable); print('PREFIX=' + sys.prefix)"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_notebook_opens_and_first_cells_run(lab, notebook):
    name = urllib.parse.quote(notebook.name)
    status, model = lab.request("GET", f"/api/contents/{name}?content=1&type=notebook")
    assert status == 200, f"GET /api/contents/{notebook.name} gave {status}: {model}"
    assert model["type"] == "notebook" and model["format"] == "json", model.get("type")
    cells = model["content"]["cells"]
    assert cells, f"{notebook.name} has no cells"
    kernel_name = model["content"]["metadata"].get("kernelspec", {}).get("name")
    assert kernel_name == "python3", f"{notebook.name}: kernelspec {kernel_name!r}"

    cells_to_run = _cells_to_run(cells)
    assert cells_to_run, f"{notebook.name}: no code cell to run among the first {MAX_CELLS}"

    status, sess = lab.request(
        "POST",
        "/api/sessions",
        {"path": notebook.name, "name": notebook.name, "type": "notebook",
         "kernel": {"name": "python3"}},
    )  # fmt: skip
    assert status == 201, f"POST /api/sessions gave {status}: {sess}{lab.log_tail()}"
    session_id, kernel_id = sess["id"], sess["kernel"]["id"]
    try:
        assert sess["path"] == notebook.name and sess["kernel"]["name"] == "python3", sess
        results = asyncio.run(_run_cells(lab, kernel_id, [WHICH_PYTHON, *cells_to_run]))
    finally:
        status, body = lab.request("DELETE", f"/api/sessions/{session_id}", timeout=60)
    assert status == 204, f"DELETE /api/sessions/{session_id} gave {status}: {body}"

    for code, (reply, text) in zip([WHICH_PYTHON, *cells_to_run], results, strict=False):
        assert reply.get("status") == "ok", (
            f"{notebook.name}: cell failed in the JupyterLab kernel:\n{code}\n--- output\n{text}"
        )
    assert len(results) == len(cells_to_run) + 1

    # The python3 kernel is this venv's interpreter (the one running the tests).
    # (`python -m jupyter lab` re-executes the `jupyter-lab` script, whose shebang may name
    # python3 rather than python: the same file, so compare files and prefixes.)
    which = dict(line.split("=", 1) for line in results[0][1].splitlines() if "=" in line)
    assert os.path.samefile(which["PYTHON"], sys.executable), (which, sys.executable)
    assert Path(which["PREFIX"]) == Path(sys.prefix), (which, sys.prefix)

    shown = "".join(text for _, text in results[1:])
    assert "profile=" in shown, (
        f"{notebook.name}: no 'profile=' in the first cells' output:\n{shown}"
    )

    # The session and its kernel are gone.
    status, sessions = lab.request("GET", "/api/sessions")
    assert status == 200 and session_id not in {s["id"] for s in sessions}, sessions
    status, _ = lab.request("GET", f"/api/kernels/{kernel_id}")
    assert status == 404, f"kernel {kernel_id} still running after its session was deleted"
