"""helpers.timing.time_methods: maps, call counts and the cost table, on a tiny model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers import cam, timing


class Batched:
    """A 'method' that pushes ``k`` copies of the image through the model (like Score-CAM)."""

    uses_gradients = False

    def __init__(self, model: nn.Module, k: int) -> None:
        self.model, self.k, self.calls = model, k, 0

    def __call__(self, x: torch.Tensor, class_idx: int) -> torch.Tensor:
        self.calls += 1
        with torch.no_grad():
            self.model(x.expand(self.k, -1, -1, -1))
        return torch.full((1, *x.shape[-2:]), float(class_idx))


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3)).eval()


def test_time_methods_counts_images_and_returns_the_maps() -> None:
    model = _model()
    x = torch.rand(3, 3, 8, 8)
    slow, fast = Batched(model, 5), Batched(model, 1)
    maps, cost = timing.time_methods(model, x, {"slow": slow, "fast": fast}, [0, 1, 2],
                                     tries=3, once=["slow"])
    assert slow.calls == 1 + 3 and fast.calls == 1 + 3 * 3  # warm-up + tries per image
    assert cost.loc["slow", "images through the network"] == 5  # first tries only
    assert cost.loc["fast", "images through the network"] == 1
    assert maps["slow"].shape == (3, 8, 8) and maps["fast"][:, 0, 0].tolist() == [0, 1, 2]
    assert (cost["ms / image"] <= cost["median ms"]).all()
    assert list(model._forward_hooks) == []  # the hook is gone


def test_time_methods_with_a_real_cam_and_bad_input() -> None:
    model = _model()
    x = torch.rand(2, 3, 8, 8)
    maps, cost = timing.time_methods(model, x, {"Grad-CAM": cam.GradCAM(model, model[0])},
                                     torch.tensor([1, 2]), tries=1, once=())
    assert maps["Grad-CAM"].shape == (2, 8, 8)
    assert cost.loc["Grad-CAM", "images through the network"] == 1
    assert cost.loc["Grad-CAM", "backward pass"]
    with pytest.raises(ValueError, match=r"class_idx.*1.*2"):
        timing.time_methods(model, x, {"f": Batched(model, 1)}, [0])
    with pytest.raises(ValueError, match=r"once.*Score-CAM"):
        timing.time_methods(model, x, {"f": Batched(model, 1)}, [0, 1], once=["Score-CAM"])
