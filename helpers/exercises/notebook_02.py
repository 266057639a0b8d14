"""The checks of notebook 02's exercises (fine-tuning, evaluation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..course.answers import (
    Feedback,
    as_numbers,
    correct,
    exercise_check,
    unreadable,
    wrong,
)
from .guards import finite_answer, one_answer, passed_twice

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
    """Exercise 1: the test metrics of two short fine-tunes of the trained model from the same
    weights on the same images, with the class weights and with ``balance_classes=False``: two
    dicts of :func:`helpers.train.evaluate`, on the same test split. The check reads accuracy
    and balanced accuracy from their confusion matrices."""
    pair = []
    for value, what in ((weighted, "the weighted run"), (unweighted, "the unweighted run")):
        result, problem = _evaluated(value, what)
        if problem is not None:
            return problem
        pair.append(result)
    twice = passed_twice(weighted, unweighted, "run's metrics", "runs' metrics")
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

    count, problem = one_answer(leaked, "a whole number of images")
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
    value, problem = one_answer(t, "one threshold between 0 and 1")
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
    s, problem = finite_answer(score, "the validation scores, one per image")
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
