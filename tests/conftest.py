"""Shared test fixtures: no test may leave the series' settings changed; disk snapshots.

The notebooks run under nbval in the same pytest process after the unit tests, and their
kernels inherit its environment; a leaked ``HAM10000_DIR`` or ``TUTORIAL_PROFILE`` would
silently switch them to other data. (Variables that imported libraries set for themselves,
such as OpenMP's, are not the tests' business.)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chromium import browser  # noqa: F401  (tests/chromium.py: headless Chromium, a fixture)


class _StrictNotebookChecks:
    """The notebooks' kernels (nbval starts one per notebook, with this process's environment)
    run their solution cells' exercise checks strictly: a solution that no longer passes its
    check fails (helpers.course.answers.STRICT_ENV). The unit tests of the checks run them as a
    student does. A plugin, not a conftest hook: this file's hooks see only tests/."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        from helpers.course.answers import STRICT_ENV

        if str(item.path).endswith(".ipynb"):
            os.environ[STRICT_ENV] = "1"
        else:
            os.environ.pop(STRICT_ENV, None)


class _RecordTestsLast:
    """Tests marked ``after_notebooks`` read what the notebooks recorded (helpers.findings): they
    run after every notebook of the session, whatever the order on the command line."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items.sort(key=lambda item: item.get_closest_marker("after_notebooks") is not None)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_StrictNotebookChecks(), "strict-notebook-checks")
    config.pluginmanager.register(_RecordTestsLast(), "record-tests-last")


def _settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k == "HAM10000_DIR" or k.startswith("TUTORIAL_")}


@pytest.fixture(autouse=True)
def settings_unchanged() -> Iterator[None]:
    before = _settings()
    yield
    after = _settings()
    for key in before.keys() | after.keys():  # put them back, so one leak spoils one test only
        if key in before:
            os.environ[key] = before[key]
        else:
            os.environ.pop(key, None)
    assert after == before, f"the test changed the series' settings: {before} -> {after}"


def file_hashes(root: Path) -> dict[str, str]:
    """Every file below ``root`` (relative path -> SHA-1): to show that nothing on disk changed."""
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.fixture
def disk_snapshot() -> Callable[[Path], dict[str, str]]:
    """``disk_snapshot(folder)``: the files below ``folder`` and their hashes, to compare."""
    return file_hashes


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No data folder, profile, course folder or cache set; monkeypatch puts them back."""
    for name in ("HAM10000_DIR", "TUTORIAL_PROFILE", "TUTORIAL_HOME", "TUTORIAL_CACHE"):
        monkeypatch.setitem(os.environ, name, "")
        monkeypatch.delenv(name)
    return monkeypatch


# --- data the tests write (tests/test_data.py, tests/demo/, tests/course/) -----------------------


@pytest.fixture(scope="module")
def packaged_meta():
    """HAM10000's metadata table as the package ships it (10,015 rows)."""
    from helpers.data import packaged_metadata

    return packaged_metadata()


@pytest.fixture(scope="module")
def demo_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo set of 60 images, 64 x 48 px, seed 0."""
    from helpers.demo.sets import make_demo_dataset

    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo", 60, 48, seed=0)


@pytest.fixture(scope="module")
def demo_set_meta(demo_set: Path):
    """The metadata table of :func:`demo_set`."""
    from helpers.data import load_metadata

    return load_metadata(demo_set)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller demo set (40 images, 32 px high, seed 0) for the bad-input cases to damage."""
    from helpers.demo.sets import make_demo_dataset

    return make_demo_dataset(tmp_path_factory.mktemp("bad-data") / "demo", 40, 32, seed=0)
