"""The checks of notebook 04's exercises (helpers.exercises): the answers a solution
computes pass, wrong ones get a message that says what is off, junk never raises."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.models import resnet18

from helpers import exercises as ex
from helpers.cam import CAM, LayerCAM, ScoreCAM


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
