"""How many images a second this CPU trains and explains, per input size and memory layout.

One process, the same random batch, side by side: a training step (forward, backward, AdamW) and
a forward pass alone (eval mode, ``torch.inference_mode``), in PyTorch's default layout and in
channels-last, at each size. Each figure is the median of ``--reps`` rounds after a warm-up
round; every round calls each contender once, in shuffled order (``bench_cam.timings``). The
training step sets what a demo epoch costs (notebooks 02 and 06); the forward pass sets what
explaining costs (Score-CAM: one forward pass per channel; Average Drop, deletion and
insertion).

    python benchmarks/bench_throughput.py                      # resnet18, 96-224 px, all threads
    python benchmarks/bench_throughput.py --threads 1 --sizes 128 --batch-size 64

Measured on 2-core AMD EPYC CPUs (torch 2.14.1, 2 threads, batch 32, channels-last): training
step 26 / 16 / 10 / 5.4 images a second at 96 / 128 / 160 / 224 px, forward pass 100 / 60 / 38 /
20, on the machine that built most of the series; 85 / 52 / 33 / 17.5 and 296 / 176 / 114 / 54
on another machine of the same kind (28 November 2026), whose default layout trained 47 images
a second at 128 px. The README's run times scale with these figures. Channels-last trains 4-8 %
faster than the default layout at 96-128 px and explains about 20 % faster (1 thread, batch 64,
128 px).

``--routes`` compares ways to give the demo model the seed's 7x7 ``layer4`` grid (issue 10; the
demo profile took the dilated one):
224 px as in the full profile; 224 px with every layer below ``layer4`` frozen (forward only
there, as a last fine-tuning epoch could do); and a *dilated* ``layer4`` (stride 1, dilation 2:
output stride 16, as DeepLab does and torchvision offers for its Bottleneck ResNets), for which
112 px gives 7x7. Measured here (2 threads, batch 32, default layout; training step / forward
img/s): 128 px, the earlier demo (4x4) 14.8 / 49; 224 px 5.2 / 16.5; 224 px frozen below
layer4 10.9 / 16.4; 112 px dilated (7x7) 13.5 / 42. On the faster machine of 28 November:
48.4 / 153; 14.6 / 48.9; 32.8 / 46.5; 44.4 / 140 (128 px dilated, 8x8: 34.2 / 110). Only the
dilated route keeps both training and explaining (Score-CAM, deletion, insertion: forward
passes) within about 15 % of the earlier demo's cost.

    python benchmarks/bench_throughput.py --routes
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pandas as pd
import torch
import torch.nn.functional as F
from bench_cam import median_seconds  # interleaved rounds after a warm-up, median per function

from helpers.data import CLASSES
from helpers.models import build_model, dilate_layer4


def below_layer4(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The stem and ``layer1``-``layer3`` of a torchvision ResNet."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer3(model.layer2(model.layer1(x)))


def step_and_forward(arch: str, size: int, batch_size: int, channels_last: bool = False, *,
                     dilated: bool = False,
                     frozen_below_layer4: bool = False) -> dict[str, Callable[[], None]]:
    """A training step and a forward pass of a fresh ``arch`` on one random batch.

    ``dilated``: :func:`dilate_layer4` first. ``frozen_below_layer4``: the training step runs
    the layers below ``layer4`` without gradients and updates only ``layer4`` and ``fc``."""
    torch.manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(arch, len(CLASSES), pretrained=False).to(memory_format=layout)
    if dilated:
        dilate_layer4(model)
    trained = ([*model.layer4.parameters(), *model.fc.parameters()] if frozen_below_layer4
               else model.parameters())
    optimizer = torch.optim.AdamW(trained, lr=1e-3)
    x = torch.randn(batch_size, 3, size, size).to(memory_format=layout)
    y = torch.randint(0, len(CLASSES), (batch_size,))

    def logits() -> torch.Tensor:
        if not frozen_below_layer4:
            return model(x)
        with torch.no_grad():
            features = below_layer4(model, x)
        return model.fc(torch.flatten(model.avgpool(model.layer4(features)), 1))

    def step() -> None:
        model.train()
        optimizer.zero_grad()
        F.cross_entropy(logits(), y).backward()
        optimizer.step()

    def forward() -> None:
        model.eval()
        with torch.inference_mode():
            model(x)

    return {"train step img/s": step, "forward img/s": forward}


def rates(seconds: dict, key: str, batch_size: int) -> dict[str, float]:
    """Images/s of the training step and the forward pass timed under ``key``."""
    return {what: batch_size / seconds[(key, what)]
            for what in ("train step img/s", "forward img/s")}


def measure(arch: str, size: int, batch_size: int, reps: int) -> list[dict]:
    """Images/s of both layouts at ``size``, timed in the same interleaved rounds."""
    fns = {(layout, what): fn for layout in ("default", "channels-last")
           for what, fn in step_and_forward(arch, size, batch_size,
                                            layout == "channels-last").items()}
    seconds = median_seconds(fns, reps)
    return [{"px": size, "layout": layout, **rates(seconds, layout, batch_size)}
            for layout in ("default", "channels-last")]


#: route -> (input px, dilated layer4, layers below layer4 frozen)
ROUTES = {"128 px (earlier demo)": (128, False, False), "224 px": (224, False, False),
          "224 px, frozen below layer4": (224, False, True),
          "112 px, dilated layer4": (112, True, False),
          "128 px, dilated layer4": (128, True, False)}


def measure_routes(arch: str, batch_size: int, reps: int) -> list[dict]:
    """Images/s of each of :data:`ROUTES` and its layer4 grid, timed in the same rounds."""
    fns, grids = {}, {}
    for route, (size, dilated, frozen) in ROUTES.items():
        built = step_and_forward(arch, size, batch_size, dilated=dilated,
                                 frozen_below_layer4=frozen)
        fns.update({(route, what): fn for what, fn in built.items()})
        model = build_model(arch, len(CLASSES), pretrained=False)
        with torch.no_grad():
            grid = (dilate_layer4(model) if dilated else model).layer4(
                below_layer4(model, torch.zeros(1, 3, size, size))).shape[-2:]
        grids[route] = "x".join(map(str, grid))
    seconds = median_seconds(fns, reps)
    return [{"route": route, "layer4 grid": grids[route], **rates(seconds, route, batch_size)}
            for route in ROUTES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--sizes", nargs="+", type=int, default=[96, 128, 160, 224])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="default: torch's own")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--routes", action="store_true",
                        help="compare the routes to a 7x7 layer4 grid instead")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{args.arch}, batch {args.batch_size}, {torch.get_num_threads()} thread(s), "
          f"torch {torch.__version__}")
    if args.routes:
        rows = measure_routes(args.arch, args.batch_size, args.reps)
    else:
        rows = [row for size in args.sizes
                for row in measure(args.arch, size, args.batch_size, args.reps)]
    print(pd.DataFrame(rows).round(1).to_string(index=False))


if __name__ == "__main__":
    main()
