"""Notebook 06's shapes and ranges, checked here rather than in the lesson: the test split as
tensors (``to_tensors``, as the notebook builds it), the explorer over it, the contrastive map of
the closest call, the two class maps of one image, the interaction timings and a user's image."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
import torch

from helpers import cam as cams
from helpers import explore, user_image
from helpers.config import load_config
from helpers.course.prepare import prepare_metadata
from helpers.data import CLASSES, LesionDataset, eval_transform, lesion_split, to_tensors
from helpers.models import build_model

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The smoke demo set's test split and an untrained smoke model, as notebook 06 sets up."""
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
    """What notebook 06 built itself before (a LesionDataset stacked, explore.masks_for)."""
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
