"""ContrastiveGradCAM ("why class c rather than d") against a case computed by hand, and against
Grad-CAM's own weights (Grad-CAM is linear in the score, so the contrast's weights are the
difference of the two classes' weights)."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
import torchvision
from torch import nn

from helpers.cam import ContrastiveGradCAM, GradCAM, runner_up


def _gap_linear() -> nn.Module:
    """Input = the activations A (2 channels, 2 x 2) -> GAP -> linear with hand-picked weights."""
    fc = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor([[1.0, 0.0],     # class 0 likes channel 1
                                      [0.0, 1.0],     # class 1 likes channel 2
                                      [2.0, -1.0]]))  # class 2: channel 1, not channel 2
    layers = OrderedDict(feat=nn.Identity(), pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), fc=fc)
    return nn.Sequential(layers).eval()


# A^1 is 1 at the top left, A^2 is 2 at the bottom right: logits (GAP, Z = 4) are
# y0 = 1/4, y1 = 2/4, y2 = 2/4 - 2/4 = 0, so class 1 is predicted and class 0 is the runner-up.
A = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]]])[None]


@pytest.mark.parametrize(
    "c,d,expected",
    [
        # (w0 - w2) = (-1, 1): (-A^1 + A^2)/4 = [[-1/4, 0], [0, 1/2]] -> ReLU
        (0, 2, [[0.0, 0.0], [0.0, 0.5]]),
        # (w2 - w1) = (2, -2): (2 A^1 - 2 A^2)/4 = [[1/2, 0], [0, -1]] -> ReLU
        (2, 1, [[0.5, 0.0], [0.0, 0.0]]),
        # (w1 - w0) = (-1, 1): the prediction against its runner-up (d=None picks class 0)
        (None, None, [[0.0, 0.0], [0.0, 0.5]]),
    ],
)
def test_contrastive_map_by_hand(c, d, expected):
    cam = ContrastiveGradCAM(_gap_linear(), "feat", contrast_idx=d)
    raw = cam.compute_raw(A, class_idx=c)
    torch.testing.assert_close(raw[0], torch.tensor(expected))
    if c is None:
        assert cam.last_class_idx.tolist() == [1] and cam.last_contrast_idx.tolist() == [0]


def test_contrast_can_point_elsewhere_than_the_class_map():
    model = _gap_linear()
    plain = GradCAM(model, "feat").compute_raw(A, class_idx=0)[0]  # w0 = (1, 0): A^1 / 4
    contrast = ContrastiveGradCAM(model, "feat", contrast_idx=2).compute_raw(A, class_idx=0)[0]
    assert plain.argmax() == 0 and contrast.argmax() == 3  # top left vs bottom right


def test_weights_are_the_difference_of_grad_cam_weights_on_a_resnet():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=7).eval()
    x = torch.randn(3, 3, 64, 64)
    target, contrast = [1, 4, 6], [0, 0, 2]
    gcam = GradCAM(model, "layer3")
    gcam(x, target)
    w_c = gcam.last_weights
    gcam(x, contrast)
    w_d = gcam.last_weights
    ccam = ContrastiveGradCAM(model, "layer3", contrast_idx=contrast)
    maps = ccam(x, target)
    torch.testing.assert_close(ccam.last_weights, w_c - w_d, atol=1e-6, rtol=1e-4)
    assert maps.shape == (3, 64, 64) and 0 <= maps.min() and maps.max() <= 1
    assert all(p.grad is None for p in model.parameters())
    # nothing of the call stays behind but the documented last_* results
    assert set(vars(ccam)) == {"model", "target_layer", "contrast_idx", "last_activations",
                               "last_gradients", "last_weights", "last_class_idx",
                               "last_contrast_idx"}


def test_runner_up_and_errors():
    logits = torch.tensor([[0.1, 3.0, 2.0], [5.0, -1.0, 4.0]])
    assert runner_up(logits, torch.tensor([1, 0])).tolist() == [2, 2]
    assert runner_up(logits, torch.tensor([2, 2])).tolist() == [1, 0]  # a non-predicted class
    cam = ContrastiveGradCAM(_gap_linear(), "feat", contrast_idx=1)
    with pytest.raises(ValueError, match="equals the target"):
        cam(A, class_idx=1)
    with pytest.raises(ValueError, match="out of range"):
        ContrastiveGradCAM(_gap_linear(), "feat", contrast_idx=7)(A, class_idx=0)
