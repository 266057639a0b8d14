"""helpers.exercises, what every check shares: answers read in common forms, feedback that
shows as text and markdown, junk that never raises, and the strict mode of the
notebooks' own runs. The checks of each notebook: tests/test_exercises_NN.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import exercises as ex

JUNK = [None, "banana", [], {}, object(), float("nan"), torch.zeros(0), [[1, "a"]], [1, 2, 3]]


@pytest.mark.parametrize("value, expected", [
    (0.5, 0.5), ("0.5", 0.5), ("35 %", 0.35), ("1,954", 1954.0), (np.float32(2.0), 2.0),
    (torch.tensor(3.0), 3.0), ([4], 4.0), (pd.Series([5.0]), 5.0), (np.array([[6]]), 6.0),
])
def test_as_number_reads_common_forms(value, expected):
    assert ex.as_number(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, True, "no number", [1, 2], object()])
def test_as_number_gives_none_when_unreadable(value):
    assert ex.as_number(value) is None


def test_feedback_shows_as_text_and_markdown_and_is_truthy():
    fb = ex.check_03_second_derivative(0.0)
    assert fb and fb.ok and fb.exercise == "03, exercise 2"
    assert str(fb).startswith("Correct (03, exercise 2)")
    assert "**Correct" in fb._repr_markdown_()
    bad = ex.check_03_second_derivative(0.3)
    assert not bad and "Hint:" in str(bad) and bad.hint


ALL_CHECKS = [getattr(ex, name) for name in ex.__all__ if name.startswith("check_")]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_no_check_raises_on_junk(check, junk):
    """Junk in the first argument (in both, for the checks that need two) is feedback that names
    its exercise, never an exception."""
    two = (ex.check_02_unweighted, ex.check_04_score_cam_top_k, ex.check_09_contrastive_is_cam)
    fb = check(*((junk, junk) if check in two else (junk,)))
    assert isinstance(fb, ex.Feedback) and not fb.ok and fb.message and fb.exercise


def test_strict_checks_raise_on_a_wrong_solution_but_never_on_times(monkeypatch) -> None:
    """The notebooks' kernels run with HELPERS_STRICT_CHECKS=1 (tests/conftest.py): a solution
    whose check says wrong fails its cell; a right one, and any check of timings, do not."""
    from helpers.course.answers import STRICT_ENV

    assert not ex.check_01_leakage([3, 2, 1])  # a student's session: feedback, no error
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(AssertionError, match="01, exercise 2.*differ"):
        ex.check_01_leakage([3, 2, 1])
    with pytest.raises(AssertionError, match="expected three counts"):
        ex.check_01_leakage("three")
    assert ex.check_01_leakage([385, 711, 955])  # HAM10000's metadata, seed 0
    assert not ex.check_09_exact_score_cam(10, 100)  # timed: wrong, but never raised
    assert not ex.check_04_score_cam_top_k(0.5, 0.1)
