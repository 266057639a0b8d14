"""The checks of notebook 09's exercises (helpers.exercises): the answers a solution
computes pass, wrong ones fail, junk never raises."""

from __future__ import annotations

import math

import pytest
import torch
from torchvision.models import resnet18

from helpers import exercises as ex
from helpers.cam import CAM, ContrastiveGradCAM


def test_contrastive_is_cam_check_on_real_maps():
    torch.manual_seed(1)
    from torchvision.models import resnet18

    model = resnet18(num_classes=3).eval()
    x = torch.rand(1, 3, 64, 64)
    head = CAM(model, "layer4")
    head.fc = torch.nn.Linear(model.fc.in_features, 1)
    head.fc.weight.data = (model.fc.weight[0] - model.fc.weight[1]).detach()[None]
    as_cam = head(x, 0)
    contrastive = ContrastiveGradCAM(model, "layer4", contrast_idx=1)(x, 0)
    assert ex.check_09_contrastive_is_cam(as_cam, contrastive)
    assert not ex.check_09_contrastive_is_cam(as_cam, 1 - contrastive)
    assert not ex.check_09_contrastive_is_cam(as_cam, contrastive[..., :-1])


@pytest.mark.parametrize(("exact", "fast", "ok"), [
    (2900.0, 360.0, True), ("2.9e3", [360], True), (300.0, 360.0, False), (9000.0, 360.0, False)])
def test_exact_score_cam_ratio(exact, fast, ok):
    assert bool(ex.check_09_exact_score_cam(exact, fast)) is ok


@pytest.mark.parametrize("check", [ex.check_09_exact_score_cam], ids=lambda c: c.__name__)
@pytest.mark.parametrize("junk", [None, "no number", float("nan"), object(), [[1, "a"]]])
def test_junk_in_every_argument_gives_feedback(check, junk):
    fb = check(junk, junk)
    assert isinstance(fb, ex.Feedback) and not fb and fb.exercise and fb.message


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(1)
    return resnet18(num_classes=3).eval(), torch.rand(1, 3, 64, 64)


def test_contrast_overlap_recomputed_from_the_maps(net):
    model, x = net
    a = ContrastiveGradCAM(model, "layer4", contrast_idx=1)(x, 0)[0]
    b = ContrastiveGradCAM(model, "layer4", contrast_idx=0)(x, 1)[0]
    overlap = (torch.minimum(a, b).sum() / a.sum()).item()
    assert overlap < 0.5
    assert ex.check_09_contrast_overlap(overlap, a, b)
    assert not ex.check_09_contrast_overlap(overlap, a, a)           # one map twice
    same = ContrastiveGradCAM(model, "layer4", contrast_idx=1)(x, 0)[0]  # conceptual: same order
    assert not ex.check_09_contrast_overlap(1.0, a, same)
    assert not ex.check_09_contrast_overlap(overlap + 0.2, a, b)     # not these maps' overlap
    assert not ex.check_09_contrast_overlap(math.nan, a, b)
    assert not ex.check_09_contrast_overlap(1.4, a, b)
    assert not ex.check_09_contrast_overlap(overlap)                 # nothing to recompute


def _as_cam(model, x, c, d, layer="layer4"):
    head = CAM(model, layer)
    head.fc = torch.nn.Linear(model.fc.in_features, 1)
    head.fc.weight.data = (model.fc.weight[c] - model.fc.weight[d]).detach()[None]
    return head(x, 0)


def test_contrastive_is_cam_on_real_maps(net):
    model, x = net
    as_cam = _as_cam(model, x, 0, 1)
    contrastive = ContrastiveGradCAM(model, "layer4", contrast_idx=1)(x, 0)
    assert ex.check_09_contrastive_is_cam(as_cam, contrastive)
    assert not ex.check_09_contrastive_is_cam(contrastive, contrastive)  # issue 36: one map twice
    assert not ex.check_09_contrastive_is_cam(contrastive, contrastive[:])  # a view of it
    reversed_ = _as_cam(model, x, 1, 0)                                   # conceptual: w^d - w^c
    assert not ex.check_09_contrastive_is_cam(reversed_, contrastive)
    assert not ex.check_09_contrastive_is_cam(as_cam, contrastive[..., :-1])
    assert not ex.check_09_contrastive_is_cam(as_cam * math.nan, contrastive)


@pytest.mark.parametrize(("exact", "fast", "ok"), [
    (2755, 375, True), (375, 2755, False),   # conceptual: the two swapped
    (40_000, 375, False), (-1, 375, False), (2755, math.nan, False)])
def test_exact_score_cam(exact, fast, ok):
    assert bool(ex.check_09_exact_score_cam(exact, fast)) is ok
