"""helpers.stats.verdict and paired_scores: a paired comparison read out in one sentence.

Hand cases: a clear win, a clear loss, an interval that includes 0 (whatever p is), no
difference at all; that no sentence calls a difference "real"; and paired_scores against
paired_difference called column by column, with and without lesion groups.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers import stats


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
    with pytest.raises(ValueError, match="same images"):
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
    with pytest.raises(ValueError, match="one lesion id per image"):
        stats.paired_scores(scores, "A", "B", groups=["x", "x", "y"])
