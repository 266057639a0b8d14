r"""Intervals and tests for scores over images: how sure is a mean, is a difference real?

Numbers in, numbers (or one-line strings) out; nothing here knows about models or maps. The
scores are the per-image frames of :func:`helpers.metrics.per_image_scores` (columns
``method``, ``image`` and one column per score) or plain sequences of floats.

* **Percentile bootstrap** of a mean (Efron & Tibshirani, *An Introduction to the Bootstrap*,
  1993, ch. 13): :func:`bootstrap_ci`, per method and column :func:`summarize_with_intervals`.
* **Paired comparisons** of two methods scored on the same images: :func:`paired_difference`
  (bootstrap interval and sign-flip permutation test), :func:`paired_scores` (one row per
  score column), read out in one sentence by :func:`verdict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import Tensor

__all__ = [
    "bootstrap_ci",
    "paired_difference",
    "paired_scores",
    "verdict",
    "summarize_with_intervals",
]


# ----------------------------------------------------------------------------------------------
# Bootstrap intervals and paired comparisons, by image
# ----------------------------------------------------------------------------------------------


def _float64(values: Sequence[float] | Tensor) -> Tensor:
    """``values`` as a flat float64 CPU tensor (arrays are copied: pandas hands out read-only
    ones, which torch warns about)."""
    if isinstance(values, Tensor):
        return values.detach().to("cpu", torch.float64).flatten()
    return torch.from_numpy(np.array(values, dtype=np.float64)).flatten()


def _finite_values(values: Sequence[float] | Tensor, name: str = "values") -> Tensor:
    data = _float64(values)
    data = data[~torch.isnan(data)]
    if data.numel() == 0:
        raise ValueError(f"{name} has no value that is not NaN")
    if torch.isinf(data).any():
        raise ValueError(f"{name} holds an infinite value")
    return data


def bootstrap_ci(values: Sequence[float] | Tensor, level: float = 0.95, n_boot: int = 10_000,
                 seed: int = 0) -> tuple[float, float, float]:
    r"""The mean and its percentile bootstrap interval: ``(mean, low, high)``.

    Resample the :math:`n` values with replacement ``n_boot`` times, take each resample's mean
    :math:`\bar x^*_b`, and report the :math:`\tfrac{1-\text{level}}{2}` and
    :math:`\tfrac{1+\text{level}}{2}` quantiles of the :math:`\bar x^*_b` (Efron & Tibshirani,
    *An Introduction to the Bootstrap*, 1993, ch. 13). NaN values (e.g. images without a mask)
    are left out. Seeded: the same call gives the same interval.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    data = _finite_values(values)
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, data.numel(), (n_boot, data.numel()), generator=generator)
    means = data[picks].mean(dim=1)
    tail = (1 - level) / 2
    low, high = torch.quantile(means, torch.tensor([tail, 1 - tail], dtype=torch.float64))
    return data.mean().item(), low.item(), high.item()


def paired_difference(a: Sequence[float] | Tensor, b: Sequence[float] | Tensor,
                      level: float = 0.95, n_boot: int = 10_000,
                      seed: int = 0) -> dict[str, float]:
    r"""Compare two methods scored on the same images: the mean of :math:`d_i = a_i - b_i`.

    Returns ``mean``, ``low``, ``high`` (the percentile bootstrap interval of the mean
    difference, :func:`bootstrap_ci` on :math:`d`), ``p`` (two-sided sign-flip permutation test
    of "no difference": each :math:`d_i` keeps or flips its sign at random, ``n_boot`` times;
    :math:`p = (1 + \#\{|\bar d^*| \ge |\bar d|\}) / (1 + n_\text{boot})`) and ``n``. Pairs with
    a NaN on either side are left out. All differences 0 gives ``p = 1``.
    """
    first, second = _float64(a), _float64(b)
    if first.shape != second.shape:
        raise ValueError(f"a has {first.numel()} values, b {second.numel()}: pair them by image")
    diff = _finite_values(first - second, "a - b")
    mean, low, high = bootstrap_ci(diff, level, n_boot, seed)
    generator = torch.Generator().manual_seed(seed + 1)
    signs = torch.randint(0, 2, (n_boot, diff.numel()), generator=generator) * 2.0 - 1
    flipped = (signs * diff).mean(dim=1).abs()
    extreme = (flipped >= abs(mean) - 1e-12).sum().item()
    return {"mean": mean, "low": low, "high": high,
            "p": (1 + extreme) / (1 + n_boot), "n": diff.numel()}


def verdict(row: Mapping[str, float], better: Literal["higher", "lower"],
            name: str = "Grad-CAM++", alpha: float = 0.05) -> str:
    """One sentence on a paired difference: its direction, interval and p-value, and who wins.

    ``row``: one result of :func:`paired_difference` (a dict, or a row of a frame of them, such
    as :func:`paired_scores` returns), the difference "``name`` minus its rival". ``better``:
    whether a higher or a lower score is better for this metric. The difference counts as real
    when ``p < alpha`` *and* the interval excludes 0; otherwise the sentence says "within
    noise, no winner", whatever the sign of the mean. For example::

        higher by 0.12 [0.05, 0.19], p = 0.001: a real difference, in Grad-CAM++'s favour
    """
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', got {better!r}")
    missing = [key for key in ("mean", "low", "high", "p") if key not in row]
    if missing:
        raise KeyError(f"row lacks {missing}: pass a result of paired_difference")
    mean, low, high, p = (float(row[key]) for key in ("mean", "low", "high", "p"))
    sure = p < alpha and (low > 0 or high < 0)
    if not sure:
        outcome = "within noise, no winner"
    elif (mean > 0) == (better == "higher"):
        outcome = f"a real difference, in {name}'s favour"
    else:
        outcome = f"a real difference, against {name}"
    size = f"{'higher' if mean > 0 else 'lower'} by {abs(mean):.3g}" if mean else "equal on average"
    return f"{size} [{low:.3g}, {high:.3g}], p = {p:.3f}: {outcome}"


def paired_scores(scores: pd.DataFrame, a: str, b: str, columns: Sequence[str] | None = None,
                  level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """:func:`paired_difference` of method ``a`` minus method ``b``, one row per score column.

    ``scores``: the frame of :func:`helpers.metrics.per_image_scores`, in which both methods
    were scored on the same images (paired by the ``image`` column). ``columns``: the score
    columns to compare (default: all of them). Columns of the result: ``mean``, ``low``,
    ``high``, ``p``, ``n``; read a row out with :func:`verdict`.
    """
    by_method = {name: scores[scores["method"] == name].set_index("image") for name in (a, b)}
    for name, frame in by_method.items():
        if frame.empty:
            raise ValueError(f"no scores for method {name!r}; scores has "
                             f"{sorted(scores['method'].unique())}")
    first, second = by_method[a], by_method[b]
    if not first.index.equals(second.index):
        raise ValueError(f"{a!r} and {b!r} were not scored on the same images: pair them by image")
    if columns is None:
        columns = [c for c in scores.columns if c not in ("method", "image")]
    return pd.DataFrame({
        column: paired_difference(first[column].to_numpy(), second[column].to_numpy(),
                                  level, n_boot, seed)
        for column in columns}).T



def summarize_with_intervals(scores: pd.DataFrame, level: float = 0.95, n_boot: int = 10_000,
                             seed: int = 0) -> pd.DataFrame:
    """Mean and bootstrap interval of every score column, per method: ``"0.42 [0.37, 0.47]"``.

    ``scores``: the frame of :func:`helpers.metrics.per_image_scores`. Each cell is the mean
    over the images where the score is defined, with its percentile bootstrap interval
    (:func:`bootstrap_ci`, resampling images); ``attrs["numeric"]`` holds the numbers as a
    (method, column) -> (mean, low, high) dict.
    """
    columns = [c for c in scores.columns if c not in ("method", "image")]
    cells: dict[str, dict[str, str]] = {}
    numeric: dict[tuple[str, str], tuple[float, float, float]] = {}
    for method, group in scores.groupby("method", sort=False):
        cells[method] = {}
        for column in columns:
            mean, low, high = bootstrap_ci(group[column].to_numpy(), level, n_boot, seed)
            numeric[(method, column)] = (mean, low, high)
            digits = 1 if column.endswith("%") else 2
            cells[method][column] = f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
    table = pd.DataFrame.from_dict(cells, orient="index").rename_axis("method")
    table.attrs["numeric"] = numeric
    return table
