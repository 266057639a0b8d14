"""The checks of notebook 02's exercises (helpers.exercises): right answers in several
forms pass, wrong ones get feedback that never gives the answer away."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import exercises as ex
from helpers.data import lesion_split, packaged_metadata, random_image_split, shared_lesion_count
from helpers.train import evaluate


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


def _run(seed: int, labels: np.ndarray, nv_bias: float = 0.0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(labels), 7))
    logits[np.arange(len(labels)), labels] += 1.5
    logits[:, 5] += nv_bias
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return evaluate(probs, labels)


LABELS = np.repeat(np.arange(7), [20, 25, 60, 8, 60, 300, 9])


def test_unweighted_reads_two_runs_on_one_test_split():
    weighted, plain = _run(0, LABELS), _run(1, LABELS, nv_bias=1.0)
    feedback = ex.check_02_unweighted(weighted, plain)
    assert feedback and "balanced accuracy" in feedback.message
    assert not ex.check_02_unweighted(weighted, weighted)              # one run twice
    assert not ex.check_02_unweighted(weighted, dict(weighted))        # ... or a copy of it
    assert not ex.check_02_unweighted(0.61, 0.55)                      # numbers, not runs
    edited = {**plain, "balanced_accuracy": 0.9}
    assert not ex.check_02_unweighted(weighted, edited)                # typed over
    assert not ex.check_02_unweighted(weighted, {**plain, "accuracy": math.nan})
    val = _run(2, LABELS[::3], nv_bias=1.0)                           # conceptual: the val split
    on_val = ex.check_02_unweighted(weighted, val)
    assert not on_val and "test" in on_val.hint


@pytest.fixture(scope="module")
def image_splits():
    return random_image_split(packaged_metadata(), seed=0)


def test_image_split_recounts_the_leak(image_splits):
    right = shared_lesion_count(image_splits["train"], image_splits["test"])
    assert ex.check_02_image_split(right, image_splits)
    assert ex.check_02_image_split(torch.tensor(right), image_splits)
    assert not ex.check_02_image_split(right, None)                    # nothing to recount
    assert not ex.check_02_image_split(right + 1, image_splits)
    assert not ex.check_02_image_split(math.inf, image_splits)
    assert not ex.check_02_image_split(2.5, image_splits)
    val = shared_lesion_count(image_splits["train"], image_splits["val"])
    assert not ex.check_02_image_split(val, image_splits)              # the wrong part
    lesions = lesion_split(packaged_metadata(), seed=0)                # conceptual: wrong split
    assert not ex.check_02_image_split(0, lesions)


def _scores(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.3
    score = np.clip(np.where(truth, rng.beta(5, 2, n), rng.beta(2, 4, n)), 0, 1)
    return score, truth


def _best(score, truth):
    grid = np.linspace(0.05, 0.95, 19)
    sens = np.array([(score[truth] > g).mean() for g in grid])
    return float(grid[sens >= 0.95].max())


def test_threshold_remade_on_the_validation_split():
    score, truth = _scores(0)
    best = _best(score, truth)
    for form in (best, f"{best:.2f}", torch.tensor(best), [best]):
        assert ex.check_02_threshold(form, score, truth)
    assert not ex.check_02_threshold(best)                             # no data: cannot check
    assert not ex.check_02_threshold(best + 0.05, score, truth)        # below 95 % sensitivity
    assert not ex.check_02_threshold(best - 0.05, score, truth)        # not the largest
    assert not ex.check_02_threshold(best + 0.013, score, truth)       # off the grid
    assert not ex.check_02_threshold(math.nan, score, truth)
    assert not ex.check_02_threshold(30, score, truth)                 # a percentage
    test_score, test_truth = _scores(7, 150)                           # conceptual: chosen on test
    on_test = _best(test_score, test_truth)
    assert on_test != best
    assert not ex.check_02_threshold(on_test, score, truth)
    grid = np.linspace(0.05, 0.95, 19)                                  # conceptual: specificity
    spec = np.array([(score[~truth] <= g).mean() for g in grid])
    by_spec = float(grid[spec >= 0.95].min())
    assert not ex.check_02_threshold(by_spec, score, truth)
