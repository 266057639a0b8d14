"""How many images a second this CPU trains and explains, per input size and memory layout.

One process, the same random batch, side by side: a training step (forward, backward, AdamW) and
a forward pass alone (eval mode, ``torch.inference_mode``), in PyTorch's default layout and in
channels-last, at each size. Each figure is the median of ``--reps`` timed calls after one
untimed call. The training step sets what a demo epoch costs (notebooks 02 and 05); the forward
pass sets what explaining costs (Score-CAM: one forward pass per channel; Average Drop,
deletion and insertion).

    python benchmarks/bench_throughput.py                      # resnet18, 96-224 px, all threads
    python benchmarks/bench_throughput.py --threads 1 --sizes 128 --batch-size 64

Measured on the 2-core AMD EPYC CPU that built the series (torch 2.14.1, 2 threads, batch 32,
channels-last): training step 26 / 16 / 10 / 5.4 images a second at 96 / 128 / 160 / 224 px,
forward pass 100 / 60 / 38 / 20. Channels-last trains 4-8 % faster than the default layout at
96-128 px and explains about 20 % faster (1 thread, batch 64, 128 px).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import pandas as pd
import torch
import torch.nn.functional as F

from helpers.data import CLASSES
from helpers.models import build_model


def images_per_second(call: Callable[[], None], batch_size: int, reps: int) -> float:
    """``batch_size`` over the median time of ``reps`` calls of ``call`` (after one untimed)."""
    call()
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return batch_size / statistics.median(seconds)


def measure(arch: str, size: int, batch_size: int, channels_last: bool, reps: int) -> dict:
    """Training-step and forward-pass images/s of a fresh ``arch`` on one random batch."""
    torch.manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(arch, len(CLASSES), pretrained=False).to(memory_format=layout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch_size, 3, size, size).to(memory_format=layout)
    y = torch.randint(0, len(CLASSES), (batch_size,))

    def step() -> None:
        model.train()
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    def forward() -> None:
        model.eval()
        with torch.inference_mode():
            model(x)

    return {"px": size, "layout": "channels-last" if channels_last else "default",
            "train step img/s": images_per_second(step, batch_size, reps),
            "forward img/s": images_per_second(forward, batch_size, reps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--sizes", nargs="+", type=int, default=[96, 128, 160, 224])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="default: torch's own")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{args.arch}, batch {args.batch_size}, {torch.get_num_threads()} thread(s), "
          f"torch {torch.__version__}")
    rows = [measure(args.arch, size, args.batch_size, layout, args.reps)
            for size in args.sizes for layout in (False, True)]
    print(pd.DataFrame(rows).round(1).to_string(index=False))


if __name__ == "__main__":
    main()
