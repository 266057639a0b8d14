"""Does the input pipeline keep up with training? Loader images/s vs training-step images/s.

Measured side by side in one process, with the config's default worker count:

1. the training loader over the demo set (what the demo profile trains on);
2. a look-alike of the real data: 600x450 JPEGs (HAM10000's size) written to a temporary folder,
   read raw (decoded and resized every epoch) and after ``cache_resized`` (resized once);
3. one training step (forward, backward, AdamW) on in-memory tensors of the same shape.

A ratio loader/step >= 1 means the loader is not the bottleneck.

    python benchmarks/bench_loader.py                    # demo profile: resnet18, 112 px
    python benchmarks/bench_loader.py --arch resnet50 --image-size 224 --n-jpegs 128
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from PIL import Image

from helpers.config import load_config
from helpers.course.prepare import prepare_metadata
from helpers.data import CLASSES, cache_resized, lesion_split, make_loaders
from helpers.models import build_model


def loader_rate(loader: torch.utils.data.DataLoader, epochs: int = 2) -> float:
    """Images/s of iterating ``loader`` (the first epoch warms up the workers and disk cache)."""
    for _ in loader:
        pass
    start, seen = time.perf_counter(), 0
    for _ in range(epochs - 1):
        for batch in loader:
            seen += len(batch[1])
    return seen / (time.perf_counter() - start)


def step_rate(arch: str, batch_size: int, image_size: int, steps: int = 5) -> float:
    """Images/s of training steps on a fixed in-memory batch (no data loading at all)."""
    torch.manual_seed(0)
    model = build_model(arch, len(CLASSES)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randn(batch_size, 3, image_size, image_size)
    labels = torch.randint(0, len(CLASSES), (batch_size,))
    for i in range(steps + 1):
        if i == 1:  # the first step warms up
            start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return steps * batch_size / (time.perf_counter() - start)


def lookalike_jpegs(df: pd.DataFrame, folder: Path, n: int) -> pd.DataFrame:
    """``n`` demo images upscaled to 600x450 JPEGs (quality 90), like HAM10000's files."""
    rows = df.head(n).copy()
    paths = []
    for image_id, src in zip(rows["image_id"], rows["path"], strict=True):
        dst = folder / f"{image_id}.jpg"
        with Image.open(src) as img:
            img.convert("RGB").resize((600, 450), Image.Resampling.BICUBIC).save(dst, quality=90)
        paths.append(str(dst))
    rows["path"] = paths
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch")
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--n-jpegs", type=int, default=256)
    args = parser.parse_args()
    overrides = {k: v for k, v in dict(arch=args.arch, image_size=args.image_size).items() if v}
    cfg = load_config(profile="demo", **overrides)
    print(cfg.describe(), f"| workers: {cfg.num_workers} | torch threads: "
          f"{torch.get_num_threads()}", flush=True)

    splits = lesion_split(prepare_metadata(cfg), seed=cfg.seed)
    rates = {"demo set": loader_rate(make_loaders(splits, cfg)["train"])}
    with tempfile.TemporaryDirectory() as tmp:
        raw = lookalike_jpegs(splits["train"], Path(tmp), args.n_jpegs)
        rates["600x450 JPEGs, raw"] = loader_rate(make_loaders({"train": raw}, cfg)["train"])
        start = time.perf_counter()
        cached = cache_resized(raw, cfg.image_size, Path(tmp) / "cache")
        resize_seconds = time.perf_counter() - start
        rates["600x450 JPEGs, cache_resized"] = loader_rate(
            make_loaders({"train": cached}, cfg)["train"])
    step = step_rate(cfg.arch, cfg.batch_size, cfg.image_size)

    table = pd.DataFrame({"loader images/s": rates}).rename_axis("input")
    table["training step images/s"] = step
    table["ratio loader/step"] = table["loader images/s"] / step
    print(table.round(2).to_string())
    print(f"cache_resized: {args.n_jpegs} images resized once in {resize_seconds:.1f} s "
          f"({args.n_jpegs / resize_seconds:.0f} images/s)")


if __name__ == "__main__":
    main()
