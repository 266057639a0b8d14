"""helpers.metrics against hand-computed small cases and scipy / scikit-image references;
then the bad inputs: a NaN, a logit where a probability belongs, a matrix where one
value per image belongs, a float class index, each refused with a message that names
the argument and the fix, never turned into a plausible number."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from messages import says
from torch import nn

from helpers import agreement as A
from helpers import baselines, metrics, stats
from helpers import metrics as M

# ---------------------------------------------------------------------------------------------
# A toy model whose class-0 probability is the mean pixel value: softmax(log p) = p.
# ---------------------------------------------------------------------------------------------


class MeanModel(nn.Module):
    """Two classes; p(class 0) = mean of the input (clamped into (0, 1))."""

    def __init__(self) -> None:
        super().__init__()
        self.seen_training: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen_training.append(self.training)
        m = x.double().mean(dim=(1, 2, 3)).clamp(1e-9, 1 - 1e-9)
        return torch.stack([m.log(), (1 - m).log()], dim=1)


def half_image() -> tuple[torch.Tensor, torch.Tensor]:
    """A 1x1x4x4 image: left half 1, right half 0, and a map ranking the left half first."""
    x = torch.zeros(1, 1, 4, 4)
    x[..., :2] = 1.0
    good_map = x[:, 0] * 0.5 + 0.5 * torch.linspace(1, 0, 16).view(1, 4, 4)  # left half first
    return x, good_map


# ---------------------------------------------------------------------------------------------
# Average Drop, Increase in Confidence, Win %
# ---------------------------------------------------------------------------------------------


def test_explanation_map_multiplies_over_channels():
    x = torch.ones(2, 3, 2, 2) * 2
    maps = torch.tensor([[[0.0, 1.0], [0.5, 1.0]], [[1.0, 1.0], [1.0, 1.0]]])
    e = metrics.explanation_map(x, maps)
    assert e.shape == x.shape
    assert torch.equal(e[0, 2], torch.tensor([[0.0, 2.0], [1.0, 2.0]]))
    assert torch.equal(e[1], x[1])


def test_average_drop_and_increase_by_hand():
    y, o = torch.tensor([0.8, 0.5]), torch.tensor([0.4, 0.6])
    assert metrics.average_drop(y, o) == pytest.approx(25.0)  # 100 * mean(0.5, 0)
    assert metrics.increase_in_confidence(y, o) == pytest.approx(50.0)
    assert metrics.increase_in_confidence(y, y) == 0.0  # unchanged is not an increase
    rel = metrics.relative_drop(y, o)
    assert rel.tolist() == pytest.approx([0.5, -0.2])


def test_win_rate_by_hand_and_ties_split():
    y = torch.tensor([0.8, 0.5, 0.4, 1.0])
    a = torch.tensor([0.6, 0.5, 0.4, 0.9])  # drops 0.25, 0, 0, 0.1
    b = torch.tensor([0.4, 0.6, 0.4, 0.8])  # drops 0.5, -0.2, 0, 0.2
    # a wins images 0 and 3, loses image 1, ties image 2
    assert metrics.win_rate(y, a, b) == pytest.approx(100 * 2.5 / 4)
    assert metrics.win_rate(y, a, b) + metrics.win_rate(y, b, a) == pytest.approx(100.0)
    # a tolerance turns near-ties into ties: image 3 (0.1 vs 0.2) becomes a tie at tol 0.15
    assert metrics.win_rate(y, a, b, tol=0.15) == pytest.approx(100 * 2 / 4)
    assert metrics.win_rate(y, y * (1 + 1e-9), y, tol=1e-6) == 50.0


def test_class_probabilities_restores_mode_and_gives_no_grad():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.5))
    model.train()
    model[1].eval()  # a mixed state must come back exactly
    x = torch.randn(5, 1, 2, 2)
    p = metrics.class_probabilities(model, x, class_idx=[0, 1, 2, 0, 1], batch_size=2)
    expected = torch.softmax(model[1](x.flatten(1)), dim=1)
    assert torch.allclose(p, expected[torch.arange(5), [0, 1, 2, 0, 1]].detach())
    assert model.training and model[2].training and not model[1].training
    assert all(param.grad is None for param in model.parameters())
    top = metrics.class_probabilities(model, x, class_idx=None)
    assert torch.allclose(top, expected.max(dim=1).values.detach())


# ---------------------------------------------------------------------------------------------
# Deletion and insertion
# ---------------------------------------------------------------------------------------------


def test_deletion_auc_by_hand():
    x, good = half_image()
    model = MeanModel()
    # p(f) = max(0, 0.5 - f): area 0.125 (exact with the trapezoid: breakpoints on the grid)
    assert metrics.deletion_auc(model, x, good, 0, steps=8).item() == pytest.approx(0.125)
    # the reversed map deletes the zeros first: 0.5 * 0.5 + 0.125 = 0.375
    assert metrics.deletion_auc(model, x, 1 - good, 0, steps=8).item() == pytest.approx(0.375)


def test_insertion_auc_by_hand_on_zero_canvas():
    x, good = half_image()
    model = MeanModel()
    zero = torch.zeros_like(x)
    # p(f) = min(f, 0.5): area 0.125 + 0.25
    auc = metrics.insertion_auc(model, x, good, 0, steps=4, blur=zero)
    assert auc.item() == pytest.approx(0.375)
    auc_bad = metrics.insertion_auc(model, x, 1 - good, 0, steps=4, blur=lambda t: t * 0)
    assert auc_bad.item() == pytest.approx(0.125)


def test_perturbation_curve_shape_batching_and_mode():
    torch.manual_seed(0)
    x = torch.rand(3, 2, 6, 6)
    maps = torch.rand(3, 6, 6)
    model = MeanModel().train()
    fractions, probs = metrics.perturbation_curve(
        model, x, maps, 0, start=x, finish=0.0, steps=5, batch_size=4
    )
    assert fractions.tolist() == pytest.approx([k * 36 // 5 / 36 for k in range(6)])
    assert probs.shape == (3, 6)
    assert torch.allclose(probs[:, 0], x.mean(dim=(1, 2, 3)))  # nothing removed yet
    assert torch.allclose(probs[:, -1], torch.full((3,), 1e-9), atol=1e-8)  # all removed
    assert model.training and not any(model.seen_training)


def test_insertion_with_gaussian_blur_is_in_unit_range():
    torch.manual_seed(1)
    x = torch.rand(2, 3, 16, 16)
    maps = torch.rand(2, 16, 16)
    auc = metrics.insertion_auc(MeanModel(), x, maps, [0, 1], steps=4, blur=2.0)
    assert auc.shape == (2,)
    assert ((auc >= 0) & (auc <= 1)).all()
    dele = metrics.deletion_auc(MeanModel(), x, maps, None, steps=4)
    assert ((dele >= 0) & (dele <= 1)).all()


# ---------------------------------------------------------------------------------------------
# Pointing game and energy
# ---------------------------------------------------------------------------------------------


def test_pointing_game_by_hand():
    maps = torch.zeros(3, 4, 4)
    maps[0, 1, 1] = 1.0  # peak inside the 2x2 mask
    maps[1, 3, 3] = 1.0  # peak outside
    # image 2: all zero -> a miss
    masks = torch.zeros(3, 4, 4, dtype=torch.uint8)
    masks[:, :2, :2] = 255
    assert metrics.pointing_hits(maps, masks).tolist() == [True, False, False]
    assert metrics.pointing_game(maps, masks) == pytest.approx(1 / 3)
    # a 2-pixel tolerance reaches (3, 3) from the mask's corner (1, 1)
    assert metrics.pointing_hits(maps, masks, tolerance=2).tolist() == [True, True, False]


def test_pointing_ties_take_the_first_maximum():
    maps = torch.zeros(1, 2, 2)
    maps[0, 0, 1] = maps[0, 1, 0] = 1.0
    mask_second = torch.tensor([[[0, 0], [1, 0]]])
    assert metrics.pointing_hits(maps, mask_second).tolist() == [False]


def test_energy_share_by_hand():
    maps = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]])
    masks = torch.tensor([[[1, 0], [0, 1]], [[1, 1], [1, 1]]], dtype=torch.bool)
    assert metrics.energy_share(maps, masks).tolist() == pytest.approx([0.5, 0.0])
    assert metrics.energy_pointing_game(maps, masks) == pytest.approx(0.25)


# ---------------------------------------------------------------------------------------------
# One table for many methods
# ---------------------------------------------------------------------------------------------


def test_method_table_by_hand():
    x = half_image()[0].repeat(2, 1, 1, 1)  # two copies: left half 1, right half 0; p = 0.5
    left = x[:, 0].clone()
    maps = {"left": left, "flat": torch.full_like(left, 0.5), "right": 1 - left}
    masks = torch.stack([left[0], torch.zeros_like(left[0])])  # image 1 has no lesion mask
    model = MeanModel()
    table = metrics.method_table(model, x, maps, 0, masks, reference="flat", steps=8)
    assert list(table.index) == ["left", "flat", "right"]
    # explanation maps keep all (p 0.5), half (p 0.25) or none (p ~ 0) of the class evidence
    assert table["Average Drop %"].tolist() == pytest.approx([0.0, 50.0, 100.0])
    assert table["Increase in Confidence %"].tolist() == [0.0, 0.0, 0.0]
    assert table["Win % vs flat"].tolist() == [100.0, 50.0, 0.0]
    # localisation on image 0 only; the flat map's first maximum, pixel (0, 0), is in the lesion
    assert table["pointing game"].tolist() == [1.0, 1.0, 0.0]
    assert table["energy pointing game"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    # deletion: 0.125 and 0.375 as above; flat deletes row by row (two ones, then two zeros)
    assert table["deletion AUC"].tolist() == pytest.approx([0.125, 0.21875, 0.375])
    expected = metrics.insertion_auc(model, x, maps["right"], 0, steps=8).mean().item()
    assert table.loc["right", "insertion AUC"] == pytest.approx(expected)
    assert table.attrs == {"n_images": 2, "steps": 8, "n_with_mask": 1}


def test_method_table_defaults_to_the_predicted_class_and_skips_what_it_lacks():
    x = half_image()[0]
    maps = {"A": x[:, 0], "B": torch.full_like(x[:, 0], 0.5)}
    table = metrics.method_table(MeanModel(), x, maps)  # class 0 (p 0.5 vs 0.5: the first)
    assert list(table.columns) == ["Average Drop %", "Increase in Confidence %"]
    assert table["Average Drop %"].tolist() == pytest.approx([0.0, 50.0])
    empty = metrics.method_table(MeanModel(), x, maps, 0, torch.zeros_like(x[:, 0]))
    assert empty["pointing game"].isna().all() and empty.attrs["n_with_mask"] == 0


class _Tiny(nn.Module):
    """Logits from the mean brightness of the top half vs the bottom half."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[-2] // 2
        return torch.stack([x[..., :h, :].mean((1, 2, 3)), x[..., h:, :].mean((1, 2, 3))], 1) * 4


def test_per_image_scores_and_summary_match_the_table_metrics() -> None:
    torch.manual_seed(0)
    x = torch.rand(6, 3, 8, 8)
    masks = torch.zeros(6, 8, 8)
    masks[:5, :4] = 1  # image 5 has no mask
    maps = {"top": torch.zeros(6, 8, 8), "random": baselines.random_maps(6, 8, 8)}
    maps["top"][:, :4] = 1
    model = _Tiny()
    scores = metrics.per_image_scores(model, x, maps, class_idx=0, masks=masks)
    assert len(scores) == 12 and scores["image"].tolist() == list(range(6)) * 2
    table = metrics.method_table(model, x, maps, class_idx=0, masks=masks, reference=None)
    for name in maps:
        rows = scores[scores["method"] == name]
        assert rows["drop %"].mean() == pytest.approx(table.at[name, "Average Drop %"])
        assert rows["increase %"].mean() == pytest.approx(
            table.at[name, "Increase in Confidence %"])
        assert rows["pointing (lesion)"].mean() == pytest.approx(table.at[name, "pointing game"])
        assert np.isnan(rows["energy (lesion)"].iloc[5])  # no mask: not scored
    assert scores.loc[scores["method"] == "top", "energy (lesion)"].iloc[:5].eq(1.0).all()
    with_auc = metrics.per_image_scores(model, x, maps, class_idx=0, steps=4)
    table = metrics.method_table(model, x, maps, class_idx=0, reference=None, steps=4)
    for name in maps:
        rows = with_auc[with_auc["method"] == name]
        assert rows["deletion AUC"].mean() == pytest.approx(table.at[name, "deletion AUC"])
        assert rows["insertion AUC"].mean() == pytest.approx(table.at[name, "insertion AUC"])
    with_win = metrics.per_image_scores(model, x, {**maps, "same": maps["top"].clone()},
                                        class_idx=0, reference="top")
    table = metrics.method_table(model, x, {**maps, "same": maps["top"].clone()}, class_idx=0,
                                 reference="top")
    for name in (*maps, "same"):
        rows = with_win[with_win["method"] == name]
        assert set(rows["win % vs top"]) <= {0.0, 50.0, 100.0}
        assert rows["win % vs top"].mean() == pytest.approx(table.at[name, "Win % vs top"])
    assert with_win.loc[with_win["method"] == "same", "win % vs top"].eq(50.0).all()
    with pytest.raises(ValueError, match=r"reference='CAM'"):
        metrics.per_image_scores(model, x, maps, class_idx=0, reference="CAM")
    summary = stats.summarize_with_intervals(scores, n_boot=500)
    assert summary.at["top", "energy (lesion)"] == "1.00 [1.00, 1.00]"
    mean, low, high = summary.attrs["numeric"][("random", "drop %")]
    assert low <= mean <= high


# --- bad inputs ----------------------------------------------------------------------------------


NAN, INF = float("nan"), float("inf")


NOT_FINITE = r"NaN|\binf\b"

BAD_PROBABILITIES = [  # p_orig, p_expl, error type, patterns the message must hold
    ([3.0], [-2.0], ValueError, [r"p_orig", r"\[0, 1\]"]),
    ([0.5, 1.2], [0.5, 0.5], ValueError, [r"p_orig", r"\[0, 1\]", r"logits"]),
    ([0.5, NAN], [0.5, 0.5], ValueError, [r"p_orig", NOT_FINITE]),
    ([0.5, 0.5], [INF, 0.5], ValueError, [r"p_expl", NOT_FINITE]),
    (torch.full((2, 7), 1 / 7), torch.full((2, 7), 1 / 7), ValueError,
     [r"p_orig", r"\(2, 7\)", r"column"]),
    (torch.full((2, 1), 0.5), [0.5, 0.5], ValueError, [r"p_orig", r"\(2, 1\)"]),
    ([0.5, 0.5, 0.5], [0.5, 0.5], ValueError,
     [r"\b3\b.*(original|p_orig)", r"\b2\b.*(explanation|p_expl)"]),
    (["a"], [0.5], TypeError, [r"p_orig", r"probabilit"]),
]


@pytest.mark.parametrize("metric", [M.average_drop, M.increase_in_confidence, M.relative_drop,
                                    lambda y, o: M.win_rate(y, o, o)],
                         ids=["average_drop", "increase_in_confidence", "relative_drop",
                              "win_rate"])
@pytest.mark.parametrize(("p_orig", "p_expl", "error", "patterns"), BAD_PROBABILITIES,
                         ids=[str(i) for i in range(len(BAD_PROBABILITIES))])
def test_faithfulness_refuses_what_is_not_probabilities(metric, p_orig, p_expl, error,
                                                        patterns) -> None:
    with pytest.raises(error) as info:
        metric(p_orig, p_expl)
    says(info.value, *patterns)


def test_one_probability_each_still_works() -> None:
    assert M.average_drop(0.8, 0.4) == pytest.approx(50.0)
    assert M.average_drop(torch.tensor([0.8, 0.5]), [0.4, 0.5]) == pytest.approx(25.0)


def _classifier() -> nn.Module:
    """A 7-class classifier of (B, 2, H, W) inputs."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 7))


USAGE = r"None.*\bint\b"

BAD_CLASSES = [  # class_idx, error type, patterns the message must hold
    (3.7, ValueError, [r"class_idx=3\.7", USAGE]),
    ([1.0, 2.0], ValueError, [r"class_idx=\[1\.0, 2\.0\]", USAGE]),
    (True, ValueError, [r"class_idx=True", USAGE]),
    ("mel", ValueError, [r"class_idx='mel'", USAGE]),
    ([1, 2, 3], ValueError, [r"class_idx", r"\b3 entries", r"batch.*\b2\b"]),
    (9, ValueError, [r"class_idx", r"\b9\b", r"range", r"\b7 classes"]),
    (-1, ValueError, [r"class_idx", r"-1", r"range"]),
]


@pytest.mark.parametrize(("class_idx", "error", "patterns"), BAD_CLASSES,
                         ids=[repr(c) for c, _, _ in BAD_CLASSES])
def test_class_probabilities_refuses_a_bad_class(class_idx, error, patterns) -> None:
    x = torch.randn(2, 2, 4, 4)
    with pytest.raises(error) as info:
        M.class_probabilities(_classifier(), x, class_idx)
    says(info.value, *patterns)


@pytest.mark.parametrize("bad", [NAN, INF], ids=["nan", "inf"])
def test_class_probabilities_refuses_a_non_finite_input(bad) -> None:
    x = torch.randn(2, 2, 4, 4)
    x[1, 0, 2, 2] = bad
    with pytest.raises(ValueError, match=r"x.*NaN.*index 1"):
        M.class_probabilities(_classifier(), x, 0)


def test_class_probabilities_takes_ints_and_tensors() -> None:
    x, model = torch.randn(2, 2, 4, 4), _classifier()
    a = M.class_probabilities(model, x, 3)
    torch.testing.assert_close(M.class_probabilities(model, x, torch.tensor([3, 3])), a)
    torch.testing.assert_close(M.class_probabilities(model, x, torch.tensor([3])), a)


# --------------------------------------------------------------------------- localisation


def _perfect_maps_and_masks() -> tuple[torch.Tensor, torch.Tensor]:
    """Three images; each map peaks inside its lesion; image 1 has no lesion mask."""
    maps = torch.zeros(3, 4, 4)
    masks = torch.zeros(3, 4, 4)
    for i in range(3):
        maps[i, i, i] = 1.0
        masks[i, i, i] = 1
    masks[1] = 0
    return maps, masks


def test_pointing_game_leaves_out_images_without_a_lesion() -> None:
    maps, masks = _perfect_maps_and_masks()
    assert M.pointing_game(maps, masks) == 1.0  # was 2/3: the unmasked image counted as a miss
    assert M.energy_pointing_game(maps, masks) == 1.0
    assert M.pointing_hits(maps, masks).tolist() == [True, False, True]  # per image: as before


@pytest.mark.parametrize("game", [M.pointing_game, M.energy_pointing_game])
def test_a_game_without_any_lesion_is_nan_with_a_warning(game) -> None:
    maps, _ = _perfect_maps_and_masks()
    with pytest.warns(RuntimeWarning, match="mask"):
        assert math.isnan(game(maps, torch.zeros(3, 4, 4)))


def _nan_map(maps: torch.Tensor) -> torch.Tensor:
    maps = maps.clone()
    maps[2] = NAN
    return maps


LOCALISATION = [M.pointing_hits, M.pointing_game, M.energy_share, M.energy_pointing_game,
                A.rank_correlation, A.top_region_iou]


@pytest.mark.parametrize("metric", LOCALISATION, ids=[f.__name__ for f in LOCALISATION])
def test_a_nan_map_is_refused_not_scored(metric) -> None:
    maps, masks = _perfect_maps_and_masks()
    second = masks if metric not in (A.rank_correlation, A.top_region_iou) else maps
    with pytest.raises(ValueError, match=r"heatmaps|map_a") as info:
        metric(_nan_map(maps), second)
    assert "NaN or inf" in str(info.value) and "index 2" in str(info.value)


@pytest.mark.parametrize("metric", [M.pointing_game, M.energy_pointing_game])
def test_a_map_that_is_not_a_tensor_is_named(metric) -> None:
    with pytest.raises(TypeError, match=r"heatmaps.*Tensor"):
        metric([[0.0, 1.0]], torch.ones(1, 1, 2))


# ---------------------------------------------------------------------------------------------
# Issue 26: values that used to come out as plausible numbers
# ---------------------------------------------------------------------------------------------


def test_energy_share_refuses_negative_maps() -> None:
    maps = torch.rand(2, 6, 6)
    masks = torch.zeros(2, 6, 6)
    masks[:, 2:4, 2:4] = 1
    with pytest.raises(ValueError, match=r"heatmaps.*negative.*clamp_min"):
        M.energy_share(maps - 0.5, masks)
    with pytest.raises(ValueError, match="negative values"):
        M.energy_pointing_game(maps - 0.5, masks)
    assert M.energy_share(maps.clamp_min(0), masks).min() >= 0  # the fix it names works


def test_relative_drop_refuses_a_zero_full_image_probability() -> None:
    with pytest.raises(ValueError, match=r"p_orig.*\[1\].*class_idx=None"):
        M.relative_drop([0.5, 0.0], [0.4, 0.1])
    with pytest.raises(ValueError, match="p_orig is 0"):
        M.average_drop([0.0], [0.1])
    assert M.relative_drop([1e-6], [0.0]).item() == pytest.approx(1.0)  # tiny is still fine


@pytest.mark.parametrize("tolerance", [-3, 2.5, True, "2"])
def test_pointing_game_refuses_a_bad_tolerance(tolerance) -> None:
    maps, masks = torch.rand(2, 8, 8), torch.ones(2, 8, 8)
    with pytest.raises(ValueError, match=r"tolerance.*>= 0"):
        M.pointing_game(maps, masks, tolerance=tolerance)
    with pytest.raises(ValueError, match="tolerance"):
        M.pointing_hits(maps, masks, tolerance=tolerance)


def test_counts_and_shares_are_checked() -> None:
    maps = torch.rand(2, 4, 4)
    with pytest.raises(ValueError, match=r"fraction.*20"):
        A.top_region_iou(maps, maps, fraction=20)
    with pytest.raises(ValueError, match=r"steps.*2\.5"):
        M.deletion_auc(_classifier(), torch.rand(2, 2, 4, 4), maps, 0, steps=2.5)


def test_a_soft_mask_border_is_cut_at_one_half_not_at_zero() -> None:
    """A mask resized bilinearly has a soft border: only values >= 0.5 count as lesion."""
    import torch.nn.functional as F

    from helpers.metrics import energy_share

    hard = torch.zeros(1, 64, 64)
    hard[:, 16:48, 16:48] = 1
    soft = F.interpolate(F.interpolate(hard[None], size=10, mode="bilinear"), size=64,
                         mode="bilinear")[0]
    assert ((soft > 0) & (soft < 1)).any()  # the border is soft
    uniform = torch.ones(1, 64, 64)
    share = float(energy_share(uniform, soft)[0])
    assert abs(share - float((soft >= 0.5).float().mean())) < 1e-6
    assert share < float((soft > 0).float().mean()) - 0.05  # not every pixel above 0


def _mask() -> torch.Tensor:
    mask = torch.zeros(1, 4, 4)
    mask[0, :2, :] = 1  # top half is lesion (8 px), bottom half background (8 px)
    return mask


def test_hand_computed_means_and_ratio() -> None:
    maps = torch.zeros(1, 4, 4)
    maps[0, :2, :] = 0.8  # lesion
    maps[0, 2:, :2] = 0.4  # half the background at 0.4, the rest 0
    background, lesion = metrics.region_means(maps, _mask())
    assert background.item() == pytest.approx(0.2) and lesion.item() == pytest.approx(0.8)
    assert metrics.background_lesion_ratio(maps, _mask()) == pytest.approx(0.25)


def test_a_map_that_ignores_the_lesion_scores_one_and_ratio_is_of_means() -> None:
    flat = torch.full((1, 4, 4), 0.5)
    assert metrics.background_lesion_ratio(flat, _mask()) == pytest.approx(1.0)
    # two images: ratio of the mean background (0.1 and 0.3) over the mean lesion (1.0 and 0.2)
    maps = torch.stack([torch.where(_mask()[0] > 0, 1.0, 0.1), torch.where(_mask()[0] > 0, 0.2,
                                                                             0.3)])
    masks = torch.cat([_mask(), _mask()])
    assert metrics.background_lesion_ratio(maps, masks) == pytest.approx(0.4 / 1.2)
    # not the mean of per-image ratios (0.1 and 1.5)
    assert metrics.background_lesion_ratio(maps, masks) != pytest.approx((0.1 + 1.5) / 2)


def test_images_without_lesion_or_background_are_left_out() -> None:
    maps = torch.rand(3, 4, 4)
    masks = torch.stack([_mask()[0], torch.zeros(4, 4), torch.ones(4, 4)])
    background, lesion = metrics.region_means(maps, masks)
    assert not background[0].isnan() and lesion[1].isnan() and background[2].isnan()
    alone = metrics.background_lesion_ratio(maps[:1], masks[:1])
    assert metrics.background_lesion_ratio(maps, masks) == pytest.approx(alone)


def test_nothing_to_score_is_nan_with_a_warning() -> None:
    with pytest.warns(RuntimeWarning, match="background_lesion_ratio"):
        assert math.isnan(metrics.background_lesion_ratio(torch.rand(2, 4, 4),
                                                          torch.zeros(2, 4, 4)))
    with pytest.warns(RuntimeWarning):
        assert math.isnan(metrics.background_lesion_ratio(torch.zeros(1, 4, 4), _mask()))


def test_soft_mask_edges_count_from_the_cut() -> None:
    mask = _mask() * 0.6  # above MASK_CUT: still lesion
    maps = torch.where(_mask() > 0, 1.0, 0.5)
    assert metrics.background_lesion_ratio(maps, mask) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="masks"):
        metrics.background_lesion_ratio(maps, torch.zeros(1, 3, 3))
