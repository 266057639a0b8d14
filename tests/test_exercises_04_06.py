"""The checks of notebooks 04-06 accept the right answers, refuse wrong ones, never raise."""

import pytest
import torch

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
    assert ex.check_06_contrastive_is_cam(as_cam, contrastive)
    assert not ex.check_06_contrastive_is_cam(as_cam, 1 - contrastive)
    assert not ex.check_06_contrastive_is_cam(as_cam, contrastive[..., :-1])


@pytest.mark.parametrize(("value", "ok"), [(0.0, True), ("0 %", True), (12.5, False)])
def test_average_drop_all_ones(value, ok):
    assert bool(ex.check_04_average_drop_all_ones(value)) is ok


@pytest.mark.parametrize("check", [getattr(ex, n) for n in ex.__all__
                                   if n.startswith(("check_04", "check_06"))])
@pytest.mark.parametrize("junk", [None, "no number", [1, 2, 3], object()])
def test_unreadable_answers_give_feedback_not_errors(check, junk):
    args = (junk, junk) if check in (ex.check_04_score_cam_top_k,
                                     ex.check_06_contrastive_is_cam) else (junk,)
    feedback = check(*args)
    assert not feedback and feedback.exercise and feedback.message
