"""The checks of notebook 07's exercises (beyond CAM)."""

from __future__ import annotations

from typing import Any

from ..course.answers import (
    Feedback,
    as_number,
    correct,
    exercise_check,
    unreadable,
    wrong,
)

# --- notebook 07 (beyond CAM): each check recomputes its answer from what it is given ---


@exercise_check("07, exercise 1")
def check_07_ig_steps(steps: Any, deltas: Any) -> Feedback:
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


@exercise_check("07, exercise 2")
def check_07_randomisation(names: Any, table: Any) -> Feedback:
    """Exercise 2: the methods passing on ``table`` (``sanity.similarity_intervals``)."""
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


@exercise_check("07, exercise 3")
def check_07_occlusion_passes(passes: Any, size: int = 112, window: int = 8,
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
