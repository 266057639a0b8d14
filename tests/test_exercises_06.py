"""The checks of notebook 06's exercises (helpers.exercises): the answers a solution
computes pass, wrong ones fail, junk never raises."""

from __future__ import annotations

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


@pytest.mark.parametrize(("value", "ok"), [(0.08, True), (0.9, False), (1.5, False)])
def test_contrast_overlap(value, ok):
    assert bool(ex.check_06_contrast_overlap(value)) is ok


@pytest.mark.parametrize(("exact", "fast", "ok"), [
    (2900.0, 360.0, True), ("2.9e3", [360], True), (300.0, 360.0, False), (9000.0, 360.0, False)])
def test_exact_score_cam_ratio(exact, fast, ok):
    assert bool(ex.check_06_exact_score_cam(exact, fast)) is ok


@pytest.mark.parametrize("check", [getattr(ex, n) for n in ex.__all__ if n.startswith("check_06")])
@pytest.mark.parametrize("junk", [None, "no number", [1, 2, 3], object()])
def test_unreadable_answers_give_feedback_not_errors(check, junk):
    args = (junk, junk) if check is ex.check_06_contrastive_is_cam else (junk,)
    feedback = check(*args)
    assert not feedback and feedback.exercise and feedback.message


@pytest.mark.parametrize("check", [ex.check_06_exact_score_cam], ids=lambda c: c.__name__)
@pytest.mark.parametrize("junk", [None, "no number", float("nan"), object(), [[1, "a"]]])
def test_junk_in_every_argument_gives_feedback(check, junk):
    fb = check(junk, junk)
    assert isinstance(fb, ex.Feedback) and not fb and fb.exercise and fb.message
