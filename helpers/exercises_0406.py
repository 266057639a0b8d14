"""Exercise checks for notebooks 04-06, on the framework of :mod:`helpers.exercises`.

Each ``check_NN_name`` reads a student's answer tolerantly (:func:`~helpers.exercises.as_number`)
and returns a :class:`~helpers.exercises.Feedback`; it never raises and never prints the
solution. The expected values come from the derivations in the notebooks, not from one run:

* 04, exercise 1: at ``layer4`` behind GAP + linear, LayerCAM's weight at every position is
  :math:`\\mathrm{ReLU}(w^c_k)/Z`, so LayerCAM is CAM with the negative weights set to zero:
  the largest absolute difference of the normalised maps is float rounding (< 1e-4).
* 04, exercise 2: ``top_k`` scores ``k`` of the ``K`` channels, so it can be at most about
  ``K / k`` times faster; a useful approximation keeps a clearly positive rank correlation.
* 04, exercise 3: a map of all ones leaves the image unchanged, :math:`O = Y`, so
  Average Drop :math:`= 100 \\cdot \\frac1N\\sum \\max(0, Y - O)/Y = 0`.
* 06, exercise 1: the raw maps for ``c`` rather than ``d`` and ``d`` rather than ``c`` are
  negatives of each other (:math:`y^c - y^d = -(y^d - y^c)`), so after the ReLU each grid cell
  is positive in at most one; upsampling spreads them over cell borders only.
* 06, exercise 3: at ``layer4`` the contrastive weights are :math:`(w^c_k - w^d_k)/Z`, i.e. CAM
  with the row :math:`w^c - w^d`: the two maps agree to float rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.exercises import Feedback, _unreadable, as_number, correct, exercise_check, wrong

__all__ = [
    "check_04_layercam_is_positive_cam",
    "check_04_score_cam_top_k",
    "check_04_average_drop_all_ones",
    "check_06_contrast_overlap",
    "check_06_contrastive_is_cam",
]

ROUNDING = 1e-4  #: largest difference that counts as "equal up to float rounding"


def _array(value: Any) -> np.ndarray:
    """A tensor (detached, on the CPU) or array-like as a float NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


@exercise_check("04, exercise 1")
def check_04_layercam_is_positive_cam(max_abs_diff: Any) -> Feedback:
    """Exercise 1: the largest |LayerCAM - CAM with w >= 0| over the images (normalised maps)."""
    value = as_number(max_abs_diff)
    if value is None:
        return _unreadable(max_abs_diff, "one number: the largest absolute difference")
    if value < 0:
        return wrong(f"{value:.3g} is negative; an absolute difference is not.",
                     "take `(a - b).abs().max()`.")
    if value < ROUNDING:
        return correct(f"{value:.1e}: float rounding, so LayerCAM is positive-weight CAM here.")
    return wrong(f"{value:.3g} is more than float rounding.",
                 "clamp the head's weights with `clamp_min(0)` and compare at `layer4`, the "
                 "layer right before the GAP + linear head.")


@exercise_check("04, exercise 2")
def check_04_score_cam_top_k(speedup: Any, rank_correlation: Any, channels: int = 512,
                             top_k: int = 64) -> Feedback:
    """Exercise 2: how many times faster ``top_k`` is than exact Score-CAM, and the mean rank
    correlation of the two maps. At most about ``channels / top_k`` times faster."""
    fast, rho = as_number(speedup), as_number(rank_correlation)
    if fast is None or rho is None:
        return _unreadable(speedup if fast is None else rank_correlation,
                           "two numbers: the speed-up (exact time / top_k time) and a correlation")
    if not -1 - 1e-9 <= rho <= 1 + 1e-9:
        return wrong(f"a rank correlation lies in [-1, 1]; got {rho:.3g}.",
                     "use `metrics.rank_correlation(approx, exact).mean()`.")
    bound = 1.5 * channels / top_k
    if fast <= 1 or fast > bound:
        return wrong(f"a speed-up of {fast:.3g} is outside (1, {bound:.0f}]: scoring {top_k} of "
                     f"{channels} channels saves at most about {channels // top_k} times.",
                     "divide the exact method's time per image by the approximation's.")
    verdict = "close" if rho >= 0.5 else "not close"
    return correct(f"{fast:.1f} times faster (at most ~{channels // top_k}), rank correlation "
                   f"{rho:.2f}: the maps are {verdict}.")


@exercise_check("04, exercise 3")
def check_04_average_drop_all_ones(average_drop: Any) -> Feedback:
    """Exercise 3: the Average Drop (in %) of a map of all ones."""
    value = as_number(average_drop)
    if value is None:
        return _unreadable(average_drop, "one number: Average Drop in %")
    if abs(value) < 1e-6:
        return correct("0 %: the explanation map is the image itself, so O = Y on every image; "
                       "read Average Drop next to a localisation score.")
    return wrong(f"{value:.3g} % is not 0.",
                 "multiply the image by a map of ones: what is the class probability then?")


@exercise_check("06, exercise 1")
def check_06_contrast_overlap(overlap: Any) -> Feedback:
    """Exercise 1: ``sum(min(a, b)) / sum(a)`` for the maps "p rather than t" (``a``) and
    "t rather than p" (``b``), in [0, 1]."""
    value = as_number(overlap)
    if value is None:
        return _unreadable(overlap, "one number in [0, 1]")
    if not 0 <= value <= 1 + 1e-9:
        return wrong(f"an overlap share lies in [0, 1]; got {value:.3g}.",
                     "divide `torch.minimum(a, b).sum()` by `a.sum()`.")
    if value < 0.5:
        return correct(f"{value:.2f}: the two maps split the image; what overlap there is lies "
                       "on the borders of the layer's grid cells, after upsampling.")
    return wrong(f"{value:.2f} is a large overlap for two maps whose raw values are opposite.",
                 "pass `contrast_idx=t` for the first map and `contrast_idx=p` for the second.")


@exercise_check("06, exercise 3")
def check_06_contrastive_is_cam(as_cam: Any, contrastive: Any) -> Feedback:
    """Exercise 3: CAM with the row ``w^c - w^d`` and the contrastive map (two arrays)."""
    a, b = _array(as_cam), _array(contrastive)
    if a.ndim < 2 or b.ndim < 2:
        return wrong(f"expected two maps, arrays of shape (H, W) or (1, H, W); got shapes "
                     f"{a.shape} and {b.shape}.", "pass the two maps the solution computes.")
    if a.shape != b.shape:
        return wrong(f"the maps have shapes {a.shape} and {b.shape}.",
                     "explain the same image with both, at `layer4`.")
    gap = float(np.abs(a - b).max()) if a.size else float("nan")
    if gap < ROUNDING:
        return correct(f"largest difference {gap:.1e}: at `layer4` the contrastive map is CAM "
                       "with the row w^c - w^d, no backward pass needed.")
    return wrong(f"the maps differ by up to {gap:.3g}.",
                 "set the CAM head's weight to `(model.fc.weight[c] - model.fc.weight[d])[None]`.")
