"""helpers.cam against independent references: pytorch-grad-cam, autograd's higher
derivatives, closed forms for a GAP + linear head, a direct per-channel Score-CAM loop,
and ContrastiveGradCAM against a case computed by hand; then the bad inputs, each refused
with a message that names the fix, the model left as it was."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import _checks, imagenet, stats
from helpers import cam as C
from helpers.cam import (
    CAM,
    METHODS,
    ContrastiveGradCAM,
    GradCAM,
    GradCAMPlusPlus,
    ScoreCAM,
    find_layer,
    normalize_maps,
    runner_up,
)
from helpers.models import build_model
from helpers.train import eval_mode, model_device, predict, predict_probs

torch.manual_seed(0)


def _resnet18(num_classes: int = 7) -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=num_classes).eval()


@pytest.fixture(scope="module")
def resnet() -> nn.Module:
    return _resnet18()


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(2, 3, 64, 96)  # non-square: layer4 gives 2 x 3


def _head(model: nn.Module) -> nn.Linear:
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1]


# --- against pytorch-grad-cam --------------------------------------------------------------------

ARCHS = {  # builder, target layer, input size
    "resnet18": (torchvision.models.resnet18, "layer4", (64, 96)),
    "vgg11": (torchvision.models.vgg11, "features.19", (64, 96)),  # the ReLU: see below
    "mobilenet_v2": (torchvision.models.mobilenet_v2, "features.18", (64, 96)),
    "efficientnet_b0": (torchvision.models.efficientnet_b0, "features.8", (64, 96)),
}


# Note: VGG's last conv ("features.18") and DenseNet's "features" are followed by an in-place
# ReLU, which changes the activations pytorch-grad-cam keeps; ours keep the layer's own output
# (test_maps_are_of_the_layers_own_output_despite_inplace_relu), so the references differ there.
# DenseNet (slow to run) is checked in test_gradient_methods_on_other_families.


@pytest.fixture(scope="module", params=list(ARCHS))
def arch(request):
    build, layer, size = ARCHS[request.param]
    torch.manual_seed(0)
    model = build(weights=None, num_classes=5).eval()
    # pytorch-grad-cam's Grad-CAM++ adds eps=1e-6 to the denominator 2g^2 + sum(A) g^3; with a
    # random head some gradients g are ~1e-3, so eps would matter. A 1000x larger head makes eps
    # negligible without changing what is compared.
    with torch.no_grad():
        _head(model).weight.mul_(1000.0)
    torch.manual_seed(2)
    return request.param, model, layer, torch.randn(2, 3, *size)


@pytest.mark.parametrize(
    "ours,theirs_name", [(GradCAM, "GradCAM"), (GradCAMPlusPlus, "GradCAMPlusPlus")]
)
def test_matches_pytorch_grad_cam(arch, ours, theirs_name):
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    name, model, layer, x = arch
    cam = ours(model, layer)
    raw = cam.compute_raw(x, class_idx=[1, 3])
    theirs = getattr(pytorch_grad_cam, theirs_name)(model, [find_layer(model, layer)])
    # compare at the layer's resolution: they normalise then resize with OpenCV, we resize first
    theirs.get_target_width_height = lambda t: (raw.shape[-1], raw.shape[-2])
    ref = theirs(x, targets=[ClassifierOutputTarget(1), ClassifierOutputTarget(3)])
    theirs.activations_and_grads.release()
    assert raw.abs().max() > 0, name
    torch.testing.assert_close(normalize_maps(raw), torch.from_numpy(ref), atol=2e-4, rtol=1e-3)


# --- Grad-CAM++ against its definition (eq. 10) with autograd's higher derivatives ---------------


def _gap_linear(k: int, n_classes: int = 3) -> nn.Module:
    """A 'network' whose input is the activation tensor A itself: layer 'feat' -> GAP -> linear."""
    torch.manual_seed(3)
    layers = OrderedDict(feat=nn.Identity(), pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten())
    return nn.Sequential(OrderedDict(**layers, fc=nn.Linear(k, n_classes))).eval()


def _diagonal_derivatives(f, a: torch.Tensor, order: int = 3) -> list[torch.Tensor]:
    """d^n f / d a_p^n for every element p of a (the diagonal only), n = 1..order, by autograd.

    One copy of ``a`` per element p, shifted by its own scalar t_p: the sum over copies of f
    depends on t_p only through copy p, so nested gradients with respect to t are the diagonal.
    """
    n = a.numel()
    t = torch.zeros(n, dtype=a.dtype, requires_grad=True)
    copies = a.expand(n, *a.shape) + (torch.diag(t)).view(n, *a.shape)
    out, derivs = f(copies).sum(), []
    for _ in range(order):
        (out,) = torch.autograd.grad(out, t, create_graph=True)
        derivs.append(out.view_as(a))
        out = out.sum()
    return derivs


def test_gradcam_plus_plus_weights_equal_eq10_with_autograd_derivatives():
    k, c = 4, 2
    torch.manual_seed(4)
    acts = F.relu(torch.randn(k, 5, 6, dtype=torch.float64))
    model = _gap_linear(k).double()
    score = lambda a: model(a)[:, c]  # noqa: E731 - S^c, linear in A
    d1, d2, d3 = _diagonal_derivatives(lambda a: torch.exp(score(a)), acts)  # of Y = exp(S)
    # eq. 10, then eq. 7's weights, straight from the derivatives of Y
    alpha = d2 / (2 * d2 + acts.sum(dim=(1, 2), keepdim=True) * d3)
    w_def = (alpha * F.relu(d1)).sum(dim=(1, 2))

    cam = GradCAMPlusPlus(model, "feat")
    cam.compute_raw(acts[None], class_idx=c)
    # eq. 19 drops the common factor exp(S) of dY/dA = exp(S) dS/dA
    torch.testing.assert_close(cam.last_weights[0] * torch.exp(score(acts[None]))[0], w_def)
    assert (w_def > 0).any() and (w_def == 0).any()  # both the ReLU's sides were exercised


# --- the ResNet special case: a GAP + linear head right after layer4 -----------------------------


def test_resnet_cam_equals_gradcam_and_gradcampp_closed_form(resnet, x):
    cls = [1, 4]
    cam, gcam = CAM(resnet, "layer4"), GradCAM(resnet, "layer4")
    gpp = GradCAMPlusPlus(resnet, "layer4")
    torch.testing.assert_close(cam(x, cls), gcam(x, cls), atol=1e-5, rtol=1e-4)
    assert cam.last_gradients is None  # CAM: forward pass only
    gpp(x, cls)
    acts, w = gpp.last_activations, resnet.fc.weight[cls]
    hw = acts.shape[-2] * acts.shape[-1]
    # Grad-CAM: the gradient of GAP + linear is w_k / (h w) everywhere
    torch.testing.assert_close(gcam.last_weights * hw, w)
    # Grad-CAM++: alpha = 1 / (2 + w_k mean(A_k)), weight = relu(w_k) / (2 + w_k mean(A_k))
    expected = F.relu(w) / (2 + w * acts.mean(dim=(2, 3)))
    torch.testing.assert_close(gpp.last_weights, expected, atol=1e-6, rtol=1e-4)


# --- the contract: hooks, grads, modes, targets, shapes, errors ----------------------------------


def test_output_shape_range_device_and_no_grad(resnet, x):
    for name, method in METHODS.items():
        small = method is ScoreCAM  # one forward pass per channel: a small input, fewer channels
        cam = method(resnet, "layer3" if small else "layer4")
        out = cam(x[:1, :, :32, :48]) if small else cam(x)
        assert out.shape == ((1, 32, 48) if small else (2, 64, 96)), name
        assert out.dtype == torch.float32 and out.device == x.device, name
        assert out.min() >= 0 and out.max() <= 1 and not out.requires_grad, name
    assert all(p.grad is None for p in resnet.parameters())
    assert not resnet.layer4._forward_hooks


def test_hooks_removed_and_modes_restored_after_exception():
    model = _resnet18()
    model.train()
    model.bn1.eval()  # a mixed state must come back as it was
    cam = GradCAMPlusPlus(model, "layer4")
    with pytest.raises(RuntimeError):
        cam(torch.randn(1, 2, 64, 64))  # wrong channel count: the forward pass itself raises
    with pytest.raises(ValueError, match="out of range"):
        cam(torch.randn(1, 3, 64, 64), class_idx=99)  # raises after the forward pass
    assert not model.layer4._forward_hooks and not any(m._forward_hooks for m in model.modules())
    assert model.training and not model.bn1.training and model.layer1.training
    cam(torch.randn(2, 3, 64, 64))
    assert model.training and not model.bn1.training
    assert all(p.grad is None for p in model.parameters())


def test_runs_in_eval_mode_and_inside_no_grad(x):
    model = _resnet18().train()
    x_req = x.clone().requires_grad_(True)
    with GradCAMPlusPlus(model, "layer4") as cam:
        ref = cam(x)
        assert not model.layer4._forward_hooks
        with torch.no_grad():
            inside = cam(x_req)
    torch.testing.assert_close(inside, ref)
    assert model.training
    assert x_req.grad is None  # back-propagation stops at the layer
    # eval mode inside: same map as for a model put in eval mode by hand
    torch.testing.assert_close(ref, GradCAMPlusPlus(model.eval(), "layer4")(x))


def test_class_idx_forms(resnet, x):
    cam = GradCAM(resnet, "layer4")
    pred = resnet(x).argmax(1)
    torch.testing.assert_close(cam(x), cam(x, class_idx=pred.tolist()))
    assert cam.last_class_idx.tolist() == pred.tolist()
    torch.testing.assert_close(cam(x, class_idx=3), cam(x, class_idx=torch.tensor([3, 3])))
    a, b = cam(x, class_idx=[0, 6]), cam(x, class_idx=[6, 0])
    torch.testing.assert_close(a[0], cam(x[:1], class_idx=0)[0])
    torch.testing.assert_close(b[0], cam(x[:1], class_idx=6)[0])


@pytest.mark.parametrize(
    "bad,message",
    [
        (7, r"out of range.*0\.\.6"),
        (-1, "out of range"),
        ([1, 2, 3], r"3 entries.*2"),
        ([1.5, 2.0], r"one int per image"),
        ("mel", r"one int per image"),
    ],
)
def test_class_idx_errors(resnet, x, bad, message):
    with pytest.raises(ValueError, match=message):
        GradCAM(resnet, "layer4")(x, class_idx=bad)


def test_layer_lookup(resnet):
    assert find_layer(resnet, "layer4") is resnet.layer4
    assert find_layer(resnet, "layer4.1.conv2") is resnet.layer4[1].conv2
    assert find_layer(resnet, "layer4[-1]") is resnet.layer4[-1]
    assert GradCAM(resnet, resnet.layer3).target_layer is resnet.layer3
    with pytest.raises(ValueError, match=r"layer5.*layer4\.1"):
        GradCAM(resnet, "layer5")
    with pytest.raises(ValueError, match="not a submodule"):
        GradCAM(resnet, nn.Conv2d(1, 1, 1))


def test_constant_map_stays_zero():
    assert normalize_maps(torch.zeros(2, 4, 5)).eq(0).all()
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
    )
    nn.init.zeros_(model[0].weight)
    nn.init.zeros_(model[0].bias)
    for method in (GradCAM, GradCAMPlusPlus, CAM):
        out = method(model, "0")(torch.randn(2, 3, 16, 20))
        assert out.shape == (2, 16, 20) and out.eq(0).all()


def test_maps_are_of_the_layers_own_output_despite_inplace_relu():
    torch.manual_seed(5)

    def net(inplace: bool) -> nn.Module:
        torch.manual_seed(6)
        return nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=inplace),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3),
        ).eval()

    x = torch.randn(2, 3, 12, 10)
    conv_out = net(False)[0](x)
    assert (conv_out < 0).any()
    for method in (GradCAM, GradCAMPlusPlus, METHODS["HiResCAM"], METHODS["XGrad-CAM"]):
        cam_inplace, cam_plain = method(net(True), "0"), method(net(False), "0")
        torch.testing.assert_close(cam_inplace(x, 1), cam_plain(x, 1))
        torch.testing.assert_close(cam_inplace.last_activations, conv_out.detach())


@pytest.mark.parametrize(
    "build,layer",
    [
        (torchvision.models.mobilenet_v3_small, "features.12"),
        (torchvision.models.vgg11, "features.18"),
    ],
)
def test_cam_explains_when_the_head_does_not_fit(build, layer):
    model = build(weights=None, num_classes=4).eval()
    with pytest.raises(ValueError, match="linear head"):
        CAM(model, layer)(torch.randn(1, 3, 64, 64))
    assert not find_layer(model, layer)._forward_hooks


# --- Score-CAM against a direct, unbatched loop of the authors' algorithm ------------------------


def _small_cnn() -> nn.Module:
    torch.manual_seed(7)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 6, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4),
    ).eval()
    with torch.no_grad():  # channel 0: all zero; channel 1: constant 0.5 (both: zero masks)
        model[3].weight[:2] = 0
        model[3].bias[0], model[3].bias[1] = -1.0, 0.5
    return model


def _score_cam_loop(model: nn.Module, x: torch.Tensor, c: int) -> torch.Tensor:
    """Wang et al.'s algorithm for one image, channel by channel (layer resolution, raw)."""
    with torch.no_grad():
        acts = model[:5](x)[0]  # the output of the ReLU, index "4"
        total = torch.zeros(acts.shape[1:])
        for k in range(acts.shape[0]):
            up = F.interpolate(
                acts[k][None, None], size=x.shape[-2:], mode="bilinear", align_corners=False
            )
            span = up.max() - up.min()
            mask = (up - up.min()) / span if span > 0 else torch.zeros_like(up)
            weight = F.softmax(model(x * mask), dim=1)[0, c]
            total += weight * acts[k]
        return F.relu(total)


def test_score_cam_matches_direct_loop_and_scores_constant_channels_once():
    model = _small_cnn()
    torch.manual_seed(8)
    x, cls = torch.randn(2, 3, 20, 24), [2, 0]
    images_seen = []
    model.register_forward_pre_hook(lambda m, args: images_seen.append(args[0].shape[0]))
    cam = ScoreCAM(model, "4", batch_size=3)
    raw = cam.compute_raw(x, class_idx=cls)
    model._forward_pre_hooks.clear()
    for i, c in enumerate(cls):
        torch.testing.assert_close(raw[i], _score_cam_loop(model, x[i : i + 1], c))
    # one pass on the batch, one on the all-zero image, then 2 images x 4 varying channels by 3s
    assert images_seen == [2, 1, 3, 3, 2]
    assert cam.last_weights.shape == (2, 6) and not find_layer(model, "4")._forward_hooks


def test_score_cam_top_k():
    model = _small_cnn()
    x = torch.randn(1, 3, 20, 24)
    exact = ScoreCAM(model, "4")(x, 1)
    torch.testing.assert_close(ScoreCAM(model, "4", top_k=6)(x, 1), exact)
    approx = ScoreCAM(model, "4", top_k=2)
    approx(x, 1)
    assert (approx.last_weights != 0).sum() == 2


# --- every method on the usual torchvision families, batched, non-square -------------------------


@pytest.mark.parametrize(
    "build,layer",
    [
        (torchvision.models.densenet121, "features.denseblock4"),
        (torchvision.models.mobilenet_v3_small, "features"),
        (torchvision.models.efficientnet_b0, "features"),
    ],
)
def test_gradient_methods_on_other_families(build, layer):
    model = build(weights=None, num_classes=3).eval()
    x = torch.randn(2, 3, 64, 80)
    for name, method in METHODS.items():
        if method in (ScoreCAM, CAM):
            continue
        out = method(model, layer)(x)
        assert out.shape == (2, 64, 80) and torch.isfinite(out).all(), name
    if build is not torchvision.models.mobilenet_v3_small:  # CAM needs GAP + linear directly after
        assert CAM(model, "features")(x).shape == (2, 64, 80)


# --- display and imports -------------------------------------------------------------------------


def test_visualize_accepts_pil_of_another_size(resnet, x):
    import matplotlib

    matplotlib.use("Agg")
    from PIL import Image

    from helpers.viz import overlay

    cam = GradCAMPlusPlus(resnet, "layer4")
    heatmap = cam(x[:1])
    image = Image.new("RGB", (150, 100), (200, 120, 90))
    blended = overlay(image, heatmap[0])
    assert blended.shape == (100, 150, 3) and 0 <= blended.min() and blended.max() <= 1
    fig = cam.visualize(image, heatmap)
    assert len(fig.axes) >= 3
    matplotlib.pyplot.close(fig)


def test_cam_module_does_not_import_matplotlib():
    code = "import sys, helpers.cam; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- ContrastiveGradCAM: "why class c rather than d" ---------------------------------------------
# Against a case computed by hand, and against Grad-CAM's own weights (Grad-CAM is
# linear in the score, so the contrast's weights are the difference of the two classes'
# weights).


def _gap_linear_by_hand() -> nn.Module:
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
    cam = ContrastiveGradCAM(_gap_linear_by_hand(), "feat", contrast_idx=d)
    raw = cam.compute_raw(A, class_idx=c)
    torch.testing.assert_close(raw[0], torch.tensor(expected))
    if c is None:
        assert cam.last_class_idx.tolist() == [1] and cam.last_contrast_idx.tolist() == [0]


def test_contrast_can_point_elsewhere_than_the_class_map():
    model = _gap_linear_by_hand()
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


def test_contrast_at_a_resnets_last_layer_is_the_difference_of_two_fc_rows():
    """Behind GAP and one linear layer dy/dA_ij = w / Z, so the contrastive weights are
    (w_c - w_d) / Z; with nothing said, c is the prediction and d its runner-up (the explore
    notebook's contrastive cell prints this gap)."""
    torch.manual_seed(1)
    model = torchvision.models.resnet18(weights=None, num_classes=7).eval()
    x = torch.randn(2, 3, 64, 64)
    ccam = ContrastiveGradCAM(model, "layer4")
    ccam(x)
    with torch.no_grad():
        order = model(x).argsort(dim=1, descending=True)
    c, d = ccam.last_class_idx, ccam.last_contrast_idx
    assert c.tolist() == order[:, 0].tolist() and d.tolist() == order[:, 1].tolist()
    z = ccam.last_activations.shape[-2] * ccam.last_activations.shape[-1]
    expected = (model.fc.weight[c] - model.fc.weight[d]).detach() / z
    torch.testing.assert_close(ccam.last_weights, expected, atol=1e-6, rtol=1e-5)


def test_runner_up_and_errors():
    logits = torch.tensor([[0.1, 3.0, 2.0], [5.0, -1.0, 4.0]])
    assert runner_up(logits, torch.tensor([1, 0])).tolist() == [2, 2]
    assert runner_up(logits, torch.tensor([2, 2])).tolist() == [1, 0]  # a non-predicted class
    cam = ContrastiveGradCAM(_gap_linear_by_hand(), "feat", contrast_idx=1)
    with pytest.raises(ValueError, match="target"):
        cam(A, class_idx=1)
    with pytest.raises(ValueError, match="out of range"):
        ContrastiveGradCAM(_gap_linear_by_hand(), "feat", contrast_idx=7)(A, class_idx=0)


# --- bad inputs ----------------------------------------------------------------------------------
# One row per case, refused with a message that names the fix, or answered
# correctly. After every failure the model is as it was: no hook, no ``.grad``, its
# train/eval flags and its weights unchanged.


def _tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(3, 4, 3, padding=1), relu1=nn.ReLU(),
        conv2=nn.Conv2d(4, 8, 3, padding=1), relu2=nn.ReLU(),
        pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), fc=nn.Linear(8, 7),
    ))


class TupleModel(nn.Module):
    """A model that returns (logits, features), as some torchvision and timm models do."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _tiny_cnn()

    def forward(self, x):
        return self.net(x), x.mean()


class NaNModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = _tiny_cnn()

    def forward(self, x):
        return self.net(x) * float("nan")


def _x() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(2, 3, 16, 16)


def _with_nan() -> torch.Tensor:
    x = _x()
    x[1, 0, 3, 4] = float("nan")
    return x


def _with_inf() -> torch.Tensor:
    x = _x()
    x[0, 2, 0, 0] = float("-inf")
    return x


BAD_CALLS = [  # model, input, class_idx, error type, pattern of the message
    (_tiny_cnn, _with_nan, None, ValueError, r"input.*NaN.*index 1"),
    (_tiny_cnn, _with_inf, None, ValueError, r"input.*NaN.*index 0"),
    (_tiny_cnn, lambda: (_x() * 50).to(torch.uint8), None, TypeError,
     r"float.*eval_transform"),
    (_tiny_cnn, lambda: _x().numpy(), None, TypeError, r"torch\.Tensor.*ndarray"),
    (_tiny_cnn, lambda: _x()[0, 0], None, ValueError, r"\(B, C, H, W\)"),
    (_tiny_cnn, _x, 3.7, ValueError, r"class_idx=3\.7.*one int per image"),
    (_tiny_cnn, _x, np.float64(2.0), ValueError, r"class_idx.*int"),
    (_tiny_cnn, _x, True, ValueError, r"class_idx.*int"),
    (_tiny_cnn, _x, 7, ValueError, r"out of range.*0\.\.6"),
    (_tiny_cnn, _x, [1, 2, 3], ValueError, r"3 entries.*2"),
    (TupleModel, _x, None, TypeError, r"tuple.*self\.model\(x\)\[0\]"),
    (NaNModel, _x, None, ValueError, r"logits.*NaN.*retrain"),
]


def _state(model: nn.Module) -> tuple:
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        [m.training for m in model.modules()],
        [p.grad for p in model.parameters()],
        [len(m._forward_hooks) for m in model.modules()],
    )


@pytest.mark.parametrize("method", ["Grad-CAM", "Grad-CAM++", "CAM"])
@pytest.mark.parametrize(("make_model", "make_x", "class_idx", "error", "pattern"), BAD_CALLS,
                         ids=[f"{m.__name__}-{getattr(x, '__name__', 'x')}-{c}"
                              for m, x, c, _, _ in BAD_CALLS])
def test_bad_call_is_refused_and_leaves_the_model(method, make_model, make_x, class_idx, error,
                                                  pattern) -> None:
    model = make_model().train()
    layer = "net.conv2" if hasattr(model, "net") else "conv2"
    before = _state(model)
    with pytest.raises(error, match=pattern):
        C.METHODS[method](model, layer)(make_x(), class_idx=class_idx)
    weights, modes, grads, hooks = _state(model)
    assert modes == before[1] and hooks == before[3] and all(g is None for g in grads)
    assert all(torch.equal(weights[k], v) for k, v in before[0].items())


# --------------------------------------------------------------------------- inference mode


@pytest.mark.parametrize("method", ["Grad-CAM", "Grad-CAM++", "CAM", "LayerCAM"])
def test_inside_inference_mode_the_map_is_the_same(method) -> None:
    model = _tiny_cnn().eval()
    x = _x()
    expected = C.METHODS[method](model, "conv2")(x)
    with torch.inference_mode():
        inside = C.METHODS[method](model, "conv2")(x)
        made_inside = C.METHODS[method](model, "conv2")(x.clone())  # an inference tensor
    torch.testing.assert_close(inside, expected)
    torch.testing.assert_close(made_inside, expected)
    assert all(p.grad is None for p in model.parameters())


def test_a_model_made_in_inference_mode_gets_a_clear_error() -> None:
    with torch.inference_mode():
        model = _tiny_cnn().eval()
        with pytest.raises(RuntimeError, match="inference_mode"):
            C.GradCAM(model, "conv2")(_x())


# --------------------------------------------------------------------------- constant maps


@pytest.mark.parametrize("method", ["CAM", "Grad-CAM", "Grad-CAM++", "LayerCAM", "XGrad-CAM",
                                    "HiResCAM"])
def test_a_1x1_map_comes_out_as_zeros(method) -> None:
    """A 32-px input gives ResNet's layer4 one position: nothing to localise, so all zero."""
    torch.manual_seed(0)
    model = build_model("resnet18").eval()
    maps = C.METHODS[method](model, "layer4")(torch.randn(2, 3, 32, 32))
    assert maps.shape == (2, 32, 32) and torch.count_nonzero(maps) == 0


def test_a_constant_layer_map_comes_out_as_zeros() -> None:
    model = _tiny_cnn().eval()
    with torch.no_grad():  # conv2 outputs its bias only: every position alike
        model.conv2.weight.zero_()
        model.conv2.bias.fill_(0.3)
        model.fc.weight.fill_(0.1)
    raw = C.GradCAM(model, "conv2").compute_raw(_x())
    assert bool(C.flat_maps(raw).all())
    assert torch.count_nonzero(C.GradCAM(model, "conv2")(_x(), class_idx=0)) == 0


@pytest.mark.parametrize(("maps", "expected"), [
    (torch.full((1, 4, 4), 0.7) + torch.tensor([0.0, 5e-8, 0.0, 0.0]).view(1, 1, 4),
     torch.zeros(1, 4, 4)),  # rounding noise on a constant map
    (torch.zeros(1, 3, 3), torch.zeros(1, 3, 3)),
    (torch.tensor([[[0.0, 1.0], [2.0, 4.0]]]), torch.tensor([[[0.0, 0.25], [0.5, 1.0]]])),
], ids=["noise", "zero", "ramp"])
def test_normalize_maps(maps, expected) -> None:
    torch.testing.assert_close(C.normalize_maps(maps), expected)


# --------------------------------------------------------------------------- the issue-26 cases


def test_an_input_in_0_255_warns() -> None:
    model = _tiny_cnn().eval()
    pixels = torch.rand(1, 3, 8, 8) * 255
    with pytest.warns(UserWarning, match="0-255.*eval_transform"):
        C.GradCAM(model, "conv2")(pixels)


def test_a_normalised_input_does_not_warn() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C.GradCAM(_tiny_cnn().eval(), "conv2")(torch.randn(1, 3, 8, 8))


@pytest.mark.parametrize("layer", ["layer4.0", "layer4.1.conv2", "layer3"])
def test_cam_refuses_a_layer_that_is_not_just_before_the_head(layer) -> None:
    torch.manual_seed(0)
    model = build_model("resnet18").eval()
    before = _state(model)
    with pytest.raises(ValueError, match="linear head"):
        C.CAM(model, layer)(torch.randn(1, 3, 64, 64))
    assert [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()] == \
        [0] * len(before[3])


def test_cam_on_layer4_equals_the_fc_weighted_sum() -> None:
    """An independent reference: ReLU(sum_k fc.weight[c, k] A_k) from the layer's output."""
    torch.manual_seed(0)
    model = build_model("resnet18").eval()
    x = torch.randn(1, 3, 64, 64)
    raw = C.CAM(model, "layer4").compute_raw(x, class_idx=2)
    with torch.no_grad():
        feats = nn.Sequential(*list(model.children())[:-2])(x)
        ref = torch.relu(torch.einsum("k,bkhw->bhw", model.fc.weight[2], feats))
    torch.testing.assert_close(raw, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs, error, phrase", [
    ({"top_k": 0}, ValueError, r"top_k=0.*>= 1"),
    ({"top_k": -1}, ValueError, r"top_k=-1.*top_k=None"),
    ({"top_k": 2.5}, TypeError, "top_k=2.5"),
    ({"batch_size": 0}, ValueError, r"batch_size=0.*>= 1"),
    ({"batch_size": "8"}, TypeError, "batch_size='8'"),
    ({"progress": "yes"}, TypeError, r"progress='yes'.*True or False"),
], ids=["top_k-0", "top_k--1", "top_k-float", "batch-0", "batch-str", "progress-str"])
def test_scorecam_refuses_bad_settings(kwargs, error, phrase) -> None:
    with pytest.raises(error, match=phrase):
        C.ScoreCAM(_tiny_cnn().eval(), "conv2", **kwargs)


class DictModel(nn.Module):
    """A model that returns a dict, as torchvision's segmentation models do."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _tiny_cnn()

    def forward(self, x):
        return {"out": self.net(x), "aux": x.mean()}


def test_a_dict_model_gets_a_hint_that_works() -> None:
    model = DictModel().eval()
    with pytest.raises(TypeError, match=r"dict.*\['out'\].*'aux'") as e:
        C.GradCAM(model, "net.conv2")(_x())
    assert "[0]" not in str(e.value)

    class Wrapped(nn.Module):  # the hint, followed
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x)["out"]

    assert C.GradCAM(Wrapped(), "model.net.conv2")(_x()).shape == (2, 16, 16)


def test_a_model_that_is_not_a_module_and_a_1_channel_input_are_explained() -> None:
    with pytest.raises(TypeError, match="nn.Module"):
        C.GradCAM("resnet50", "layer4")
    model = _tiny_cnn().eval()
    with pytest.raises(RuntimeError, match=r"\(1, 1, 8, 8\).*RGB"):
        C.GradCAM(model, "conv2")(torch.randn(1, 1, 8, 8))
    assert all(not m._forward_hooks for m in model.modules())


PACKAGE = Path(C.__file__).resolve().parent


def _gap_net(classes: int = 5) -> nn.Module:
    """conv -> ReLU -> GAP -> linear: CAM's head sits right after ``feat``."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Dropout(0.5),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, classes))


def _all_methods() -> list[tuple[str, type[C.BaseCAM]]]:
    return [*C.METHODS.items(), ("Contrastive", C.ContrastiveGradCAM)]


# --- issue 36: an empty batch --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), _all_methods(), ids=[n for n, _ in _all_methods()])
def test_an_empty_batch_gives_an_empty_map(name, method):
    model = _gap_net()
    maps = method(model, "1")(torch.zeros(0, 3, 12, 10))
    assert maps.shape == (0, 12, 10) and maps.dtype == torch.float32
    raw = method(model, "1").compute_raw(torch.zeros(0, 3, 12, 10), class_idx=2)
    assert raw.shape == (0, 12, 10)


def test_cam_still_refuses_a_head_that_does_not_read_the_layer_on_a_full_batch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 1),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    with pytest.raises(ValueError, match="does not read the average"):
        C.CAM(model, "1")(torch.randn(2, 3, 8, 8))  # 4 channels, but the head reads layer 3
    assert C.CAM(model, "1")(torch.zeros(0, 3, 8, 8)).shape == (0, 8, 8)  # nothing to compare
    assert C.CAM(model, "3")(torch.randn(2, 3, 8, 8)).shape == (2, 8, 8)


# --- ContrastiveGradCAM through the class_score hook ----------------------------------------------


def test_class_score_is_the_logit_and_the_contrast_subtracts_the_rival():
    logits = torch.tensor([[1.0, 4.0, 2.0], [0.5, -1.0, 3.0]])
    cls = torch.tensor([1, 0])
    base = C.GradCAM(_gap_net(3), "1")
    torch.testing.assert_close(base.class_score(logits, cls), torch.tensor([4.0, 0.5]))
    contrast = C.ContrastiveGradCAM(_gap_net(3), "1")  # d: the strongest rival of c
    torch.testing.assert_close(contrast.class_score(logits, cls), torch.tensor([2.0, -2.5]))
    assert contrast.last_contrast_idx.tolist() == [2, 2]
    fixed = C.ContrastiveGradCAM(_gap_net(3), "1", contrast_idx=0)
    torch.testing.assert_close(fixed.class_score(logits, torch.tensor([1, 2])),
                               torch.tensor([3.0, 2.5]))


def test_a_subclass_changes_the_score_through_the_hook_alone():
    class Negated(C.GradCAM):
        def class_score(self, logits, class_idx):
            return -super().class_score(logits, class_idx)

    model, x = _gap_net(), torch.randn(2, 3, 8, 8)
    plain, negated = C.GradCAM(model, "1"), Negated(model, "1")
    plain.compute_raw(x, 1)
    negated.compute_raw(x, 1)
    torch.testing.assert_close(negated.last_weights, -plain.last_weights)


def test_contrastive_calls_leave_no_state_between_calls():
    model, x = _gap_net(), torch.randn(3, 3, 8, 8)
    cam = C.ContrastiveGradCAM(model, "1")
    cam(x, class_idx=[0, 1, 2])
    again = cam(x)  # None: the predicted class, not the classes of the call before
    assert cam.last_class_idx.tolist() == model.eval()(x).argmax(1).tolist()
    torch.testing.assert_close(again, C.ContrastiveGradCAM(model, "1")(x))


# --- one class-index resolver ----------------------------------------------------------------


def test_resolve_class_idx_forms_and_refusals():
    logits = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0]])
    assert C.resolve_class_idx(None, logits).tolist() == [1, 0]
    assert C.resolve_class_idx(2, logits).tolist() == [2, 2]
    assert C.resolve_class_idx(torch.tensor([2]), logits).tolist() == [2, 2]
    assert C.resolve_class_idx([0, 2], logits).tolist() == [0, 2]
    for bad, phrase in [(3.7, "give None, an int"), (3, "out of range"), ([1, 1, 1], "3 entries"),
                        (True, "give None, an int")]:
        with pytest.raises(ValueError, match=phrase):
            C.resolve_class_idx(bad, logits, name="target")


# --- one eval-mode context, one batched prediction ----------------------------------------------


def test_eval_mode_restores_each_submodules_flag_also_after_an_error():
    model = _gap_net().train()
    model[2].eval()  # a mixed state: the top in train mode, the dropout in eval mode
    with pytest.raises(RuntimeError, match="inside"), eval_mode(model):
        assert not any(m.training for m in model.modules())
        raise RuntimeError("inside")
    assert model.training and not model[2].training and model[0].training


def test_predict_probs_batches_and_restores_the_mode():
    model = _gap_net().train()
    x = torch.randn(5, 3, 8, 8)
    probs = predict_probs(model, x, batch_size=2)
    assert model.training  # restored
    torch.testing.assert_close(probs, model.eval()(x).softmax(1).detach())
    assert probs.device.type == "cpu" and probs.dtype == torch.float32
    model.train()
    loader = DataLoader(TensorDataset(x, torch.tensor([0, 1, 2, 3, 4])), batch_size=3)
    loader_probs, labels = predict(model, loader)
    torch.testing.assert_close(torch.from_numpy(loader_probs), probs)
    assert labels.tolist() == [0, 1, 2, 3, 4] and model.training
    assert model_device(nn.ReLU(), "cpu") == torch.device("cpu")  # no parameters: the fallback
    with pytest.raises(ValueError, match="no batch"):
        predict_probs(model, [])


def test_only_train_sets_and_restores_the_mode():
    """The eval-mode idea lives in train.eval_mode; nowhere else is a flag saved and restored."""
    for path in PACKAGE.rglob("*.py"):
        if path.name == "train.py":
            continue
        text = path.read_text()
        assert "was_training" not in text and ".training = " not in text, path


# --- cam.py reads top down; no global state changed on import ---------------------------------


def test_cam_py_puts_the_methods_before_the_guards():
    tree = ast.parse((PACKAGE / "cam.py").read_text())
    lines = {node.name: node.lineno for node in tree.body
             if isinstance(node, ast.ClassDef | ast.FunctionDef)}
    first_guard = min(line for name, line in lines.items() if name.startswith("_"))
    assert lines["BaseCAM"] < lines["CAM"] < lines["ContrastiveGradCAM"] < first_guard
    assert lines["CAM"] < 250  # the student meets the first method early
    weights = [node for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef) and node.name == "weights"]
    assert len(weights) == 8 and all(
        node.returns is not None and all(a.annotation is not None for a in node.args.args[1:])
        for node in weights)


def test_importing_helpers_leaves_warnings_formatting_alone():
    code = ("import warnings; f = warnings.formatwarning; s = warnings.showwarning\n"
            "import helpers._checks, helpers.cam, helpers.viz, helpers.metrics\n"
            "assert warnings.formatwarning is f and warnings.showwarning is s")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_tutorial_warning_prints_without_a_path():
    code = ("import torch, torch.nn as nn\n"
            "from helpers.cam import GradCAM\n"
            "net = nn.Sequential(nn.Conv2d(3, 2, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),"
            " nn.Linear(2, 3))\n"
            "GradCAM(net, '0')(255 * torch.rand(1, 3, 4, 4))\n")
    err = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                         text=True, check=True).stderr
    assert "TutorialWarning: the input's values reach" in err
    assert str(PACKAGE) not in err and "helpers.cam:" in err


def test_a_tutorial_warning_is_caught_and_filtered_like_any_other():
    with pytest.warns(_checks.TutorialWarning, match="values reach"):
        C.GradCAM(_gap_net(), "1")(300 * torch.rand(1, 3, 8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=_checks.TutorialWarning)
        C.GradCAM(_gap_net(), "1")(300 * torch.rand(1, 3, 8, 8))


def test_balanced_accuracy_interval_lives_in_stats():
    assert "balanced_accuracy_interval" in stats.__all__
    assert "balanced_accuracy_interval" not in imagenet.__all__
    assert not hasattr(imagenet, "balanced_accuracy_interval")  # one home, no alias
