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

The checks follow the notebooks' order, 01 to 08. NaN and inf are never a right answer,
and one map or table passed for the two a comparison needs is never a comparison.
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
    "blog_and_paper_correlations",
    "check_04_layercam_is_positive_cam",
    "check_04_score_cam_top_k",
    "check_04_average_drop_all_ones",
    "check_04_layer3_ranking",
    "check_05_ruler",
    "check_05_score_cam",
    "check_05_ssim_floors",
    "check_05_fair_ink",
    "check_05_choice",
    "check_07_contrast_overlap",
    "check_07_contrastive_is_cam",
    "check_07_exact_score_cam",
    "check_08_smaller_copy",
    "check_08_alpha_positions",
    "check_06_ig_steps",
    "check_06_randomisation",
    "check_06_occlusion_passes",
]


# --- shared guards ------------------------------------------------------------------------------
# NaN and inf are never an answer, and one map or table passed for two is never a comparison.


def _finite(value: Any, expected: str, size: int | None = None) -> tuple[np.ndarray | None,
                                                                          Feedback | None]:
    """``value`` as a finite float array (of ``size`` numbers); else the feedback that says why."""
    values = as_numbers(value)
    if values is None or (size is not None and values.size != size):
        return None, unreadable(value, expected)
    if not np.all(np.isfinite(values)):
        return None, wrong(f"{_count_bad(values)} of the numbers passed are NaN or infinite: "
                           "no measured answer is.",
                           "print the values before passing them; a NaN comes from an empty "
                           "group or a division by zero.")
    return values, None


def _count_bad(values: np.ndarray) -> int:
    return int((~np.isfinite(values)).sum())


def _one(value: Any, expected: str) -> tuple[float | None, Feedback | None]:
    values, problem = _finite(value, expected, size=1)
    return (None, problem) if problem is not None else (float(values[0]), None)


def _twice(first: Any, second: Any, what: str, plural: str = "") -> Feedback | None:
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


def _array(value: Any) -> np.ndarray:
    """A tensor (detached, on the CPU) or array-like as a float NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


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
    counts = meta["dx"].eq("mel").groupby(meta["localization"]).sum()
    sites = {as_label(s): s for s in shares.index}
    got = as_label(answer)
    if got not in sites:
        return wrong(f"{answer!r} is not a value of the `localization` column.",
                     "the answer is one of `meta['localization'].unique()`.")
    best = shares.max()
    if math.isclose(float(shares[sites[got]]), float(best)):
        return correct(f"{sites[got]!r} has the highest melanoma share per image; "
                       "now look at how many images it has, and at the interval.")
    if sites[got] == counts.idxmax():
        return wrong(f"{sites[got]!r} has the most melanoma images, not the highest share.",
                     "a share is melanoma images / all images of that site: the mean of "
                     "`dx == 'mel'` per `localization`, not the count.")
    if shares[sites[got]] >= shares.sort_values().iloc[-3]:
        return wrong(f"{sites[got]!r} is among the top sites, but not the first.",
                     "sort the share per site (the mean of `dx == 'mel'`), not the count.")
    return wrong(f"{sites[got]!r} is not near the top.",
                 "a share is melanoma images / all images of that site: group by "
                 "`localization` and take the mean of `dx == 'mel'`, not the count.")


LEAK_FRACTIONS = (0.1, 0.2, 0.3)  #: the test fractions of 01's exercise 2


@exercise_check("01, exercise 2")
def check_01_leakage(counts: Any, meta: Any = None, seed: int = 0, val: float = 0.1) -> Feedback:
    """Exercise 2: leaked test images for test fractions 0.1, 0.2, 0.3 (three counts, in order).

    ``counts``: a list, tuple, array, tensor or dict of three counts. ``meta``: the metadata the
    splits were made from (default: HAM10000's packaged metadata); the check remakes
    ``random_image_split(meta, val=val, test=t, seed=seed)`` for each ``t`` and counts the test
    images whose lesion is also in training (:func:`helpers.data.shared_lesion_count`).
    """
    from helpers.data import packaged_metadata, random_image_split, shared_lesion_count

    values, problem = _finite(counts, "three counts, one per test fraction 0.1, 0.2, 0.3", 3)
    if problem is not None:
        return problem
    if np.any(values < 0) or not np.allclose(values, np.round(values)):
        return wrong("counts of images are whole and non-negative.",
                     "use `shared_lesion_count(train, test)`, which counts test images.")
    meta = packaged_metadata() if meta is None else meta
    splits = [random_image_split(meta, val=val, test=t, seed=seed) for t in LEAK_FRACTIONS]
    want = np.array([shared_lesion_count(s["train"], s["test"]) for s in splits], dtype=float)
    if np.array_equal(values, want):
        return correct("the leak grows with the test part; now divide each count by its test "
                       "size: does the share grow as well?")
    if np.array_equal(values, want[::-1]):
        return wrong("these are the counts in the reverse order.",
                     "pass them in the order of the test fractions 0.1, 0.2, 0.3.")
    if not values.any():
        return wrong("no leak at all: that is what `lesion_split` gives, not a random image "
                     "split.", "split with `data.random_image_split(meta, val=0.1, test=t)`.")
    lesions = [s["test"].loc[s["test"]["lesion_id"].isin(set(s["train"]["lesion_id"])),
                             "lesion_id"].nunique() for s in splits]
    if np.array_equal(values, lesions):
        return wrong("these count leaked lesions; the exercise counts leaked test images.",
                     "use `shared_lesion_count(train, test)`, which counts test images.")
    return wrong("the counts differ from those of `random_image_split` on this table.",
                 f"split with `val={val}` and `seed={seed}`, one split per test fraction, "
                 "and count with `shared_lesion_count(train, test)`.")


@exercise_check("01, exercise 3")
def check_01_age_medians(medians: Any, split: Any = None) -> Feedback:
    """Exercise 3: the median ages of the parts of ``split``, the ``lesion_split`` notebook 01
    made: a dict ``{"train": .., "val": .., "test": ..}`` or a list in the split's order (two
    numbers: train and test). The check recomputes each median (missing ages skipped)."""
    if not isinstance(split, Mapping) or not all(hasattr(p, "columns") for p in split.values()):
        return wrong("the check needs the split the medians come from.",
                     "call check_01_age_medians(medians, lesion_split).")
    want = {name: float(part["age"].median()) for name, part in split.items()}
    if hasattr(medians, "items") and hasattr(medians, "index"):  # a Series keyed by part
        medians = dict(medians.items())
    if isinstance(medians, Mapping):
        unknown = [name for name in medians if name not in want]
        if unknown:
            return wrong(f"{unknown} are not parts of the split.",
                         f"key the medians by the split's parts: {list(want)}.")
        names, got_raw = list(medians), list(medians.values())
    else:
        got_raw = medians
        names = list(want) if as_numbers(medians) is None or as_numbers(medians).size != 2 \
            else ["train", "test"]
    got, problem = _finite(got_raw, "one median age per part of the split", len(names))
    if problem is not None:
        return problem
    if not {"train", "test"} <= set(names):
        return wrong("the exercise compares the train and test parts.",
                     "give a median for train and for test (and val if you like).")
    means = {name: float(part["age"].mean()) for name, part in split.items()}
    off = [n for n, g in zip(names, got, strict=True) if abs(g - want[n]) > 0.01]
    if not off:
        gap = max(want[n] for n in names) - min(want[n] for n in names)
        why = ("stratifying by diagnosis keeps the ages close" if gap <= 5 else
               "a split by lesion and diagnosis does not fix the ages; compare their spread too")
        return correct(f"the medians lie {gap:g} years apart: {why}.")
    if all(abs(g - means[n]) < 0.01 for n, g in zip(names, got, strict=True)):
        return wrong("these are mean ages, not medians.", "take `part['age'].median()`.")
    return wrong(f"the median of {', '.join(off)} differs from that part's ages.",
                 "compute each median on its own part of `lesion_split`, in the order "
                 "train, val, test (or as a dict keyed by part).")


# --- notebook 02 ------------------------------------------------------------------------------


def _evaluated(value: Any, what: str) -> tuple[dict | None, Feedback | None]:
    """``value`` as a result of :func:`helpers.train.evaluate` whose numbers agree with its own
    confusion matrix; else the feedback that says what is off."""
    keys = ("accuracy", "balanced_accuracy", "confusion", "per_class")
    if not isinstance(value, Mapping) or not all(key in value for key in keys):
        return None, wrong(f"{what}: expected the dict of `evaluate(*predict(model, "
                           "loaders['test']))`, not a number or a string.",
                           "pass evaluate()'s dict: the check reads the confusion matrix.")
    confusion = np.asarray(value["confusion"], dtype=float)
    support = confusion.sum(axis=1)
    present = support > 0
    accuracy = np.trace(confusion) / confusion.sum()
    balanced = float(np.mean(np.diag(confusion)[present] / support[present]))
    numbers = np.array([value["accuracy"], value["balanced_accuracy"]], dtype=float)
    if not np.all(np.isfinite(numbers)) or not np.allclose(numbers, [accuracy, balanced],
                                                            atol=1e-9):
        return None, wrong(f"{what}: its accuracy or balanced accuracy does not match its "
                           "confusion matrix.", "pass evaluate()'s dict as it came, unedited.")
    return dict(value), None


@exercise_check("02, exercise 1")
def check_02_unweighted(weighted: Any, unweighted: Any) -> Feedback:
    """Exercise 1: the test metrics of the weighted run (``metrics``) and of the run trained
    with ``balance_classes=False``: two dicts of :func:`helpers.train.evaluate`, on the same
    test split. The check reads accuracy and balanced accuracy from their confusion matrices."""
    pair = []
    for value, what in ((weighted, "the weighted run"), (unweighted, "the unweighted run")):
        result, problem = _evaluated(value, what)
        if problem is not None:
            return problem
        pair.append(result)
    twice = _twice(weighted, unweighted, "run's metrics", "runs' metrics")
    if twice is not None:
        return twice
    first, second = (np.asarray(r["confusion"]) for r in pair)
    if not np.array_equal(first.sum(axis=1), second.sum(axis=1)):
        return wrong("the two runs were scored on different images (their class counts "
                     "differ).", "evaluate both on `loaders['test']`, the test split.")
    if np.array_equal(first, second):
        return wrong("the two runs predict exactly the same: one run passed twice?",
                     "train a second model with `fit(..., balance_classes=False)`.")
    rare = [k for k in ("df", "vasc") if k in pair[0]["per_class"].index]
    recall = {k: float(pair[0]["per_class"].loc[k, "recall"] - pair[1]["per_class"].loc[k,
                                                                                        "recall"])
              for k in rare}
    diff = pair[0]["balanced_accuracy"] - pair[1]["balanced_accuracy"]
    acc = pair[0]["accuracy"] - pair[1]["accuracy"]
    return correct(f"weighted minus unweighted: balanced accuracy {diff:+.3f}, accuracy "
                   f"{acc:+.3f}, recall " + ", ".join(f"{k} {v:+.2f}" for k, v in recall.items())
                   + "; one test split, so read these gaps as one run's, not as a law.")


@exercise_check("02, exercise 2")
def check_02_image_split(leaked: Any, image_splits: Any = None) -> Feedback:
    """Exercise 2: how many test images of the image split show a training lesion.

    ``leaked``: the count printed by ``shared_lesion_count``; ``image_splits``: the split it was
    counted on (``random_image_split``'s dict), from which the check recounts it.
    """
    from helpers.data import shared_lesion_count

    count, problem = _one(leaked, "a whole number of images")
    if problem is not None:
        return problem
    if count < 0 or count != round(count):
        return unreadable(leaked, "a whole number of images")
    if not isinstance(image_splits, Mapping) or not {"train", "test"} <= set(image_splits):
        return wrong("the check needs the split the count comes from.",
                     "call check_02_image_split(count, image_splits).")
    want = shared_lesion_count(image_splits["train"], image_splits["test"])
    if want == 0:
        return wrong("this split puts no lesion in both train and test: that is "
                     "`lesion_split`, not an image split.",
                     "split with `random_image_split(df, seed=cfg.seed)`.")
    if count == want:
        return correct(f"{want} of {len(image_splits['test'])} test images show a training "
                       "lesion: a random image split puts siblings of training lesions into "
                       "the test part.")
    if "val" in image_splits and count == shared_lesion_count(image_splits["train"],
                                                              image_splits["val"]):
        return wrong("that is the validation part's count.", "count the test part.")
    return wrong(f"{count:.0f} is not the number of test images whose lesion is in training.",
                 "count test images whose `lesion_id` is in training, not pairs or lesions.")


THRESHOLD_GRID = np.linspace(0.05, 0.95, 19)  #: 02's exercise 3 grid of thresholds


@exercise_check("02, exercise 3")
def check_02_threshold(t: Any, score: Any = None, truth: Any = None, *,
                       target: float = 0.95) -> Feedback:
    """Exercise 3: the largest threshold of the grid whose sensitivity is still ``>= target``.

    ``t``: the chosen threshold. ``score`` and ``truth``: the **validation** malignant scores
    and labels the threshold was chosen on; the check remakes the choice on the grid
    ``linspace(0.05, 0.95, 19)`` (a lesion is flagged when its score exceeds ``t``).
    """
    value, problem = _one(t, "one threshold between 0 and 1")
    if problem is not None:
        return problem
    if 1 < value <= 100:
        return wrong("a threshold on a probability lies in (0, 1).",
                     "if you wrote a percentage, divide by 100.")
    if not 0 < value < 1:
        return wrong(f"t={value:g} is not a probability threshold in (0, 1).",
                     "the score is a sum of probabilities, so useful thresholds lie in (0, 1).")
    if score is None or truth is None:
        return wrong(f"t={value:.2f} cannot be checked without the data it was chosen on.",
                     "call check_02_threshold(t, val_score, val_truth).")
    s, problem = _finite(score, "the validation scores, one per image")
    if problem is not None:
        return problem
    y = as_numbers(truth)
    if y is None or y.size != s.size:
        return unreadable(truth, "truth of the same length as score (validation split)")
    y = y.astype(bool)
    if not y.any() or y.all():
        return wrong("`truth` needs malignant and benign cases.",
                     "truth is `np.isin(labels, mal)` on the validation split.")
    if not np.isclose(THRESHOLD_GRID, value).any():
        return wrong(f"t={value:g} is not on the grid 0.05, 0.10, ..., 0.95.",
                     "take your t from `np.linspace(0.05, 0.95, 19)`.")
    sens = np.array([(s[y] > g).mean() for g in THRESHOLD_GRID])
    meets = THRESHOLD_GRID[sens >= target]
    got_sens = float((s[y] > value).mean())
    if got_sens < target:
        spec = float((s[~y] <= value).mean())
        specific = spec >= target
        return wrong(f"at t={value:.2f} sensitivity on these cases is {got_sens:.2f}, below "
                     f"{target:.2f}." + (" That t holds the specificity at the target instead."
                                         if specific else ""),
                     "the target is on sensitivity (malignant lesions flagged); a smaller t "
                     "flags more lesions.")
    if meets.size and value < meets.max() - 1e-9:
        return wrong(f"t={value:.2f} reaches the sensitivity, but a larger t does too.",
                     "take the largest t that still reaches it: it keeps more specificity.")
    return correct(f"t={value:.2f} is the largest grid threshold with sensitivity >= "
                   f"{target:.0%} on these cases; report its test sensitivity, measured once.")


# --- notebook 03 ------------------------------------------------------------------------------


@exercise_check("03, exercise 1")
def check_03_other_implementation(theirs: Any, reference: Any) -> Feedback:
    """Exercise 1: another implementation's Grad-CAM++ weights (``theirs``) against the
    autograd reference of eq. 19 (``reference``, ``w_eq10 / e_S``), on the same ``A_toy``: two
    arrays of one weight per channel. The check measures the largest difference relative to
    the largest reference weight."""
    twice = _twice(theirs, reference, "weight array")
    if twice is not None:
        return twice
    a, problem = _finite(theirs, "their weights, one per channel")
    if problem is not None:
        return problem
    b, problem = _finite(reference, "the reference weights, one per channel")
    if problem is not None:
        return problem
    if a.shape != b.shape:
        return wrong(f"{a.size} weights against {b.size}: compare the same channels.",
                     "compute both on `A_toy` for the same class.")
    largest = float(np.abs(b).max())
    if largest == 0:
        return wrong("the reference weights are all zero.",
                     "the reference is `w_eq10 / e_S` of section 4.")
    rel = float(np.abs(a - b).max()) / largest
    scale = float(a @ b) / float(b @ b)
    fit = float(np.abs(a - scale * b).max()) / largest
    if rel > 0.5 and fit < 0.05 * abs(scale) and abs(scale - 1) > 0.5:
        return wrong(f"the two are proportional (factor {scale:.3g}), not equal.",
                     "eq. 19 divides out exp(S): compare with `w_eq10 / e_S`, not `w_eq10`.")
    if rel < 1e-4:
        return correct(f"the two agree (difference {rel:.1e} of the largest weight): same "
                       "formula, eps negligible.")
    if rel > 0.5:
        return wrong(f"they differ by {rel:.0%} of the largest weight: more than an eps "
                     "explains.", "compare with `w_eq10 / e_S` (eq. 19 divides out exp(S)) "
                     "on the same `A_toy` and class.")
    return correct(f"they differ by {rel:.1%} of the largest weight: look for a constant added "
                   "to a denominator (eps) and see what scaling the head's weights does to it.")


@exercise_check("03, exercise 2")
def check_03_second_derivative(d2s_max: Any) -> Feedback:
    """Exercise 2: the largest absolute second derivative of ``S`` (not ``exp(S)``) w.r.t. ``A``."""
    value, problem = _one(d2s_max, "one number: the largest |second derivative|")
    if problem is not None:
        return problem
    if abs(value) < 1e-9:
        return correct("it is zero: S is linear in A here, so eq. 10 becomes 0/0.")
    return wrong(f"{value:.3g} is not zero.",
                 "differentiate S (the logit), not exp(S); then ask what a linear head's second "
                 "derivative is.")


def blog_and_paper_correlations(model: Any, images: Any, layer: str = "layer3") -> list[float]:
    """Per class, the correlation of the blog's Grad-CAM++ map and the paper's (eq. 19) at
    ``layer`` on ``images[:1]``: the blog applies one ReLU to the channel-summed gradient,
    :math:`\\sum_k \\alpha^{kc}_{ij}\\, \\mathrm{ReLU}(\\sum_{k'} g^{k'}_{ij})\\, A^k_{ij}`, the
    paper one per channel. ``nan`` where a map is constant (e.g. zero everywhere)."""
    import torch

    from helpers.cam import GradCAMPlusPlus

    method = GradCAMPlusPlus(model, layer)
    out = []
    for cls in range(model.fc.out_features):
        paper = method.compute_raw(images[:1], cls)
        acts, grads = method.last_activations, method.last_gradients
        alpha = torch.nan_to_num(grads**2 / (2 * grads**2 + acts.sum(dim=(2, 3), keepdim=True)
                                              * grads**3))
        blog = (alpha * torch.relu(grads.sum(dim=1, keepdim=True)) * acts).sum(dim=1)
        pair = torch.stack([blog.flatten(), paper.flatten()]).double()
        out.append(float(torch.corrcoef(pair)[0, 1]))
    return out


@exercise_check("03, exercise 3")
def check_03_layer3_correlation(correlations: Any, model: Any = None, images: Any = None
                                ) -> Feedback:
    """Exercise 3: the per-class correlations of the blog's and the paper's map at ``layer3``
    (a list, array or tensor; ``nan`` stands for a map that is zero everywhere). ``model`` and
    ``images``: section 6b's trained model and test images, from which the check recomputes
    them (:func:`blog_and_paper_correlations`)."""
    values = as_numbers(correlations)
    if values is None:
        return unreadable(correlations, "one correlation per class")
    if np.any(np.isinf(values)):
        return wrong("a correlation is never infinite.", "use `torch.corrcoef` on the "
                     "flattened maps.")
    finite = values[np.isfinite(values)]
    if np.any(np.abs(finite) > 1 + 1e-6):
        return wrong("a correlation lies in [-1, 1].",
                     "use `torch.corrcoef` on the flattened maps.")
    if finite.size == 0:
        return wrong("every correlation is nan: both maps are zero everywhere.",
                     "use `GradCAMPlusPlus(model, 'layer3')` on the trained model of section 6b.")
    if model is None or images is None:
        return wrong("the check needs the model and images to recompute the correlations.",
                     "call check_03_layer3_correlation(corr3, trained, images).")
    want = np.asarray(blog_and_paper_correlations(model, images), dtype=float)
    if want.size == values.size and np.allclose(values, want, atol=1e-3, equal_nan=True):
        return correct(f"median correlation {np.nanmedian(want):.2f}: at `layer3` the blog's "
                       "all-or-nothing ReLU and the paper's per-channel one part ways.")
    at4 = np.asarray(blog_and_paper_correlations(model, images, "layer4"), dtype=float)
    if at4.size == values.size and np.allclose(values, at4, atol=1e-3, equal_nan=True):
        return wrong("these are the correlations at `layer4`, where the two maps agree.",
                     "use `GradCAMPlusPlus(trained, 'layer3')`.")
    return wrong(f"{values.size} correlations that differ from the maps' at `layer3` "
                 f"({want.size} classes).", "one correlation per class, on `images[:1]`, "
                 "between the blog's map and `compute_raw`'s.")


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


# --- notebooks 04-07 ---
# Where the expected values of 04-06 come from (derivations in the notebooks, not one run):
# * 04, exercise 1: at ``layer4`` behind GAP + linear, LayerCAM's weight at every position is
#   :math:`\\mathrm{ReLU}(w^c_k)/Z`, so LayerCAM is CAM with the negative weights set to zero:
#   the largest absolute difference of the normalised maps is float rounding (< 1e-4).
# * 04, exercise 2: ``top_k`` scores ``k`` of the ``K`` channels, so it can be at most about
#   ``K / k`` times faster; a useful approximation keeps a clearly positive rank correlation.
# * 04, exercise 3: a map of all ones leaves the image unchanged, :math:`O = Y`, so
#   Average Drop :math:`= 100 \\cdot \\frac1N\\sum \\max(0, Y - O)/Y = 0`.
# * 04, exercise 4: whether the gap Grad-CAM++ minus Grad-CAM changes between two layers is a
#   test of the change itself: per image, the layer3 gap minus the layer4 gap, with its interval
#   by lesion (:func:`helpers.stats.difference_of_differences`). That one layer's interval
#   excludes 0 and the other's does not is no such test (Gelman & Stern 2006). Which scores
#   change is measured (it depends on the model), so the check recomputes it from the scores.
# * 07, exercise 1: the raw maps for ``c`` rather than ``d`` and ``d`` rather than ``c`` are
#   negatives of each other (:math:`y^c - y^d = -(y^d - y^c)`), so after the ReLU each grid cell
#   is positive in at most one; upsampling spreads them over cell borders only.
# * 07, exercise 3: at ``layer4`` the contrastive weights are :math:`(w^c_k - w^d_k)/Z`, i.e. CAM
#   with the row :math:`w^c - w^d`: the two maps agree to float rounding.
ROUNDING = 1e-4  #: largest difference that counts as "equal up to float rounding"


def _two_maps(first: Any, second: Any, what: str) -> tuple[tuple[np.ndarray, np.ndarray] | None,
                                                              Feedback | None]:
    """Two maps of one shape, finite, not one object passed twice."""
    twice = _twice(first, second, what)
    if twice is not None:
        return None, twice
    a, b = _array(first), _array(second)
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


@exercise_check("04, exercise 1")
def check_04_layercam_is_positive_cam(positive_cam: Any, layercam: Any) -> Feedback:
    """Exercise 1: CAM with the head's weights clamped at 0 and LayerCAM's maps of the same
    images and classes at ``layer4`` (normalised, ``(N, H, W)``); the largest absolute
    difference must be float rounding."""
    maps, problem = _two_maps(positive_cam, layercam, "map")
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

    fast, problem = _one(speedup, "one number: the speed-up (exact time / top_k time)")
    if problem is not None:
        return problem
    maps, problem = _two_maps(approx, exact, "map")
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
    value, problem = _one(average_drop, "one number: Average Drop in %")
    if problem is not None:
        return problem
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
    twice = _twice(scores4, scores3, "table of scores", "tables of scores")
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
    sides = {as_label(c): _side(row["low"], row["high"]) for c, row in table.iterrows()}
    unsure = {as_label(c) for c, row in table.iterrows()
              if min(abs(row["low"]), abs(row["high"])) < BORDERLINE * (row["high"] - row["low"])}
    expected = {c for c, side in sides.items() if side}
    if not (expected ^ names) - unsure:
        what = (f"the gap changes on {len(expected)} of {len(table)} scores" if expected else
                f"the gap changes on none of the {len(table)} scores")
        return correct(f"{what}: there the interval of (layer3 gap - layer4 gap) excludes 0.")
    marginal = [{as_label(c): _side(r["low"], r["high"]) for c, r in
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


def _mean_shares(maps: Any, masks: Any) -> dict[str, float]:
    """Each method's mean energy share inside ``masks`` (:func:`helpers.metrics.energy_share`)."""
    import torch

    from helpers.metrics import energy_share

    masks = torch.as_tensor(_array(masks))
    return {name: float(energy_share(torch.as_tensor(_array(m)), masks).mean())
            for name, m in maps.items()}


@exercise_check("05, exercise 1")
def check_05_ruler(drop: Any, energy: Any, area: Any, maps: Any = None, masks: Any = None
                   ) -> Feedback:
    """Exercise 1: ``drop``, the balanced accuracy as trained minus with the ruler moved;
    ``energy``, the maps' mean energy share on the ruler (one number per method, in the order
    of ``maps``, or a dict); ``area``, the ruler's share of the image. ``maps``
    (``{method: (N, H, W)}``) and ``masks`` (``(N, H, W)``): the ruler model's maps and the
    ruler masks of the same images, from which the check recomputes ``energy`` and ``area``."""
    fall, problem = _one(drop, "one number in [-1, 1]: balanced accuracy as trained - moved")
    if problem is not None:
        return problem
    if not -1 <= fall <= 1:
        return wrong(f"a fall of balanced accuracy lies in [-1, 1]; got {fall:g}.",
                     "subtract the two balanced accuracies (as trained - moved).")
    (size,), problem = _shares((area, "the ruler's area"))
    if problem is not None:
        return problem
    shares, problem = _finite(energy, "energy shares in [0, 1], one per method")
    if problem is not None:
        return problem
    if not isinstance(maps, Mapping) or not maps or masks is None:
        return wrong("the check needs the maps and the ruler masks to recompute the shares.",
                     "call check_05_ruler(drop, energy, area, ruler_maps, ruler_masks).")
    want_area = float((_array(masks) > 0).mean())
    want = _mean_shares(maps, masks)
    if abs(size - want_area) > 1e-4:
        return wrong(f"an area of {size:.2%}, but these masks cover {want_area:.2%} of the "
                     "image.", "take the mean of the ruler masks: `masks.gt(0).float().mean()`, "
                     "on the ruler images, not the ink's.")
    if shares.size != len(want) or not np.allclose(shares, list(want.values()), atol=1e-4):
        return wrong("the energy shares differ from these maps' share inside these masks.",
                     "use `metrics.energy_share(maps, ruler_masks).mean()` per method, on the "
                     "ruler model's maps of the ruler images.")
    learned = "learned the ruler" if fall > LEARNED_DROP else "did not learn the ruler much"
    ratio = max(want.values()) / want_area if want_area else math.nan
    found = (f"the maps find it ({ratio:.1f} times its area's share)" if ratio > FOUND_RATIO
             else f"the maps do not single it out ({ratio:.1f} times its area's share, "
                  "about what a map that ignores it gives)")
    return correct(f"balanced accuracy falls by {fall:+.3f} when it moves: the model {learned}; "
                   f"{found}. Compare with the ink's fall in section 2.")


def _verdict_word(value: Any) -> bool | None:
    """"passes"/True or "fails"/False; ``None`` when it is neither."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    label = as_label(value)
    return True if label in ("passes", "pass", "passed") else \
        False if label in ("fails", "fail", "failed") else None


@exercise_check("05, exercise 2")
def check_05_score_cam(passes: Any, steps: Any = None, random_a: Any = None,
                       random_b: Any = None) -> Feedback:
    """Exercise 2: does Score-CAM pass the randomisation test at the random ``fc``?
    ``passes``: ``"passes"``/``True`` or ``"fails"``/``False``. ``steps``: the cascade's maps
    (:func:`helpers.sanity.cascade_maps`, ``{"trained": {"Score-CAM": maps}, "fc": ..., ...}``),
    ``random_a``, ``random_b``: Score-CAM's maps of the same images under two fully random
    models. The check computes the mean Spearman after the random ``fc`` and the floor (the
    higher of "different images" and "two random models"); it passes when at or below it."""
    import torch

    from helpers.agreement import rank_correlation

    said = _verdict_word(passes)
    if said is None:
        return unreadable(passes, '"passes" or "fails" (or True / False)')
    if not isinstance(steps, Mapping) or "trained" not in steps or "fc" not in steps:
        return wrong("the check needs the cascade's maps to compute the verdict itself.",
                     "call check_05_score_cam(answer, steps, ra4, rb4).")
    twice = _twice(random_a, random_b, "random model's maps", "random models' maps")
    if twice is not None:
        return twice
    trained = torch.as_tensor(_array(steps["trained"]["Score-CAM"]))
    after_fc = torch.as_tensor(_array(steps["fc"]["Score-CAM"]))
    rho = float(rank_correlation(trained, after_fc).mean())
    images = float(rank_correlation(trained, trained.roll(1, dims=0)).mean())
    models = float(rank_correlation(torch.as_tensor(_array(random_a)),
                                    torch.as_tensor(_array(random_b))).mean())
    if not all(map(math.isfinite, (rho, images, models))):
        return wrong("a Spearman of these maps is NaN: a map is constant.",
                     "use `ScoreCAM(model, top_k=64)` on the images of part 1.")
    floor = max(images, models)
    truth = rho <= floor
    if said == truth:
        how = "at or below" if truth else "above"
        return correct(f"{rho:.2f} after a random fc, {how} its floor {floor:.2f} (the higher of "
                       f"{images:.2f}, different images, and {models:.2f}, two random models): "
                       f"Score-CAM {'passes' if truth else 'fails'} at `fc` on these images.")
    return wrong(f"the cascade says the opposite: Spearman {rho:.2f} after a random fc against "
                 f"a floor of {floor:.2f}.",
                 "compare the step `fc` (not `layer4`) with the higher of the two floors: "
                 "at or below it passes, above it fails.")


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
    twice = _twice(random_a, random_b, "random model's maps", "random models' maps")
    if twice is not None:
        return twice
    names = list(trained)
    images = {name: float(ssim(m, torch.roll(m, 1, dims=0)).mean()) for name, m in trained.items()}
    models = {name: float(ssim(random_a[name], random_b[name]).mean()) for name in names}
    if hasattr(floors, "items"):  # a dict or a Series, keyed by method
        keyed = dict(floors.items())
        missing = [name for name in names if name not in keyed]
        if missing:
            return wrong(f"no floor for {', '.join(missing)}.",
                         "give one floor per method, keyed by the method's name.")
        raw = [keyed[name] for name in names]
    else:
        raw = floors
    got, problem = _finite(raw, f"{len(names)} floors, one per method ({', '.join(names)})",
                           len(names))
    if problem is not None:
        return problem
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


def _row(table: Any, word: str) -> Any:
    """The one row of ``table`` whose name contains ``word`` (case-insensitive)."""
    rows = [name for name in table.index if word in str(name).lower()]
    if len(rows) != 1:
        raise ValueError(f"expected one row named with {word!r}, got {list(table.index)}")
    return table.loc[rows[0]]


@exercise_check("05, exercise 4")
def check_05_fair_ink(with_ink: Any, without_ink: Any, table: Any = None) -> Feedback:
    """Exercise 4: for the model trained with ink on every class, the share of nevi called
    melanoma with the ink moved onto them (``with_ink``) and on the same lesions without it
    (``without_ink``): the ink's pull is the difference. ``table``: the fair model's scores on
    section 2's two test splits (``scores_of(fair_model, tests)``), whose "nv called mel"
    column the check reads them from."""
    pair, problem = _shares((with_ink, "the share with the ink"),
                            (without_ink, "the share without the ink"))
    if problem is not None:
        return problem
    if not hasattr(table, "loc") or "nv called mel" not in getattr(table, "columns", []):
        return wrong("the check needs the fair model's table of scores.",
                     "call check_05_fair_ink(with_ink, without_ink, table).")
    moved = float(_row(table, "moved")["nv called mel"])
    other = [n for n in table.index if "moved" not in str(n).lower()]
    kept = float(table.loc[other[0], "nv called mel"])
    if np.allclose(pair, [kept, moved], atol=1e-9) and moved != kept:
        return wrong("the two shares are swapped.",
                     "pass the share on the moved split (ink on the nevi) first.")
    if not np.allclose(pair, [moved, kept], atol=1e-9):
        return wrong("these are not the table's shares of nevi called melanoma.",
                     "read the column 'nv called mel': the moved split first, then the other.")
    pull = moved - kept
    if abs(pull) < LEARNED_DROP:
        return correct(f"{moved:.2f} with the ink, {kept:.2f} without ({pull:+.2f}): the ink "
                       "no longer makes a melanoma; now look at the melanoma recall.")
    if pull > 0:
        return correct(f"{moved:.2f} with the ink, {kept:.2f} without ({pull:+.2f}): the ink "
                       "still pulls towards melanoma; is it really spread over every class?")
    return correct(f"{moved:.2f} with the ink, {kept:.2f} without ({pull:+.2f}): the ink pushes "
                   "away from melanoma here.")


CUES = ("ink", "lesion")  #: the cues of 05's exercise 5


def _cues(answer: Any) -> set[str] | None:
    names = answer if isinstance(answer, (list, tuple, set, frozenset)) else [answer]
    labels = {as_label(a) for a in names}
    if labels in ({"both"}, {"inkandlesion"}, {"lesionandink"}):
        return set(CUES)
    if labels == {"neither"} or labels == {"none"}:
        return set()
    return labels if labels <= set(CUES) else None


@exercise_check("05, exercise 5")
def check_05_choice(cues: Any, scores: Any = None) -> Feedback:
    """Exercise 5: which cue the choice model uses: ``"ink"``, ``"lesion"``, ``"both"`` or
    ``"neither"`` (or a list of them). ``scores``: its table on the test split as trained and
    with the ink moved (rows named with "trained" and "moved"; columns "mel recall" and "nv
    called mel"), from which the check decides. It uses the ink when moving the ink onto the
    nevi raises their share called melanoma by more than ``LEARNED_DROP``; it uses the lesion
    when, with the ink gone from them, the melanomas are still called melanoma more often than
    the un-inked nevi were (recall moved - nv called mel as trained > ``LEARNED_DROP``)."""
    said = _cues(cues)
    if said is None:
        return unreadable(cues, '"ink", "lesion", "both" or "neither"')
    if not hasattr(scores, "loc") or not {"mel recall", "nv called mel"} <= set(
            getattr(scores, "columns", [])):
        return wrong("the check needs the model's table of scores.",
                     "call check_05_choice(answer, choice_scores).")
    trained, moved = _row(scores, "trained"), _row(scores, "moved")
    numbers = [float(trained["nv called mel"]), float(moved["nv called mel"]),
               float(moved["mel recall"])]
    if not all(map(math.isfinite, numbers)):
        return wrong("the table holds NaN where the check reads it.",
                     "score the model on both test splits with `scores_of`.")
    ink_pull = numbers[1] - numbers[0]
    lesion_gap = numbers[2] - numbers[0]
    truth = {cue for cue, used in (("ink", ink_pull > LEARNED_DROP),
                                   ("lesion", lesion_gap > LEARNED_DROP)) if used}
    words = " and ".join(sorted(truth)) or "neither"
    facts = (f"moving the ink onto the nevi raises those called melanoma by {ink_pull:+.2f}; "
             f"without their ink the melanomas are called melanoma {lesion_gap:+.2f} more often "
             "than the un-inked nevi")
    if said == truth:
        return correct(f"{words}: {facts}.")
    return wrong(f"the table says otherwise ({len(said ^ truth)} cue(s) off).",
                 "compare the same nevi with and without the ink (the ink's pull) and the "
                 "melanomas without ink against the un-inked nevi (the lesion's).")


@exercise_check("07, exercise 1")
def check_07_contrast_overlap(overlap: Any, a: Any = None, b: Any = None) -> Feedback:
    """Exercise 1: ``sum(min(a, b)) / sum(a)`` for the maps "p rather than t" (``a``) and
    "t rather than p" (``b``), in [0, 1]; the check recomputes it from the two maps."""
    value, problem = _one(overlap, "one number in [0, 1]")
    if problem is not None:
        return problem
    if not 0 <= value <= 1 + 1e-9:
        return wrong(f"an overlap share lies in [0, 1]; got {value:.3g}.",
                     "divide `torch.minimum(a, b).sum()` by `a.sum()`.")
    if a is None or b is None:
        return wrong("the check needs the two maps to recompute the overlap.",
                     "call check_07_contrast_overlap(overlap, a, b).")
    maps, problem = _two_maps(a, b, "map")
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


@exercise_check("07, exercise 2", timed=True)
def check_07_exact_score_cam(exact_ms: Any, top_k_ms: Any, channels: int = 512,
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

@exercise_check("07, exercise 3")
def check_07_contrastive_is_cam(as_cam: Any, contrastive: Any) -> Feedback:
    """Exercise 3: CAM with the row ``w^c - w^d`` and the contrastive map (two arrays)."""
    maps, problem = _two_maps(as_cam, contrastive, "map")
    if problem is not None:
        return problem
    gap = float(np.abs(maps[0] - maps[1]).max()) if maps[0].size else float("nan")
    if gap < ROUNDING:
        return correct(f"largest difference {gap:.1e}: at `layer4` the contrastive map is CAM "
                       "with the row w^c - w^d, no backward pass needed.")
    return wrong(f"the maps differ by up to {gap:.3g}.",
                 "set the CAM head's weight to `(model.fc.weight[c] - model.fc.weight[d])[None]`.")


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
    twice = _twice(plus, grad, "array of shares", "arrays of shares")
    if twice is not None:
        return twice
    a, problem = _finite(plus, "Grad-CAM++'s share of the smaller copy, one per pair")
    if problem is not None:
        return problem
    b, problem = _finite(grad, "Grad-CAM's share of the smaller copy, one per pair")
    if problem is not None:
        return problem
    if a.size != b.size or np.any((a < 0) | (a > 1)) or np.any((b < 0) | (b > 1)):
        return wrong("expected two shares in [0, 1] per pair, as many for each method.",
                     "take `shares(maps)[0]` for each method's maps of the same pairs.")
    if not isinstance(gap, Mapping) or not {"mean", "low", "high"} <= set(gap):
        return unreadable(gap, "the dict of stats.paired_difference(plus, grad)")
    numbers, problem = _finite([gap["mean"], gap["low"], gap["high"]], "mean, low and high", 3)
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
    side = _side(low, high)
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
    pair, problem = _finite([spread_last, spread_earlier], "two spreads: last layer, earlier "
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
# --- notebook 06 (beyond CAM): each check recomputes its answer from what it is given ---


@exercise_check("06, exercise 1")
def check_06_ig_steps(steps: Any, deltas: Any) -> Feedback:
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


@exercise_check("06, exercise 2")
def check_06_randomisation(names: Any, table: Any) -> Feedback:
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


@exercise_check("06, exercise 3")
def check_06_occlusion_passes(passes: Any, size: int = 112, window: int = 8,
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
