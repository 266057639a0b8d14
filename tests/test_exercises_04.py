"""The checks of notebook 04's exercises (helpers.exercises): the answers a solution
computes pass, wrong ones get a message that says what is off, junk never raises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import exercises as ex
from helpers.cam import CAM, LayerCAM


def test_layercam_check_on_a_real_layercam():
    """The answer the solution computes on a tiny ResNet passes; a clearly different one fails."""
    torch.manual_seed(0)
    from torchvision.models import resnet18

    model = resnet18(num_classes=3).eval()
    x = torch.rand(2, 3, 64, 64)
    positive = CAM(model, "layer4")
    positive.fc = torch.nn.Linear(model.fc.in_features, model.fc.out_features)
    positive.fc.weight.data = model.fc.weight.detach().clamp_min(0)
    diff = (positive(x, [0, 1]) - LayerCAM(model, "layer4")(x, [0, 1])).abs().max()
    assert ex.check_04_layercam_is_positive_cam(diff)
    assert not ex.check_04_layercam_is_positive_cam(0.3)
    assert not ex.check_04_layercam_is_positive_cam(-1e-5)


@pytest.mark.parametrize(("speedup", "rho", "ok"), [
    (6.5, 0.9, True), (0.8, 0.9, False), (40, 0.9, False), (6.5, 1.7, False)])
def test_score_cam_top_k(speedup, rho, ok):
    assert bool(ex.check_04_score_cam_top_k(speedup, rho)) is ok


@pytest.mark.parametrize(("value", "ok"), [(0.0, True), ("0 %", True), (12.5, False)])
def test_average_drop_all_ones(value, ok):
    assert bool(ex.check_04_average_drop_all_ones(value)) is ok


def _paired(rows: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame({c: {"mean": m, "low": lo, "high": hi, "p": 0.01, "n": 50}
                         for c, (m, lo, hi) in rows.items()}).T


# Grad-CAM++ minus Grad-CAM at each layer: "drop %" flips side, "energy (lesion)" goes from
# "excludes 0" to "includes 0", "pointing (lesion)" stays below 0 at both
PAIRED4 = _paired({"drop %": (-4.0, -5.0, -3.0), "energy (lesion)": (-0.05, -0.06, -0.04),
                   "pointing (lesion)": (-0.05, -0.09, -0.01)})


PAIRED3 = _paired({"drop %": (2.0, 1.0, 3.0), "energy (lesion)": (0.01, -0.01, 0.02),
                   "pointing (lesion)": (-0.04, -0.08, -0.01)})


@pytest.mark.parametrize("answer", [
    ["drop %", "energy (lesion)"], ("Energy (lesion)", "DROP %"), {"drop %", "energy (lesion)"},
    "drop %, energy (lesion)", pd.Index(["drop %", "energy (lesion)"]),
    {"drop %": True, "energy (lesion)": True, "pointing (lesion)": False},
    pd.Series({"drop %": True, "energy (lesion)": np.True_, "pointing (lesion)": False}),
])
def test_layer3_ranking_accepts_the_changed_scores_in_any_form(answer):
    feedback = ex.check_04_layer3_ranking(answer, PAIRED4, PAIRED3)
    assert feedback, feedback
    assert "2 of 3 scores change" in feedback.message


@pytest.mark.parametrize("answer", [
    ["drop %"],                                     # one missing
    ["drop %", "energy (lesion)", "pointing (lesion)"],  # one too many
    [], "none",                                      # "nothing changes" is wrong here
    ["drop", "energy"],                              # not column names
])
def test_layer3_ranking_says_what_is_off_without_raising(answer):
    feedback = ex.check_04_layer3_ranking(answer, PAIRED4, PAIRED3)
    assert not feedback and feedback.hint
    assert "drop %" not in feedback.message  # it does not give the answer away


def test_layer3_ranking_none_is_right_when_nothing_changes_and_needs_the_tables():
    same = ex.check_04_layer3_ranking("none", PAIRED4, PAIRED4)
    assert same and "none of the 3 scores" in same.message
    no_tables = ex.check_04_layer3_ranking(["drop %", "energy (lesion)"])
    assert not no_tables and "paired3" in no_tables.hint
    assert not ex.check_04_layer3_ranking(["drop %"], PAIRED4, "not a table")


def test_layer3_ranking_on_real_paired_tables():
    """Tables from stats.paired_scores on made-up scores, read as the solution reads them."""
    from helpers import stats

    rng = np.random.default_rng(0)
    base = rng.random(40)

    def scores(shift):
        return pd.DataFrame({"method": ["Grad-CAM++"] * 40 + ["Grad-CAM"] * 40,
                             "image": list(range(40)) * 2,
                             "energy (lesion)": np.r_[base + shift, base],
                             "drop %": np.r_[base + 0.2, base]})

    lesions = np.repeat(np.arange(20), 2)
    four = stats.paired_scores(scores(-0.1), "Grad-CAM++", "Grad-CAM", groups=lesions)
    three = stats.paired_scores(scores(0.1), "Grad-CAM++", "Grad-CAM", groups=lesions)
    assert ex.check_04_layer3_ranking(["energy (lesion)"], four, three)
    assert not ex.check_04_layer3_ranking(["drop %"], four, three)


@pytest.mark.parametrize("check", [getattr(ex, n) for n in ex.__all__ if n.startswith("check_04")])
@pytest.mark.parametrize("junk", [None, "no number", [1, 2, 3], object()])
def test_unreadable_answers_give_feedback_not_errors(check, junk):
    args = (junk, junk) if check is ex.check_04_score_cam_top_k else (junk,)
    if check is ex.check_04_layer3_ranking:  # junk names against real tables
        args = (junk, PAIRED4, PAIRED3)
    feedback = check(*args)
    assert not feedback and feedback.exercise and feedback.message
