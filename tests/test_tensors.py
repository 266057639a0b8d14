"""helpers.data.to_tensors: the test split of the demo set as tensors with its masks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from helpers import load_config
from helpers.course.prepare import prepare_metadata
from helpers.data import lesion_split, to_tensors


def test_to_tensors_matches_the_split_and_its_masks(tmp_path: Path) -> None:
    cfg = load_config(profile="smoke", cache_dir=str(tmp_path), dataset="demo")
    expected = lesion_split(prepare_metadata(cfg), seed=cfg.seed)["test"]
    test = to_tensors(expected, cfg.image_size, max_images=10, seed=cfg.seed)
    assert len(test.df) == min(10, len(expected)) and set(test.df.index) <= set(expected.index)
    assert list(test.df.index) == sorted(test.df.index)
    n, size = len(test.df), cfg.image_size
    assert test.x.shape == (n, 3, size, size) and test.y.tolist() == test.df["label"].tolist()
    assert set(test.masks) == {"lesion", "evidence"}
    for mask in test.masks.values():
        assert mask.shape == (n, size, size) and set(mask.unique().tolist()) <= {0.0, 1.0}
    # evidence lies inside the lesion, up to resampling at the border
    outside = (test.masks["evidence"] > 0) & (test.masks["lesion"] == 0)
    assert outside.float().mean() < 0.01
    assert torch.all((test.shown >= -1e-6) & (test.shown <= 1 + 1e-6))
    again = to_tensors(expected, cfg.image_size, max_images=10, seed=cfg.seed)
    assert torch.equal(again.x, test.x)  # seeded draw
    with pytest.raises(ValueError, match="max_images"):
        to_tensors(expected, cfg.image_size, max_images=0)
    with pytest.raises(ValueError, match="df"):
        to_tensors(pd.DataFrame(), cfg.image_size)
