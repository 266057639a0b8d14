"""Shared guard for the unit tests: none of them may leave the series' settings changed.

The notebooks run under nbval in the same pytest process after the unit tests, and their
kernels inherit its environment; a leaked ``HAM10000_DIR`` or ``TUTORIAL_PROFILE`` would
silently switch them to other data. (Variables that imported libraries set for themselves,
such as OpenMP's, are not the tests' business.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
