"""helpers.metrics.region_means / background_lesion_ratio on hand-made maps and masks."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import metrics


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
