"""The checks of notebook 04's exercises (comparing the methods)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..course.answers import (
    Feedback,
    as_label,
    correct,
    exercise_check,
    unreadable,
    wrong,
)
from .guards import ROUNDING, interval_side, one_answer, passed_twice, two_maps


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


@exercise_check("04, exercise 3")
def check_04_average_drop_all_ones(average_drop: Any) -> Feedback:
    """Exercise 3: the Average Drop (in %) of a map of all ones."""
    value, problem = one_answer(average_drop, "one number: Average Drop in %")
    if problem is not None:
        return problem
    if abs(value) < 1e-6:
        return correct("0 %: the explanation map is the image itself, so O = Y on every image; "
                       "read Average Drop next to a localisation score.")
    return wrong(f"{value:.3g} % is not 0.",
                 "multiply the image by a map of ones: what is the class probability then?")


def _score_names(value: Any) -> set[str] | None:
    """Column names as labels: a list, set, Index, a comma-separated string, a dict or Series of
    flags (the names whose flag is true); "none" or an empty list is the empty set."""
    if isinstance(value, str):
        parts = [] if as_label(value) in ("", "none", "nothing") else re.split(r"[,;\n]", value)
    elif isinstance(value, Mapping) or hasattr(value, "items") and hasattr(value, "index"):
        parts = [name for name, flag in dict(value.items()).items() if bool(flag)]
    elif isinstance(value, (list, tuple, set, frozenset)) or hasattr(value, "tolist"):
        parts = list(value.tolist() if hasattr(value, "tolist") else value)
    else:
        return None
    if not all(isinstance(part, str) for part in parts):
        return None
    return {as_label(part) for part in parts if as_label(part)}


BORDERLINE = 0.02  #: an interval end within this share of its width from 0 may go either way


@exercise_check("04, exercise 4")
def check_04_layer3_ranking(changed: Any, scores4: Any = None, scores3: Any = None,
                            groups: Any = None, seed: int = 0) -> Feedback:
    """Exercise 4: the score columns on which the gap Grad-CAM++ minus Grad-CAM changes
    between ``layer4`` and ``layer3`` (a list of names such as ``["drop %"]``, a comma-separated
    string, a dict or Series of flags; ``[]`` or ``"none"`` for none).

    ``scores4``, ``scores3``: the per-image scores (:func:`helpers.metrics.per_image_scores`)
    at the two layers, ``groups`` the lesion of each image. The check computes
    :func:`helpers.stats.difference_of_differences` (per image, the layer3 gap minus the
    layer4 gap, its interval by lesion, ``seed``): a gap changes where that interval excludes 0.
    Comparing which of the two layers' own intervals excludes 0 is not a test of a change.
    """
    from helpers.stats import difference_of_differences, paired_scores

    names = _score_names(changed)
    if names is None:
        return unreadable(changed, "a list of score columns, e.g. ['drop %', 'energy (lesion)']")
    if not all(hasattr(t, "columns") for t in (scores4, scores3)):
        return wrong(f"{len(names)} score(s) named, but which gaps change is measured, not "
                     "known in advance: the check needs the two tables of per-image scores.",
                     "call check_04_layer3_ranking(changed, scores, scores3, lesions).")
    twice = passed_twice(scores4, scores3, "table of scores", "tables of scores")
    if twice is not None:
        return twice
    shared = [c for c in scores4.columns if c in scores3.columns and c not in ("method", "image")]
    pair = ("Grad-CAM++", "Grad-CAM")
    if scores4[shared].equals(scores3[shared]) if shared else True:
        return wrong("the two tables hold the same scores: one layer passed twice?",
                     "score the `layer3` maps (maps3) for the second table.")
    table = difference_of_differences(scores3, scores4, *pair, shared, seed=seed, groups=groups)
    labels = {as_label(c): c for c in table.index}
    unknown = names - labels.keys()
    if unknown:
        return wrong(f"{len(unknown)} name(s) are not score columns of both tables.",
                     "use the row names of the table, e.g. 'energy (lesion)'.")
    sides = {as_label(c): interval_side(row["low"], row["high"]) for c, row in table.iterrows()}
    unsure = {as_label(c) for c, row in table.iterrows()
              if min(abs(row["low"]), abs(row["high"])) < BORDERLINE * (row["high"] - row["low"])}
    expected = {c for c, side in sides.items() if side}
    if not (expected ^ names) - unsure:
        what = (f"the gap changes on {len(expected)} of {len(table)} scores" if expected else
                f"the gap changes on none of the {len(table)} scores")
        return correct(f"{what}: there the interval of (layer3 gap - layer4 gap) excludes 0.")
    marginal = [{as_label(c): interval_side(r["low"], r["high"]) for c, r in
                 paired_scores(t, *pair, shared, seed=seed, groups=groups).iterrows()}
                for t in (scores4, scores3)]
    fallacy = {c for c in marginal[0] if marginal[0][c] != marginal[1][c]}
    if names == fallacy and fallacy != expected:
        return wrong("these are the scores whose interval excludes 0 at one layer and not at "
                     "the other: a difference in significance, not a significant difference.",
                     "test the change itself: stats.difference_of_differences(scores3, scores, "
                     "'Grad-CAM++', 'Grad-CAM', groups=lesions), and read where its interval "
                     "excludes 0.")
    missing, extra = expected - names - unsure, names - expected - unsure
    return wrong(f"{len(missing)} score(s) whose gap changes are missing and {len(extra)} "
                 "listed do not change.",
                 "a gap changes where the interval of (layer3 gap - layer4 gap) excludes 0.")
