"""How fast are helpers.cam's maps? Side by side with the floor and with pytorch-grad-cam.

    .venv/bin/python benchmarks/bench_cam.py            # everything (Score-CAM takes minutes)
    .venv/bin/python benchmarks/bench_cam.py --quick    # a couple of minutes, no exact Score-CAM

ResNet-50 (random weights: timing does not depend on them), eval mode, on the CPU by default.

1. Grad-CAM++ on a batch of 8 at 224 px against the floor, one forward pass plus the backward
   pass down to ``layer4`` (``autograd.grad`` of the summed target logits with respect to the
   layer's output): no gradient CAM can be cheaper. Runs are interleaved and the median is kept,
   so load from other processes hits all contenders alike.
2. Seconds per image of every method, ours and pytorch-grad-cam's; Score-CAM on one image
   (one forward pass per channel: 2048 at ``layer4``), with the error of the ``top_k``
   approximation against the exact map.

Prints markdown tables; the numbers are this machine's, measured in this process.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import torch
import torchvision

from helpers import cam as hc


def timings(fns: dict[str, Callable[[], object]], repeats: int,
            clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Times of each function over ``repeats`` rounds, after one warm-up round. In each round
    every function runs once, in a shuffled order, so that load from other processes and the
    order of the calls hit all contenders alike. ``clock``: wall time by default;
    ``time.process_time`` counts this process's CPU time, less sensitive to other processes."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    order, shuffle = list(fns), random.Random(0).shuffle
    for round_ in range(repeats + 1):
        shuffle(order)
        for name in order:
            start = clock()
            fns[name]()
            if round_:  # round 0 is the warm-up
                times[name].append(clock() - start)
    return times


def median_seconds(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    return {name: statistics.median(t) for name, t in timings(fns, repeats).items()}


def median_ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of time(a) / time(b) measured in the same round."""
    return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))


def floor_fn(model: torch.nn.Module, x: torch.Tensor, cls: torch.Tensor) -> Callable[[], object]:
    """One forward pass and the backward pass down to layer4's output: the floor."""

    def run() -> torch.Tensor:
        captured = []
        handle = model.layer4.register_forward_hook(lambda m, a, out: captured.append(out))
        try:
            logits = model(x)
        finally:
            handle.remove()
        return torch.autograd.grad(logits.gather(1, cls[:, None]).sum(), captured[0])[0]

    return run


def theirs_fn(name: str, model, x, cls, **kwargs) -> Callable[[], object]:
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    targets = [ClassifierOutputTarget(int(c)) for c in cls]

    def run():
        method = getattr(pytorch_grad_cam, name)(model, [model.layer4])
        for key, value in kwargs.items():
            setattr(method, key, value)
        try:
            return method(x, targets=targets)
        finally:
            method.activations_and_grads.release()
            model.zero_grad(set_to_none=True)  # they leave .grad on the parameters

    return run


def ours_fn(method: type[hc.BaseCAM], model, x, cls, **kwargs) -> Callable[[], object]:
    cam = method(model, "layer4", **kwargs)
    return lambda: cam(x, class_idx=cls)


THEIRS = {"Grad-CAM": "GradCAM", "Grad-CAM++": "GradCAMPlusPlus", "LayerCAM": "LayerCAM",
          "XGrad-CAM": "XGradCAM", "HiResCAM": "HiResCAM", "Score-CAM": "ScoreCAM"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats; Score-CAM only with top_k (no exact run, not theirs)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds (default 7; quick 3)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--top-k", type=int, default=256,
                        help="channels kept by approximate Score-CAM")
    parser.add_argument("--skip-scorecam", action="store_true", help="no Score-CAM at all")
    parser.add_argument("--skip-their-scorecam", action="store_true",
                        help="skip pytorch-grad-cam's ScoreCAM (minutes per image on a CPU)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 7)

    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None).eval().to(args.device)
    x = torch.randn(args.batch, 3, args.size, args.size, device=args.device)
    with torch.no_grad():
        cls = model(x).argmax(1)
    print(f"ResNet-50, batch {args.batch}, {args.size} px, {args.device}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, median of {repeats}\n")

    # 1. Grad-CAM++ against the floor and pytorch-grad-cam
    contenders = {
        "floor": floor_fn(model, x, cls),
        "ours": ours_fn(hc.GradCAMPlusPlus, model, x, cls),
        "theirs": theirs_fn("GradCAMPlusPlus", model, x, cls),
    }
    rounds = timings(contenders, repeats)
    t = {name: statistics.median(times) for name, times in rounds.items()}
    print("| Grad-CAM++, batch | seconds | / floor |\n|---|---:|---:|")
    for name, label in [("floor", "floor: forward + backward to layer4"),
                        ("ours", "helpers.cam.GradCAMPlusPlus"),
                        ("theirs", "pytorch_grad_cam.GradCAMPlusPlus")]:
        print(f"| {label} | {t[name]:.3f} | {t[name] / t['floor']:.2f}x |")
    print(f"\nmedians: ours / floor = {t['ours'] / t['floor']:.3f} (target <= 1.05); "
          f"theirs / ours = {t['theirs'] / t['ours']:.2f}x (target >= 2.5)")
    print(f"per round (same-round ratios, median): ours / floor = "
          f"{median_ratio(rounds, 'ours', 'floor'):.3f}; theirs / ours = "
          f"{median_ratio(rounds, 'theirs', 'ours'):.2f}x")
    cpu = timings(contenders, repeats, clock=time.process_time)
    print(f"CPU time of this process (per round, median): ours / floor = "
          f"{median_ratio(cpu, 'ours', 'floor'):.3f}; theirs / ours = "
          f"{median_ratio(cpu, 'theirs', 'ours'):.2f}x\n")

    # 2. every method, seconds per image
    fns = {}
    for name, method in hc.METHODS.items():
        if method is not hc.ScoreCAM:
            fns[("ours", name)] = ours_fn(method, model, x, cls)
            if name in THEIRS:
                fns[("theirs", name)] = theirs_fn(THEIRS[name], model, x, cls)
    timed = median_seconds(fns, max(1, repeats // 2))
    per_image = {key: seconds / args.batch for key, seconds in timed.items()}
    per_image[("ours", "floor")] = t["floor"] / args.batch

    one, one_cls = x[:1], cls[:1]
    rows_note = []
    exact = None
    if not (args.quick or args.skip_scorecam):
        start = time.perf_counter()
        exact = hc.ScoreCAM(model, "layer4", progress=True)(one, one_cls)
        per_image[("ours", "Score-CAM")] = time.perf_counter() - start
    if not args.skip_scorecam:
        start = time.perf_counter()
        approx = hc.ScoreCAM(model, "layer4", top_k=args.top_k)(one, one_cls)
        per_image[("ours", f"Score-CAM top_k={args.top_k}")] = time.perf_counter() - start
    if exact is not None:
        err = (approx - exact).abs()
        corr = torch.corrcoef(torch.stack([approx.flatten(), exact.flatten()]))[0, 1]
        rows_note.append(f"Score-CAM top_k={args.top_k} vs exact: max |diff| {err.max():.3f}, "
                         f"mean |diff| {err.mean():.4f}, Pearson r {corr:.4f} (maps in [0, 1])")
    if not (args.quick or args.skip_scorecam or args.skip_their_scorecam):
        start = time.perf_counter()
        theirs_fn("ScoreCAM", model, one, one_cls, batch_size=32)()
        per_image[("theirs", "Score-CAM")] = time.perf_counter() - start

    print("| method (seconds per image) | helpers.cam | pytorch-grad-cam | theirs / ours |\n"
          "|---|---:|---:|---:|")
    names = ["floor", *[n for n in hc.METHODS if n != "Score-CAM"], "Score-CAM",
             f"Score-CAM top_k={args.top_k}"]
    for name in names:
        ours, theirs = per_image.get(("ours", name)), per_image.get(("theirs", name))
        if ours is None and theirs is None:
            continue
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        ratio = f"{theirs / ours:.2f}x" if ours and theirs else "-"
        print(f"| {name} | {fmt(ours)} | {fmt(theirs)} | {ratio} |")
    print(f"\nGradient methods: batch {args.batch}; Score-CAM: one image "
          f"({model.fc.in_features} channels, batches of 32 masked images).")
    for line in rows_note:
        print(line)


if __name__ == "__main__":
    main()
