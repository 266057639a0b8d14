"""What an explanation costs: time per image and images pushed through the network.

Wall-clock times depend on the machine and on what else runs on it; the number of images a
method sends through the model does not (CAM: 1, Grad-CAM: 1 forward and 1 backward, Score-CAM:
one per channel of its layer). :func:`time_methods` measures both the same way for every
method: one image at a time (as a viewer explaining one lesion calls it), the methods taking
turns on each image so that a busy machine slows them all alike, the fastest of a few tries
reported (the least disturbed call) beside the median.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .train import eval_mode

__all__ = ["time_methods", "network_seconds"]


def time_methods(
    model: nn.Module,
    x: Tensor,
    methods: Mapping[str, Callable[[Tensor, int], Tensor]],
    class_idx: Sequence[int] | Tensor,
    *,
    tries: int = 3,
    once: Collection[str] = (),
    device: str | torch.device | None = None,
) -> tuple[dict[str, Tensor], pd.DataFrame]:
    """Explain each image of ``x`` with every method, one image at a time, timing each call.

    ``methods``: name -> a callable ``(x, class_idx) -> (1, H, W)`` map (a ``helpers.cam``
    object) built on ``model``. ``class_idx``: the class to explain, one per image. Each method
    is called once on the first image first (warm-up, not timed); then, image by image, each
    method in turn ``tries`` times (the ones named in ``once``, slow ones, a single time). A
    forward hook on ``model`` counts the images each method's first try sends through it.

    Returns ``(maps, cost)``: ``maps[name]`` the ``(B, H, W)`` maps on the CPU, ``cost`` one row
    per method with ``ms / image`` (the fastest call), ``median ms``, ``images through the
    network`` (per image) and ``backward pass`` (the method's ``uses_gradients``, None when it
    has none).
    """
    if x.dim() != 4 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty (B, C, H, W) batch, got shape {tuple(x.shape)}")
    targets = [int(c) for c in (class_idx.tolist() if isinstance(class_idx, Tensor)
                                else class_idx)]
    if len(targets) != x.shape[0]:
        raise ValueError(f"class_idx has {len(targets)} entries but x has {x.shape[0]} images: "
                         "give one class per image (e.g. the predictions pred[subset])")
    if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
        raise ValueError(f"tries must be an int >= 1, got {tries!r}")
    unknown = sorted(set(once) - set(methods))
    if unknown:
        raise ValueError(f"once names {unknown}, which are not among the methods "
                         f"{sorted(methods)}")
    device = x.device if device is None else torch.device(device)
    seconds: dict[str, list[float]] = {name: [] for name in methods}
    outputs: dict[str, list[Tensor]] = {name: [] for name in methods}
    passes = dict.fromkeys(methods, 0)
    counting: list[str | None] = [None]

    def count_images(module: nn.Module, args: tuple, output: object) -> None:
        if counting[0] is not None:
            passes[counting[0]] += args[0].shape[0]

    hook = model.register_forward_hook(count_images)
    try:
        for method in methods.values():  # warm-up, not timed
            method(x[:1].to(device), targets[0])
        for i, target in enumerate(targets):
            image = x[i : i + 1].to(device)
            for name, method in methods.items():
                for attempt in range(1 if name in once else tries):
                    counting[0] = name if attempt == 0 else None
                    start = time.perf_counter()
                    heatmap = method(image, target).detach().cpu()
                    seconds[name].append(time.perf_counter() - start)
                counting[0] = None
                outputs[name].append(heatmap)
    finally:
        hook.remove()
    cost = pd.DataFrame({
        "ms / image": {name: 1000 * min(seconds[name]) for name in methods},
        "median ms": {name: 1000 * float(np.median(seconds[name])) for name in methods},
        "images through the network": {name: passes[name] / len(targets) for name in methods},
        "backward pass": {name: getattr(method, "uses_gradients", None)
                          for name, method in methods.items()},
    })
    return {name: torch.cat(maps) for name, maps in outputs.items()}, cost


def network_seconds(model: nn.Module, x: Tensor, n_images: int, *, backward: bool = False,
                    batch_size: int = 64) -> float:
    """Seconds to push ``n_images`` copies of ``x[:1]`` through ``model`` once: the floor of a
    method that needs that many passes.

    The copies go ``batch_size`` at a time, in eval mode (restored afterwards); with
    ``backward`` each chunk also takes the gradient of its summed top logits with respect to
    the input (``torch.autograd.grad``: no parameter gets a ``.grad``), as a gradient method
    does. One timed call; repeat it and take the median or the minimum.
    """
    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images < 1:
        raise ValueError(f"n_images must be an int >= 1, got {n_images!r}")
    sizes = [batch_size] * (n_images // batch_size) + [n_images % batch_size] * bool(
        n_images % batch_size)
    with eval_mode(model):
        start = time.perf_counter()
        for size in sizes:
            chunk = x[:1].expand(size, -1, -1, -1).detach().clone()
            if backward:
                with torch.enable_grad():
                    chunk.requires_grad_(True)
                    torch.autograd.grad(model(chunk).amax(dim=1).sum(), chunk)
            else:
                with torch.no_grad():
                    model(chunk)
        return time.perf_counter() - start
