"""Bad inputs for helpers.metrics: one row per case. A NaN, a logit where a probability belongs,
a matrix where one value per image belongs, a float class index: each is refused with a message
that names the argument and the fix, never turned into a plausible number."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers import agreement as A
from helpers import metrics as M

NAN, INF = float("nan"), float("inf")

BAD_PROBABILITIES = [  # p_orig, p_expl, error type, phrase
    ([3.0], [-2.0], ValueError, "outside [0, 1]"),
    ([0.5, 1.2], [0.5, 0.5], ValueError, "not logits"),
    ([0.5, NAN], [0.5, 0.5], ValueError, "p_orig holds NaN or inf"),
    ([0.5, 0.5], [INF, 0.5], ValueError, "p_expl holds NaN or inf"),
    (torch.full((2, 7), 1 / 7), torch.full((2, 7), 1 / 7), ValueError,
     "take the target class's column"),
    (torch.full((2, 1), 0.5), [0.5, 0.5], ValueError, "shape (2, 1)"),
    ([0.5, 0.5, 0.5], [0.5, 0.5], ValueError, "3 original vs 2 explanation"),
    (["a"], [0.5], TypeError, "one probability per image"),
]


@pytest.mark.parametrize("metric", [M.average_drop, M.increase_in_confidence, M.relative_drop,
                                    lambda y, o: M.win_rate(y, o, o)],
                         ids=["average_drop", "increase_in_confidence", "relative_drop",
                              "win_rate"])
@pytest.mark.parametrize(("p_orig", "p_expl", "error", "phrase"), BAD_PROBABILITIES,
                         ids=[str(i) for i in range(len(BAD_PROBABILITIES))])
def test_faithfulness_refuses_what_is_not_probabilities(metric, p_orig, p_expl, error,
                                                        phrase) -> None:
    with pytest.raises(error) as info:
        metric(p_orig, p_expl)
    assert phrase in str(info.value)


def test_one_probability_each_still_works() -> None:
    assert M.average_drop(0.8, 0.4) == pytest.approx(50.0)
    assert M.average_drop(torch.tensor([0.8, 0.5]), [0.4, 0.5]) == pytest.approx(25.0)


def _classifier() -> nn.Module:
    """A 7-class classifier of (B, 2, H, W) inputs."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 7))


BAD_CLASSES = [  # class_idx, error type, phrase
    (3.7, ValueError, "class_idx=3.7: give None, an int or one int per image"),
    ([1.0, 2.0], ValueError, "give None, an int"),
    (True, ValueError, "give None, an int"),
    ("mel", ValueError, "give None, an int"),
    ([1, 2, 3], ValueError, "3 entries but the batch has 2"),
    (9, ValueError, "out of range: the model has 7 classes"),
    (-1, ValueError, "out of range"),
]


@pytest.mark.parametrize(("class_idx", "error", "phrase"), BAD_CLASSES,
                         ids=[repr(c) for c, _, _ in BAD_CLASSES])
def test_class_probabilities_refuses_a_bad_class(class_idx, error, phrase) -> None:
    x = torch.randn(2, 2, 4, 4)
    with pytest.raises(error) as info:
        M.class_probabilities(_classifier(), x, class_idx)
    assert phrase in str(info.value)


@pytest.mark.parametrize("bad", [NAN, INF], ids=["nan", "inf"])
def test_class_probabilities_refuses_a_non_finite_input(bad) -> None:
    x = torch.randn(2, 2, 4, 4)
    x[1, 0, 2, 2] = bad
    with pytest.raises(ValueError, match="x holds NaN or inf .*index 1"):
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
    with pytest.warns(RuntimeWarning, match="no image has a non-empty mask"):
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
    with pytest.raises(TypeError, match="heatmaps must be a torch.Tensor"):
        metric([[0.0, 1.0]], torch.ones(1, 1, 2))


# ---------------------------------------------------------------------------------------------
# Issue 26: values that used to come out as plausible numbers
# ---------------------------------------------------------------------------------------------


def test_energy_share_refuses_negative_maps() -> None:
    maps = torch.rand(2, 6, 6)
    masks = torch.zeros(2, 6, 6)
    masks[:, 2:4, 2:4] = 1
    with pytest.raises(ValueError, match=r"heatmaps has negative values \(min -0\.[45].*clamp_min"):
        M.energy_share(maps - 0.5, masks)
    with pytest.raises(ValueError, match="negative values"):
        M.energy_pointing_game(maps - 0.5, masks)
    assert M.energy_share(maps.clamp_min(0), masks).min() >= 0  # the fix it names works


def test_relative_drop_refuses_a_zero_full_image_probability() -> None:
    with pytest.raises(ValueError, match=r"p_orig is 0 for image\(s\) \[1\].*class_idx=None"):
        M.relative_drop([0.5, 0.0], [0.4, 0.1])
    with pytest.raises(ValueError, match="p_orig is 0"):
        M.average_drop([0.0], [0.1])
    assert M.relative_drop([1e-6], [0.0]).item() == pytest.approx(1.0)  # tiny is still fine


@pytest.mark.parametrize("tolerance", [-3, 2.5, True, "2"])
def test_pointing_game_refuses_a_bad_tolerance(tolerance) -> None:
    maps, masks = torch.rand(2, 8, 8), torch.ones(2, 8, 8)
    with pytest.raises(ValueError, match=r"tolerance must be an int >= 0.*round\(15 \* height"):
        M.pointing_game(maps, masks, tolerance=tolerance)
    with pytest.raises(ValueError, match="tolerance must be"):
        M.pointing_hits(maps, masks, tolerance=tolerance)


def test_counts_and_shares_are_checked() -> None:
    maps = torch.rand(2, 4, 4)
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\], got 20"):
        A.top_region_iou(maps, maps, fraction=20)
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 2.5"):
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
