"""What every check shares: NaN and inf are never an answer, one object passed for the two a
comparison needs is never a comparison, and two maps must match in shape."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..course.answers import (
    Feedback,
    as_numbers,
    unreadable,
    wrong,
)

# --- shared guards ------------------------------------------------------------------------------
# NaN and inf are never an answer, and one map or table passed for two is never a comparison.


def finite_answer(value: Any, expected: str, size: int | None = None) -> tuple[np.ndarray | None,
                                                                          Feedback | None]:
    """``value`` as a finite float array (of ``size`` numbers); else the feedback that says why."""
    values = as_numbers(value)
    if values is None or (size is not None and values.size != size):
        return None, unreadable(value, expected)
    if not np.all(np.isfinite(values)):
        return None, wrong(f"{count_bad(values)} of the numbers passed are NaN or infinite: "
                           "no measured answer is.",
                           "print the values before passing them; a NaN comes from an empty "
                           "group or a division by zero.")
    return values, None


def count_bad(values: np.ndarray) -> int:
    return int((~np.isfinite(values)).sum())


def one_answer(value: Any, expected: str) -> tuple[float | None, Feedback | None]:
    values, problem = finite_answer(value, expected, size=1)
    return (None, problem) if problem is not None else (float(values[0]), None)


def passed_twice(first: Any, second: Any, what: str, plural: str = "") -> Feedback | None:
    """A "wrong" when ``first`` and ``second`` are one object (or views of one array)."""
    same = first is second
    if not same:
        try:  # views of one tensor or array share memory (no copy: no dtype conversion here)
            same = bool(np.may_share_memory(*(np.asarray(v.detach().cpu().numpy()) if hasattr(
                v, "detach") else np.asarray(v) for v in (first, second))))
        except (TypeError, ValueError, RuntimeError):
            same = False
    if same:
        return wrong(f"the same {what} was passed twice: a comparison needs two.",
                     f"pass the two {plural or what + 's'} the exercise compares, each "
                     "computed on its own.")
    return None


def as_array(value: Any) -> np.ndarray:
    """A tensor (detached, on the CPU) or array-like as a float NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)



# --- notebooks 04-09 ---
# Where the expected values of 04, 05 and 09 come from (derivations in the notebooks, not one run):
# * 04, exercise 1: at ``layer4`` behind GAP + linear, LayerCAM's weight at every position is
#   :math:`\\mathrm{ReLU}(w^c_k)/Z`, so LayerCAM is CAM with the negative weights set to zero:
#   the largest absolute difference of the normalised maps is float rounding (< 1e-4).
# * 04, exercise 2: ``top_k`` scores ``k`` of the ``K`` channels, so it can be at most about
#   ``K / k`` times faster; a useful approximation keeps a clearly positive rank correlation.
# * 05, exercise 1: a map of all ones leaves the image unchanged, :math:`O = Y`, so
#   Average Drop :math:`= 100 \\cdot \\frac1N\\sum \\max(0, Y - O)/Y = 0`.
# * 05, exercise 2: whether the gap Grad-CAM++ minus Grad-CAM changes between two layers is a
#   test of the change itself: per image, the layer3 gap minus the layer4 gap, with its interval
#   by lesion (:func:`helpers.stats.difference_of_differences`). That one layer's interval
#   excludes 0 and the other's does not is no such test (Gelman & Stern 2006). Which scores
#   change is measured (it depends on the model), so the check recomputes it from the scores.
# * 09, exercise 1: the raw maps for ``c`` rather than ``d`` and ``d`` rather than ``c`` are
#   negatives of each other (:math:`y^c - y^d = -(y^d - y^c)`), so after the ReLU each grid cell
#   is positive in at most one; upsampling spreads them over cell borders only.
# * 09, exercise 3: at ``layer4`` the contrastive weights are :math:`(w^c_k - w^d_k)/Z`, i.e. CAM
#   with the row :math:`w^c - w^d`: the two maps agree to float rounding.
ROUNDING = 1e-4  #: largest difference that counts as "equal up to float rounding"


def two_maps(first: Any, second: Any, what: str) -> tuple[tuple[np.ndarray, np.ndarray] | None,
                                                              Feedback | None]:
    """Two maps of one shape, finite, not one object passed twice."""
    twice = passed_twice(first, second, what)
    if twice is not None:
        return None, twice
    a, b = as_array(first), as_array(second)
    if a.ndim < 2 or b.ndim < 2:
        return None, wrong(f"expected two maps, arrays of shape (H, W) or (N, H, W); got shapes "
                           f"{a.shape} and {b.shape}.", "pass the two maps the solution computes.")
    if a.shape != b.shape:
        return None, wrong(f"the maps have shapes {a.shape} and {b.shape}.",
                           "explain the same images with both, at `layer4`.")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None, wrong("a map holds NaN or infinite values.",
                           "normalised maps lie in [0, 1]; look for a division by zero.")
    return (a, b), None


def interval_side(low: float, high: float) -> int:
    """+1 when an interval lies above 0, -1 below, 0 when it includes 0."""
    return 1 if low > 0 else -1 if high < 0 else 0
