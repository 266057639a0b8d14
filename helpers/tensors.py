"""One split of the data as tensors, with its masks: what the comparison notebooks score.

``config`` -> ``demo`` (writes the demo set) -> ``data`` (reads it) -> here: the split's images
through ``eval_transform`` (normalised), their classes, and every mask set the data has, each
resized and cropped exactly like its image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from .data import LesionDataset, denormalize, eval_transform, lesion_split
from .datasets import prepare_metadata

if TYPE_CHECKING:  # pragma: no cover
    from .config import RunConfig

__all__ = ["SplitTensors", "split_tensors"]


@dataclass(frozen=True)
class SplitTensors:
    """``df``: the split's rows; ``x``: normalised inputs ``(N, 3, H, W)``; ``y``: true
    classes ``(N,)``; ``masks``: ``{"lesion": (N, H, W) in {0, 1}}`` plus ``"evidence"`` where
    the data has evidence masks (the demo set; real images have none); ``shown``: ``x``
    denormalised, for display."""

    df: pd.DataFrame
    x: Tensor
    y: Tensor
    masks: dict[str, Tensor]
    shown: Tensor


def _stack(df: pd.DataFrame, size: int, batch_size: int) -> list[tuple[Tensor, ...]]:
    dataset = LesionDataset(df, eval_transform(size), mask_size=size)
    return list(DataLoader(dataset, batch_size=batch_size))


def split_tensors(cfg: RunConfig, part: str = "test", max_images: int | None = None,
                  batch_size: int = 64) -> SplitTensors:
    """The ``part`` split (``lesion_split(prepare_metadata(cfg), seed=cfg.seed)``) as tensors.

    ``max_images``: keep at most that many images, drawn at random (seeded by ``cfg.seed``) and
    kept in the split's order: a bound on memory for the full data set.
    """
    splits = lesion_split(prepare_metadata(cfg), seed=cfg.seed)
    if part not in splits:
        raise ValueError(f"part must be one of {sorted(splits)}, got {part!r}")
    df = splits[part]
    if max_images is not None:
        if isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1:
            raise ValueError(f"max_images must be an int >= 1 or None, got {max_images!r}")
        if len(df) > max_images:
            df = df.sample(max_images, random_state=cfg.seed).sort_index()
    batches = _stack(df, cfg.image_size, batch_size)
    x = torch.cat([b[0] for b in batches])
    masks = {"lesion": torch.cat([b[2] for b in batches])}
    if "evidence_path" in df and df["evidence_path"].notna().any():
        evidence = _stack(df.assign(mask_path=df["evidence_path"]), cfg.image_size, batch_size)
        masks["evidence"] = torch.cat([b[2] for b in evidence])
    return SplitTensors(df=df, x=x, y=torch.cat([b[1] for b in batches]), masks=masks,
                        shown=denormalize(x))
