"""The checks of notebook 06's exercises (can we trust the heatmap?)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..course.answers import (
    Feedback,
    as_label,
    as_number,
    correct,
    exercise_check,
    unreadable,
    wrong,
)
from .guards import as_array, finite_answer, one_answer, passed_twice

# --- notebook 06 ---
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

    masks = torch.as_tensor(as_array(masks))
    return {name: float(energy_share(torch.as_tensor(as_array(m)), masks).mean())
            for name, m in maps.items()}


@exercise_check("06, exercise 1")
def check_06_ruler(drop: Any, energy: Any, area: Any, maps: Any = None, masks: Any = None
                   ) -> Feedback:
    """Exercise 1: ``drop``, the balanced accuracy as trained minus with the ruler moved;
    ``energy``, the maps' mean energy share on the ruler (one number per method, in the order
    of ``maps``, or a dict); ``area``, the ruler's share of the image. ``maps``
    (``{method: (N, H, W)}``) and ``masks`` (``(N, H, W)``): the ruler model's maps and the
    ruler masks of the same images, from which the check recomputes ``energy`` and ``area``."""
    fall, problem = one_answer(drop, "one number in [-1, 1]: balanced accuracy as trained - moved")
    if problem is not None:
        return problem
    if not -1 <= fall <= 1:
        return wrong(f"a fall of balanced accuracy lies in [-1, 1]; got {fall:g}.",
                     "subtract the two balanced accuracies (as trained - moved).")
    (size,), problem = _shares((area, "the ruler's area"))
    if problem is not None:
        return problem
    shares, problem = finite_answer(energy, "energy shares in [0, 1], one per method")
    if problem is not None:
        return problem
    if not isinstance(maps, Mapping) or not maps or masks is None:
        return wrong("the check needs the maps and the ruler masks to recompute the shares.",
                     "call check_06_ruler(drop, energy, area, ruler_maps, ruler_masks).")
    want_area = float((as_array(masks) > 0).mean())
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


@exercise_check("06, exercise 2")
def check_06_score_cam(passes: Any, steps: Any = None, random_a: Any = None,
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
                     "call check_06_score_cam(answer, steps, ra4, rb4).")
    twice = passed_twice(random_a, random_b, "random model's maps", "random models' maps")
    if twice is not None:
        return twice
    trained = torch.as_tensor(as_array(steps["trained"]["Score-CAM"]))
    after_fc = torch.as_tensor(as_array(steps["fc"]["Score-CAM"]))
    rho = float(rank_correlation(trained, after_fc).mean())
    images = float(rank_correlation(trained, trained.roll(1, dims=0)).mean())
    models = float(rank_correlation(torch.as_tensor(as_array(random_a)),
                                    torch.as_tensor(as_array(random_b))).mean())
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


@exercise_check("06, exercise 3")
def check_06_ssim_floors(floors: Any, trained: Any, random_a: Any, random_b: Any) -> Feedback:
    """Exercise 3: the SSIM floor of each method (the higher of the two), as a dict or Series
    keyed by method, or a list in the order of ``trained``; ``trained``, ``random_a`` and
    ``random_b``: the maps of part 1 (``{method: (N, H, W) maps}``), from which the check
    computes the floors itself."""
    import torch

    from helpers.agreement import ssim

    if not isinstance(trained, Mapping) or not trained:
        return wrong("`trained` should be part 1's maps, `cascade['trained']`.",
                     "pass `cascade['trained'], random_a, random_b` after your floors.")
    twice = passed_twice(random_a, random_b, "random model's maps", "random models' maps")
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
    got, problem = finite_answer(raw, f"{len(names)} floors, one per method ({', '.join(names)})",
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


@exercise_check("06, exercise 4")
def check_06_fair_ink(with_ink: Any, without_ink: Any, table: Any = None) -> Feedback:
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
                     "call check_06_fair_ink(with_ink, without_ink, table).")
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


CUES = ("ink", "lesion")  #: the cues of 06's exercise 5


def _cues(answer: Any) -> set[str] | None:
    names = answer if isinstance(answer, (list, tuple, set, frozenset)) else [answer]
    labels = {as_label(a) for a in names}
    if labels in ({"both"}, {"inkandlesion"}, {"lesionandink"}):
        return set(CUES)
    if labels == {"neither"} or labels == {"none"}:
        return set()
    return labels if labels <= set(CUES) else None


@exercise_check("06, exercise 5")
def check_06_choice(cues: Any, scores: Any = None) -> Feedback:
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
                     "call check_06_choice(answer, choice_scores).")
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
