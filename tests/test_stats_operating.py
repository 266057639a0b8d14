"""helpers.stats.ratio_of_means_ci and sensitivity_at_specificity against hand-computed cases
and scikit-learn's ROC curve."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from helpers import stats


def test_ratio_of_means_is_the_ratio_of_sums_with_a_lesion_interval() -> None:
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 4.0, 4.0]
    value, low, high = stats.ratio_of_means_ci(a, b, groups=["L1", "L1", "L2", "L2"], n_boot=500)
    assert value == pytest.approx(10 / 12) and low <= value <= high
    # the two lesions' own ratios (3/4 and 7/8) bound every resample
    assert low >= 0.75 - 1e-12 and high <= 0.875 + 1e-12
    nan_left_out = stats.ratio_of_means_ci([*a, math.nan], [*b, 1.0], n_boot=200)
    assert nan_left_out[0] == pytest.approx(10 / 12)


def test_ratio_of_means_refuses_what_has_no_ratio() -> None:
    with pytest.raises(ValueError, match="pair up"):
        stats.ratio_of_means_ci([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="sum to 0"):
        stats.ratio_of_means_ci([1.0, 2.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="groups"):
        stats.ratio_of_means_ci([1.0, 2.0], [1.0, 1.0], groups=["L1"])


def test_hand_computed_operating_point() -> None:
    negatives = list(range(10))  # 0..9: 90 % of them are <= 8
    positives = [5.5, 8.5, 9.5, 12.0]
    point = stats.sensitivity_at_specificity(negatives + positives,
                                             [False] * 10 + [True] * 4, 0.9, n_boot=200)
    assert point["threshold"] == 8 and point["specificity"] == pytest.approx(0.9)
    assert point["sensitivity"] == pytest.approx(3 / 4)
    assert point["low"] <= point["sensitivity"] <= point["high"]


@pytest.mark.parametrize("specificity", [0.5, 0.8, 0.95])
def test_operating_point_matches_scikit_learn(specificity: float) -> None:
    rng = np.random.default_rng(1)
    positive = rng.random(300) < 0.3
    scores = rng.normal(size=300) + positive * 1.2  # distinct scores, no ties
    fpr, tpr, _ = roc_curve(positive, scores)
    expected = tpr[fpr <= 1 - specificity + 1e-12].max()
    point = stats.sensitivity_at_specificity(scores, positive, specificity, n_boot=100)
    assert point["sensitivity"] == pytest.approx(expected)
    assert point["specificity"] >= specificity


def test_the_interval_resamples_lesions() -> None:
    rng = np.random.default_rng(0)
    positive = np.repeat(rng.random(60) < 0.4, 3)  # 60 lesions of 3 images each
    scores = np.repeat(rng.normal(size=60), 3) + positive * 1.0 + rng.normal(0, 0.01, 180)
    lesions = np.repeat(np.arange(60), 3)
    by_lesion = stats.sensitivity_at_specificity(scores, positive, 0.8, groups=lesions,
                                                 n_boot=400)
    by_image = stats.sensitivity_at_specificity(scores, positive, 0.8, n_boot=400)
    assert by_lesion["sensitivity"] == by_image["sensitivity"]
    assert by_lesion["high"] - by_lesion["low"] > by_image["high"] - by_image["low"]


@pytest.mark.parametrize(("scores", "positive", "specificity", "match"), [
    ([0.1, 0.2], [True, False], 1.0, "specificity"),
    ([0.1, 0.2], [1, 0], 0.9, "bool"),
    ([0.1, math.nan], [True, False], 0.9, "finite"),
    ([0.1, 0.2], [True, True], 0.9, "one positive and one negative"),
])
def test_operating_point_refuses_bad_input(scores, positive, specificity, match) -> None:
    with pytest.raises(ValueError, match=match):
        stats.sensitivity_at_specificity(scores, positive, specificity, n_boot=10)
