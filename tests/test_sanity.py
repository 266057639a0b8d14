"""helpers.sanity (notebook 06, part 1): maps by method, the cascading randomisation and
its similarity table; block names that would randomise the whole model, or none, are
refused with a message that names the model's blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers import cam, sanity
from helpers.models import build_model

ORDER = ("fc", "layer4", "layer3")


class EdgeMap:
    """A 'method' that ignores the model: the input's gradient magnitude, min-max normalised.

    It is what Adebayo et al. warn about (an edge detector looks like an explanation), so the
    cascade must leave its maps exactly as they were.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __call__(self, x: torch.Tensor, class_idx: object = None) -> torch.Tensor:
        grey = x.mean(dim=1)
        dy, dx = torch.gradient(grey, dim=(1, 2))
        edges = torch.hypot(dx, dy)
        low = edges.flatten(1).min(dim=1).values[:, None, None]
        high = edges.flatten(1).max(dim=1).values[:, None, None]
        return (edges - low) / (high - low)


@pytest.fixture(scope="module")
def setup() -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = build_model("resnet18", num_classes=7, pretrained=False).eval()
    x = torch.randn(4, 3, 64, 64)
    return model, x


def test_maps_by_method_shapes(setup: tuple[nn.Module, torch.Tensor]) -> None:
    model, x = setup
    maps = sanity.maps_by_method(model, x, {"Grad-CAM": cam.GradCAM, "edges": EdgeMap}, 3)
    assert list(maps) == ["Grad-CAM", "edges"]
    assert all(m.shape == (4, 64, 64) and m.device.type == "cpu" for m in maps.values())
    with cam.GradCAM(model) as gc:
        assert torch.allclose(maps["Grad-CAM"], gc(x, 3))


def test_cascade_leaves_model_and_edge_maps_alone(setup: tuple[nn.Module, torch.Tensor]) -> None:
    model, x = setup
    before = {k: v.clone() for k, v in model.state_dict().items()}
    methods = {"Grad-CAM": cam.GradCAM, "CAM": cam.CAM, "edges": EdgeMap}
    steps = sanity.cascade_maps(model, x, methods, order=ORDER, seed=0)
    assert list(steps) == ["trained", *ORDER]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    table = sanity.cascade_similarity(steps)
    assert len(table) == len(steps) * len(methods)
    assert list(table.columns) == ["step", "blocks", "method", "spearman", "ssim"]
    assert table["blocks"].tolist() == [k for k in range(len(steps)) for _ in methods]
    first = table[table["step"] == "trained"]
    assert first["spearman"].tolist() == pytest.approx([1.0] * 3)
    assert first["ssim"].tolist() == pytest.approx([1.0] * 3)
    edges = table[table["method"] == "edges"]
    assert edges["spearman"].tolist() == pytest.approx([1.0] * len(steps))  # fails the check
    gradcam = table[(table["method"] == "Grad-CAM") & (table["blocks"] >= 2)]
    assert (gradcam["spearman"] < 0.9).all()  # a model-dependent method's maps change


def test_cascade_explains_the_trained_models_class(
        setup: tuple[nn.Module, torch.Tensor]) -> None:
    model, x = setup
    seen: list[torch.Tensor] = []

    class Spy(EdgeMap):
        def __call__(self, x: torch.Tensor, class_idx: object = None) -> torch.Tensor:
            seen.append(torch.as_tensor(class_idx))
            return super().__call__(x)

    sanity.cascade_maps(model, x, {"spy": Spy}, order=ORDER)
    with torch.no_grad():
        predicted = model(x).argmax(dim=1)
    assert len(seen) == len(ORDER) + 1 and all(torch.equal(s, predicted) for s in seen)
    seen.clear()
    sanity.cascade_maps(model, x, {"spy": Spy}, class_idx=2, order=ORDER[:1])
    assert all(torch.equal(s, torch.full((4,), 2)) for s in seen)


# ---------------------------------------------------------------------------------------------
# Model-parameter randomisation
# ---------------------------------------------------------------------------------------------


def small_net() -> nn.Module:
    torch.manual_seed(6)
    net = nn.Sequential()
    net.add_module("layer1", nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)))
    net.add_module("layer2", nn.Conv2d(4, 4, 3))
    net.add_module("pool", nn.Flatten())
    net.add_module("fc", nn.Linear(4, 2))
    with torch.no_grad():
        net.layer1[1].weight.fill_(2.0)  # "trained" batch-norm weights
    return net


def test_randomized_copy_changes_only_the_chosen_blocks():
    net = small_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng_state = torch.random.get_rng_state()
    clone = sanity.randomized_copy(net, ["fc", "layer1"], seed=1)
    assert torch.equal(torch.random.get_rng_state(), rng_state)  # global RNG untouched
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), f"original {key} modified"
    after = clone.state_dict()
    for key in ("fc.weight", "fc.bias", "layer1.0.weight", "layer1.1.weight"):
        assert not torch.equal(after[key], before[key]), key
    assert torch.equal(after["layer2.weight"], before["layer2.weight"])
    again = sanity.randomized_copy(net, ["fc", "layer1"], seed=1)
    assert torch.equal(again.state_dict()["fc.weight"], after["fc.weight"])  # reproducible
    with pytest.raises(AttributeError):
        sanity.randomized_copy(net, "layer9")


def test_cascade_randomizations_is_cumulative_and_leaves_model_alone():
    net = small_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    steps = list(sanity.cascade_randomizations(net, order=("fc", "layer2", "layer1")))
    assert [name for name, _ in steps] == ["fc", "layer2", "layer1"]
    (_, m_fc), (_, m_l2), (_, m_l1) = steps
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key])
    # step 1: only fc random
    assert not torch.equal(m_fc.fc.weight, net.fc.weight)
    assert torch.equal(m_fc.layer2.weight, net.layer2.weight)
    # step 2 keeps step 1's fc and adds layer2
    assert torch.equal(m_l2.fc.weight, m_fc.fc.weight)
    assert not torch.equal(m_l2.layer2.weight, net.layer2.weight)
    assert torch.equal(m_l2.layer1[0].weight, net.layer1[0].weight)
    # step 3: everything named is random
    assert not torch.equal(m_l1.layer1[0].weight, net.layer1[0].weight)
    assert torch.equal(m_l1.layer2.weight, m_l2.layer2.weight)


# --- bad inputs ----------------------------------------------------------------------------------


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("layer1", nn.Conv2d(3, 4, 3))
    net.add_module("fc", nn.Linear(4, 2))
    return net


@pytest.mark.parametrize("blocks", ["", [], ["fc", ""], [None]])
def test_randomized_copy_refuses_an_empty_block_name(blocks) -> None:
    net = _net()
    with pytest.raises(ValueError, match=r"whole model.*layer1"):
        sanity.randomized_copy(net, blocks)


def test_randomized_copy_names_the_blocks_when_one_is_missing() -> None:
    with pytest.raises(AttributeError, match=r"layer9.*layer1"):
        sanity.randomized_copy(_net(), ["fc", "layer9"])


def test_cascade_refuses_an_empty_name_before_copying() -> None:
    with pytest.raises(ValueError, match="empty"):
        list(sanity.cascade_randomizations(_net(), order=("fc", "")))
