"""How many images a second this CPU trains and explains, per input size and memory layout.

One process, the same random batch, side by side: a training step (forward, backward, AdamW) and
a forward pass alone (eval mode, ``torch.inference_mode``), in PyTorch's default layout and in
channels-last, at each size. Each figure is the median of ``--reps`` rounds after a warm-up
round; every round calls each contender once, in shuffled order (``bench_cam.timings``). The
training step sets what a demo epoch costs (notebooks 02 and 05); the forward pass sets what
explaining costs (Score-CAM: one forward pass per channel; Average Drop, deletion and
insertion).

    python benchmarks/bench_throughput.py                      # resnet18, 96-224 px, all threads
    python benchmarks/bench_throughput.py --threads 1 --sizes 128 --batch-size 64

Measured on the 2-core AMD EPYC CPU that built the series (torch 2.14.1, 2 threads, batch 32,
channels-last): training step 26 / 16 / 10 / 5.4 images a second at 96 / 128 / 160 / 224 px,
forward pass 100 / 60 / 38 / 20. Channels-last trains 4-8 % faster than the default layout at
96-128 px and explains about 20 % faster (1 thread, batch 64, 128 px).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pandas as pd
import torch
import torch.nn.functional as F
from bench_cam import median_seconds  # interleaved rounds after a warm-up, median per function

from helpers.data import CLASSES
from helpers.models import build_model


def step_and_forward(arch: str, size: int, batch_size: int,
                     channels_last: bool) -> dict[str, Callable[[], None]]:
    """A training step and a forward pass of a fresh ``arch`` on one random batch."""
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

    return {"train step img/s": step, "forward img/s": forward}


def measure(arch: str, size: int, batch_size: int, reps: int) -> list[dict]:
    """Images/s of both layouts at ``size``, timed in the same interleaved rounds."""
    fns = {(layout, what): fn for layout in ("default", "channels-last")
           for what, fn in step_and_forward(arch, size, batch_size,
                                            layout == "channels-last").items()}
    seconds = median_seconds(fns, reps)
    return [{"px": size, "layout": layout,
             **{what: batch_size / seconds[(layout, what)]
                for what in ("train step img/s", "forward img/s")}}
            for layout in ("default", "channels-last")]


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
    rows = [row for size in args.sizes
            for row in measure(args.arch, size, args.batch_size, args.reps)]
    print(pd.DataFrame(rows).round(1).to_string(index=False))


if __name__ == "__main__":
    main()
