"""The checks of notebook 02's exercises (helpers.exercises): right answers in several
forms pass, wrong ones get feedback that never gives the answer away."""

from __future__ import annotations

import numpy as np
import torch

from helpers import exercises as ex


def test_unweighted_reads_dicts_and_numbers():
    assert ex.check_02_unweighted({"balanced_accuracy": 0.8}, 0.7).ok
    assert ex.check_02_unweighted(torch.tensor(0.8), "0.7").ok
    assert not ex.check_02_unweighted(80, 70).ok


def test_image_split():
    assert ex.check_02_image_split(711).ok
    assert ex.check_02_image_split(torch.tensor(711), n_test=2000).ok
    assert not ex.check_02_image_split(0).ok
    assert not ex.check_02_image_split(3000, n_test=2000).ok
    assert not ex.check_02_image_split(2.5).ok


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
    assert not too_high.ok and "lower t" in too_high.hint
    assert not ex.check_02_threshold(best - 0.1, score, truth).ok
    assert not ex.check_02_threshold(best + 0.013, score, truth).ok
    assert not ex.check_02_threshold(30, score, truth).ok
    fb = ex.check_02_threshold(best + 0.1, score, truth)
    assert f"{best:.2f}" not in str(fb)  # the feedback never gives the answer away


def test_threshold_without_data_checks_the_range():
    assert ex.check_02_threshold(0.3).ok
    assert not ex.check_02_threshold(1.3).ok
