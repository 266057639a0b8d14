"""The checks of notebook 04's exercises (helpers.exercises): the answers a solution
computes pass, wrong ones get a message that says what is off, junk never raises."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torchvision.models import resnet18

from helpers import exercises as ex
from helpers import stats
from helpers.cam import CAM, LayerCAM, ScoreCAM


@pytest.mark.parametrize("check", [getattr(ex, n) for n in ex.__all__
                                   if n.startswith("check_04")])
@pytest.mark.parametrize("junk", [None, "no number", [1, 2, 3], object()])
def test_unreadable_answers_give_feedback_not_errors(check, junk):
    args = (junk, junk) if check in (ex.check_04_score_cam_top_k,
                                     ex.check_09_contrastive_is_cam) else (junk,)
    feedback = check(*args)
    assert not feedback and feedback.exercise and feedback.message


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return resnet18(num_classes=3).eval(), torch.rand(2, 3, 64, 64)


def _positive_cam(model, layer="layer4", clamp=True):
    cam = CAM(model, layer)
    cam.fc = torch.nn.Linear(model.fc.in_features, model.fc.out_features)
    weight = model.fc.weight.detach()
    cam.fc.weight.data = weight.clamp_min(0) if clamp else weight.clone()
    return cam


def test_layercam_is_positive_cam_from_the_maps(net):
    model, x = net
    layercam = LayerCAM(model, "layer4")(x, [0, 1])
    assert ex.check_04_layercam_is_positive_cam(_positive_cam(model)(x, [0, 1]), layercam)
    unclamped = _positive_cam(model, clamp=False)(x, [0, 1])       # conceptual: w not clamped
    assert not np.allclose(unclamped, layercam, atol=1e-4)
    assert not ex.check_04_layercam_is_positive_cam(unclamped, layercam)
    at3 = LayerCAM(model, "layer3")(x, [0, 1])                      # conceptual: another layer
    assert not ex.check_04_layercam_is_positive_cam(_positive_cam(model)(x, [0, 1]), at3)
    assert not ex.check_04_layercam_is_positive_cam(layercam, layercam)  # one map twice
    assert not ex.check_04_layercam_is_positive_cam(layercam, layercam.nan_to_num(0) * math.nan)
    assert not ex.check_04_layercam_is_positive_cam(4.8e-7, layercam)    # a number, not maps


def test_score_cam_top_k_reads_the_maps(net):
    model, x = net
    exact = ScoreCAM(model, "layer4", batch_size=64)(x, [0, 1])
    approx = ScoreCAM(model, "layer4", batch_size=64, top_k=64)(x, [0, 1])
    assert ex.check_04_score_cam_top_k(6.5, approx, exact)
    assert not ex.check_04_score_cam_top_k(1 / 6.5, approx, exact)   # conceptual: inverted ratio
    assert not ex.check_04_score_cam_top_k(40, approx, exact)
    assert not ex.check_04_score_cam_top_k(math.nan, approx, exact)
    assert not ex.check_04_score_cam_top_k(6.5, exact, exact)        # one map twice
    assert not ex.check_04_score_cam_top_k(6.5, approx, exact[..., :-1])


@pytest.mark.parametrize(("value", "ok"), [
    (0.0, True), ("0 %", True), (torch.tensor(0.0), True),
    (100.0, False),           # conceptual: the map of zeros (the image removed)
    (2.4, False), (math.nan, False), (-math.inf, False)])
def test_average_drop_all_ones(value, ok):
    assert bool(ex.check_04_average_drop_all_ones(value)) is ok


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
        feedback = ex.check_04_layer3_ranking(form, four, three, LESIONS)
        assert feedback, feedback
    fallacy = ex.check_04_layer3_ranking(["drop %", "energy (lesion)"], four, three, LESIONS)
    assert not fallacy and "difference in significance" in fallacy.message  # conceptual
    for answer in ([], "none", ["energy (lesion)"], ["drop"]):
        feedback = ex.check_04_layer3_ranking(answer, four, three, LESIONS)
        assert not feedback and feedback.hint, answer
    assert not ex.check_04_layer3_ranking(["drop %"], four, four, LESIONS)       # issue 36
    assert not ex.check_04_layer3_ranking(["drop %"], four, four.copy(), LESIONS)  # a copy
    assert not ex.check_04_layer3_ranking(["drop %"])                          # no tables
    assert not ex.check_04_layer3_ranking(["drop %"], four, "not a table", LESIONS)


def test_layer3_ranking_none_is_right_when_nothing_changes(layers):
    four, _ = layers
    same_gaps = four.copy()
    same_gaps.loc[same_gaps["method"] == "Grad-CAM", ["drop %", "energy (lesion)"]] += 1.0
    same_gaps.loc[same_gaps["method"] == "Grad-CAM++", ["drop %", "energy (lesion)"]] += 1.0
    feedback = ex.check_04_layer3_ranking("none", four, same_gaps, LESIONS)
    assert feedback and "none of the 2" in feedback.message
    assert not ex.check_04_layer3_ranking(["drop %"], four, same_gaps, LESIONS)


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
