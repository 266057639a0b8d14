"""explore.MapCache keys a map by the model that made it (two models sharing one cache, a model
trained further) and by Score-CAM's top_k (issue 36)."""

from __future__ import annotations

import pytest
import torch
import torchvision

from helpers import explore
from helpers.data import CLASSES

SIZE = 64


def resnet(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torchvision.models.resnet18(weights=None, num_classes=len(CLASSES)).eval()


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(3, SIZE, SIZE)


def same(a: explore.Explanation, b: explore.Explanation) -> bool:
    return (torch.equal(a.probs, b.probs) and torch.equal(a.heatmap, b.heatmap)
            and torch.equal(a.contrastive, b.contrastive))


def test_two_models_sharing_a_cache_get_their_own_maps(image) -> None:
    a, b = resnet(0), resnet(1)
    cache = explore.MapCache()
    explore.explain(image, a, "Grad-CAM", image_id="x", cache=cache)
    from_b = explore.explain(image, b, "Grad-CAM", image_id="x", cache=cache)
    assert from_b.computed == 3  # nothing of model a's is reused
    assert same(from_b, explore.explain(image, b, "Grad-CAM", image_id="x"))
    again = explore.explain(image, a, "Grad-CAM", image_id="x", cache=cache)
    assert again.computed == 0  # going back to model a is still free


def test_a_model_trained_further_is_a_new_key(image) -> None:
    model = resnet(0)
    cache = explore.MapCache()
    before = explore.explain(image, model, "Grad-CAM", image_id="x", cache=cache)
    with torch.no_grad():
        model.fc.weight.add_(0.5 * torch.randn_like(model.fc.weight))  # one optimiser step
        model.layer4[1].bn2.running_mean.add_(1.0)  # a buffer counts too
    after = explore.explain(image, model, "Grad-CAM", image_id="x", cache=cache)
    assert after.computed == 3 and not torch.equal(after.probs, before.probs)
    assert same(after, explore.explain(image, model, "Grad-CAM", image_id="x"))


def test_score_cam_top_k_is_part_of_the_key(image) -> None:
    model = resnet(0)
    cache = explore.MapCache()
    top8 = explore.explain(image, model, "Score-CAM", image_id="x", cache=cache,
                           score_cam_top_k=8)
    exact = explore.explain(image, model, "Score-CAM", image_id="x", cache=cache,
                            score_cam_top_k=None)
    assert exact.computed == 1  # the exact map (probabilities and contrastive map are shared)
    fresh = explore.explain(image, model, "Score-CAM", image_id="x", score_cam_top_k=None)
    assert torch.equal(exact.heatmap, fresh.heatmap)
    assert not torch.equal(exact.heatmap, top8.heatmap)
