"""helpers.stats: the grouped (cluster) bootstrap, the Wilson interval and the p-value text.

Checked against hand-computed values, scipy where it has the same quantity, and a case in
which grouping by lesion must change the interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from helpers import stats


def test_grouped_bootstrap_with_equal_groups_is_the_bootstrap_of_the_group_means() -> None:
    # 4 lesions of 3 images each: a resample's mean over images is the mean of its lesion means,
    # and the lesions are drawn in their order of appearance, so the two calls draw alike.
    rng = np.random.default_rng(1)
    values = rng.random(12)
    groups = np.repeat(["L2", "L0", "L3", "L1"], 3)
    lesion_means = values.reshape(4, 3).mean(axis=1)
    grouped = stats.grouped_bootstrap_ci(values, groups, n_boot=2000, seed=4)
    assert grouped == pytest.approx(stats.bootstrap_ci(lesion_means, n_boot=2000, seed=4))


def test_one_image_per_lesion_is_the_plain_bootstrap() -> None:
    values = np.random.default_rng(2).random(15)
    ids = [f"HAM_{i:07d}" for i in range(15)]
    assert stats.grouped_bootstrap_ci(values, ids, seed=3) == pytest.approx(
        stats.bootstrap_ci(values, seed=3))


def test_duplicated_images_of_few_lesions_widen_the_interval() -> None:
    # 3 lesions, 10 identical images each: 3 observations, not 30.
    values = np.repeat([0.2, 0.5, 0.8], 10)
    groups = np.repeat(["a", "b", "c"], 10)
    mean, low, high = stats.grouped_bootstrap_ci(values, groups, seed=0)
    _, naive_low, naive_high = stats.bootstrap_ci(values, seed=0)
    assert mean == pytest.approx(0.5)
    assert high - low > 2 * (naive_high - naive_low)
    # the resample means can only be averages of 3 of {0.2, 0.5, 0.8}: at most 0.8, at least 0.2
    assert 0.2 - 1e-12 <= low < 0.4 and 0.6 < high <= 0.8 + 1e-12


def test_grouped_bootstrap_is_deterministic_per_seed_and_skips_nan() -> None:
    values = [0.1, 0.9, 0.4, float("nan"), 0.7, 0.3]
    groups = pd.Series(["a", "a", "b", "b", "c", "d"])
    assert stats.grouped_bootstrap_ci(values, groups, seed=5) == \
        stats.grouped_bootstrap_ci(values, groups, seed=5)
    wide = np.random.default_rng(0).random(40)
    lesions = np.repeat(np.arange(20), 2)
    assert stats.grouped_bootstrap_ci(wide, lesions, n_boot=300, seed=5) != \
        stats.grouped_bootstrap_ci(wide, lesions, n_boot=300, seed=6)
    assert stats.grouped_bootstrap_ci(values, groups)[0] == pytest.approx(np.nanmean(values))


def test_grouped_bootstrap_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="groups has 2 entries, values 3"):
        stats.grouped_bootstrap_ci([1.0, 2.0, 3.0], ["a", "b"])
    with pytest.raises(ValueError, match="missing value"):
        stats.grouped_bootstrap_ci([1.0, 2.0], ["a", None])
    with pytest.raises(ValueError, match="level must be in"):
        stats.grouped_bootstrap_ci([1.0, 2.0], ["a", "b"], level=95)
    with pytest.raises(ValueError, match="n_boot must be a positive int"):
        stats.grouped_bootstrap_ci([1.0, 2.0], ["a", "b"], n_boot=0)
    with pytest.raises(ValueError, match="not NaN"):
        stats.grouped_bootstrap_ci([float("nan")], ["a"])


def test_wilson_interval_by_hand() -> None:
    # 5 of 10 at 95 %: z = 1.959964, centre 0.5, half-width z / (1 + z^2/n) * sqrt(.025 + z^2/400)
    z = 1.959963984540054
    half = z / (1 + z**2 / 10) * math.sqrt(0.25 / 10 + z**2 / 400)
    assert stats.wilson_interval(5, 10) == pytest.approx((0.5, 0.5 - half, 0.5 + half))
    assert stats.wilson_interval(5, 10)[1:] == pytest.approx((0.2366, 0.7634), abs=1e-4)
    # 12 of 12: not the degenerate [1, 1] of a bootstrap
    p, low, high = stats.wilson_interval(12, 12)
    assert (p, high) == (1.0, 1.0) and low == pytest.approx(0.7575, abs=1e-4)
    assert stats.wilson_interval(0, 12)[2] == pytest.approx(1 - 0.7575, abs=1e-4)


@pytest.mark.parametrize(("k", "n", "level"), [(3, 17, 0.95), (40, 41, 0.9), (0, 5, 0.99)])
def test_wilson_interval_matches_scipy(k: int, n: int, level: float) -> None:
    ref = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    _, low, high = stats.wilson_interval(k, n, level)
    assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_wilson_interval_refuses_bad_counts() -> None:
    with pytest.raises(TypeError, match="successes must be an int"):
        stats.wilson_interval(0.5, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="successes=11, n=10"):
        stats.wilson_interval(11, 10)
    with pytest.raises(ValueError, match="n=0"):
        stats.wilson_interval(0, 0)


@pytest.mark.parametrize(("p", "text"), [
    (1.0, "p = 1.000"), (0.0312, "p = 0.031"), (0.001, "p = 0.001"), (0.00049, "p = 0.0005"),
    (1e-4, "p = 0.0001"), (1 / 10_001, "p < 1e-4"), (0.0, "p < 1e-4"),
])
def test_format_p_never_prints_zero(p: float, text: str) -> None:
    assert stats.format_p(p) == text
    assert stats.format_p(0.0, floor=1e-3) == "p < 1e-3"


def test_format_p_refuses_what_is_not_a_probability() -> None:
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="probability"):
            stats.format_p(bad)


def test_verdict_prints_small_p_values_as_a_bound() -> None:
    row = {"mean": 0.3, "low": 0.2, "high": 0.4, "p": 1 / 10_001}
    assert stats.verdict(row, "higher").startswith("higher by 0.3 [0.2, 0.4], p < 1e-4: ")


def test_verdict_refuses_an_alpha_outside_0_1() -> None:
    row = {"mean": 0.1, "low": 0.05, "high": 0.2, "p": 0.01}
    with pytest.raises(ValueError, match="alpha must be in"):
        stats.verdict(row, "higher", alpha=5)
