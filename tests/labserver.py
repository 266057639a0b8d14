"""A JupyterLab server for the tests: started on loopback with a token, its settings, data and
runtime files in a temporary folder, shut down through its API (tests/test_jupyterlab.py and
tests/test_browser.py share it)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT = 90  # seconds for the server to answer /api/status (2 busy cores)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


class Lab:
    """A running ``jupyter lab``: its base URL, token, process and log file."""

    def __init__(self, url: str, token: str, proc: subprocess.Popen, log: Path):
        self.url, self.token, self.proc, self.log = url, token, proc, log

    def request(self, method: str, path: str, body: object = None, timeout: float = 30):
        """``(status, parsed JSON or text)`` for one REST call with the token header."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw, ctype = resp.status, resp.read(), resp.headers.get_content_type()
        except urllib.error.HTTPError as err:
            status, raw, ctype = err.code, err.read(), err.headers.get_content_type()
        text = raw.decode("utf-8", errors="replace")
        if ctype == "application/json" and text:
            return status, json.loads(text)
        return status, text

    def log_tail(self) -> str:
        return f"\n--- jupyter lab log (tail) ---\n{_tail(self.log)}"


def _shutdown(server: Lab) -> int | None:
    """POST /api/shutdown, wait for the process; terminate, then kill, if it hangs."""
    proc = server.proc
    if proc.poll() is None:
        try:
            server.request("POST", "/api/shutdown", timeout=10)
        except OSError:
            pass  # the server may close the connection as it stops
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            return None  # not a clean exit
    return proc.returncode


@contextlib.contextmanager
def running_lab(tmp: Path, root_dir: Path, env: dict[str, str] | None = None,
                args: tuple[str, ...] = ()) -> Iterator[Lab]:
    """A ``jupyter lab`` on 127.0.0.1 serving ``root_dir``, its settings and runtime files in
    ``tmp``; ``env`` adds variables, ``args`` options. Shut down through its API on exit, where
    it must exit cleanly."""
    token = secrets.token_hex(24)
    port = _free_port()
    env_vars = dict(os.environ)
    env_vars.update(
        MPLBACKEND="Agg",
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
        JUPYTER_PREFER_ENV_PATH="1",
        PYTHONUNBUFFERED="1",
    )
    env_vars.update(env or {})
    env_vars.pop("JUPYTER_TOKEN", None)  # the token given on the command line is the one used
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.open_browser=False",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *args,
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root; students do not
    log = tmp / "jupyterlab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env_vars, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Lab(f"http://127.0.0.1:{port}", token, proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}{server.log_tail()}")
            try:
                status, body = server.request("GET", "/api/status", timeout=5)
                if status == 200:
                    break
            except (OSError, ValueError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                pytest.fail(
                    f"jupyter lab did not answer /api/status within {START_TIMEOUT} s"
                    f"{server.log_tail()}"
                )
            time.sleep(0.5)
        yield server
    finally:
        exit_code = _shutdown(server)
    assert exit_code == 0, f"jupyter lab exited with {exit_code}{server.log_tail()}"
