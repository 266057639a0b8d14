"""helpers.attributions against hand-computed cases, a from-scratch Integrated Gradients, its
completeness axiom, the map contract of helpers.cam, and Captum's LayerGradCam as one more
independent oracle for helpers.cam.GradCAM."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import attributions as at
from helpers.cam import GradCAM, normalize_maps
from helpers.data import IMAGENET_MEAN, IMAGENET_STD
from helpers.timing import network_seconds

SIZE = 16


def small_cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
        nn.Conv2d(6, 8, 3, padding=1, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    )


def linear_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * SIZE * SIZE, 4))


def quadrant_images(batch: int = 2, seed: int = 0) -> torch.Tensor:
    """Normalised images of four flat colour blocks with a little noise: SLIC finds regions."""
    g = torch.Generator().manual_seed(seed)
    colours = torch.rand(batch, 4, 3, generator=g)
    rgb = torch.zeros(batch, 3, SIZE, SIZE)
    half = SIZE // 2
    for k, (r, c) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        rgb[:, :, r * half:(r + 1) * half, c * half:(c + 1) * half] = colours[:, k, :, None, None]
    rgb = (rgb + 0.02 * torch.rand(rgb.shape, generator=g)).clamp(0, 1)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (rgb - mean) / std


def every_method(model: nn.Module, **extra) -> dict[str, at.Attribution]:
    return {
        "Gradient": at.Saliency(model, **extra),
        "Gradient x Input": at.GradientXInput(model, **extra),
        "Integrated Gradients": at.IntegratedGradients(model, steps=8, **extra),
        "SmoothGrad": at.SmoothGrad(model, samples=4, **extra),
        "Occlusion": at.Occlusion(model, window=4, size=SIZE, **extra),
        "LIME": at.Lime(model, samples=24, segments=4, **extra),
        "KernelSHAP": at.KernelShap(model, samples=24, segments=4, **extra),
    }


# --- Integrated Gradients: from scratch, and completeness ---------------------------------------


def ig_from_scratch(model: nn.Module, x: torch.Tensor, baseline: torch.Tensor, target: int,
                    steps: int) -> torch.Tensor:
    """Sundararajan et al.'s right Riemann sum, written out: (x - x') * mean_k grad F(x_k)."""
    total = torch.zeros_like(x)
    for k in range(1, steps + 1):
        point = (baseline + k / steps * (x - baseline)).requires_grad_(True)
        score = model(point)[:, target].sum()
        total += torch.autograd.grad(score, point)[0]
    return (x - baseline) * total / steps


@pytest.mark.parametrize("baseline", ["black", "blur", "skin", "mean"])
def test_integrated_gradients_matches_a_riemann_sum_from_scratch(baseline: str) -> None:
    model = small_cnn().eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    ig = at.IntegratedGradients(model, steps=12, baseline=baseline, method="riemann_right")
    ours = ig.attribute(x, 1)
    reference = ig_from_scratch(model, x, at.baseline_images(x, baseline), 1, 12)
    assert torch.allclose(ours, reference, atol=1e-5, rtol=1e-4)


def test_completeness_holds_within_the_convergence_delta() -> None:
    """sum_i IG_i = F(x) - F(x') up to the quadrature error Captum reports, which shrinks."""
    model = small_cnn(1).eval()
    x = torch.randn(3, 3, SIZE, SIZE)
    base = at.baseline_images(x, "black")
    with torch.no_grad():
        gap = model(x)[:, 2] - model(base)[:, 2]
    errors = []
    for steps in (2, 64):
        ig = at.IntegratedGradients(model, steps=steps, baseline="black")
        total = ig.attribute(x, 2).flatten(1).sum(1)
        assert torch.allclose(total - gap, ig.last_delta, atol=1e-5)
        errors.append(ig.last_delta.abs().max().item())
    assert errors[1] < errors[0] and errors[1] < 0.05 * gap.abs().min().item() + 1e-4


# --- hand-computed cases on a linear model ------------------------------------------------------


def test_linear_model_gradient_and_gradient_times_input_are_exact() -> None:
    model = linear_model().eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    w = model[1].weight.detach()[[0, 3]].view(2, 3, SIZE, SIZE)
    assert torch.allclose(at.Saliency(model).attribute(x, [0, 3]), w, atol=1e-6)
    gxi = at.GradientXInput(model).attribute(x, [0, 3])
    assert torch.allclose(gxi, w * x, atol=1e-6)
    with torch.no_grad():  # the shares add up to the score minus the bias
        score = model(x)[[0, 1], [0, 3]] - model[1].bias[[0, 3]]
    assert torch.allclose(gxi.flatten(1).sum(1), score, atol=1e-4)
    # the noise averages away: the gradient of a linear model is the same everywhere
    smooth = at.SmoothGrad(model, samples=5, noise=0.2).attribute(x, [0, 3])
    assert torch.allclose(smooth, w, atol=1e-6)


def test_linear_model_integrated_gradients_is_gradient_times_difference() -> None:
    model = linear_model(1).eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    w = model[1].weight.detach()[1].view(1, 3, SIZE, SIZE)
    for kind in ("mean", "black", "skin"):
        ig = at.IntegratedGradients(model, steps=3, baseline=kind)
        expected = w * (x - at.baseline_images(x, kind))
        assert torch.allclose(ig.attribute(x, 1), expected, atol=1e-5)
        assert ig.last_delta.abs().max() < 1e-3


def test_linear_model_occlusion_of_single_pixels_is_the_pixel_share() -> None:
    model = linear_model(2).eval()
    x = torch.randn(1, 3, SIZE, SIZE)
    w = model[1].weight.detach()[2].view(1, 3, SIZE, SIZE)
    occlusion = at.Occlusion(model, window=1, size=SIZE, baseline="mean")
    share = (w * x).sum(1, keepdim=True)  # the drop when one pixel (all channels) becomes 0
    assert torch.allclose(occlusion.attribute(x, 2), share.expand(-1, 3, -1, -1), atol=1e-4)
    assert occlusion.passes == SIZE * SIZE + 1


def test_linear_model_kernel_shap_gives_the_exact_superpixel_shares() -> None:
    """For an additive model the Shapley value of a superpixel is its share of f(x) - f(x')."""
    model = linear_model(3).eval()
    x = quadrant_images(1)
    shap = at.KernelShap(model, samples=64, segments=4, baseline="black")
    got = shap.attribute(x, 0)
    segments = shap.last_segments[0]
    assert int(segments.max()) >= 1
    w = model[1].weight.detach()[0].view(3, SIZE, SIZE)
    contribution = (w * (x[0] - at.baseline_images(x, "black")[0])).sum(0)
    for k in segments.unique():
        inside = segments == k
        expected = contribution[inside].sum()
        assert torch.allclose(got[0, :, inside], expected.expand(3, int(inside.sum())),
                              atol=1e-3, rtol=1e-3)


def test_linear_model_lime_ranks_the_superpixels_by_their_shares() -> None:
    model = linear_model(4).eval()
    x = quadrant_images(1, seed=4)
    lime = at.Lime(model, samples=200, segments=4, baseline="black")
    got = lime.attribute(x, 1)
    segments = lime.last_segments[0]
    w = model[1].weight.detach()[1].view(3, SIZE, SIZE)
    contribution = (w * (x[0] - at.baseline_images(x, "black")[0])).sum(0)
    labels = segments.unique()
    exact = torch.stack([contribution[segments == k].sum() for k in labels])
    fitted = torch.stack([got[0, 0][segments == k][0] for k in labels])
    assert torch.equal(exact.argsort(), fitted.argsort())  # ridge shrinks, it does not reorder
    assert torch.allclose(fitted, exact, rtol=0.3, atol=0.3 * exact.abs().max().item())


# --- the map contract ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(every_method(nn.Identity())))
def test_every_method_keeps_the_map_contract(name: str) -> None:
    model = small_cnn(5)
    model.train()
    method = every_method(model, grid=4)[name]
    x = quadrant_images(2)
    counted = []
    hook = model.register_forward_hook(lambda m, args, out: counted.append(args[0].shape[0]))
    try:
        maps = method(x, [0, 2])
    finally:
        hook.remove()
    assert maps.shape == (2, SIZE, SIZE) and maps.dtype == torch.float32
    assert not maps.requires_grad and maps.min() >= 0 and maps.max() <= 1
    assert torch.allclose(maps.flatten(1).amax(1), torch.ones(2))
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert method.last_class_idx.tolist() == [0, 2]
    extra = 2 if name == "Integrated Gradients" else 0  # F(x) and F(x') for the delta
    assert sum(counted) == 2 * (method.passes + extra)
    # None explains the prediction: the same maps as passing it
    with torch.no_grad():
        model.eval()
        pred = model(x).argmax(1)
        model.train()
    assert torch.allclose(method(x), method(x, pred), atol=1e-5)


def test_mode_is_restored_when_a_call_raises() -> None:
    model = small_cnn(6)
    model.train()
    with pytest.raises(Exception):  # noqa: B017 (Captum's own error for a class out of range)
        at.Saliency(model)(torch.randn(1, 3, SIZE, SIZE), 9)
    assert model.training
    with pytest.raises(ValueError, match="class_idx"):
        at.Saliency(model)(torch.randn(2, 3, SIZE, SIZE), [1, 2, 3])
    assert model.training


def test_bad_inputs_and_settings_are_refused_with_the_fix() -> None:
    model = small_cnn()
    with pytest.raises(TypeError, match="float tensor"):
        at.Saliency(model)(torch.zeros(1, 3, SIZE, SIZE, dtype=torch.uint8))
    with pytest.raises(ValueError, match="NaN"):
        at.Saliency(model)(torch.full((1, 3, SIZE, SIZE), float("nan")))
    with pytest.raises(ValueError, match="baseline"):
        at.IntegratedGradients(model, baseline="white")
    with pytest.raises(ValueError, match="noise"):
        at.SmoothGrad(model, noise=1.5)
    with pytest.raises(TypeError, match="model"):
        at.Occlusion("resnet")


def test_inference_mode_call_works() -> None:
    model = small_cnn()
    with torch.inference_mode():
        maps = at.Saliency(model)(torch.randn(1, 3, SIZE, SIZE))
    assert maps.shape == (1, SIZE, SIZE)


# --- the map rule and the baselines -------------------------------------------------------------


def test_attribution_map_sums_magnitudes_over_channels_and_pools_to_the_grid() -> None:
    a = torch.zeros(1, 3, 4, 4)
    a[0, 0, 0, 0], a[0, 1, 0, 0], a[0, 2, 3, 3] = 2.0, -2.0, -1.0
    pixel = at.attribution_map(a)
    assert pixel[0, 0, 0] == 1 and pixel[0, 3, 3] == 0.25 and pixel.sum() == 1.25
    pooled = at.attribution_map(a, grid=2)
    cells = F.adaptive_avg_pool2d(a.abs().sum(1, keepdim=True), 2)
    expected = normalize_maps(F.interpolate(cells, size=(4, 4), mode="bilinear",
                                            align_corners=False)[:, 0])
    assert torch.allclose(pooled, expected)
    assert at.attribution_map(torch.ones(2, 3, 4, 4), grid=2).abs().max() == 0  # constant: 0


def test_baseline_images() -> None:
    x = quadrant_images(2)
    rgb_black = at.baseline_images(x, "black") * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) \
        + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    assert rgb_black.abs().max() < 1e-6
    assert at.baseline_images(x, "mean").abs().max() == 0
    skin = at.baseline_images(x, "skin", frame=0.125)
    frame = torch.ones(SIZE, SIZE, dtype=torch.bool)
    frame[2:-2, 2:-2] = False
    assert torch.allclose(skin[:, :, 5, 5], x[..., frame].mean(-1))
    blur = at.baseline_images(x, "blur", sigma=2.0)
    assert blur.shape == x.shape and (blur - x).abs().max() > 0.1
    assert torch.allclose(blur.mean((2, 3)), x.mean((2, 3)), atol=0.2)


def test_superpixels_label_every_pixel_from_zero() -> None:
    labels = at.superpixels(quadrant_images(2), segments=4)
    assert labels.shape == (2, SIZE, SIZE) and labels.dtype == torch.int64
    assert int(labels.min()) == 0 and int(labels.max()) >= 1


# --- one more oracle for helpers.cam -----------------------------------------------------------


@pytest.mark.parametrize("layer", ["2", "0"])
def test_captum_layer_grad_cam_agrees_with_helpers_grad_cam(layer: str) -> None:
    from captum.attr import LayerGradCam

    model = small_cnn(7).eval()
    x = torch.randn(3, 3, SIZE, SIZE)
    target = torch.tensor([0, 3, 1])
    theirs = LayerGradCam(model, model[int(layer)]).attribute(x, target=target,
                                                              relu_attributions=True)
    theirs = F.interpolate(theirs, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    ours = GradCAM(model, layer)(x, target)
    assert torch.allclose(ours, normalize_maps(theirs[:, 0].detach()), atol=1e-5)


def test_network_seconds_pushes_the_images_it_is_asked_for() -> None:
    model = small_cnn()
    model.train()
    seen = []
    hook = model.register_forward_hook(lambda m, args, out: seen.append(args[0].shape[0]))
    try:
        assert network_seconds(model, torch.randn(2, 3, SIZE, SIZE), 70, backward=True,
                               batch_size=32) > 0
    finally:
        hook.remove()
    assert seen == [32, 32, 6] and model.training
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="n_images"):
        network_seconds(model, torch.randn(1, 3, SIZE, SIZE), 0)


def test_explicit_classes_are_used_and_out_of_range_ones_refused() -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4)).eval()
    x = torch.rand(2, 3, 8, 8)
    method = at.Saliency(model)
    first = method.attribute(x, [1, 2])
    assert method.last_class_idx.tolist() == [1, 2]
    weights = model[1].weight.detach().reshape(4, 3, 8, 8)
    torch.testing.assert_close(first, torch.stack([weights[1], weights[2]]))  # d y_c / d x
    with pytest.raises(ValueError, match="class_idx"):
        method.attribute(x, 7)
    with pytest.raises(ValueError, match="class_idx"):
        method.attribute(x, [0, 1, 2])


# --- the two plain gradients: Captum as the oracle, one pass with class None -------------------


@pytest.mark.parametrize("class_idx", [None, [3, 0, 1]])
@pytest.mark.parametrize("name", ["Gradient", "Gradient x Input"])
def test_plain_gradients_equal_captums_and_find_the_class_in_their_own_pass(name,
                                                                            class_idx) -> None:
    from captum.attr import InputXGradient, Saliency

    model = small_cnn(7).eval()
    x = quadrant_images(3, seed=1)
    with torch.no_grad():
        pred = model(x).argmax(1)
    target = pred if class_idx is None else torch.tensor(class_idx)
    method = at.METHODS[name](model, batch_size=2)  # chunks of 2 and 1 images
    counted = []
    hook = model.register_forward_hook(lambda m, args, out: counted.append(args[0].shape[0]))
    try:
        got = method.attribute(x, class_idx)
    finally:
        hook.remove()
    assert counted == [2, 1], f"{counted} images through the network, expected [2, 1]"
    assert method.last_class_idx.tolist() == target.tolist()
    leaf = x.clone().requires_grad_(True)
    if name == "Gradient":
        expected = Saliency(model).attribute(leaf, target=target, abs=False)
    else:
        expected = InputXGradient(model).attribute(leaf, target=target)
    torch.testing.assert_close(got, expected.detach(), rtol=1e-5, atol=1e-7)
