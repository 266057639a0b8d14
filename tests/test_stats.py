"""helpers.stats: the grouped (cluster) bootstrap, the Wilson interval and the p-value text.

Checked against hand-computed values, scipy where it has the same quantity, a slow loop over
the resamples, numbers pinned from the implementation before the shared resampler, and cases
in which grouping by lesion must change the interval (and one where it must not).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
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


def test_verdict_takes_no_alpha() -> None:
    # the sentence reads the interval; p is printed, not compared with a threshold
    row = {"mean": 0.1, "low": 0.05, "high": 0.2, "p": 0.01}
    with pytest.raises(TypeError, match="alpha"):
        stats.verdict(row, "higher", alpha=0.05)  # type: ignore[call-arg]


# --- one resampler for every grouped statistic ---------------------------------------------

# 40 values (one NaN) in 15 lesions, drawn once with numpy's default_rng(7)
PINNED_VALUES = [
    0.625, 0.897, 0.776, 0.225, 0.3, math.nan, 0.005, 0.821, 0.797, 0.468, 0.303, 0.278, 0.255,
    0.445, 0.505, 0.553, 0.996, 0.793, 0.622, 0.989, 0.215, 0.16, 0.613, 0.044, 0.036, 0.515,
    0.466, 0.917, 0.629, 0.514, 0.497, 0.248, 0.012, 0.192, 0.692, 0.201, 0.37, 0.004, 0.83,
    0.154]
PINNED_GROUPS = [8, 4, 14, 13, 2, 7, 14, 12, 10, 9, 0, 11, 7, 1, 3, 8, 10, 7, 9, 13, 10, 5, 9,
                 8, 1, 0, 9, 5, 8, 4, 3, 2, 5, 12, 6, 5, 8, 14, 5, 8]


def test_grouped_bootstrap_ci_keeps_the_numbers_of_its_first_implementation() -> None:
    # printed by grouped_bootstrap_ci before it called grouped_bootstrap (commit c5c83c4)
    assert stats.grouped_bootstrap_ci(PINNED_VALUES, PINNED_GROUPS, n_boot=2000, seed=3) == \
        pytest.approx((0.46056410256410263, 0.395021862934363, 0.5360589194139195), abs=1e-12)
    assert stats.grouped_bootstrap_ci(PINNED_VALUES, PINNED_GROUPS, level=0.9, n_boot=500,
                                      seed=0) == pytest.approx(
        (0.46056410256410263, 0.40123456445993033, 0.5261760797342193), abs=1e-12)


def test_grouped_bootstrap_matches_a_slow_loop_over_the_resamples() -> None:
    """Draw the lesions with the same generator, build each resample's list of image indices by
    hand, and take the statistic (here a median, not a mean) of those images."""
    values = np.array([v for v in PINNED_VALUES if not math.isnan(v)])
    groups = [g for v, g in zip(PINNED_VALUES, PINNED_GROUPS, strict=True) if not math.isnan(v)]
    order = list(dict.fromkeys(groups))  # lesions in order of first appearance
    members = [np.flatnonzero(np.asarray(groups) == g) for g in order]
    picks = torch.randint(0, len(order), (300, len(order)),
                          generator=torch.Generator().manual_seed(11))
    medians = []
    for row in picks.tolist():
        idx = np.concatenate([members[g] for g in row])
        medians.append(np.median(values[idx]))
    expected = (np.median(values), *np.quantile(medians, [0.025, 0.975]))

    def median_of_drawn(drawn: torch.Tensor) -> torch.Tensor:
        return torch.tensor([np.median(values[np.concatenate([members[g] for g in row])])
                             for row in drawn.tolist()])

    got = stats.grouped_bootstrap(median_of_drawn, groups, n_boot=300, seed=11, chunk=64)
    assert got == pytest.approx(expected, abs=1e-12)
    codes = stats.group_codes(groups)
    assert codes.tolist() == [order.index(g) for g in groups]


def test_grouped_bootstrap_hands_the_statistic_the_drawn_groups() -> None:
    seen = []

    def record(drawn: torch.Tensor) -> torch.Tensor:
        seen.append(drawn.clone())
        return drawn.double().mean(dim=1)

    value, low, high = stats.grouped_bootstrap(record, ["a", "a", "b", "c", "c", "c"], n_boot=50,
                                               chunk=20)
    assert value == 1.0  # the statistic of every group once: the mean of 0, 1, 2
    assert torch.equal(seen[-1], torch.tensor([[0, 1, 2]]))
    drawn = torch.cat(seen[:-1])
    assert drawn.shape == (50, 3) and [d.shape[0] for d in seen[:-1]] == [20, 20, 10]
    assert drawn.min() >= 0 and drawn.max() <= 2  # 3 lesions drawn with replacement
    assert len(torch.unique(drawn, dim=0)) > 10  # the resamples differ
    assert 0 <= low <= 1 <= high <= 2
    with pytest.raises(ValueError, match="groups is empty"):
        stats.grouped_bootstrap(record, [])


def test_balanced_accuracy_interval_uses_the_shared_resampler() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    pred = np.where(rng.random(60) < 0.7, labels, rng.integers(0, 3, 60))
    lesions = np.repeat(np.arange(20), 3)
    members = [np.flatnonzero(lesions == g) for g in range(20)]  # lesions appear in order 0..19

    def bacc(drawn: torch.Tensor) -> torch.Tensor:  # the slow way, resample by resample
        out = []
        for row in drawn.tolist():
            idx = np.concatenate([members[g] for g in row])
            y, p = labels[idx], pred[idx]
            out.append(np.mean([np.mean(p[y == c] == c) for c in np.unique(y)]))
        return torch.tensor(out, dtype=torch.float64)

    expected = stats.grouped_bootstrap(bacc, lesions.tolist(), n_boot=400, seed=2)
    got = stats.balanced_accuracy_interval(labels, pred, lesions, n_boot=400, seed=2)
    assert got == pytest.approx(expected, abs=1e-12)


# --- paired comparisons by lesion ------------------------------------------------------------


def test_paired_difference_with_one_image_per_group_is_the_ungrouped_one() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.random(25), rng.random(25)
    a[4] = math.nan  # the NaN pair is left out on both sides
    ids = [f"HAM_{i:07d}" for i in range(25)]
    grouped = stats.paired_difference(a, b, n_boot=3000, seed=2, groups=ids)
    plain = stats.paired_difference(a, b, n_boot=3000, seed=2)
    assert grouped == pytest.approx(plain, abs=1e-12)
    assert grouped["n"] == 24


def test_duplicated_lesions_widen_the_paired_interval_and_raise_p() -> None:
    # 6 lesions with 8 identical images each: 6 observations of the difference, not 48
    rng = np.random.default_rng(4)
    per_lesion = rng.normal(0.05, 0.1, 6)
    diff = np.repeat(per_lesion, 8)
    lesions = np.repeat([f"L{i}" for i in range(6)], 8)
    grouped = stats.paired_difference(diff, np.zeros(48), seed=0, groups=lesions)
    naive = stats.paired_difference(diff, np.zeros(48), seed=0)
    assert grouped["mean"] == pytest.approx(naive["mean"]) == pytest.approx(per_lesion.mean())
    assert grouped["high"] - grouped["low"] > 2 * (naive["high"] - naive["low"])
    # flipping whole lesions: only 2^6 = 64 sign patterns, so p cannot be tiny
    assert grouped["p"] > 1 / 64 > naive["p"]
    # the grouped result is the one of the 6 lesion means, resampled and flipped alone
    lesion_level = stats.paired_difference(per_lesion, np.zeros(6), seed=0)
    assert grouped == pytest.approx({**lesion_level, "n": 48}, abs=1e-12)


def test_summarize_with_intervals_by_lesion() -> None:
    scores = pd.DataFrame({
        "method": ["A"] * 6 + ["B"] * 6,
        "image": list(range(6)) * 2,
        "energy (lesion)": [0.2, 0.2, 0.2, 0.8, 0.8, 0.8, 0.1, 0.3, 0.5, 0.7, 0.9, 0.4],
    })
    lesions = ["p", "p", "p", "q", "q", "q"]
    by_lesion = stats.summarize_with_intervals(scores, n_boot=2000, groups=lesions)
    by_image = stats.summarize_with_intervals(scores, n_boot=2000)
    a_lesion = by_lesion.attrs["numeric"][("A", "energy (lesion)")]
    a_image = by_image.attrs["numeric"][("A", "energy (lesion)")]
    assert a_lesion == pytest.approx(stats.grouped_bootstrap_ci(
        scores["energy (lesion)"][:6].to_numpy(), lesions, n_boot=2000))
    assert a_lesion[0] == a_image[0] == pytest.approx(0.5)
    assert a_lesion[2] - a_lesion[1] > a_image[2] - a_image[1]
    assert by_lesion.loc["A", "energy (lesion)"].startswith("0.50 [")
    with pytest.raises(ValueError, match="one lesion id per image"):
        stats.summarize_with_intervals(scores, groups=lesions[:4])
