"""helpers.stats: bootstrap intervals (plain and grouped by lesion), paired comparisons,
the Wilson interval, the p-value text and the one-sentence verdict.

Checked against scipy (bootstrap, permutation test, binomial test), hand-computed values,
a slow loop over the resamples, numbers pinned from the implementation before the shared
resampler, and cases in which grouping by lesion must change the interval (and one where
it must not)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats as scipy_stats
from sklearn.metrics import balanced_accuracy_score, roc_curve

from helpers import stats


def test_bootstrap_ci_agrees_with_scipy() -> None:
    values = np.random.default_rng(1).normal(0.4, 0.2, 150)
    mean, low, high = stats.bootstrap_ci(values, n_boot=20_000, seed=0)
    ref = scipy_stats.bootstrap((values,), np.mean, n_resamples=20_000, method="percentile",
                                random_state=0).confidence_interval
    assert mean == pytest.approx(values.mean())
    assert low == pytest.approx(ref.low, abs=0.006) and high == pytest.approx(ref.high, abs=0.006)
    # the interval is about mean +- 1.96 standard errors for normal data
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_bootstrap_ci_skips_nan_and_is_seeded() -> None:
    values = [1.0, 2.0, float("nan"), 3.0, 4.0]
    assert stats.bootstrap_ci(values, seed=3) == stats.bootstrap_ci(values, seed=3)
    assert stats.bootstrap_ci(values)[0] == pytest.approx(2.5)
    assert stats.bootstrap_ci([5.0, 5.0, 5.0]) == (5.0, 5.0, 5.0)
    with pytest.raises(ValueError, match="NaN"):
        stats.bootstrap_ci([float("nan")])
    with pytest.raises(ValueError, match="infinite"):
        stats.bootstrap_ci([1.0, float("inf")])
    with pytest.raises(ValueError, match="level"):
        stats.bootstrap_ci([1.0, 2.0], level=95)


def test_read_only_arrays_and_tensors_are_taken_without_a_warning() -> None:
    # pandas hands out read-only arrays (Series.to_numpy); torch warns on those unless copied
    values = np.array([1.0, 2.0, 4.0])
    values.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_array = stats.bootstrap_ci(values, seed=1)
        from_tensor = stats.bootstrap_ci(torch.tensor(values, requires_grad=True), seed=1)
        paired = stats.paired_difference(values, values[::-1], seed=1)
    assert from_array == from_tensor and from_array[0] == pytest.approx(7 / 3)
    assert paired["mean"] == pytest.approx(0.0)


def test_paired_difference_agrees_with_scipy_permutation_test() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0.5, 0.1, 40)
    b = a - 0.02 + rng.normal(0, 0.05, 40)
    ours = stats.paired_difference(a, b, n_boot=20_000)
    ref = scipy_stats.permutation_test((a, b), lambda x, y: np.mean(x - y),
                                       permutation_type="samples", n_resamples=20_000,
                                       random_state=0)
    assert ours["mean"] == pytest.approx(np.mean(a - b)) and ours["n"] == 40
    assert ours["p"] == pytest.approx(ref.pvalue, abs=0.02)
    assert ours["low"] < ours["mean"] < ours["high"]


def test_paired_difference_hand_cases() -> None:
    same = stats.paired_difference([0.1, 0.5, 0.9], [0.1, 0.5, 0.9])
    assert same["mean"] == 0 and same["p"] == 1.0 and same["low"] == same["high"] == 0
    # every one of 12 images better by 1: the sign-flip test finds p ~ 2 / 2^12, floored by n_boot
    clear = stats.paired_difference(np.ones(12), np.zeros(12), n_boot=5000)
    assert clear["mean"] == 1 and clear["p"] < 0.01
    nan_pair = stats.paired_difference([1.0, float("nan"), 3.0], [0.0, 1.0, 1.0])
    assert nan_pair["n"] == 2 and nan_pair["mean"] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="pair"):
        stats.paired_difference([1.0, 2.0], [1.0])


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
    with pytest.raises(ValueError, match=r"groups.*2.*3"):
        stats.grouped_bootstrap_ci([1.0, 2.0, 3.0], ["a", "b"])
    with pytest.raises(ValueError, match="missing value"):
        stats.grouped_bootstrap_ci([1.0, 2.0], ["a", None])
    with pytest.raises(ValueError, match="level"):
        stats.grouped_bootstrap_ci([1.0, 2.0], ["a", "b"], level=95)
    with pytest.raises(ValueError, match=r"n_boot.*positive"):
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
    with pytest.raises(TypeError, match=r"successes.*int"):
        stats.wilson_interval(0.5, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"successes=11.*n=10"):
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


# --- one resampler for every grouped statistic ---------------------------------------------------

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
    with pytest.raises(ValueError, match=r"groups.*empty"):
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


def test_balanced_accuracy_difference_resamples_both_on_the_same_lesions() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 60)
    pred_a = np.where(rng.random(60) < 0.9, labels, rng.integers(0, 3, 60))
    pred_b = rng.integers(0, 3, 60)  # guesses
    lesions = np.repeat(np.arange(20), 3)
    members = [np.flatnonzero(lesions == g) for g in range(20)]

    def slow(drawn: torch.Tensor) -> torch.Tensor:  # both, resample by resample
        out = []
        for row in drawn.tolist():
            idx = np.concatenate([members[g] for g in row])
            y = labels[idx]
            out.append(balanced_accuracy_score(y, pred_a[idx])
                       - balanced_accuracy_score(y, pred_b[idx]))
        return torch.tensor(out, dtype=torch.float64)

    expected = stats.grouped_bootstrap(slow, lesions.tolist(), n_boot=300, seed=4)
    row = stats.balanced_accuracy_difference(labels, pred_a, pred_b, lesions, n_boot=300, seed=4)
    assert (row["mean"], row["low"], row["high"]) == pytest.approx(expected, abs=1e-12)
    assert row["mean"] == pytest.approx(balanced_accuracy_score(labels, pred_a)
                                        - balanced_accuracy_score(labels, pred_b))
    assert row["low"] > 0 and row["p"] < 0.05 and (row["n"], row["groups"]) == (60, 20)
    swapped = stats.balanced_accuracy_difference(labels, pred_b, pred_a, lesions, n_boot=300,
                                                 seed=4)
    assert swapped["mean"] == pytest.approx(-row["mean"]) and swapped["p"] == row["p"]


def test_balanced_accuracy_difference_of_equal_predictions_is_zero_with_p_one() -> None:
    labels = np.array([0, 1, 2, 0, 1, 2])
    row = stats.balanced_accuracy_difference(labels, labels, labels, n_boot=100)
    assert (row["mean"], row["low"], row["high"], row["p"]) == (0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="same length"):
        stats.balanced_accuracy_difference(labels, labels, labels[:3])


# --- paired comparisons by lesion ----------------------------------------------------------------


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
    with pytest.raises(ValueError, match=r"groups|lesion"):
        stats.summarize_with_intervals(scores, groups=lesions[:4])


# --- verdict and paired_scores -------------------------------------------------------------------
# Hand cases: a clear win, a clear loss, an interval that includes 0 (whatever p is), no
# difference at all; that no sentence calls a difference "real"; and paired_scores
# against paired_difference called column by column, with and without lesion groups.


def row(mean: float, low: float, high: float, p: float) -> dict[str, float]:
    return {"mean": mean, "low": low, "high": high, "p": p, "n": 20}


def test_a_clear_win_for_a_higher_is_better_score() -> None:
    text = stats.verdict(row(0.12, 0.05, 0.19, 0.001), better="higher")
    assert text == ("higher by 0.12 [0.05, 0.19], p = 0.001: "
                    "the interval excludes 0, in Grad-CAM++'s favour")


def test_a_lower_score_wins_when_lower_is_better() -> None:
    text = stats.verdict(row(-2.5, -4.0, -1.0, 0.004), better="lower", name="LayerCAM")
    assert text == ("lower by 2.5 [-4, -1], p = 0.004: the interval excludes 0, in LayerCAM's "
                    "favour")


def test_a_clear_loss() -> None:
    higher = stats.verdict(row(-0.3, -0.4, -0.2, 0.0001), better="higher")
    assert higher.endswith("the interval excludes 0, against Grad-CAM++")
    assert higher.startswith("lower by 0.3 ")
    lower = stats.verdict(row(3.0, 1.0, 5.0, 0.01), better="lower", name="Grad-CAM")
    assert lower.endswith("the interval excludes 0, against Grad-CAM")


@pytest.mark.parametrize("case", [
    row(0.02, -0.01, 0.05, 0.30),   # large p, interval straddles 0
    row(0.02, -0.001, 0.05, 0.04),  # small p, but the interval still holds 0
])
def test_an_interval_that_includes_0_has_no_winner(case: dict[str, float]) -> None:
    for better in ("higher", "lower"):
        text = stats.verdict(case, better=better)
        assert text.endswith("the interval includes 0, no winner at this sample size")
        assert text.startswith("higher by 0.02 [")


def test_the_sentence_reads_the_interval_and_reports_p_without_judging_it() -> None:
    # the interval excludes 0 although p = 0.06: the sentence says what the interval says and
    # prints p beside it; it never calls the difference "real"
    text = stats.verdict(row(0.02, 0.001, 0.05, 0.06), "higher")
    assert text == ("higher by 0.02 [0.001, 0.05], p = 0.060: the interval excludes 0, in "
                    "Grad-CAM++'s favour")
    for case in (row(0.12, 0.05, 0.19, 0.001), row(0.02, -0.01, 0.05, 0.3)):
        for better in ("higher", "lower"):
            assert "real" not in stats.verdict(case, better)


def test_no_difference_at_all_is_equal_on_average() -> None:
    same = stats.paired_difference([0.1, 0.5, 0.9], [0.1, 0.5, 0.9])
    assert stats.verdict(same, better="higher") == (
        "equal on average [0, 0], p = 1.000: the interval includes 0, no winner at this "
        "sample size")


def test_verdict_reads_a_row_of_a_frame_and_refuses_bad_input() -> None:
    frame = pd.DataFrame({"energy": row(0.12, 0.05, 0.19, 0.001)}).T
    assert stats.verdict(frame.loc["energy"], "higher").endswith("in Grad-CAM++'s favour")
    with pytest.raises(ValueError, match="better"):
        stats.verdict(row(0.1, 0.0, 0.2, 0.5), better="up")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="paired_difference"):
        stats.verdict({"mean": 0.1, "p": 0.5}, better="higher")


def test_verdict_of_a_real_paired_difference() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 30)
    win = stats.paired_difference(base + 0.2, base, seed=0)
    assert stats.verdict(win, "higher").endswith("in Grad-CAM++'s favour")
    assert stats.verdict(win, "lower").endswith("against Grad-CAM++")
    noise = stats.paired_difference(base + rng.normal(0, 0.1, 30), base, seed=0)
    assert noise["low"] < 0 < noise["high"]  # this seed's noise: the interval includes 0
    assert stats.verdict(noise, "higher").endswith("no winner at this sample size")


def test_paired_scores_matches_paired_difference_column_by_column() -> None:
    scores = pd.DataFrame({
        "method": ["A"] * 4 + ["B"] * 4,
        "image": [0, 1, 2, 3] * 2,
        "drop %": [10.0, 20.0, 30.0, 40.0, 12.0, 25.0, 31.0, 48.0],
        "energy (lesion)": [0.5, math.nan, 0.7, 0.9, 0.4, 0.5, 0.6, 0.6],
    })
    table = stats.paired_scores(scores, "A", "B", seed=3)
    assert list(table.index) == ["drop %", "energy (lesion)"]
    for column in table.index:
        expected = stats.paired_difference(scores[column][:4].to_numpy(),
                                             scores[column][4:].to_numpy(), seed=3)
        assert table.loc[column].to_dict() == pytest.approx(expected)
    assert table.loc["energy (lesion)", "n"] == 3  # the NaN pair is left out
    only = stats.paired_scores(scores, "A", "B", columns=["drop %"])
    assert list(only.index) == ["drop %"]


def test_paired_scores_refuses_unknown_methods_and_unpaired_images() -> None:
    scores = pd.DataFrame({"method": ["A", "A", "B"], "image": [0, 1, 0], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="'C'"):
        stats.paired_scores(scores, "A", "C")
    with pytest.raises(ValueError, match="images"):
        stats.paired_scores(scores, "A", "B")


def test_paired_scores_with_groups_resamples_the_lesions() -> None:
    # 4 images, 2 lesions: lesion "x" (images 0, 1) and lesion "y" (images 2, 3)
    scores = pd.DataFrame({
        "method": ["A"] * 4 + ["B"] * 4,
        "image": [0, 1, 2, 3] * 2,
        "drop %": [10.0, 20.0, 30.0, 40.0, 12.0, 25.0, 31.0, 48.0],
    })
    lesions = pd.Series(["x", "x", "y", "y"])
    table = stats.paired_scores(scores, "A", "B", seed=3, groups=lesions)
    expected = stats.paired_difference(scores["drop %"][:4].to_numpy(),
                                       scores["drop %"][4:].to_numpy(), seed=3,
                                       groups=["x", "x", "y", "y"])
    assert table.loc["drop %"].to_dict() == pytest.approx(expected)
    assert table.loc["drop %"].to_dict() != pytest.approx(
        stats.paired_scores(scores, "A", "B", seed=3).loc["drop %"].to_dict())
    with pytest.raises(ValueError, match=r"groups|lesion"):
        stats.paired_scores(scores, "A", "B", groups=["x", "x", "y"])


def no_interval(result) -> bool:
    return math.isnan(result[1]) and math.isnan(result[2])


def test_one_value_has_no_interval() -> None:
    with pytest.warns(RuntimeWarning, match="one value has no interval"):
        result = stats.bootstrap_ci([5.0])
    assert result[0] == 5.0 and no_interval(result)
    with pytest.warns(RuntimeWarning, match="one value"):  # NaN left out: one value left
        assert no_interval(stats.bootstrap_ci([float("nan"), 2.0]))


def test_one_lesion_has_no_interval() -> None:
    with pytest.warns(RuntimeWarning, match="one group .*has no interval"):
        result = stats.grouped_bootstrap_ci([1.0, 2.0, 3.0], ["L1", "L1", "L1"])
    assert result[0] == 2.0 and no_interval(result)
    with pytest.warns(RuntimeWarning, match="one group"):
        value = stats.grouped_bootstrap(lambda drawn: drawn.double().mean(1) + 7, ["a", "a"])
    assert value[0] == 7.0 and no_interval(value)


def test_two_values_still_have_an_interval() -> None:
    mean, low, high = stats.bootstrap_ci([1.0, 3.0])
    assert low < mean < high
    mean, low, high = stats.grouped_bootstrap_ci([1.0, 3.0, 5.0], ["a", "a", "b"])
    assert low < high


@pytest.mark.parametrize("groups", [None, ["L1", "L1", "L1"]])
def test_verdict_on_one_lesion_says_there_is_no_interval(groups) -> None:
    a, b = [0.9, 0.8, 0.7], [0.5, 0.4, 0.3]
    if groups is None:
        a, b = a[:1], b[:1]
    with pytest.warns(RuntimeWarning, match="no interval"):
        row = stats.paired_difference(a, b, groups=groups)
    assert math.isnan(row["low"]) and math.isnan(row["high"])
    said = stats.verdict(row, "higher")
    assert "excludes 0" not in said and "no interval" in said


def test_a_table_cell_of_one_value_says_no_interval() -> None:
    scores = pd.DataFrame({"method": ["A", "B", "B"], "image": [0, 0, 1],
                           "score": [0.5, 0.25, 0.75]})
    with pytest.warns(RuntimeWarning, match="one value"):
        table = stats.summarize_with_intervals(scores)
    assert table.loc["A", "score"] == "0.50 [no interval: one value]"
    assert "no interval" not in table.loc["B", "score"]
    assert no_interval(table.attrs["numeric"][("A", "score")])


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
