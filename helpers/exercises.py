"""Exercise checks: a student passes an answer, a check says whether it is right.

One ``check_NN_name`` function per exercise with a computable answer (``NN`` is the notebook).
Every check returns a :class:`Feedback`: ``ok`` (bool), a ``message`` that says what is right or
what is off, and a ``hint`` towards the fix. A check never prints the solution and never raises:
an answer it cannot read (a string where a number belongs, ``None``, a tensor of the wrong
shape) gets a :class:`Feedback` that says what form was expected.

The object shows itself as Markdown in JupyterLab and Colab when it is the last line of a cell
(``_repr_markdown_``), as plain text under ``print`` (``__str__``), and is truthy when correct,
so ``assert check_01_site(answer)`` works in a test.

Answers are read tolerantly by :func:`as_numbers` / :func:`as_number`: a Python or NumPy number,
a 0-d or n-d tensor (PyTorch, detached and moved to the CPU), a list or tuple, a pandas Series or
DataFrame column, a dict's values, or a string such as ``"0.35"``, ``"35 %"`` or ``"1,954"``.

To write a new check: decorate a function with :func:`~helpers.answers.exercise_check`; inside,
read the answer with :func:`~helpers.answers.as_number` (``None`` when it cannot be read) and
return :func:`~helpers.answers.correct` or :func:`~helpers.answers.wrong` (the framework lives
in :mod:`helpers.answers`; its names are re-exported here). Anything that raises inside the
function becomes a "could not read" feedback.

Checks for notebooks 01-03 come first; those for 04-06 follow the marker line below them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .course.answers import (
    Feedback,
    as_label,
    as_number,
    as_numbers,
    correct,
    exercise_check,
    unreadable,
    wrong,
)

__all__ = [
    "Feedback",
    "as_number",
    "as_numbers",
    "as_label",
    "correct",
    "wrong",
    "exercise_check",
    "check_01_site",
    "check_01_leakage",
    "check_01_age_medians",
    "check_02_unweighted",
    "check_02_image_split",
    "check_02_threshold",
    "check_03_other_implementation",
    "check_03_second_derivative",
    "check_03_layer3_correlation",
    "check_03_logit_scale",
    "check_04_layercam_is_positive_cam",
    "check_04_score_cam_top_k",
    "check_04_average_drop_all_ones",
    "check_04_layer3_ranking",
    "check_05_ruler",
    "check_05_score_cam",
    "check_05_ssim_floors",
    "check_05_fair_ink",
    "check_05_choice",
    "check_06_contrast_overlap",
    "check_06_contrastive_is_cam",
    "check_06_exact_score_cam",
    "check_08_ig_steps",
    "check_08_randomisation",
    "check_08_occlusion_passes",
]


# --- notebook 01 ------------------------------------------------------------------------------


@exercise_check("01, exercise 1")
def check_01_site(answer: Any, meta: Any = None) -> Feedback:
    """Exercise 1: the body site (``localization``) with the highest share of melanoma images.

    ``answer``: the site's name (a string, or a one-element list/Index). ``meta``: the metadata
    DataFrame with ``dx`` and ``localization`` (the reference is computed from it; without it the
    answer is checked against the sites of HAM10000's packaged metadata).
    """
    if meta is None:
        from helpers.data import packaged_metadata

        meta = packaged_metadata()
    shares = meta["dx"].eq("mel").groupby(meta["localization"]).mean()
    sites = {as_label(s): s for s in shares.index}
    got = as_label(answer)
    if got not in sites:
        return wrong(f"{answer!r} is not a value of the `localization` column.",
                     "the answer is one of `meta['localization'].unique()`.")
    best = shares.max()
    if math.isclose(float(shares[sites[got]]), float(best)):
        return correct(f"{sites[got]!r} has the highest melanoma share per image; "
                       "now look at how many images it has, and at the interval.")
    if shares[sites[got]] >= shares.sort_values().iloc[-3]:
        return wrong(f"{sites[got]!r} is among the top sites, but not the first.",
                     "sort the share per site (the mean of `dx == 'mel'`), not the count.")
    return wrong(f"{sites[got]!r} is not near the top.",
                 "a share is melanoma images / all images of that site: group by "
                 "`localization` and take the mean of `dx == 'mel'`, not the count.")


@exercise_check("01, exercise 2")
def check_01_leakage(counts: Any) -> Feedback:
    """Exercise 2: leaked test images for test fractions 0.1, 0.2, 0.3 (three counts, in order).

    Accepts a list, tuple, array, tensor or dict of three counts. Checks that they are whole,
    positive and grow with the test fraction.
    """
    values = as_numbers(counts)
    if values is None or values.size != 3:
        return unreadable(counts, "three counts, one per test fraction 0.1, 0.2, 0.3")
    if np.any(values < 0) or not np.allclose(values, np.round(values)):
        return wrong("counts of images are whole and non-negative.",
                     "use `shared_lesion_count(train, test)`, which counts test images.")
    if not np.all(np.diff(values) > 0):
        return wrong("the counts should grow with the test fraction.",
                     "pass them in the order 0.1, 0.2, 0.3, each from its own split "
                     "(same seed, only `test=` changes).")
    return correct("the leak grows with the test part; now divide each count by its test size: "
                   "does the share grow as well?")


@exercise_check("01, exercise 3")
def check_01_age_medians(medians: Any) -> Feedback:
    """Exercise 3: the median ages of the split's parts (a dict ``{"train": .., "val": .., ...}``
    or a list of two or three numbers). Correct when they are ages and within 5 years."""
    values = as_numbers(medians)
    if values is None or not 2 <= values.size <= 3:
        return unreadable(medians, "two or three median ages (train, [val,] test)")
    if np.any(np.isnan(values)) or np.any((values < 0) | (values > 100)):
        return wrong("a median age lies between 0 and 100 years.",
                     "take `part['age'].median()` (it skips missing ages).")
    if np.ptp(values) > 5:
        return wrong(f"medians {np.ptp(values):.0f} years apart: not what a split stratified "
                     "by diagnosis gives.", "compute each median on its own part of "
                     "`lesion_split`, the one notebook 01 made.")
    return correct("the medians are close: stratifying by diagnosis keeps the ages close.")


# --- notebook 02 ------------------------------------------------------------------------------


@exercise_check("02, exercise 1")
def check_02_unweighted(weighted: Any, unweighted: Any) -> Feedback:
    """Exercise 1: balanced accuracy of the weighted run and of ``balance_classes=False``.

    Each may be a number or the ``evaluate(...)`` dict. Checks that both are balanced
    accuracies (in [0, 1]) and says which is higher; there is no single right number.
    """
    pair = []
    for value in (weighted, unweighted):
        if isinstance(value, Mapping) and "balanced_accuracy" in value:
            value = value["balanced_accuracy"]
        number = as_number(value)
        if number is None or not 0 <= number <= 1:
            return unreadable(value, "a balanced accuracy between 0 and 1 (or evaluate()'s dict)")
        pair.append(number)
    diff = pair[0] - pair[1]
    side = "higher" if diff > 0 else "not higher"
    return correct(f"the weighted run's balanced accuracy is {side} by {abs(diff):.3f}; "
                   "compare the `df` and `vasc` recalls too, where the weights act.")


@exercise_check("02, exercise 2")
def check_02_image_split(leaked: Any, n_test: Any = None) -> Feedback:
    """Exercise 2: how many test images of the image split show a training lesion.

    ``leaked``: the count printed by ``shared_lesion_count``; ``n_test`` (optional): the test
    part's size, to check that the count fits in it.
    """
    count = as_number(leaked)
    if count is None or count < 0 or count != round(count):
        return unreadable(leaked, "a whole number of images")
    size = as_number(n_test) if n_test is not None else None
    if size is not None and count > size:
        return wrong(f"{count:.0f} leaked images but the test part has {size:.0f}.",
                     "count test images whose `lesion_id` is in training, not pairs.")
    if count == 0:
        return wrong("no leak: that is what `lesion_split` gives, not `random_image_split`.",
                     "pass the split made by `random_image_split`.")
    return correct("a random image split puts siblings of training lesions into the test part.")


@exercise_check("02, exercise 3")
def check_02_threshold(t: Any, score: Any = None, truth: Any = None, *,
                       target: float = 0.95) -> Feedback:
    """Exercise 3: the largest threshold of the grid whose sensitivity is still ``>= target``.

    ``t``: the chosen threshold. ``score`` and ``truth`` (optional): the **validation** malignant
    scores and labels the threshold was chosen on; with them the choice is checked on the grid
    ``linspace(0.05, 0.95, 19)``, without them only that ``t`` is a threshold in (0, 1).
    """
    value = as_number(t)
    if value is None:
        return unreadable(t, "one threshold between 0 and 1")
    if value > 1 and value <= 100:
        return wrong("a threshold on a probability lies in (0, 1).",
                     "if you wrote a percentage, divide by 100.")
    if not 0 < value < 1:
        return wrong(f"t={value:g} is not a probability threshold in (0, 1).",
                     "the score is a sum of probabilities, so useful thresholds lie in (0, 1).")
    if score is None or truth is None:
        return correct(f"t={value:.2f} is a threshold; pass the validation score and truth to "
                       "check that it is the largest with sensitivity >= "
                       f"{target:.0%}.")
    s, y = as_numbers(score), as_numbers(truth)
    if s is None or y is None or s.size != y.size:
        return unreadable(score, "score and truth of equal length (validation split)")
    y = y.astype(bool)
    if not y.any():
        return wrong("`truth` has no malignant case.",
                     "truth is `np.isin(labels, mal)` on the validation split.")
    grid = np.linspace(0.05, 0.95, 19)
    sens = np.array([(s[y] > g).mean() for g in grid])
    meets = grid[sens >= target]
    if not np.isclose(grid, value).any():
        return wrong(f"t={value:g} is not on the grid 0.05, 0.10, ..., 0.95.",
                     "take your t from `np.linspace(0.05, 0.95, 19)`.")
    got_sens = float((s[y] > value).mean())
    if got_sens < target:
        return wrong(f"at t={value:.2f} sensitivity on these cases is {got_sens:.2f}, below "
                     f"{target:.2f}.", "lower t: a smaller threshold flags more lesions.")
    if meets.size and value < meets.max() - 1e-9:
        return wrong(f"t={value:.2f} reaches the sensitivity, but a larger t does too.",
                     "take the largest t that still reaches it: it keeps more specificity.")
    return correct(f"t={value:.2f} is the largest grid threshold with sensitivity >= "
                   f"{target:.0%} on these cases; report its test sensitivity, measured once.")


# --- notebook 03 ------------------------------------------------------------------------------


@exercise_check("03, exercise 1")
def check_03_other_implementation(max_abs_diff: Any, largest_weight: Any = None) -> Feedback:
    """Exercise 1: the largest absolute difference between another implementation's weights and
    the autograd reference. ``largest_weight`` (optional) makes it relative."""
    diff = as_number(max_abs_diff)
    if diff is None or diff < 0 or not math.isfinite(diff):
        return unreadable(max_abs_diff, "one non-negative number: abs(theirs - ref).max()")
    scale = as_number(largest_weight) if largest_weight is not None else None
    rel = diff / scale if scale else None
    size = f"{rel:.1%} of the largest weight" if rel is not None else f"{diff:.2g}"
    if (rel if rel is not None else diff) < 1e-4:
        return correct(f"the two agree (difference {size}): same formula, eps negligible.")
    if rel is not None and rel > 0.5:
        return wrong(f"they differ by {size}: more than an eps explains.",
                     "compare with `w_eq10 / e_S` (eq. 19 divides out exp(S)) on the same `A_toy`.")
    return correct(f"they differ by {size}: look for a constant added to a denominator "
                   "(eps) and see what scaling the head's weights does to it.")


@exercise_check("03, exercise 2")
def check_03_second_derivative(d2s_max: Any) -> Feedback:
    """Exercise 2: the largest absolute second derivative of ``S`` (not ``exp(S)``) w.r.t. ``A``."""
    value = as_number(d2s_max)
    if value is None:
        return unreadable(d2s_max, "one number: the largest |second derivative|")
    if abs(value) < 1e-9:
        return correct("it is zero: S is linear in A here, so eq. 10 becomes 0/0.")
    return wrong(f"{value:.3g} is not zero.",
                 "differentiate S (the logit), not exp(S); then ask what a linear head's second "
                 "derivative is.")


@exercise_check("03, exercise 3")
def check_03_layer3_correlation(correlations: Any) -> Feedback:
    """Exercise 3: the per-image correlations of the blog's and the paper's map at ``layer3``
    (a list, array or tensor; ``nan`` stands for a map that is zero everywhere)."""
    values = as_numbers(correlations)
    if values is None:
        return unreadable(correlations, "one correlation per image")
    finite = values[np.isfinite(values)]
    if np.any(np.abs(finite) > 1 + 1e-6):
        return wrong("a correlation lies in [-1, 1].",
                     "use `torch.corrcoef` on the flattened maps.")
    if finite.size == 0:
        return wrong("every correlation is nan: both maps are zero everywhere.",
                     "use `GradCAMPlusPlus(model, 'layer3')` on the trained model of section 6b.")
    if np.all(finite > 1 - 1e-6):
        return wrong("all correlations are 1: the two maps are the same.",
                     "check that the layer is `layer3`, where the gradient varies over positions.")
    return correct(f"median correlation {np.median(finite):.2f}: at `layer3` the blog's "
                   "all-or-nothing ReLU and the paper's per-channel one part ways.")


@exercise_check("03, exercise 4")
def check_03_logit_scale(method: Any) -> Feedback:
    """Exercise 4: which method's energy shares change when the head's weights are rescaled
    (a name such as ``"Grad-CAM++"``, or a list of names)."""
    names = method if isinstance(method, (list, tuple, set)) else [method]
    labels = {as_label(m) for m in names}
    known = {"cam", "gradcam", "gradcam++", "gradcamplusplus", "gradcampp", "gpp"}
    if not labels or not labels <= known:
        return wrong(f"could not read {method!r} as method names.",
                     "name one or more of 'CAM', 'Grad-CAM', 'Grad-CAM++'.")
    plus = labels & {"gradcam++", "gradcamplusplus", "gradcampp", "gpp"}
    if plus and len(labels) == len(plus):
        return correct("only Grad-CAM++ changes: its weights depend on w times the mean "
                       "activation, not on w alone.")
    if plus:
        return wrong("one of those does not change.",
                     "scaling w scales the CAM and Grad-CAM maps; what does normalisation do?")
    return wrong("that one does not change.",
                 "which method's weight has w both above and below the fraction line?")


# --- notebooks 04-06 ---
# Where the expected values of 04-06 come from (derivations in the notebooks, not one run):
# * 04, exercise 1: at ``layer4`` behind GAP + linear, LayerCAM's weight at every position is
#   :math:`\\mathrm{ReLU}(w^c_k)/Z`, so LayerCAM is CAM with the negative weights set to zero:
#   the largest absolute difference of the normalised maps is float rounding (< 1e-4).
# * 04, exercise 2: ``top_k`` scores ``k`` of the ``K`` channels, so it can be at most about
#   ``K / k`` times faster; a useful approximation keeps a clearly positive rank correlation.
# * 04, exercise 3: a map of all ones leaves the image unchanged, :math:`O = Y`, so
#   Average Drop :math:`= 100 \\cdot \\frac1N\\sum \\max(0, Y - O)/Y = 0`.
# * 04, exercise 4: a paired comparison ranks two methods on a score only where its interval
#   excludes 0; the ranking changes between two layers on the scores whose interval excludes 0
#   at one layer and not at the other, or on opposite sides. Which scores those are is measured
#   (it depends on the model), so the check recomputes them from the two paired tables.
# * 06, exercise 1: the raw maps for ``c`` rather than ``d`` and ``d`` rather than ``c`` are
#   negatives of each other (:math:`y^c - y^d = -(y^d - y^c)`), so after the ReLU each grid cell
#   is positive in at most one; upsampling spreads them over cell borders only.
# * 06, exercise 3: at ``layer4`` the contrastive weights are :math:`(w^c_k - w^d_k)/Z`, i.e. CAM
#   with the row :math:`w^c - w^d`: the two maps agree to float rounding.
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
        return unreadable(max_abs_diff, "one number: the largest absolute difference")
    if value < 0:
        return wrong(f"{value:.3g} is negative; an absolute difference is not.",
                     "take `(a - b).abs().max()`.")
    if value < ROUNDING:
        return correct(f"{value:.1e}: float rounding, so LayerCAM is positive-weight CAM here.")
    return wrong(f"{value:.3g} is more than float rounding.",
                 "clamp the head's weights with `clamp_min(0)` and compare at `layer4`, the "
                 "layer right before the GAP + linear head.")


@exercise_check("04, exercise 2", timed=True)
def check_04_score_cam_top_k(speedup: Any, rank_correlation: Any, channels: int = 512,
                             top_k: int = 64) -> Feedback:
    """Exercise 2: how many times faster ``top_k`` is than exact Score-CAM, and the mean rank
    correlation of the two maps. At most about ``channels / top_k`` times faster."""
    fast, rho = as_number(speedup), as_number(rank_correlation)
    if fast is None or rho is None:
        return unreadable(speedup if fast is None else rank_correlation,
                           "two numbers: the speed-up (exact time / top_k time) and a correlation")
    if not -1 - 1e-9 <= rho <= 1 + 1e-9:
        return wrong(f"a rank correlation lies in [-1, 1]; got {rho:.3g}.",
                     "use `agreement.rank_correlation(approx, exact).mean()`.")
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
        return unreadable(average_drop, "one number: Average Drop in %")
    if abs(value) < 1e-6:
        return correct("0 %: the explanation map is the image itself, so O = Y on every image; "
                       "read Average Drop next to a localisation score.")
    return wrong(f"{value:.3g} % is not 0.",
                 "multiply the image by a map of ones: what is the class probability then?")


def _side(low: float, high: float) -> int:
    """+1 when an interval lies above 0, -1 below, 0 when it includes 0."""
    return 1 if low > 0 else -1 if high < 0 else 0


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


@exercise_check("04, exercise 4")
def check_04_layer3_ranking(changed: Any, paired4: Any = None, paired3: Any = None) -> Feedback:
    """Exercise 4: the score columns on which Grad-CAM++ and Grad-CAM rank differently at
    ``layer3`` than at ``layer4`` (a list of names such as ``["drop %", "energy (lesion)"]``, a
    comma-separated string, a dict or Series of flags; ``[]`` or ``"none"`` for none).

    ``paired4``, ``paired3`` (optional): the two :func:`helpers.stats.paired_scores` tables
    (Grad-CAM++ minus Grad-CAM at each layer). A score counts as changed when its interval
    excludes 0 at one layer and not at the other, or on opposite sides; without the tables the
    check cannot tell, and says so.
    """
    names = _score_names(changed)
    if names is None:
        return unreadable(changed, "a list of score columns, e.g. ['drop %', 'energy (lesion)']")
    if paired4 is None or paired3 is None:
        return wrong(f"{len(names)} score(s) named, but which scores change is measured, not "
                     "known in advance: the check needs the two paired tables.",
                     "call check_04_layer3_ranking(changed, paired, paired3).")
    sides = {}
    for label, table in (("layer4", paired4), ("layer3", paired3)):
        if not all(hasattr(table, attr) for attr in ("index", "loc")):
            return unreadable(table, f"the {label} table of stats.paired_scores")
        sides[label] = {as_label(column): _side(float(table.loc[column, "low"]),
                                                float(table.loc[column, "high"]))
                        for column in table.index}
    shared = sides["layer4"].keys() & sides["layer3"].keys()
    if not shared:
        return wrong("the two tables have no score column in common.",
                     "compute both with stats.paired_scores(..., 'Grad-CAM++', 'Grad-CAM').")
    expected = {c for c in shared if sides["layer4"][c] != sides["layer3"][c]}
    unknown = names - shared
    if unknown:
        return wrong(f"{len(unknown)} name(s) are not score columns of both tables.",
                     "use the row names of the paired tables, e.g. 'energy (lesion)'.")
    missing, extra = expected - names, names - expected
    if not missing and not extra:
        what = (f"{len(expected)} of {len(shared)} scores change" if expected else
                f"none of the {len(shared)} scores changes")
        return correct(f"{what} between the layers; on the others the intervals tell the "
                       "same story at both.")
    return wrong(f"{len(missing)} score(s) that change are missing and {len(extra)} listed "
                 "do not change.",
                 "a score changes where the interval excludes 0 at one layer but not at the "
                 "other, or lies on opposite sides of 0; read the end of each verdict sentence.")


# --- notebook 05 ---
# No single right number: each check tests that the numbers are what the exercise asks for and
# reads them out. "Found" is energy well above the artefact's area (a map that ignores it puts
# about its area's share on it); exercise 3's floors are recomputed from the maps; exercise 4's
# pull compares the same nevi with and without the ink, which a prior shift does not fake.
FOUND_RATIO = 1.5  #: energy on an artefact / its area above which a map "finds" it
LEARNED_DROP = 0.1  #: fall of balanced accuracy (as trained - moved) that says "learned"


def _shares(*pairs: tuple[Any, str]) -> tuple[list[float], Feedback | None]:
    """Each ``(value, what)`` as one share in [0, 1]; else the feedback on the first that is not."""
    out, nan = [], [math.nan] * len(pairs)
    for value, what in pairs:
        number = as_number(value)
        if number is None or math.isnan(number):
            return nan, unreadable(value, f"one number in [0, 1]: {what}")
        if not 0 <= number <= 1:
            hint = ("if you wrote a percentage, divide by 100 (or pass \"35 %\")."
                    if 1 < number <= 100 else "a share is a count divided by a number of images.")
            return nan, wrong(f"{what} is a share in [0, 1]; got {number:g}.", hint)
        out.append(number)
    return out, None


@exercise_check("05, exercise 1")
def check_05_ruler(drop: Any, energy: Any, area: Any) -> Feedback:
    """Exercise 1: ``drop``, the balanced accuracy as trained minus with the ruler moved;
    ``energy``, the maps' mean energy share on the ruler (one number, or one per method);
    ``area``, the ruler's share of the image."""
    fall = as_number(drop)
    if fall is None or not -1 <= fall <= 1:
        return unreadable(drop, "one number in [-1, 1]: balanced accuracy as trained - moved")
    (size,), problem = _shares((area, "the ruler's area"))
    if problem is not None:
        return problem
    if size == 0 or size > 0.5:
        return wrong(f"an area of {size:.0%} is not a ruler's: it covers a few % of the image.",
                     "take the mean of the ruler masks: `ruler_masks.gt(0).float().mean()`.")
    shares = as_numbers(energy)
    if shares is None or np.any(np.isnan(shares)) or np.any((shares < 0) | (shares > 1)):
        return unreadable(energy, "energy shares in [0, 1], one number or one per method")
    learned = "learned the ruler" if fall > LEARNED_DROP else "did not learn the ruler much"
    ratio = float(shares.max()) / size
    found = (f"the maps find it ({ratio:.1f} times its area's share)" if ratio > FOUND_RATIO
             else f"the maps do not single it out ({ratio:.1f} times its area's share, "
                  "about what a map that ignores it gives)")
    return correct(f"balanced accuracy falls by {fall:+.3f} when it moves: the model {learned}; "
                   f"{found}. Compare with the ink's fall in section 2.")


@exercise_check("05, exercise 2")
def check_05_score_cam(spearman_fc: Any, floor: Any) -> Feedback:
    """Exercise 2: Score-CAM's mean Spearman to the trained maps after a random ``fc``, and its
    floor (the higher of part 1's two, for Score-CAM)."""
    rho, base = as_number(spearman_fc), as_number(floor)
    if rho is None or base is None or math.isnan(rho) or math.isnan(base):
        return unreadable(spearman_fc if rho is None else floor,
                           "two numbers: the Spearman after a random fc, and the floor")
    if not (abs(rho) <= 1 + 1e-9 and abs(base) <= 1 + 1e-9):
        return wrong("a rank correlation lies in [-1, 1].", "use `agreement.rank_correlation`.")
    if rho > 1 - 1e-6:
        return wrong("a Spearman of 1 is the trained model against itself.",
                     "take the row of the step `fc` of `sanity.cascade_similarity`.")
    if rho > base:
        return correct(f"{rho:.2f} after a random fc, above its floor {base:.2f}: Score-CAM "
                       "fails like Grad-CAM++: positive weights keep a mix of the same channels.")
    return correct(f"{rho:.2f} after a random fc, at or below its floor {base:.2f}: Score-CAM "
                   "passes here, like Grad-CAM; check `layer4` too.")


@exercise_check("05, exercise 3")
def check_05_ssim_floors(floors: Any, trained: Any, random_a: Any, random_b: Any) -> Feedback:
    """Exercise 3: the SSIM floor of each method (the higher of the two), as a dict or Series
    keyed by method, or a list in the order of ``trained``; ``trained``, ``random_a`` and
    ``random_b``: the maps of part 1 (``{method: (N, H, W) maps}``), from which the check
    computes the floors itself."""
    import torch

    from helpers.agreement import ssim

    if not isinstance(trained, Mapping) or not trained:
        return wrong("`trained` should be part 1's maps, `cascade['trained']`.",
                     "pass `cascade['trained'], random_a, random_b` after your floors.")
    names = list(trained)
    images = {name: float(ssim(m, torch.roll(m, 1, dims=0)).mean()) for name, m in trained.items()}
    models = {name: float(ssim(random_a[name], random_b[name]).mean()) for name in names}
    if hasattr(floors, "items"):  # a dict or a Series, keyed by method
        keyed = dict(floors.items())
        missing = [name for name in names if name not in keyed]
        if missing:
            return wrong(f"no floor for {', '.join(missing)}.",
                         "give one floor per method, keyed by the method's name.")
        got = as_numbers([keyed[name] for name in names])
    else:
        got = as_numbers(floors)
    if got is None or got.size != len(names):
        return unreadable(floors, f"{len(names)} floors, one per method ({', '.join(names)})")
    want = np.maximum(list(images.values()), list(models.values()))
    off = [name for name, g, w in zip(names, got, want, strict=True) if abs(g - w) > 1e-3]
    if not off:
        higher = sum(models[n] > images[n] for n in names)
        return correct(f"the floors match; the two random models' floor is the higher for "
                       f"{higher} of {len(names)} methods. Now compare each step with them.")
    for one, other, pair in ((images, "different-images", "`random_a` against `random_b`"),
                             (models, "two-random-models", "`m` against `m.roll(1, dims=0)`")):
        if np.allclose(got, list(one.values()), atol=1e-3):
            return wrong(f"those are the {other} floors only.",
                         f"compute the other floor too ({pair}) and take the higher of the two.")
    return wrong(f"the floors of {', '.join(off)} differ from the maps' SSIM.",
                 "use `agreement.ssim(...).mean()` on the same pairs as part 1's two floors.")


@exercise_check("05, exercise 4")
def check_05_fair_ink(with_ink: Any, without_ink: Any) -> Feedback:
    """Exercise 4: for the model trained with ink on every class, the share of nevi called
    melanoma with the ink moved onto them (``with_ink``) and on the same lesions without it
    (``without_ink``): the ink's pull is the difference."""
    pair, problem = _shares((with_ink, "the share with the ink"),
                            (without_ink, "the share without the ink"))
    if problem is not None:
        return problem
    pull = pair[0] - pair[1]
    if abs(pull) < LEARNED_DROP:
        return correct(f"{pair[0]:.2f} with the ink, {pair[1]:.2f} without ({pull:+.2f}): the ink "
                       "no longer makes a melanoma; now look at the melanoma recall.")
    if pull > 0:
        return correct(f"{pair[0]:.2f} with the ink, {pair[1]:.2f} without ({pull:+.2f}): the ink "
                       "still pulls towards melanoma; is it really spread over every class?")
    return wrong(f"{pair[0]:.2f} with the ink against {pair[1]:.2f} without: the ink pushes away "
                 "from melanoma, or the two are swapped.",
                 "pass the share on the moved split (ink on the nevi) first.")


@exercise_check("05, exercise 5")
def check_05_choice(mel_recall: Any, inked_called_mel: Any) -> Feedback:
    """Exercise 5: with the ink moved, the melanoma recall and the share of inked
    non-melanoma images called melanoma (two shares in [0, 1])."""
    (recall, inked), problem = _shares(
        (mel_recall, "melanoma recall"),
        (inked_called_mel, "the share of inked non-melanomas called mel"))
    if problem is not None:
        return problem
    if inked > 0.5:
        cue = "the ink: most inked non-melanomas are called melanoma"
    elif recall > 0.25:
        cue = "mostly the lesion: melanomas without ink are still found"
    else:
        cue = "neither reliably: few melanomas are found, and the ink does not decide"
    return correct(f"recall {recall:.2f}, inked non-melanomas called mel {inked:.2f}: the model "
                   f"uses {cue}.")


@exercise_check("06, exercise 1")
def check_06_contrast_overlap(overlap: Any) -> Feedback:
    """Exercise 1: ``sum(min(a, b)) / sum(a)`` for the maps "p rather than t" (``a``) and
    "t rather than p" (``b``), in [0, 1]."""
    value = as_number(overlap)
    if value is None:
        return unreadable(overlap, "one number in [0, 1]")
    if not 0 <= value <= 1 + 1e-9:
        return wrong(f"an overlap share lies in [0, 1]; got {value:.3g}.",
                     "divide `torch.minimum(a, b).sum()` by `a.sum()`.")
    if value < 0.5:
        return correct(f"{value:.2f}: the two maps split the image; what overlap there is lies "
                       "on the borders of the layer's grid cells, after upsampling.")
    return wrong(f"{value:.2f} is a large overlap for two maps whose raw values are opposite.",
                 "pass `contrast_idx=t` for the first map and `contrast_idx=p` for the second.")


@exercise_check("06, exercise 2", timed=True)
def check_06_exact_score_cam(exact_ms: Any, top_k_ms: Any, channels: int = 512,
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


# --- notebook 08 (beyond CAM): each check recomputes its answer from what it is given ---


@exercise_check("08, exercise 1")
def check_08_ig_steps(steps: Any, deltas: Any) -> Feedback:
    """Exercise 1: the fewest steps of ``deltas`` (steps -> |delta| / |F(x) - F(x')|) <= 0.05."""
    table, got = {int(k): float(v) for k, v in dict(deltas).items()}, as_number(steps)
    if got is None or int(got) not in table:
        return wrong(f"{steps!r} is not a step count tried, {sorted(table)}.", "use a key.")
    within = [k for k, v in table.items() if v <= 0.05]
    if int(got) == (min(within) if within else max(table)):
        return correct(f"{int(got)} steps: the first with the delta within 5 % of F(x) - F(x').")
    if int(got) in within:
        return wrong(f"{int(got)} steps are within 5 %, but fewer are too.", "take the fewest.")
    return wrong(f"at {int(got)} steps the delta is {table[int(got)]:.1%} of F(x) - F(x').",
                 "compare |delta| / |F(x) - F(x')| with 0.05 for every count.")


@exercise_check("08, exercise 2")
def check_08_randomisation(names: Any, table: Any) -> Feedback:
    """Exercise 2: the methods passing on ``table`` (``cards.randomisation_table``)."""
    passing = set(table.loc[table["below"], "method"])
    given = {str(n) for n in ([names] if isinstance(names, str) else list(names))}
    if given - set(table["method"]):
        return wrong(f"{sorted(given - set(table['method']))} are not in the table.", "see it.")
    if given == passing:
        return correct(f"{len(passing)} methods pass; passing is necessary, not sufficient.")
    if given - passing:
        return wrong(f"{sorted(given - passing)} never have the whole interval below the floor.",
                     "a mean below the floor is not enough: use the `below` column.")
    return wrong(f"{len(passing - given)} passing method(s) are missing.",
                 "a method passes at its first step with `below` True.")


@exercise_check("08, exercise 3")
def check_08_occlusion_passes(passes: Any, size: int = 112, window: int = 8,
                              stride: int = 4) -> Feedback:
    """Exercise 3: ``((size - window) // stride + 1) ** 2`` occluded images plus the image."""
    got, side = as_number(passes), (size - window) // stride + 1
    if got is None:
        return unreadable(passes, "one whole number of images")
    if got == side * side + 1:
        return correct(f"{side} x {side} positions and the image itself: {side * side + 1}.")
    hint = ("the unoccluded image is scored too." if got == side * side else
            "count positions per side, (size - window) // stride + 1, then square.")
    return wrong(f"{got:g} is not the count for a {window}-px patch moved by {stride} px.", hint)
