"""Bad inputs for helpers.cam: one row per case, refused with a message that names the fix, or
answered correctly. After every failure the model is as it was: no hook, no ``.grad``, its
train/eval flags and its weights unchanged."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from helpers import cam as C
from helpers.models import build_model


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


BAD_CALLS = [  # model, input, class_idx, error type, phrases
    (_tiny_cnn, _with_nan, None, ValueError, ["the input holds NaN or inf", "index 1"]),
    (_tiny_cnn, _with_inf, None, ValueError, ["the input holds NaN or inf", "index 0"]),
    (_tiny_cnn, lambda: (_x() * 50).to(torch.uint8), None, TypeError,
     ["expected a float input", "eval_transform"]),
    (_tiny_cnn, lambda: _x().numpy(), None, TypeError, ["torch.Tensor", "ndarray"]),
    (_tiny_cnn, lambda: _x()[0, 0], None, ValueError, ["(B, C, H, W)"]),
    (_tiny_cnn, _x, 3.7, ValueError, ["class_idx=3.7", "one int per image"]),
    (_tiny_cnn, _x, np.float64(2.0), ValueError, ["give None, an int"]),
    (_tiny_cnn, _x, True, ValueError, ["give None, an int"]),
    (_tiny_cnn, _x, 7, ValueError, ["out of range", "0..6"]),
    (_tiny_cnn, _x, [1, 2, 3], ValueError, ["3 entries but the batch has 2"]),
    (TupleModel, _x, None, TypeError, ["returned a tuple", "self.model(x)[0]"]),
    (NaNModel, _x, None, ValueError, ["the model's output (logits) holds NaN", "retrain"]),
]


def _state(model: nn.Module) -> tuple:
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        [m.training for m in model.modules()],
        [p.grad for p in model.parameters()],
        [len(m._forward_hooks) for m in model.modules()],
    )


@pytest.mark.parametrize("method", ["Grad-CAM", "Grad-CAM++", "CAM"])
@pytest.mark.parametrize(("make_model", "make_x", "class_idx", "error", "phrases"), BAD_CALLS,
                         ids=[f"{m.__name__}-{getattr(x, '__name__', 'x')}-{c}"
                              for m, x, c, _, _ in BAD_CALLS])
def test_bad_call_is_refused_and_leaves_the_model(method, make_model, make_x, class_idx, error,
                                                  phrases) -> None:
    model = make_model().train()
    layer = "net.conv2" if hasattr(model, "net") else "conv2"
    before = _state(model)
    with pytest.raises(error) as info:
        C.METHODS[method](model, layer)(make_x(), class_idx=class_idx)
    for phrase in phrases:
        assert phrase in str(info.value)
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
        with pytest.raises(RuntimeError, match="outside inference_mode"):
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
    with pytest.raises(ValueError, match="global-average-pool \\+ linear head directly after"):
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
    ({"top_k": 0}, ValueError, "top_k=0: expected a whole number >= 1"),
    ({"top_k": -1}, ValueError, "top_k=None scores them all"),
    ({"top_k": 2.5}, TypeError, "top_k=2.5"),
    ({"batch_size": 0}, ValueError, "batch_size=0: expected a whole number >= 1"),
    ({"batch_size": "8"}, TypeError, "batch_size='8'"),
    ({"progress": "yes"}, TypeError, "progress='yes': expected True or False"),
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
    with pytest.raises(TypeError, match=r"returned a dict.*self.model\(x\)\['out'\].*'aux'") as e:
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
    with pytest.raises(TypeError, match="expected a torch nn.Module"):
        C.GradCAM("resnet50", "layer4")
    model = _tiny_cnn().eval()
    with pytest.raises(RuntimeError, match=r"shape \(1, 1, 8, 8\).*3 for RGB"):
        C.GradCAM(model, "conv2")(torch.randn(1, 1, 8, 8))
    assert all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("k, error, phrase", [(0, ValueError, "k=0"),
                                              (8, ValueError, "only 7 classes"),
                                              (2.0, TypeError, "k=2.0")])
def test_explain_top_classes_refuses_a_bad_k(k, error, phrase) -> None:
    from helpers.explore import explain_top_classes

    with pytest.raises(error, match=phrase):
        explain_top_classes(_x()[0], _tiny_cnn().eval(), "Grad-CAM", "conv2", k=k)
