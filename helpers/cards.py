r"""A method card: one row per saliency method, every cell computed from a run, one rule each.

Saliency cards (Boggust et al., FAccT 2023) describe a method by what it needs, what it costs and
how it behaves; here each cell is measured on the same images, and each verdict comes from one
stated rule, so that the card reads right for any model, seed or data set:

* :func:`against_reference`: a paired difference by lesion (:func:`helpers.stats.paired_scores`)
  of a method and a model-free reference map; "better" or "worse" only where the 95 % interval
  excludes 0, otherwise "level with".
* the randomisation column is not computed here: it is the verdict of
  :func:`helpers.findings.randomisation` on :func:`helpers.sanity.similarity_intervals`, the
  trust notebook's rule (a method passes at the first cascade step whose 95 % interval, by
  lesion, lies wholly below its floor).
* :func:`method_card`: the table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from .stats import paired_scores

__all__ = ["against_reference", "needs", "cost_cell", "method_card"]


def against_reference(scores: pd.DataFrame, method: str, reference: str, column: str,
                      better: str, groups: Sequence[object], seed: int = 0) -> str:
    """``method``'s mean ``column`` and its side of ``reference``'s, in words.

    Rule: the paired difference ``method - reference`` by image, its 95 % interval resampling
    lesions (``groups``, one per image number); "better than" / "worse than" the reference only
    where the interval excludes 0 (``better``: ``"higher"`` or ``"lower"``), else "level with".
    """
    if better not in ("higher", "lower"):
        raise ValueError(f"better={better!r}: expected 'higher' or 'lower'")
    row = paired_scores(scores, method, reference, [column], seed=seed, groups=groups).iloc[0]
    own = scores.loc[scores["method"] == method, column].mean()
    if row["low"] > 0 or row["high"] < 0:
        up = row["low"] > 0
        side = "better than" if up == (better == "higher") else "worse than"
    else:
        side = "level with"
    return (f"{own:.2f}, {side} the {reference} "
            f"({row['mean']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}])")


def needs(method: object) -> str:
    """What a method needs: a target layer (the CAM family), gradients, or forward passes only."""
    layer = getattr(method, "target_layer", None) is not None
    gradients = bool(getattr(method, "uses_gradients", False))
    if layer:
        return "a target layer" + (" and its gradients" if gradients else ", forward passes")
    return "gradients to the input" if gradients else "forward passes only (any model)"


def method_card(rows: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """The card: one row per method, the columns in the order given (``needs``, ``cost``,
    ``faithfulness``, ``localisation``, ``randomisation``, ...). Cells left out read "not run"."""
    if not rows:
        raise ValueError("rows is empty: give one dict of cells per method")
    columns: list[str] = []
    for cells in rows.values():
        columns += [c for c in cells if c not in columns]
    table = pd.DataFrame({name: {c: cells.get(c, "not run") for c in columns}
                          for name, cells in rows.items()}).T
    return table.rename_axis("method")


def cost_cell(passes: float, backward: bool, ms: float, pass_ms: float) -> str:
    """``passes`` the method needs beside its measured cost in units of one batched pass."""
    kind = "forward+backward" if backward else "forward"
    units = ms / pass_ms if pass_ms > 0 else math.nan
    return f"{passes:g} {kind} passes; measured {units:.0f} pass units ({ms:.0f} ms)"
