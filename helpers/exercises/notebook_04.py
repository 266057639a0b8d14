"""The checks of notebook 04's exercises (comparing the methods: identities and cost)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..course.answers import Feedback, correct, exercise_check, wrong
from .guards import ROUNDING, one_answer, two_maps


@exercise_check("04, exercise 1")
def check_04_layercam_is_positive_cam(positive_cam: Any, layercam: Any) -> Feedback:
    """Exercise 1: CAM with the head's weights clamped at 0 and LayerCAM's maps of the same
    images and classes at ``layer4`` (normalised, ``(N, H, W)``); the largest absolute
    difference must be float rounding."""
    maps, problem = two_maps(positive_cam, layercam, "map")
    if problem is not None:
        return problem
    value = float(np.abs(maps[0] - maps[1]).max())
    if value < ROUNDING:
        return correct(f"{value:.1e}: float rounding, so LayerCAM is positive-weight CAM here.")
    return wrong(f"the maps differ by up to {value:.3g}: more than float rounding.",
                 "clamp the head's weights with `clamp_min(0)` and compare at `layer4`, the "
                 "layer right before the GAP + linear head.")


@exercise_check("04, exercise 2", timed=True)
def check_04_score_cam_top_k(speedup: Any, approx: Any, exact: Any, channels: int = 512,
                             top_k: int = 64) -> Feedback:
    """Exercise 2: how many times faster ``top_k`` is than exact Score-CAM (exact time /
    ``top_k`` time), and the two methods' maps of the same images (``approx``, ``exact``), whose
    mean rank correlation the check computes. At most about ``channels / top_k`` times faster."""
    import torch

    from helpers.agreement import rank_correlation

    fast, problem = one_answer(speedup, "one number: the speed-up (exact time / top_k time)")
    if problem is not None:
        return problem
    maps, problem = two_maps(approx, exact, "map")
    if problem is not None:
        return problem
    rho = float(rank_correlation(*(torch.as_tensor(m) for m in maps)).mean())
    bound = 1.5 * channels / top_k
    if fast <= 1:
        return wrong(f"a speed-up of {fast:.3g}: the approximation came out no faster.",
                     "divide the exact method's time per image by the approximation's.")
    if fast > bound:
        return wrong(f"a speed-up of {fast:.3g} is above {bound:.0f}: scoring {top_k} of "
                     f"{channels} channels saves at most about {channels // top_k} times.",
                     "time both per image on the same images.")
    verdict = "close" if rho >= 0.5 else "not close"
    return correct(f"{fast:.1f} times faster (at most ~{channels // top_k}), rank correlation "
                   f"{rho:.2f}: the maps are {verdict}.")
