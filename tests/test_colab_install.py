"""The notebooks' set-up cell, run for real in a fresh, Colab-like virtual environment.

The environment is a new venv that sees this machine's installed packages (torch, torchvision,
pandas, IPython, ...) through a ``.pth`` line, as Colab's image has them preinstalled, with
``helpers`` itself left out. Colab also preinstalls ``kagglehub``: a stand-in distribution of it
is added. Nothing is downloaded: pip runs with ``--no-index`` and finds only a stand-in
``medmnist`` wheel written here (the one ``[data]`` package Colab lacks).

The cell is :func:`helpers.course.colab.setup_cell` with its install source pointed at a
local clone, run by IPython (``%pip`` is IPython's magic) in one process, like a Colab kernel.

These tests take a minute or more, so ``make test`` skips them (marker ``colab_install``);
``make test-colab`` runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import config
from helpers.course import colab

pytestmark = pytest.mark.colab_install

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ("helpers", "gradcam_ham10000_helpers", "__editable__", "__pycache__")
RUN_CELL = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell

result = InteractiveShell.instance(colors="nocolor").run_cell(open(sys.argv[1]).read())
error = result.error_in_exec
found = {"error": type(error).__name__ if error else None, "message": str(error or "")}
try:  # the same process: no restart between the cell and this import
    import helpers.course.colab
    found["helpers"] = helpers.course.colab.__file__
    found["install_line"] = helpers.course.colab.install_line()
except ImportError as err:
    found["helpers"] = None
    found["import_error"] = str(err)
print("RESULT " + json.dumps(found))
"""


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid",
                    "-c", "init.defaultBranch=main", *args], cwd=folder, check=True,
                   capture_output=True)


def _stand_in_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal wheel of an empty package ``name`` (a stand-in for one from PyPI)."""
    info = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    files = {
        f"{name}/__init__.py": f'"""Stand-in for {name} {version} (tests only)."""\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{f},,\n" for f in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    return path


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A venv with this machine's packages preinstalled (but not helpers), a stand-in kagglehub,
    a local wheel folder, and a release-tagged clone of this repository."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("IPython")
    if shutil.which("git") is None:
        pytest.skip("git is needed to install from a tagged clone")
    base = tmp_path_factory.mktemp("colab")
    site = Path(torch.__file__).resolve().parents[1]  # where this machine's packages are
    preinstalled = base / "preinstalled"
    preinstalled.mkdir()
    for entry in site.iterdir():
        if not entry.name.startswith(HIDDEN) and entry.suffix != ".pth":
            (preinstalled / entry.name).symlink_to(entry)
    kaggle = preinstalled / "kagglehub-0.3.13.dist-info"  # Colab preinstalls kagglehub
    kaggle.mkdir()
    (kaggle / "METADATA").write_text("Metadata-Version: 2.1\nName: kagglehub\nVersion: 0.3.13\n")
    (kaggle / "RECORD").write_text("")

    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "colab-preinstalled.pth").write_text(f"{preinstalled}\n")  # after its own

    wheels = base / "wheels"
    wheels.mkdir()
    _stand_in_wheel(wheels, "medmnist", "3.0.2")

    clone = base / "clone"
    clone.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, clone / name)
    shutil.copytree(ROOT / "helpers", clone / "helpers",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _git(clone, "init", "-q")
    _git(clone, "add", ".")
    _git(clone, "commit", "-q", "-m", "release")
    _git(clone, "tag", config.RELEASE)
    return {"python": python, "wheels": wheels, "clone": clone, "base": base}


def _env(wheels: Path) -> dict[str, str]:
    """No index (nothing downloaded), the local wheels, no cache; helpers not on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_NO_CACHE_DIR="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1", MPLBACKEND="Agg")
    # build with the preinstalled setuptools (Colab would fetch one into an isolated build env)
    env["PIP_NO_BUILD_ISOLATION"] = "0"
    return env


def _installed(python: Path, env: dict[str, str]) -> dict[str, str]:
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], env=env,
                            check=True, capture_output=True, text=True, cwd=python.parents[2])
    return {d["name"].lower(): d["version"] for d in json.loads(listed.stdout)}


def _run_setup_cell(colab_like: dict[str, Path], source: str) -> tuple[dict, str]:
    cell = colab_like["base"] / "cell.py"
    cell.write_text(colab.setup_cell(source))
    runner = colab_like["base"] / "run_cell.py"
    runner.write_text(RUN_CELL)
    done = subprocess.run([str(colab_like["python"]), str(runner), str(cell)],
                          env=_env(colab_like["wheels"]), capture_output=True, text=True,
                          cwd=colab_like["base"], timeout=600)
    output = done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, output
    return json.loads(lines[-1][len("RESULT "):]), output


def test_helpers_is_not_importable_before(colab_like: dict[str, Path]) -> None:
    env = _env(colab_like["wheels"])
    probe = subprocess.run([str(colab_like["python"]), "-c", "import torch, pandas, IPython; "
                            "import helpers"], env=env, capture_output=True, text=True,
                           cwd=colab_like["base"])
    assert "No module named 'helpers'" in probe.stderr, probe.stderr


@pytest.mark.parametrize("where", ["tag missing", "host unreachable"])
def test_failed_install_stops_the_set_up_cell(colab_like: dict[str, Path], where: str) -> None:
    """A failing %pip does not raise by itself; the cell must, after pip's own message, and say
    where to read what to do."""
    if where == "tag missing":  # the release was never tagged
        source = f"git+file://localhost{colab_like['clone']}@v999.0.0"
    else:
        source = "git+https://127.0.0.1:9/nobody/nothing@v0.1.0"
    found, output = _run_setup_cell(colab_like, source)
    assert found["error"] == "RuntimeError", output
    assert found["message"] == colab.install_failure_message()  # points to what to do
    assert colab.troubleshooting_url() in found["message"]
    stop = output.find("RuntimeError")  # IPython's traceback of the cell's stop
    assert stop > 0 and "error" in output[:stop].lower(), output  # pip's own message first
    if where == "tag missing":
        assert "v999.0.0" in output[:stop], output  # pip names the tag it did not find
    assert found["helpers"] is None


def test_install_from_a_tagged_clone_works_without_restart(colab_like: dict[str, Path]) -> None:
    """The same kernel imports helpers right after the install, and pip changed nothing that
    was installed before: it only added helpers and the one missing extra."""
    env = _env(colab_like["wheels"])
    before = _installed(colab_like["python"], env)
    source = f"git+file://localhost{colab_like['clone']}@{config.RELEASE}"
    report = colab_like["base"] / "pip-report.json"
    subprocess.run([str(colab_like["python"]), "-m", "pip", "install", "--dry-run", "--quiet",
                    "--report", str(report), f"{config.PACKAGE}[data] @ {source}"],
                   env=env, check=True, capture_output=True, cwd=colab_like["base"])
    planned = sorted((item["metadata"]["name"], item["metadata"]["version"])
                     for item in json.loads(report.read_text())["install"])
    print("pip's plan (--dry-run --report):", planned)
    assert planned == [(config.PACKAGE, "0.1.0"), ("medmnist", "3.0.2")], planned
    found, output = _run_setup_cell(colab_like, source)
    after = _installed(colab_like["python"], env)
    assert found["error"] is None, output
    assert found["helpers"] and Path(found["helpers"]).is_relative_to(
        colab_like["python"].parents[1]), found  # the installed copy, not this checkout
    changes = {name: (before.get(name), after.get(name))
               for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    print("pip's changes (name: before -> after):", json.dumps(changes, sort_keys=True))
    assert changes == {config.PACKAGE: (None, "0.1.0"), "medmnist": (None, "3.0.2")}, changes
