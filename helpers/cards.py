r"""A method card: one row per saliency method, every cell computed from a run, one rule each.

Saliency cards (Boggust et al., FAccT 2023) describe a method by what it needs, what it costs and
how it behaves; here each cell is measured on the same images, and each verdict comes from one
stated rule, so that the card reads right for any model, seed or data set:

* :func:`against_reference`: a paired difference by lesion (:func:`helpers.stats.paired_scores`)
  of a method and a model-free reference map; "better" or "worse" only where the 95 % interval
  excludes 0, otherwise "level with".
* :func:`randomisation_verdict`: notebook 06's rule. A method's floor is the higher of two
  similarities that carry nothing of the trained model (maps of different images; maps of two
  fully random models on the same images). Walking the cascade from the top, the method
  **passes at** the first step whose Spearman to the trained maps lies below the floor, the
  whole 95 % interval (resampling lesions) under it; if no step does, it **fails** on the steps
  run. Passing is necessary, not sufficient (Binder et al., CVPR 2023).
* :func:`method_card`: the table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
from torch import Tensor

from .agreement import rank_correlation
from .stats import grouped_bootstrap_ci, paired_scores

__all__ = ["against_reference", "randomisation_verdict", "randomisation_table", "needs",
           "cost_cell", "method_card"]


def _interval(mean: float, low: float, high: float) -> str:
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


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


def randomisation_table(steps: Mapping[str, Mapping[str, Tensor]],
                        floors: Mapping[str, float], groups: Sequence[object],
                        seed: int = 0) -> pd.DataFrame:
    """Per method and cascade step: mean Spearman to the trained maps, its interval by lesion,
    the method's floor, and whether the whole interval lies below it.

    ``steps``: what :func:`helpers.sanity.cascade_maps` returns (first entry: the trained
    model). ``floors``: each method's floor (notebook 06: the higher of the two).
    """
    names = list(steps)
    reference = steps[names[0]]
    rows = []
    for step in names[1:]:
        for method, maps in steps[step].items():
            rho = rank_correlation(reference[method], maps)
            mean, low, high = grouped_bootstrap_ci(rho, list(groups), seed=seed)
            rows.append(dict(method=method, step=step, spearman=mean, low=low, high=high,
                             floor=floors[method], below=high < floors[method]))
    return pd.DataFrame(rows)


def randomisation_verdict(table: pd.DataFrame, method: str) -> str:
    """Notebook 06's rule on :func:`randomisation_table`: "passes at <step>" (the first step
    whose interval lies wholly below the floor) or "fails (above its floor at ...)"."""
    rows = table[table["method"] == method]
    if rows.empty:
        raise ValueError(f"no cascade rows for {method!r}; the table has "
                         f"{sorted(table['method'].unique())}")
    below = rows[rows["below"]]
    floor = rows["floor"].iloc[0]
    if not below.empty:
        first = below.iloc[0]
        shown = _interval(first["spearman"], first["low"], first["high"])
        return f"passes at {first['step']} (Spearman {shown} < floor {floor:.2f})"
    last = rows.iloc[-1]
    shown = _interval(last["spearman"], last["low"], last["high"])
    return f"fails: not below its floor {floor:.2f} by {last['step']} (Spearman {shown})"


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
