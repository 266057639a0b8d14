"""The checks of notebook 01's exercises (the data, the split)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..course.answers import (
    Feedback,
    as_label,
    as_numbers,
    correct,
    exercise_check,
    wrong,
)
from .guards import finite_answer

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

    values, problem = finite_answer(counts, "three counts, one per test fraction 0.1, 0.2, 0.3", 3)
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
    got, problem = finite_answer(got_raw, "one median age per part of the split", len(names))
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


METADATA_FEATURES = ("age", "sex", "localization")  #: the order of 01's exercise 4


@exercise_check("01, exercise 4")
def check_01_metadata_features(values: Any, split: Any = None) -> Feedback:
    """Exercise 4: the test balanced accuracy of the metadata baseline fitted on each feature
    alone, in the order age, sex, localization (a list, or a dict keyed by feature).

    ``split``: the ``lesion_split`` of notebook 01; the check refits
    :func:`helpers.metadata_baseline.fit_metadata_baseline` on its train part with each feature
    alone and scores its test part (scikit-learn's ``balanced_accuracy_score``).
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    from helpers.metadata_baseline import fit_metadata_baseline

    if not isinstance(split, Mapping) or not {"train", "test"} <= set(split):
        return wrong("the check needs the split the baselines were fitted on.",
                     "call check_01_metadata_features(values, lesion_split).")
    if isinstance(values, Mapping):
        unknown = [k for k in values if k not in METADATA_FEATURES]
        if unknown:
            return wrong(f"{unknown} are not features of the exercise.",
                         f"key the values by {list(METADATA_FEATURES)}.")
        values = [values.get(f, float("nan")) for f in METADATA_FEATURES]
    got, problem = finite_answer(values, "three balanced accuracies: age, sex, localization", 3)
    if problem is not None:
        return problem
    fits = [fit_metadata_baseline(split["train"], split["test"], (f,)) for f in METADATA_FEATURES]
    want = np.array([balanced_accuracy_score(f.labels, f.pred) for f in fits])
    if np.allclose(got, want, atol=0.005):
        best = METADATA_FEATURES[int(want.argmax())]
        return correct(f"{best} alone carries the most; compare each with the three together.")
    if np.allclose(sorted(got), sorted(want), atol=0.005):
        return wrong("these are the right numbers in another order.",
                     "give them in the order age, sex, localization.")
    plain = np.array([accuracy_score(f.labels, f.pred) for f in fits])
    if np.allclose(got, plain, atol=0.005):
        return wrong("these are plain accuracies, which the many nevi dominate.",
                     "score with balanced_accuracy_score (the mean of per-class recalls).")
    return wrong("the numbers differ from those of the baseline refitted on each feature.",
                 "fit on lesion_split['train'] with features=('age',) (and so on) and score "
                 "the predictions on lesion_split['test'] by balanced accuracy.")
