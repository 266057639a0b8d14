"""The checks of notebooks 04-06 accept the right answers, refuse wrong ones, never raise."""

import pytest
import torch

from helpers import exercises as ex
from helpers.cam import CAM, ContrastiveGradCAM, LayerCAM


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
    assert ex.check_06_contrastive_is_cam(as_cam, contrastive)
    assert not ex.check_06_contrastive_is_cam(as_cam, 1 - contrastive)
    assert not ex.check_06_contrastive_is_cam(as_cam, contrastive[..., :-1])


@pytest.mark.parametrize(("speedup", "rho", "ok"), [
    (6.5, 0.9, True), (0.8, 0.9, False), (40, 0.9, False), (6.5, 1.7, False)])
def test_score_cam_top_k(speedup, rho, ok):
    assert bool(ex.check_04_score_cam_top_k(speedup, rho)) is ok


@pytest.mark.parametrize(("value", "ok"), [(0.0, True), ("0 %", True), (12.5, False)])
def test_average_drop_all_ones(value, ok):
    assert bool(ex.check_04_average_drop_all_ones(value)) is ok


@pytest.mark.parametrize(("value", "ok"), [(0.08, True), (0.9, False), (1.5, False)])
def test_contrast_overlap(value, ok):
    assert bool(ex.check_06_contrast_overlap(value)) is ok


@pytest.mark.parametrize("check", [getattr(ex, n) for n in ex.__all__
                                   if n.startswith(("check_04", "check_06"))])
@pytest.mark.parametrize("junk", [None, "no number", [1, 2, 3], object()])
def test_unreadable_answers_give_feedback_not_errors(check, junk):
    args = (junk, junk) if check in (ex.check_04_score_cam_top_k,
                                     ex.check_06_contrastive_is_cam) else (junk,)
    feedback = check(*args)
    assert not feedback and feedback.exercise and feedback.message
