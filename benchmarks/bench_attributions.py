"""What does one map of each non-CAM method cost, against its floor? (helpers.attributions)

    python benchmarks/bench_attributions.py                 # the demo model: ResNet-18, 112 px
    python benchmarks/bench_attributions.py --cpu-clock     # this process's CPU time only
    python benchmarks/bench_attributions.py --methods "Gradient,Gradient x Input"  # a few

The floor of a method is the network's own work for the images the method needs: ``passes``
copies of the image pushed through the network in batches of ``--batch-size`` (forward only for
occlusion, LIME and KernelSHAP; forward and backward to the input for the gradient methods:
``helpers.timing.network_seconds``). Each round times every map (one image, its class given) and
every floor once, in a shuffled order, after a warm-up round (``bench_cam.timings``); the
single-pass gradient methods are timed a second time with ``class_idx=None`` (rows "..., class
None"), where the class must come from the same forward pass to keep the floor; the ratio
is the median over rounds of map / floor measured in the same round, so load from other
processes hits both alike. Target: at most 1.3. The model has random weights (the timing does
not depend on them) and the demo's architecture (dilated ``layer4``: 7x7 at 112 px). The
settings are the ones notebook 07 uses on the demo profile.

Prints a markdown table; the numbers are this machine's, measured in this process.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch
from bench_cam import median_ratio, timings

from helpers import attributions as at
from helpers.data import CLASSES
from helpers.models import build_model
from helpers.timing import network_seconds


def methods(model: torch.nn.Module, size: int, batch_size: int) -> dict[str, at.Attribution]:
    """Each method with the notebook's demo settings (one layer4 cell = size / 7 pixels)."""
    cell = size // 7
    common = {"grid": 7, "batch_size": batch_size}
    return {
        "Gradient": at.Saliency(model, **common),
        "Gradient x Input": at.GradientXInput(model, **common),
        "Integrated Gradients": at.IntegratedGradients(model, steps=16, **common),
        "SmoothGrad": at.SmoothGrad(model, samples=16, **common),
        "Occlusion": at.Occlusion(model, window=cell, size=size, **common),
        "LIME": at.Lime(model, samples=64, segments=25, **common),
        "KernelSHAP": at.KernelShap(model, samples=64, segments=25, **common),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--cpu-clock", action="store_true",
                        help="time.process_time instead of wall time")
    parser.add_argument("--methods", default="",
                        help="comma-separated method names to time (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model("resnet18", len(CLASSES), False, dilated_layer4=True).eval()
    x = torch.randn(1, 3, args.size, args.size)
    target = [3]
    found = methods(model, args.size, args.batch_size)
    if args.methods:
        wanted = [name.strip() for name in args.methods.split(",")]
        unknown = sorted(set(wanted) - set(found))
        if unknown:
            parser.error(f"--methods: unknown {unknown}; choose from {list(found)}")
        found = {name: found[name] for name in wanted}
    for name in [n for n, m in found.items() if m.uses_gradients and m.passes == 1]:
        found[f"{name}, class None"] = found[name]
    fns = {}
    for name, method in found.items():
        given = None if name.endswith("class None") else target
        fns[name] = (lambda m=method, c=given: m(x, c))
        fns[f"{name} floor"] = (lambda m=method: network_seconds(
            model, x, m.passes, backward=m.uses_gradients, batch_size=args.batch_size))
    clock = time.process_time if args.cpu_clock else time.perf_counter
    times = timings(fns, args.repeats, clock=clock)
    rows = []
    for name, method in found.items():
        rows.append({
            "method": name, "settings": method.settings(), "passes": method.passes,
            "backward": method.uses_gradients,
            "ms / map": 1000 * float(pd.Series(times[name]).median()),
            "floor ms": 1000 * float(pd.Series(times[f"{name} floor"]).median()),
            "map / floor": median_ratio(times, name, f"{name} floor"),
        })
    table = pd.DataFrame(rows).set_index("method")
    print(f"resnet18 (dilated layer4), {args.size} px, 1 image per map, batches of "
          f"{args.batch_size}, {torch.get_num_threads()} thread(s), median of {args.repeats} "
          f"rounds ({'CPU' if args.cpu_clock else 'wall'} time); target map / floor <= 1.3")
    print(table.round(2).to_markdown() if _has_tabulate() else table.round(2).to_string())


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
