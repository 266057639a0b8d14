"""The checks of notebook 05's exercises (measuring explanation quality)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..course.answers import (
    Feedback,
    as_label,
    correct,
    exercise_check,
    unreadable,
    wrong,
)
from .guards import interval_side, one_answer, passed_twice


@exercise_check("05, exercise 1")
def check_05_average_drop_all_ones(average_drop: Any) -> Feedback:
    """Exercise 1: the Average Drop (in %) of a map of all ones."""
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


@exercise_check("05, exercise 2")
def check_05_layer3_ranking(changed: Any, scores4: Any = None, scores3: Any = None,
                            groups: Any = None, seed: int = 0) -> Feedback:
    """Exercise 2: the score columns on which the gap Grad-CAM++ minus Grad-CAM changes
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
                     "call check_05_layer3_ranking(changed, scores, scores3, lesions).")
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
