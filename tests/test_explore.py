"""helpers.explore: one explained choice, its cache, and the explorer widget without a
browser."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import pytest
import torch
import torchvision
from PIL import Image

from helpers import cam as cams
from helpers import explore, user_image
from helpers.cam import ContrastiveGradCAM
from helpers.config import load_config
from helpers.course.prepare import prepare_metadata
from helpers.data import CLASSES, LesionDataset, eval_transform, lesion_split, to_tensors
from helpers.models import build_model

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


def test_turn_figure_draws_the_map_and_each_turned_map_with_its_correlation(model, images):
    import matplotlib.pyplot as plt

    from helpers import agreement, cam

    gradcam = cam.GradCAM(model, "layer4")
    turns = [agreement.follows_turn(lambda x: gradcam(x, [0] * len(x)), images[:2], t)
             for t in agreement.TURNS]
    fig = explore.turn_figure(images[1].sigmoid(), turns, 1, "Grad-CAM", " (demo)")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "Grad-CAM map (demo)" and len(titles) == 3
    assert titles[1].startswith("turned image's map, turned back")
    assert titles[2].startswith("flipped image's map, flipped back")
    assert f"Spearman {turns[1].rho[1]:.2f}" in titles[2]
    plt.close(fig)
    with pytest.raises(ValueError, match="turns is empty"):
        explore.turn_figure(images[0], [], 0)


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


matplotlib.use("Agg")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The smoke demo set's test split and an untrained smoke model, as notebook 09 sets up."""
    cfg = load_config(profile="smoke", cache_dir=str(tmp_path_factory.mktemp("cache")),
                      dataset="demo")
    split = lesion_split(prepare_metadata(cfg), seed=cfg.seed)["test"]
    test = to_tensors(split, cfg.image_size, max_images=600, seed=cfg.seed)
    test_df = test.df.reset_index(drop=True)
    masks = {name: m for name, m in test.masks.items() if m.any()}
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.arch, num_classes=len(CLASSES), pretrained=False,
                        dilated_layer4=cfg.dilated_layer4).eval()
    explorer = explore.Explorer(model, test.x, test.y, masks, ids=test_df["image_id"].tolist())
    return dict(cfg=cfg, split=split, test=test, test_df=test_df, masks=masks, model=model,
                explorer=explorer)


def test_to_tensors_gives_the_tensors_the_notebook_stacked_by_hand(run) -> None:
    """What notebook 09 built itself before (a LesionDataset stacked, explore.masks_for)."""
    cfg, test_df, test = run["cfg"], run["test_df"], run["test"]
    by_hand = LesionDataset(test_df, eval_transform(cfg.image_size))
    assert torch.equal(test.x, torch.stack([by_hand[i][0] for i in range(len(by_hand))]))
    assert torch.equal(test.y, torch.tensor(test_df["label"].to_numpy()))
    old = explore.masks_for(test_df, cfg.image_size)
    assert set(run["masks"]) == {name for name, m in old.items() if m.any()} >= {"lesion"}
    for name, mask in run["masks"].items():
        assert torch.equal(mask, old[name]), name


def test_the_explorer_holds_every_test_image_once(run) -> None:
    explorer = run["explorer"]
    assert len(explorer) == len(run["test_df"])
    assert sorted(explorer.select()) == list(range(len(explorer)))
    wrong = explorer.select(correct=False)
    assert all(int(explorer.pred[j]) != int(explorer.labels[j]) for j in wrong)


def test_the_closest_call_has_a_contrastive_map_of_the_image_size(run) -> None:
    explorer, model, size = run["explorer"], run["model"], run["cfg"].image_size
    top2 = explorer.probs.topk(2, dim=1).values
    i = int((top2[:, 0] - top2[:, 1]).argmin())
    contrast = cams.ContrastiveGradCAM(model, "layer4")
    heat = contrast(run["test"].x[i: i + 1])
    assert heat.shape == (1, size, size)
    assert 0 <= heat.min() <= heat.max() <= 1
    assert int(contrast.last_contrast_idx[0]) == int(explorer.probs[i].argsort(descending=True)[1])


def test_the_two_class_maps_of_one_image(run) -> None:
    explorer, x = run["explorer"], run["test"].x
    i = explorer.select(order="least confident first")[0]
    for target in ["prediction", int(explorer.labels[i])]:
        e = explorer.explain(i, "Grad-CAM++", "layer4", target)
        assert e.rival != e.target
        assert e.heatmap.shape == e.contrastive.shape == x.shape[-2:]
        for heat in (e.heatmap, e.prediction_map, e.contrastive):
            assert 0 <= heat.min() <= heat.max() <= 1
        assert set(e.scores) <= set(run["masks"]) and e.scores
        assert all(0 <= s["energy"] <= 1 for s in e.scores.values())


def test_the_timing_table_has_a_row_per_method_and_counts_both_maps(run) -> None:
    explorer = run["explorer"]
    fresh = explorer.select(order="test-set order")[:2]
    methods = ["CAM", "Grad-CAM", "Grad-CAM++"]
    timing = explore.time_interactions(explorer, methods, fresh, "layer4")
    assert list(timing.index) == methods
    assert (timing["images"] == len(fresh)).all()
    assert (timing["maps computed (cold)"] >= 2).all()  # the map and the contrastive map


def test_a_users_image_is_explained_for_its_top_three_classes(run, capsys) -> None:
    path = Path(run["test_df"].path[0])
    shown = user_image.show_user_image(path, run["model"], run["cfg"].image_size, "Grad-CAM++",
                                       "layer4")
    assert len(shown) == 3 and len({e.target for e in shown}) == 3
    assert [e.target for e in shown] == shown[0].probs.argsort(descending=True)[:3].tolist()
    assert path.name in capsys.readouterr().out


def test_an_id_given_twice_is_refused_since_it_keys_the_cache() -> None:
    """Two images under one id would share one cache entry: the second shows the first's maps."""
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 7)).eval()
    images = torch.rand(3, 3, 8, 8)
    with pytest.raises(ValueError, match="ids.*once"):
        explore.Explorer(model, images, [0, 1, 2], ids=["a", "b", "a"])
