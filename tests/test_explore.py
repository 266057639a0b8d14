"""helpers.explore: one explained choice, its cache, and the explorer widget without a
browser."""

from __future__ import annotations

import io

import pytest
import torch
import torchvision
from PIL import Image

from helpers import explore
from helpers.cam import ContrastiveGradCAM
from helpers.data import CLASSES

SIZE = 64


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=len(CLASSES)).eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(6, 3, SIZE, SIZE)


def _mask(top: bool) -> torch.Tensor:
    mask = torch.zeros(SIZE, SIZE)
    mask[: SIZE // 2 if top else SIZE] = 1.0
    return mask


# --- one choice ----------------------------------------------------------------------------------


def test_explain_returns_what_the_explorer_draws(model, images):
    masks = {"lesion": _mask(top=True), "evidence": torch.zeros(SIZE, SIZE)}  # no evidence mask
    e = explore.explain(images[0], model, "Grad-CAM++", "layer4", "prediction", true_label=3,
                        masks=masks, image_id="img0")
    for heat in (e.heatmap, e.prediction_map, e.contrastive):
        assert heat.shape == (SIZE, SIZE) and heat.min() >= 0 and heat.max() <= 1
    assert e.target == e.prediction == int(e.probs.argmax()) and e.rival != e.target
    assert torch.equal(e.heatmap, e.prediction_map)  # the target is the prediction
    assert e.rival == int(e.probs.argsort(descending=True)[1])  # the runner-up
    top = e.top(3)
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert top[0][0] == CLASSES[e.prediction] and abs(float(e.probs.sum()) - 1) < 1e-5
    assert set(e.scores) == {"lesion"}  # an empty mask is not scored
    assert 0 <= e.scores["lesion"]["energy"] <= 1
    assert e.scores["lesion"]["pointing game"] in (0.0, 1.0)
    assert e.true_label == 3 and e.correct == (e.prediction == 3)
    direct = ContrastiveGradCAM(model, "layer4", contrast_idx=e.rival)(images[:1], e.target)[0]
    torch.testing.assert_close(e.contrastive, direct)


def test_scores_follow_the_mask(model, images):
    e = explore.explain(images[1], model, "Grad-CAM", masks={"all": _mask(top=False)})
    assert e.scores["all"] == {"pointing game": 1.0, "energy": pytest.approx(1.0)}


def test_cache_makes_going_back_free_and_keys_by_choice(model, images):
    cache = explore.MapCache()
    first = explore.explain(images[2], model, "Grad-CAM", "layer4", image_id="a", cache=cache)
    assert first.computed == 3  # probabilities, the map, the contrastive map (target = prediction)
    other = explore.explain(images[2], model, "Grad-CAM", "layer3", image_id="a", cache=cache)
    assert other.computed == 2 and not torch.equal(other.heatmap, first.heatmap)
    again = explore.explain(images[2], model, "Grad-CAM", "layer4", image_id="a", cache=cache)
    assert again.computed == 0 and torch.equal(again.heatmap, first.heatmap)
    assert torch.equal(again.contrastive, first.contrastive)
    runner = explore.explain(images[2], model, "Grad-CAM", "layer4", "runner-up", image_id="a",
                             cache=cache)
    assert runner.target == first.rival and runner.computed == 2  # its map and its contrast
    assert runner.rival == first.prediction  # the runner-up's strongest rival: the prediction
    no_id = explore.explain(images[2], model, "Grad-CAM", "layer4", cache=cache)
    assert no_id.computed == 3  # keyed by the pixels' hash, not by "a"
    assert explore.explain(images[2], model, "Grad-CAM", cache=cache).computed == 0


def test_cache_is_bounded():
    cache = explore.MapCache(maxsize=2)
    for key in "abc":
        cache.get((key,), lambda: 1)
    assert len(cache) == 2 and ("a",) not in cache and ("c",) in cache


def test_explain_errors_name_the_choice(model, images):
    with pytest.raises(ValueError, match="linear head"):
        explore.explain(images[0], model, "CAM", "layer3")  # CAM needs the head after the layer
    with pytest.raises(ValueError, match="runner-up"):
        explore.explain(images[0], model, "Grad-CAM", "layer4", "second")
    with pytest.raises(ValueError, match="Gradcam"):
        explore.explain(images[0], model, "Gradcam", "layer4")
    assert explore.resolve_target("mel", torch.rand(7)) == CLASSES.index("mel")
    with pytest.raises(ValueError):
        explore.resolve_target(7, torch.rand(7))


def test_score_cam_top_k_in_the_explorer(model, images):
    e = explore.explain(images[0], model, "Score-CAM", "layer4", score_cam_top_k=8)
    assert e.heatmap.shape == (SIZE, SIZE) and e.heatmap.max() <= 1


# --- the test set and the widget -----------------------------------------------------------------


@pytest.fixture(scope="module")
def explorer(model, images) -> explore.Explorer:
    labels = torch.tensor([0, 1, 2, 4, 4, 5])
    masks = {"lesion": torch.stack([_mask(top=True)] * len(images))}
    return explore.Explorer(model, images, labels, masks, ids=[f"id{i}" for i in range(6)])


def test_explorer_select_filters_and_orders(explorer):
    everything = explorer.select()
    assert sorted(everything) == list(range(6))
    conf = explorer.confidence
    assert all(conf[a] >= conf[b] for a, b in zip(everything, everything[1:], strict=False))
    assert explorer.select(order="test-set order") == list(range(6))
    least = explorer.select(order="least confident first")
    assert least[0] == everything[-1]
    assert set(explorer.select("mel")) == {3, 4}
    right = set(explorer.select(correct=True))
    wrong = set(explorer.select(correct=False))
    assert right | wrong == set(range(6)) and not right & wrong
    assert right == {i for i in range(6) if explorer.pred[i] == explorer.labels[i]}


def test_explorer_explain_uses_ids_labels_and_masks(explorer):
    e = explorer.explain(3, "Grad-CAM", "layer4")
    assert e.image_id == "id3" and e.true_label == 4 and "lesion" in e.scores
    assert e.computed == 2  # the probabilities were computed once for the whole set


def test_figures_draw(explorer):
    e = explorer.explain(0, "Grad-CAM", "layer4", "runner-up")
    png = explore.explanation_png(e)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(png)).size[0] > 500
    fig = explore.explanation_figure(e)
    assert len(fig.axes) == 4
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_widget_redraws_on_a_control_and_going_back_is_cached(explorer):
    pytest.importorskip("ipywidgets")
    box = explore.explorer_widget(explorer, methods=["CAM", "Grad-CAM", "Grad-CAM++"])
    first = box.picture.value
    assert first[:4] == b"\x89PNG" and "computed" in box.status.value
    box.controls["layer"].value = "layer3"
    assert box.picture.value != first
    box.controls["layer"].value = "layer4"
    assert box.picture.value == first and "all from the cache" in box.status.value
    box.controls["method"].value = "CAM"
    box.controls["layer"].value = "layer2"  # CAM is not defined there: a message, no exception
    assert "linear head" in box.status.value
    box.controls["layer"].value = "layer4"
    box.controls["which"].value = "wrong"
    box.controls["true class"].value = "vasc"  # no image of that class: said so
    assert "no test image" in box.status.value


# --- bad inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("k, error, phrase", [(0, ValueError, "k=0"),
                                              (8, ValueError, r"k=8.*7 classes"),
                                              (2.0, TypeError, "k=2.0")])
def test_explain_top_classes_refuses_a_bad_k(k, error, phrase, model, images) -> None:
    with pytest.raises(error, match=phrase):
        explore.explain_top_classes(images[0], model, "Grad-CAM", "layer4", k=k)
