"""The checks of notebook 08's exercises (a real network)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..course.answers import (
    Feedback,
    correct,
    exercise_check,
    unreadable,
    wrong,
)
from .guards import ROUNDING, finite_answer, interval_side, passed_twice

# --- notebook 08 ------------------------------------------------------------------------------


def _grid_of(model: Any, layer: str, size: int = 224) -> tuple[int, int]:
    """The spatial size of ``layer``'s output for one ``size`` x ``size`` input."""
    import torch

    from helpers.cam import find_layer

    found: list[tuple[int, int]] = []
    handle = find_layer(model, layer).register_forward_hook(
        lambda module, inputs, output: found.append(tuple(output.shape[-2:])))
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size, device=next(model.parameters()).device))
    finally:
        handle.remove()
    return found[0]


@exercise_check("08, exercise 1")
def check_08_smaller_copy(gap: Any, plus: Any, grad: Any, model: Any = None,
                          layer: Any = None) -> Feedback:
    """Exercise 1: Grad-CAM++ minus Grad-CAM, the smaller copy's share of the map, at a 14x14
    layer. ``gap``: :func:`helpers.stats.paired_difference` of the two (a dict with ``mean``,
    ``low``, ``high``); ``plus``, ``grad``: the two methods' shares per pair (smaller copy);
    ``model`` and ``layer``: the network and the layer the maps come from (the check measures
    its grid on a 224 x 224 input)."""
    twice = passed_twice(plus, grad, "array of shares", "arrays of shares")
    if twice is not None:
        return twice
    a, problem = finite_answer(plus, "Grad-CAM++'s share of the smaller copy, one per pair")
    if problem is not None:
        return problem
    b, problem = finite_answer(grad, "Grad-CAM's share of the smaller copy, one per pair")
    if problem is not None:
        return problem
    if a.size != b.size or np.any((a < 0) | (a > 1)) or np.any((b < 0) | (b > 1)):
        return wrong("expected two shares in [0, 1] per pair, as many for each method.",
                     "take `shares(maps)[0]` for each method's maps of the same pairs.")
    if not isinstance(gap, Mapping) or not {"mean", "low", "high"} <= set(gap):
        return unreadable(gap, "the dict of stats.paired_difference(plus, grad)")
    numbers, problem = finite_answer([gap["mean"], gap["low"], gap["high"]],
                                    "mean, low and high", 3)
    if problem is not None:
        return problem
    mean, low, high = numbers
    if abs(mean - float((a - b).mean())) > 1e-6:
        return wrong("the gap's mean is not the mean of Grad-CAM++'s shares minus Grad-CAM's.",
                     "call stats.paired_difference(plus, grad), Grad-CAM++ first.")
    if not low <= mean <= high:
        return wrong("the interval does not hold its own mean.",
                     "pass the dict of stats.paired_difference as it came.")
    if model is None or layer is None:
        return wrong("the check needs the network and the layer to see its grid.",
                     "call check_08_smaller_copy(gap, plus, grad, model, layer).")
    grid = _grid_of(model, str(layer))
    if grid != (14, 14):
        return wrong(f"`{layer}` gives a {grid[0]}x{grid[1]} grid, not 14x14.",
                     "take the last layer before the last stride: 'layer3' on the ResNet, "
                     "'blocks.10' on EfficientNet-Lite0.")
    side = interval_side(low, high)
    said = ("the interval excludes 0: Grad-CAM++ gives the smaller copy more" if side > 0 else
            "the interval excludes 0: Grad-CAM++ gives the smaller copy less" if side < 0 else
            "the interval includes 0: no difference shows on these pairs")
    return correct(f"at `{layer}` (14x14) Grad-CAM++ minus Grad-CAM is {mean:+.3f} "
                   f"[{low:.3f}, {high:.3f}]: {said}.")


@exercise_check("08, exercise 2")
def check_08_alpha_positions(spread_last: Any, spread_earlier: Any) -> Feedback:
    """Exercise 2: how much Grad-CAM++'s :math:`\\alpha^{kc}_{ij}` (eq. 19) varies over the
    positions :math:`(i, j)`, at the last feature map (behind GAP + linear) and at an earlier
    block: for each, the largest over channels of (max - min over positions) / max over
    positions of :math:`|\\alpha|`. Behind GAP + linear the gradient is :math:`w_k / Z` at every
    position, so the first is float rounding; at the earlier block it is not."""
    pair, problem = finite_answer([spread_last, spread_earlier], "two spreads: last layer, earlier "
                            "block", 2)
    if problem is not None:
        return problem
    last, earlier = pair
    if last < 0 or earlier < 0:
        return wrong("a spread (max - min) is never negative.", "take max - min over (i, j).")
    if last < ROUNDING <= earlier:
        return correct(f"alpha varies by {last:.1e} over the positions of the last feature map "
                       f"(rounding) and by {earlier:.2g} at the earlier block: only behind GAP + "
                       "linear is the gradient the same at every position.")
    if earlier < ROUNDING <= last:
        return wrong("the two are swapped, or the layers are.",
                     "pass the last feature map's spread first.")
    if last >= ROUNDING:
        return wrong(f"alpha varies by {last:.2g} over positions at the layer you called the "
                     "last: it is not the one right before GAP + linear.",
                     "use the network's target layer (the last feature map).")
    return wrong("alpha does not vary at the earlier layer either: the same layer twice?",
                 "compute the second at an earlier block, e.g. `blocks.14` or `layer4.0`.")
