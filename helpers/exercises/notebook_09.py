"""The checks of notebook 09's exercises (explore and explain)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..course.answers import (
    Feedback,
    as_number,
    correct,
    exercise_check,
    unreadable,
    wrong,
)
from .guards import ROUNDING, one_answer, two_maps


@exercise_check("09, exercise 1")
def check_09_contrast_overlap(overlap: Any, a: Any = None, b: Any = None) -> Feedback:
    """Exercise 1: ``sum(min(a, b)) / sum(a)`` for the maps "p rather than t" (``a``) and
    "t rather than p" (``b``), in [0, 1]; the check recomputes it from the two maps."""
    value, problem = one_answer(overlap, "one number in [0, 1]")
    if problem is not None:
        return problem
    if not 0 <= value <= 1 + 1e-9:
        return wrong(f"an overlap share lies in [0, 1]; got {value:.3g}.",
                     "divide `torch.minimum(a, b).sum()` by `a.sum()`.")
    if a is None or b is None:
        return wrong("the check needs the two maps to recompute the overlap.",
                     "call check_09_contrast_overlap(overlap, a, b).")
    maps, problem = two_maps(a, b, "map")
    if problem is not None:
        return problem
    total = float(maps[0].sum())
    if total <= 0:
        return wrong("the first map is zero everywhere.",
                     "explain the prediction p rather than the truth t (contrast_idx=t).")
    want = float(np.minimum(*maps).sum()) / total
    if abs(value - want) > 1e-3:
        return wrong(f"{value:.3g} is not the overlap of these two maps.",
                     "divide `torch.minimum(a, b).sum()` by `a.sum()`.")
    if want < 0.5:
        return correct(f"{want:.2f}: the two maps split the image; what overlap there is lies "
                       "on the borders of the layer's grid cells, after upsampling.")
    return wrong(f"{want:.2f} is a large overlap for two maps whose raw values are opposite.",
                 "pass `contrast_idx=t` for the first map and `contrast_idx=p` for the second.")


@exercise_check("09, exercise 2", timed=True)
def check_09_exact_score_cam(exact_ms: Any, top_k_ms: Any, channels: int = 512,
                             top_k: int = 64) -> Feedback:
    """Exercise 2: the cold time of one interaction (ms) with the exact Score-CAM and with
    ``top_k`` channels, on the same images. Exact scores ``channels / top_k`` times as many
    masked inputs, so it is at most about that much slower (the contrastive map costs the same
    in both)."""
    slow, fast = as_number(exact_ms), as_number(top_k_ms)
    if slow is None or fast is None or not (slow > 0 and fast > 0):
        return unreadable(exact_ms if slow is None else top_k_ms,
                           "two positive times in ms: exact, then top_k")
    ratio, bound = slow / fast, 1.5 * channels / top_k
    if ratio < 1:
        return wrong(f"the exact method came out {1 / ratio:.1f} times faster.",
                     "pass the exact time first, and time both cold (`time_interactions` "
                     "forgets the image's maps first).")
    if ratio > bound:
        return wrong(f"{ratio:.1f} times slower: more than the {channels // top_k} times as "
                     "many masked inputs explain.", "time both on the same images, cold.")
    return correct(f"{ratio:.1f} times slower (it scores {channels // top_k} times as many "
                   "masked inputs): seconds per click, so cache it and show progress.")

@exercise_check("09, exercise 3")
def check_09_contrastive_is_cam(as_cam: Any, contrastive: Any) -> Feedback:
    """Exercise 3: CAM with the row ``w^c - w^d`` and the contrastive map (two arrays)."""
    maps, problem = two_maps(as_cam, contrastive, "map")
    if problem is not None:
        return problem
    gap = float(np.abs(maps[0] - maps[1]).max()) if maps[0].size else float("nan")
    if gap < ROUNDING:
        return correct(f"largest difference {gap:.1e}: at `layer4` the contrastive map is CAM "
                       "with the row w^c - w^d, no backward pass needed.")
    return wrong(f"the maps differ by up to {gap:.3g}.",
                 "set the CAM head's weight to `(model.fc.weight[c] - model.fc.weight[d])[None]`.")
