"""The checks of notebook 05's exercises (helpers.exercises): the answers a solution
computes pass, wrong ones get a message that says what is off, junk never raises."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import exercises as ex
from helpers import stats


@pytest.mark.parametrize("check", [getattr(ex, n) for n in ex.__all__
                                   if n.startswith("check_05")])
@pytest.mark.parametrize("junk", [None, "no number", [1, 2, 3], object()])
def test_unreadable_answers_give_feedback_not_errors(check, junk):
    feedback = check(junk)
    assert not feedback and feedback.exercise and feedback.message


@pytest.mark.parametrize(("value", "ok"), [
    (0.0, True), ("0 %", True), (torch.tensor(0.0), True),
    (100.0, False),           # conceptual: the map of zeros (the image removed)
    (2.4, False), (math.nan, False), (-math.inf, False)])
def test_average_drop_all_ones(value, ok):
    assert bool(ex.check_05_average_drop_all_ones(value)) is ok


N, LESIONS = 80, np.repeat(np.arange(40), 2)


def _scores(gc_plus: dict[str, np.ndarray], gc: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = {"method": ["Grad-CAM++"] * N + ["Grad-CAM"] * N, "image": list(range(N)) * 2}
    return pd.DataFrame({**rows, **{c: np.r_[gc_plus[c], gc[c]] for c in gc_plus}})


@pytest.fixture(scope="module")
def layers():
    """Grad-CAM++ minus Grad-CAM per image: "drop %" flips sign between the layers (the gap
    changes), "energy (lesion)" is about 2.5 standard errors above 0 at layer4 and 1 at layer3:
    its interval excludes 0 at layer4 only, but the change is within the noise."""
    rng = np.random.default_rng(3)

    def noise(mean, sd):  # exactly this sample mean
        e = rng.normal(0, sd, N)
        return mean + e - e.mean()

    base = {"drop %": rng.random(N) * 10, "energy (lesion)": rng.random(N)}
    gap4 = {"drop %": noise(-3, 1), "energy (lesion)": noise(0.028, 0.1)}
    gap3 = {"drop %": noise(3, 1), "energy (lesion)": noise(0.011, 0.1)}
    four = _scores({c: base[c] + gap4[c] for c in base}, base)
    three = _scores({c: base[c] + gap3[c] for c in base}, base)
    return four, three


def test_the_made_up_layers_show_the_fallacy(layers):
    four, three = layers
    marginal = [stats.paired_scores(t, "Grad-CAM++", "Grad-CAM", groups=LESIONS) for t in layers]
    energy = [row.loc["energy (lesion)"] for row in marginal]
    assert energy[0]["low"] > 0 and energy[1]["low"] < 0 < energy[1]["high"]
    change = stats.difference_of_differences(three, four, "Grad-CAM++", "Grad-CAM",
                                             groups=LESIONS)
    assert change.loc["energy (lesion)", "low"] < 0 < change.loc["energy (lesion)", "high"]
    assert change.loc["drop %", "low"] > 0


def test_layer3_ranking_tests_the_change_itself(layers):
    four, three = layers
    for form in (["drop %"], "DROP %", {"drop %": True, "energy (lesion)": False}):
        feedback = ex.check_05_layer3_ranking(form, four, three, LESIONS)
        assert feedback, feedback
    fallacy = ex.check_05_layer3_ranking(["drop %", "energy (lesion)"], four, three, LESIONS)
    assert not fallacy and "difference in significance" in fallacy.message  # conceptual
    for answer in ([], "none", ["energy (lesion)"], ["drop"]):
        feedback = ex.check_05_layer3_ranking(answer, four, three, LESIONS)
        assert not feedback and feedback.hint, answer
    assert not ex.check_05_layer3_ranking(["drop %"], four, four, LESIONS)       # issue 36
    assert not ex.check_05_layer3_ranking(["drop %"], four, four.copy(), LESIONS)  # a copy
    assert not ex.check_05_layer3_ranking(["drop %"])                          # no tables
    assert not ex.check_05_layer3_ranking(["drop %"], four, "not a table", LESIONS)


def test_layer3_ranking_none_is_right_when_nothing_changes(layers):
    four, _ = layers
    same_gaps = four.copy()
    same_gaps.loc[same_gaps["method"] == "Grad-CAM", ["drop %", "energy (lesion)"]] += 1.0
    same_gaps.loc[same_gaps["method"] == "Grad-CAM++", ["drop %", "energy (lesion)"]] += 1.0
    feedback = ex.check_05_layer3_ranking("none", four, same_gaps, LESIONS)
    assert feedback and "none of the 2" in feedback.message
    assert not ex.check_05_layer3_ranking(["drop %"], four, same_gaps, LESIONS)


def test_difference_of_differences_is_the_paired_difference_of_the_gaps(layers):
    four, three = layers
    table = stats.difference_of_differences(three, four, "Grad-CAM++", "Grad-CAM",
                                            ["drop %"], n_boot=2000, groups=LESIONS)
    gap = [t.loc[t.method == "Grad-CAM++", "drop %"].to_numpy()
           - t.loc[t.method == "Grad-CAM", "drop %"].to_numpy() for t in (three, four)]
    direct = stats.paired_difference(gap[0], gap[1], n_boot=2000, groups=LESIONS)
    assert table.loc["drop %", "mean"] == pytest.approx(direct["mean"])
    assert table.loc["drop %", "low"] == pytest.approx(direct["low"])
    assert table.loc["drop %", "mean"] == pytest.approx(6.0, abs=0.5)
    with pytest.raises(ValueError, match="same table"):
        stats.difference_of_differences(four, four, "Grad-CAM++", "Grad-CAM")
    with pytest.raises(ValueError, match="same images"):
        stats.difference_of_differences(three.iloc[2:], four, "Grad-CAM++", "Grad-CAM")
    with pytest.raises(ValueError, match="no scores for method"):
        stats.difference_of_differences(three, four, "LayerCAM", "Grad-CAM")
