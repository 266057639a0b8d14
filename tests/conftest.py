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
