"""The exercise checks: right answers in several forms pass, wrong ones get feedback, junk never
raises (helpers.exercises)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import exercises as ex

JUNK = [None, "banana", [], {}, object(), float("nan"), torch.zeros(0), [[1, "a"]]]


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
    args = (junk, junk) if check is ex.check_02_unweighted else (junk,)
    fb = check(*args)
    assert isinstance(fb, ex.Feedback) and not fb.ok and fb.message


def _meta():
    return pd.DataFrame({
        "dx": ["mel", "mel", "nv", "mel", "nv", "nv", "nv", "bcc"],
        "localization": ["ear", "ear", "ear", "back", "back", "back", "face", "face"],
    })


@pytest.mark.parametrize("answer", ["ear", "Ear", ["ear"], pd.Index(["ear"]), " EAR "])
def test_site_accepts_the_top_site_in_several_forms(answer):
    assert ex.check_01_site(answer, _meta()).ok


def test_site_rejects_others_and_never_names_the_answer():
    for answer in ("back", "face", "knee"):
        fb = ex.check_01_site(answer, _meta())
        assert not fb.ok and "ear" not in str(fb).lower()


def test_site_on_packaged_metadata_is_the_ear():
    # independent of the check: the packaged HAM10000 table, counted directly
    from helpers.data import packaged_metadata

    meta = packaged_metadata()
    counts = meta.assign(mel=meta["dx"] == "mel").groupby("localization")["mel"].mean()
    assert ex.check_01_site(counts.idxmax()).ok
    assert not ex.check_01_site("back").ok


@pytest.mark.parametrize("counts", [[385, 711, 955], (385, 711, 955), np.array([385, 711, 955]),
                                    torch.tensor([385, 711, 955]),
                                    {0.1: 385, 0.2: 711, 0.3: 955}, "385, 711, 955"])
def test_leakage_accepts_growing_counts(counts):
    assert ex.check_01_leakage(counts).ok


@pytest.mark.parametrize("counts", [[955, 711, 385], [0.38, 0.35, 0.32], [385, 711], [-1, 2, 3]])
def test_leakage_rejects_wrong(counts):
    fb = ex.check_01_leakage(counts)
    assert not fb.ok and fb.hint


def _val_scores():
    rng = np.random.default_rng(0)
    truth = np.r_[np.ones(200, bool), np.zeros(800, bool)]
    score = np.where(truth, rng.uniform(0.2, 1.0, truth.size), rng.uniform(0.0, 0.6, truth.size))
    grid = np.linspace(0.05, 0.95, 19)
    sens = np.array([(score[truth] > g).mean() for g in grid])  # reference, independent loop
    best = max(g for g, s in zip(grid, sens, strict=True) if s >= 0.95)
    return score, truth, float(best)


def test_threshold_accepts_the_best_grid_value_in_several_forms():
    score, truth, best = _val_scores()
    for form in (best, f"{best:.2f}", np.float64(best), torch.tensor(best), [best]):
        assert ex.check_02_threshold(form, score, truth).ok
    assert ex.check_02_threshold(best, torch.tensor(score), list(truth)).ok


def test_threshold_rejects_too_high_too_low_and_off_grid():
    score, truth, best = _val_scores()
    too_high = ex.check_02_threshold(best + 0.1, score, truth)
    assert not too_high.ok and "smaller t" in too_high.hint
    assert not ex.check_02_threshold(best - 0.1, score, truth).ok
    assert not ex.check_02_threshold(best + 0.013, score, truth).ok
    assert not ex.check_02_threshold(30, score, truth).ok
    fb = ex.check_02_threshold(best + 0.1, score, truth)
    assert f"{best:.2f}" not in str(fb)  # the feedback never gives the answer away


def test_threshold_without_data_cannot_be_right():  # checks: the data are needed now
    assert not ex.check_02_threshold(0.3).ok
    assert not ex.check_02_threshold(1.3).ok


def test_second_derivative_forms():
    for zero in (0, 0.0, torch.tensor(0.0), np.zeros(1), "0"):
        assert ex.check_03_second_derivative(zero).ok
    assert not ex.check_03_second_derivative(torch.tensor(1e-3)).ok


@pytest.mark.parametrize("answer", ["Grad-CAM++", "gradcam++", ["GradCAM++"], "GradCAMPlusPlus"])
def test_logit_scale_accepts(answer):
    assert ex.check_03_logit_scale(answer).ok


@pytest.mark.parametrize("answer", ["CAM", "Grad-CAM", ["CAM", "Grad-CAM++"], "score-cam"])
def test_logit_scale_rejects(answer):
    assert not ex.check_03_logit_scale(answer).ok


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
    assert not ex.check_06_exact_score_cam(10, 100)  # timed: wrong, but never raised
    assert not ex.check_04_score_cam_top_k(0.5, 0.1)
