r"""Intervals and tests for scores over images: how sure is a mean, how large is a difference?

Numbers in, numbers (or one-line strings) out; nothing here knows about models or maps. The
scores are the per-image frames of :func:`helpers.metrics.per_image_scores` (columns
``method``, ``image`` and one column per score) or plain sequences of floats.

* **Percentile bootstrap** of a mean (Efron & Tibshirani, *An Introduction to the Bootstrap*,
  1993, ch. 13): :func:`bootstrap_ci`, per method and column :func:`summarize_with_intervals`.
* **Grouped (cluster) bootstrap** by lesion: :func:`grouped_bootstrap` resamples lesions
  (``lesion_id``), not images, since the images of one lesion are not independent, and applies
  any statistic to each resample; :func:`grouped_bootstrap_ci` is its mean, and
  :func:`balanced_accuracy_interval` its balanced accuracy, and
  :func:`balanced_accuracy_difference` the paired difference of two predictions' balanced
  accuracies on the same images.
* **Proportions**: :func:`wilson_interval` (Wilson 1927), which never collapses to a
  zero-width interval at 0 or 1 as the bootstrap of a small subset does.
* **Paired comparisons** of two methods scored on the same images: :func:`paired_difference`
  (bootstrap interval and sign-flip permutation test, both by lesion with ``groups=``),
  :func:`paired_scores` (one row per score column), read out in one sentence by
  :func:`verdict` (the effect size, its interval and p, and whether the interval excludes 0);
  p-values as text by :func:`format_p` ("p < 1e-4", never "p = 0.000").
* **Ratios and operating points** by lesion: :func:`ratio_of_means_ci` (a ratio of two means,
  such as a map's background over its lesion mean) and :func:`sensitivity_at_specificity`
  (melanoma sensitivity where the specificity is fixed, its threshold chosen anew in every
  resample).

One value, or one group, has no interval: resampling it gives it back every time, a zero-width
interval that says nothing. The bounds are then NaN with a ``RuntimeWarning`` saying so, and
:func:`verdict` and :func:`summarize_with_intervals` say "no interval".
* **Whether a paired gap changes** between two settings (two layers, two models):
  :func:`difference_of_differences` tests the change of the gap itself, per image, instead of
  comparing which of two intervals excludes 0 (a difference in significance is not a
  significant difference: Gelman & Stern, *The American Statistician* 60(4), 2006).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from torch import Tensor

__all__ = [
    "bootstrap_ci",
    "group_codes",
    "grouped_bootstrap",
    "grouped_bootstrap_ci",
    "balanced_accuracy_interval",
    "balanced_accuracy_difference",
    "wilson_interval",
    "format_p",
    "paired_difference",
    "paired_scores",
    "difference_of_differences",
    "paired_table",
    "verdict",
    "holm",
    "summarize_with_intervals",
    "ratio_of_means_ci",
    "sensitivity_at_specificity",
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


NAN = float("nan")


def _no_interval(what: str) -> None:
    warnings.warn(f"{what} has no interval: resampling it always gives it back. The bounds are "
                  "NaN; score more images (or lesions) for an interval.", RuntimeWarning,
                  stacklevel=3)


def bootstrap_ci(values: Sequence[float] | Tensor, level: float = 0.95, n_boot: int = 10_000,
                 seed: int = 0) -> tuple[float, float, float]:
    r"""The mean and its percentile bootstrap interval: ``(mean, low, high)``.

    Resample the :math:`n` values with replacement ``n_boot`` times, take each resample's mean
    :math:`\bar x^*_b`, and report the :math:`\tfrac{1-\text{level}}{2}` and
    :math:`\tfrac{1+\text{level}}{2}` quantiles of the :math:`\bar x^*_b` (Efron & Tibshirani,
    *An Introduction to the Bootstrap*, 1993, ch. 13). NaN values (e.g. images without a mask)
    are left out. Seeded: the same call gives the same interval. One value has no interval:
    ``(value, nan, nan)`` with a ``RuntimeWarning``.
    """
    level, n_boot = _check_level(level), _check_n_boot(n_boot)
    data = _finite_values(values)
    if data.numel() == 1:
        _no_interval("one value")
        return data.item(), NAN, NAN
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, data.numel(), (n_boot, data.numel()), generator=generator)
    means = data[picks].mean(dim=1)
    tail = (1 - level) / 2
    low, high = torch.quantile(means, torch.tensor([tail, 1 - tail], dtype=torch.float64))
    return data.mean().item(), low.item(), high.item()


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}; for a 95 % interval pass "
                         "level=0.95")
    return float(level)


def _check_n_boot(n_boot: int) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}; 10_000 is usual")
    return n_boot


def group_codes(groups: Sequence[object], n: int | None = None) -> Tensor:
    """Each entry's group as an int64 code 0, 1, ..., in the order of first appearance: the
    numbering :func:`grouped_bootstrap` draws from. ``n``: the expected number of entries."""
    labels = list(groups)
    if n is not None and len(labels) != n:
        raise ValueError(f"groups has {len(labels)} entries, values {n}: pass one group (the "
                         "image's lesion_id) per value")
    if not labels:
        raise ValueError("groups is empty: pass one group (lesion_id) per item")
    codes, _ = pd.factorize(pd.Series(labels, dtype=object))  # order of first appearance
    if (codes < 0).any():
        raise ValueError("groups holds a missing value (None or NaN): every image needs its "
                         "lesion_id")
    return torch.from_numpy(codes.astype(np.int64))


def _quantiles(values: Tensor, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2
    low, high = torch.quantile(values, torch.tensor([tail, 1 - tail], dtype=torch.float64))
    return low.item(), high.item()


def grouped_bootstrap(statistic: Callable[[Tensor], Tensor], groups: Sequence[object],
                      n_boot: int = 10_000, seed: int = 0, level: float = 0.95,
                      chunk: int = 1000) -> tuple[float, float, float]:
    r"""Any statistic and its cluster bootstrap interval by group: ``(value, low, high)``.

    ``groups`` gives each item its cluster (an image's ``lesion_id``); the :math:`G` groups
    are numbered 0 to :math:`G - 1` in their order of first appearance (:func:`group_codes`).
    Each of the ``n_boot`` resamples draws :math:`G` groups with replacement and keeps *all* the
    items of each drawn group (Davison & Hinkley, *Bootstrap Methods and their Application*,
    1997, sec. 3.8, "resampling clusters"). ``statistic`` gets the resampled group indices, an
    int64 tensor ``drawn`` of shape ``(b, G)`` (one resample a row, ``b`` resamples at a time),
    and returns the ``b`` values. A statistic that is a ratio of sums reads per-group sums:
    for the mean over items, ``sums[drawn].sum(1) / sizes[drawn].sum(1)`` with ``sums`` and
    ``sizes`` the groups' sums and numbers of items (:func:`grouped_bootstrap_ci`); any other
    takes the items of the drawn groups. The value is ``statistic`` of every group once (the
    row ``0, 1, ..., G - 1``), the interval the percentile one, as in :func:`bootstrap_ci`.
    Seeded: the same call gives the same interval; ``chunk`` (resamples per call of
    ``statistic``) bounds the memory and does not change the result. One group has no
    interval: ``(value, nan, nan)`` with a ``RuntimeWarning``.
    """
    level, n_boot = _check_level(level), _check_n_boot(n_boot)
    n_groups = int(group_codes(groups).max()) + 1
    if n_groups == 1:
        everyone = torch.as_tensor(statistic(torch.zeros(1, 1, dtype=torch.int64)),
                                   dtype=torch.float64)
        _no_interval("one group (one lesion)")
        return float(everyone.flatten()[0]), NAN, NAN
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, n_groups, (n_boot, n_groups), generator=generator)
    values = torch.cat([torch.as_tensor(statistic(block), dtype=torch.float64).flatten()
                        for block in picks.split(max(1, int(chunk)))])
    everyone = torch.as_tensor(statistic(torch.arange(n_groups)[None]), dtype=torch.float64)
    return (float(everyone.flatten()[0]), *_quantiles(values, level))


def grouped_bootstrap_ci(values: Sequence[float] | Tensor, groups: Sequence[object],
                         level: float = 0.95, n_boot: int = 10_000,
                         seed: int = 0) -> tuple[float, float, float]:
    r"""The mean over images and its cluster bootstrap interval by group: ``(mean, low, high)``.

    :func:`grouped_bootstrap` of the mean: each resample's statistic is the mean over the
    images of its drawn groups,

    .. math:: \bar x^*_b = \frac{\sum_{g \in S_b} s_g}{\sum_{g \in S_b} n_g},

    with :math:`s_g` and :math:`n_g` the sum and the number of group :math:`g`'s values. When
    the images of a lesion agree with each other, this interval is wider than the one that
    resamples images: :math:`k` copies of one image are one observation, not :math:`k`. With
    one image per group it is :func:`bootstrap_ci`'s. NaN values (and their group entries) are
    left out. Seeded: the same call gives the same interval.
    """
    level, n_boot = _check_level(level), _check_n_boot(n_boot)
    data = _float64(values)
    labels = list(groups)
    if len(labels) != data.numel():
        raise ValueError(f"groups has {len(labels)} entries, values {data.numel()}: pass one "
                         "group (the image's lesion_id) per value")
    keep = ~torch.isnan(data)
    data = _finite_values(data)
    labels = [label for label, k in zip(labels, keep.tolist(), strict=True) if k]
    codes = group_codes(labels)
    n_groups = int(codes.max()) + 1
    sums = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, codes, data)
    sizes = torch.bincount(codes, minlength=n_groups).double()
    _, low, high = grouped_bootstrap(lambda drawn: sums[drawn].sum(dim=1) / sizes[drawn].sum(dim=1),
                                     labels, n_boot, seed, level)
    return data.mean().item(), low, high


def _class_hits(labels: np.ndarray, preds: Sequence[np.ndarray],
                groups: Any) -> tuple[list[object], Tensor, list[Tensor]]:
    """Per group (lesion) and class present: the images (``members``, ``(G, C)``) and, for each
    prediction in ``preds``, its hits among them; with the groups as a list (``None``: images)."""
    groups = (np.arange(len(labels)) if groups is None else np.asarray(groups)).tolist()
    codes = group_codes(groups, len(labels))
    member = torch.from_numpy((labels[:, None] == np.unique(labels)[None, :]).astype(np.float64))
    tally = torch.zeros(int(codes.max()) + 1, member.shape[1], dtype=torch.float64)
    members = tally.clone().index_add_(0, codes, member)
    hits = [tally.clone().index_add_(
        0, codes, member * torch.from_numpy((pred == labels).astype(np.float64))[:, None])
        for pred in preds]
    return groups, members, hits


def _sign_flip_p(per_group: Tensor, observed: float, n_boot: int, seed: int) -> float:
    r"""Two-sided sign-flip permutation test of "no difference": ``per_group`` holds each
    group's share of the statistic (they sum to it); each resample keeps or flips every share's
    sign at random, :math:`p = (1 + \#\{|\Delta^*| \ge |\Delta|\}) / (1 + n_\text{boot})`, with
    ``observed`` the statistic :math:`\Delta` (generator seeded ``seed + 1``)."""
    generator = torch.Generator().manual_seed(seed + 1)
    signs = torch.randint(0, 2, (n_boot, per_group.numel()), generator=generator) * 2.0 - 1
    extreme = ((signs.double() @ per_group.double()).abs() >= abs(observed) - 1e-12).sum().item()
    return (1 + extreme) / (1 + n_boot)


def balanced_accuracy_interval(labels: Any, pred: Any, groups: Any = None, level: float = 0.95,
                               n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Balanced accuracy (mean per-class recall) and a percentile bootstrap interval,
    resampling ``groups`` (e.g. lesion ids: images of one lesion are not independent) or, with
    ``groups=None``, images, by :func:`helpers.grouped_bootstrap`. Returns
    ``(value, low, high)``; resamples missing a class skip it in the mean."""
    labels, pred = np.asarray(labels), np.asarray(pred)
    if labels.shape != pred.shape or labels.ndim != 1 or not len(labels):
        raise ValueError(f"balanced_accuracy_interval: labels {labels.shape} and pred "
                         f"{pred.shape}; expected two 1-D arrays of the same length > 0.")
    groups, members, (hits,) = _class_hits(labels, [pred], groups)

    def bacc(drawn: Tensor) -> Tensor:
        """Balanced accuracy of each resample of lesions (``drawn``: (b, G) group indices)."""
        per_class = hits[drawn].sum(dim=1) / members[drawn].sum(dim=1)  # NaN: class not drawn
        return per_class.nanmean(dim=1)

    return grouped_bootstrap(bacc, groups, n_boot, seed, level, chunk=200)


def balanced_accuracy_difference(labels: Any, pred_a: Any, pred_b: Any, groups: Any = None,
                                 level: float = 0.95, n_boot: int = 2000,
                                 seed: int = 0) -> dict[str, float]:
    r"""Two predictions of the same images compared by balanced accuracy: ``a`` minus ``b``.

    The difference :math:`\Delta = \tfrac1K \sum_c (h^a_c - h^b_c) / n_c` (:math:`h_c`: hits
    among the :math:`n_c` images of class :math:`c`, over the :math:`K` classes present) and
    its paired percentile interval by :func:`grouped_bootstrap`: each resample of ``groups``
    (lesion ids; ``None``: images) recomputes both balanced accuracies on the same drawn
    lesions. ``p``: the paired exchange test of "no difference", which swaps the two
    predictions of all the images of a lesion at random ``n_boot`` times (:func:`_sign_flip_p`
    on each lesion's share of :math:`\Delta`). Returns ``mean`` (:math:`\Delta`), ``low``,
    ``high``, ``p``, ``n`` (images) and ``groups``, the row :func:`helpers.findings.comparison`
    reads.
    """
    labels, pred_a, pred_b = (np.asarray(v) for v in (labels, pred_a, pred_b))
    if labels.ndim != 1 or not len(labels) or pred_a.shape != labels.shape \
            or pred_b.shape != labels.shape:
        raise ValueError(f"balanced_accuracy_difference: labels {labels.shape}, pred_a "
                         f"{pred_a.shape}, pred_b {pred_b.shape}; expected three 1-D arrays of "
                         "the same length > 0, one entry per image.")
    groups, members, (hits_a, hits_b) = _class_hits(labels, [pred_a, pred_b], groups)

    def gap(drawn: Tensor) -> Tensor:
        """Balanced accuracy of a minus that of b on each resample of lesions."""
        size = members[drawn].sum(dim=1)  # a class not drawn: NaN in both, skipped
        return (hits_a[drawn].sum(dim=1) / size - hits_b[drawn].sum(dim=1) / size).nanmean(1)

    mean, low, high = grouped_bootstrap(gap, groups, n_boot, seed, level, chunk=200)
    per_group = ((hits_a - hits_b) / members.sum(dim=0)).sum(dim=1) / members.shape[1]
    return {"mean": mean, "low": low, "high": high,
            "p": _sign_flip_p(per_group, mean, n_boot, seed), "n": len(labels),
            "groups": members.shape[0]}


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    r"""A proportion and its Wilson score interval: ``(k / n, low, high)``.

    .. math:: \frac{\hat p + \frac{z^2}{2n}}{1 + \frac{z^2}{n}} \pm
              \frac{z}{1 + \frac{z^2}{n}}\sqrt{\frac{\hat p (1 - \hat p)}{n}
              + \frac{z^2}{4 n^2}}

    with :math:`\hat p = k / n` and :math:`z` the standard normal's
    :math:`\tfrac{1+\text{level}}{2}` quantile (Wilson 1927, JASA 22:209; Brown, Cai &
    DasGupta 2001, Statist. Sci. 16:101, who recommend it for small :math:`n`). Unlike the
    bootstrap of a few images, it is not degenerate at :math:`\hat p = 0` or 1: 12 hits out of
    12 give [0.76, 1.00], not [1.00, 1.00]. It treats the :math:`n` trials as independent; for
    several images per lesion use :func:`grouped_bootstrap_ci` on the whole split.
    """
    level = _check_level(level)
    for name, value in (("successes", successes), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int (a count), got {value!r}; for a proportion "
                            "p of n trials pass successes=round(p * n)")
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got successes={successes}, "
                         f"n={n}")
    z = NormalDist().inv_cdf((1 + level) / 2)
    p_hat = successes / n
    denom = 1 + z**2 / n
    centre = (p_hat + z**2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p_hat * (1 - p_hat) / n + z**2 / (4 * n**2))
    return p_hat, max(0.0, centre - half), min(1.0, centre + half)


def format_p(p: float, floor: float = 1e-4) -> str:
    """A p-value as text: ``"p = 0.032"``, ``"p = 0.0005"``, ``"p < 1e-4"``, never ``"p = 0.000"``.

    Three decimals from 0.001 up, four below that, and below ``floor`` only the bound: a
    permutation test with 10,000 resamples cannot resolve smaller values (its smallest p is
    1/10,001), and no smaller value would change a conclusion.
    """
    value = float(p)
    if math.isnan(value) or not 0 <= value <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    if not 0 < floor < 1:
        raise ValueError(f"floor must be in (0, 1), got {floor!r}")
    if value < floor:
        return f"p < {floor:.0e}".replace("e-0", "e-")
    return f"p = {value:.3f}" if value >= 0.001 else f"p = {value:.4f}"


def paired_difference(a: Sequence[float] | Tensor, b: Sequence[float] | Tensor,
                      level: float = 0.95, n_boot: int = 10_000, seed: int = 0,
                      groups: Sequence[object] | None = None) -> dict[str, float]:
    r"""Compare two methods scored on the same images: the mean of :math:`d_i = a_i - b_i`.

    Returns ``mean``, ``low``, ``high`` (the percentile bootstrap interval of the mean
    difference, :func:`bootstrap_ci` on :math:`d`), ``p`` (two-sided sign-flip permutation test
    of "no difference": each :math:`d_i` keeps or flips its sign at random, ``n_boot`` times;
    :math:`p = (1 + \#\{|\bar d^*| \ge |\bar d|\}) / (1 + n_\text{boot})`) and ``n``. Pairs with
    a NaN on either side are left out. All differences 0 gives ``p = 1``.

    ``groups`` (one lesion id per image, optional): the images of one lesion are not
    independent, so the interval comes from :func:`grouped_bootstrap_ci` (it resamples
    lesions) and the test flips the signs of all the images of one lesion together. With one
    image per group the result is the ungrouped one.
    """
    first, second = _float64(a), _float64(b)
    if first.shape != second.shape:
        raise ValueError(f"a has {first.numel()} values, b {second.numel()}: pair them by image")
    raw = first - second
    if groups is None:
        diff = _finite_values(raw, "a - b")
        mean, low, high = bootstrap_ci(diff, level, n_boot, seed)
        codes = torch.arange(diff.numel())
    else:
        labels = list(groups)
        codes_all = group_codes(labels, raw.numel())
        keep = ~torch.isnan(raw)
        diff = _finite_values(raw, "a - b")
        kept = [label for label, k in zip(labels, keep.tolist(), strict=True) if k]
        mean, low, high = grouped_bootstrap_ci(diff, kept, level, n_boot, seed)
        codes = torch.unique(codes_all[keep], return_inverse=True)[1]
    per_group = torch.zeros(int(codes.max()) + 1, dtype=torch.float64).index_add_(
        0, codes, diff) / diff.numel()  # each group's share of the mean difference
    return {"mean": mean, "low": low, "high": high,
            "p": _sign_flip_p(per_group, mean, n_boot, seed), "n": diff.numel()}


def verdict(row: Mapping[str, float], better: Literal["higher", "lower"],
            name: str = "Grad-CAM++") -> str:
    """One sentence on a paired difference: its size with its interval and p, in words.

    ``row``: one result of :func:`paired_difference` (a dict, or a row of a frame of them, such
    as :func:`paired_scores` returns), the difference "``name`` minus its rival". ``better``:
    whether a higher or a lower score is better for this metric. The sentence gives the effect
    size (the mean difference), its interval and the p-value, then says whether the interval
    excludes 0 and, if it does, on whose side (with NaN bounds, one image or one lesion, that
    there is no interval)::

        higher by 0.12 [0.05, 0.19], p = 0.001: the interval excludes 0, in Grad-CAM++'s favour
        higher by 0.02 [-0.01, 0.05], p = 0.300: the interval includes 0, no winner at this
        sample size

    It calls no difference "real": a p below 0.05 says that the data are unlikely under "no
    difference", not that the difference matters; read its size against the scale of the score.
    """
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', got {better!r}")
    missing = [key for key in ("mean", "low", "high", "p") if key not in row]
    if missing:
        raise KeyError(f"row lacks {missing}: pass a result of paired_difference")
    mean, low, high, p = (float(row[key]) for key in ("mean", "low", "high", "p"))
    size = f"{'higher' if mean > 0 else 'lower'} by {abs(mean):.3g}" if mean else "equal on average"
    if math.isnan(low) or math.isnan(high):
        return (f"{size}, {format_p(p)}: no interval (one image or one lesion), so no "
                "conclusion; score more images")
    if not (low > 0 or high < 0):
        outcome = "the interval includes 0, no winner at this sample size"
    elif (mean > 0) == (better == "higher"):
        outcome = f"the interval excludes 0, in {name}'s favour"
    else:
        outcome = f"the interval excludes 0, against {name}"
    return f"{size} [{low:.3g}, {high:.3g}], {format_p(p)}: {outcome}"


def holm(p_values: Sequence[float]) -> list[float]:
    r"""Holm's step-down adjustment of several p-values (Holm 1979, Scand. J. Statist. 6:65).

    Sort the :math:`m` p-values, :math:`p_{(1)} \le \dots \le p_{(m)}`; the adjusted value of
    the :math:`i`-th is :math:`\max_{j \le i} \min(1, (m - j + 1)\, p_{(j)})`, returned in the
    input order. Rejecting where the adjusted p is below :math:`\alpha` keeps the chance of
    any false "beats" in the table at most :math:`\alpha`. NaN stays NaN and does not count
    in :math:`m`.
    """
    values = [float(p) for p in p_values]
    if any(not (math.isnan(p) or 0 <= p <= 1) for p in values):
        raise ValueError(f"p_values must be probabilities in [0, 1], got {values}")
    finite = sorted((p, i) for i, p in enumerate(values) if not math.isnan(p))
    adjusted = list(values)
    running, m = 0.0, len(finite)
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def _groups_of_images(groups: Sequence[object] | None, images: pd.Index | pd.Series,
                      ) -> list[object] | None:
    """The lesion of each image number in ``images``: ``groups[image]`` (positional)."""
    if groups is None:
        return None
    table = np.asarray(list(groups), dtype=object)
    numbers = np.asarray(images)
    if numbers.size and (not np.issubdtype(numbers.dtype, np.integer) or numbers.min() < 0
                         or numbers.max() >= len(table)):
        raise ValueError(f"groups has {len(table)} entries but the scores number their images "
                         f"up to {numbers.max()}: pass one lesion id per image of the split "
                         "(e.g. test_df['lesion_id']), in the order of the image numbers")
    return table[numbers.astype(np.int64)].tolist()


def paired_scores(scores: pd.DataFrame, a: str, b: str, columns: Sequence[str] | None = None,
                  level: float = 0.95, n_boot: int = 10_000, seed: int = 0,
                  groups: Sequence[object] | None = None) -> pd.DataFrame:
    """:func:`paired_difference` of method ``a`` minus method ``b``, one row per score column.

    ``scores``: the frame of :func:`helpers.metrics.per_image_scores`, in which both methods
    were scored on the same images (paired by the ``image`` column). ``columns``: the score
    columns to compare (default: all of them). ``groups``: one lesion id per image of the split
    the scores were computed on (``groups[image]`` is the lesion of image number ``image``),
    to resample lesions and flip their signs together. Columns of the result: ``mean``,
    ``low``, ``high``, ``p``, ``n``; read a row out with :func:`verdict`.
    """
    by_method = {name: scores[scores["method"] == name].set_index("image") for name in (a, b)}
    for name, frame in by_method.items():
        if frame.empty:
            raise ValueError(f"no scores for method {name!r}; scores has "
                             f"{sorted(scores['method'].unique())}")
    first, second = by_method[a], by_method[b]
    if not first.index.equals(second.index):
        raise ValueError(f"{a!r} and {b!r} were not scored on the same images: pair them by image")
    lesions = _groups_of_images(groups, first.index)
    if columns is None:
        columns = [c for c in scores.columns if c not in ("method", "image")]
    return pd.DataFrame({
        column: paired_difference(first[column].to_numpy(), second[column].to_numpy(),
                                  level, n_boot, seed, groups=lesions)
        for column in columns}).T


def difference_of_differences(first: pd.DataFrame, second: pd.DataFrame, a: str, b: str,
                              columns: Sequence[str] | None = None, level: float = 0.95,
                              n_boot: int = 10_000, seed: int = 0,
                              groups: Sequence[object] | None = None) -> pd.DataFrame:
    r"""Does the gap between methods ``a`` and ``b`` change from one setting to another?

    ``first`` and ``second``: two frames of :func:`helpers.metrics.per_image_scores` on the same
    images (e.g. the maps at ``layer3`` and at ``layer4``). Per image :math:`i` and score,

    .. math:: \Delta_i = (a_i - b_i)_\text{first} - (a_i - b_i)_\text{second},

    and :func:`paired_difference` of the two gaps gives the mean of :math:`\Delta`, its
    bootstrap interval (by lesion with ``groups``, one lesion id per image of the split as in
    :func:`paired_scores`) and a sign-flip p-value. The gap changes where that interval excludes
    0; that one setting's interval for :math:`a - b` excludes 0 and the other's does not says
    nothing about it. Columns of the result: ``mean``, ``low``, ``high``, ``p``, ``n``.
    """
    if first is second:
        raise ValueError("first and second are the same table: pass the scores of the two "
                         "settings (e.g. per_image_scores at layer3, then at layer4)")
    gaps = []
    for name, frame in (("first", first), ("second", second)):
        by_method = {m: frame[frame["method"] == m].set_index("image") for m in (a, b)}
        for method, rows in by_method.items():
            if rows.empty:
                raise ValueError(f"{name} has no scores for method {method!r}; it has "
                                 f"{sorted(frame['method'].unique())}")
        if not by_method[a].index.equals(by_method[b].index):
            raise ValueError(f"in {name}, {a!r} and {b!r} were not scored on the same images")
        gaps.append(by_method[a].drop(columns="method") - by_method[b].drop(columns="method"))
    if not gaps[0].index.equals(gaps[1].index):
        raise ValueError("first and second were not scored on the same images: pair them by "
                         "image (the same X, in the same order)")
    lesions = _groups_of_images(groups, gaps[0].index)
    if columns is None:
        columns = [c for c in gaps[0].columns if c in gaps[1].columns]
    return pd.DataFrame({
        column: paired_difference(gaps[0][column].to_numpy(), gaps[1][column].to_numpy(),
                                  level, n_boot, seed, groups=lesions)
        for column in columns}).T
def paired_table(a: Mapping[str, Sequence[float] | Tensor],
                 b: Mapping[str, Sequence[float] | Tensor], groups: Sequence[object] | None = None,
                 level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """:func:`paired_difference` of ``a[key]`` minus ``b[key]`` for every key of ``a``, one row
    each (``mean``, ``low``, ``high``, ``p``, ``n``): e.g. per measure, a biased model's
    per-image scores against a clean model's on the same images. A key whose pairs are all NaN
    (or that has no pair) gets a row of NaN with ``n`` 0. ``groups`` (a column): how many
    groups (lesions) the pairs come from, the number the interval rests on."""
    rows = {}
    for key, first in a.items():
        try:
            rows[key] = paired_difference(first, b[key], level, n_boot, seed, groups)
        except ValueError as err:
            if "no value that is not NaN" not in str(err) and "is empty" not in str(err):
                raise
            rows[key] = {"mean": math.nan, "low": math.nan, "high": math.nan, "p": math.nan,
                         "n": 0}
        finite = ~torch.isnan(_float64(first) - _float64(b[key]))
        labels = range(len(finite)) if groups is None else list(groups)
        rows[key]["groups"] = len({g for g, k in zip(labels, finite.tolist(), strict=True) if k})
    return pd.DataFrame(rows).T


def summarize_with_intervals(scores: pd.DataFrame, level: float = 0.95, n_boot: int = 10_000,
                             seed: int = 0, groups: Sequence[object] | None = None,
                             ) -> pd.DataFrame:
    """Mean and bootstrap interval of every score column, per method: ``"0.42 [0.37, 0.47]"``.

    ``scores``: the frame of :func:`helpers.metrics.per_image_scores`. Each cell is the mean
    over the images where the score is defined, with its percentile bootstrap interval:
    :func:`bootstrap_ci` (resampling images), or with ``groups`` (one lesion id per image of
    the split, ``groups[image]`` for image number ``image``) :func:`grouped_bootstrap_ci`
    (resampling lesions). ``attrs["numeric"]`` holds the numbers as a (method, column) ->
    (mean, low, high) dict.
    """
    columns = [c for c in scores.columns if c not in ("method", "image")]
    cells: dict[str, dict[str, str]] = {}
    numeric: dict[tuple[str, str], tuple[float, float, float]] = {}
    for method, group in scores.groupby("method", sort=False):
        cells[method] = {}
        lesions = _groups_of_images(groups, group["image"])
        for column in columns:
            values = group[column].to_numpy()
            mean, low, high = (bootstrap_ci(values, level, n_boot, seed) if lesions is None else
                               grouped_bootstrap_ci(values, lesions, level, n_boot, seed))
            numeric[(method, column)] = (mean, low, high)
            digits = 1 if column.endswith("%") else 2
            cells[method][column] = (
                f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
                if not (math.isnan(low) or math.isnan(high)) else
                f"{mean:.{digits}f} [no interval: one {'value' if lesions is None else 'lesion'}]")
    table = pd.DataFrame.from_dict(cells, orient="index").rename_axis("method")
    table.attrs["numeric"] = numeric
    return table


# ----------------------------------------------------------------------------------------------
# Ratios and operating points, by lesion
# ----------------------------------------------------------------------------------------------


def _grouped_items(groups: Sequence[object] | None, n: int) -> tuple[list[object], Tensor]:
    labels = list(range(n)) if groups is None else list(groups)
    if len(labels) != n:
        raise ValueError(f"groups has {len(labels)} entries for {n} values: pass one group (the "
                         "image's lesion_id) per value, or None for one group per value")
    return labels, group_codes(labels)


def ratio_of_means_ci(numerators: Sequence[float] | Tensor, denominators: Sequence[float] | Tensor,
                      groups: Sequence[object] | None = None, level: float = 0.95,
                      n_boot: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    r""":math:`\sum_i a_i / \sum_i b_i` (the ratio of two means over the same images) and its
    bootstrap interval by group: ``(ratio, low, high)``.

    Each resample draws groups (lesions) with replacement, as :func:`grouped_bootstrap`, and
    takes the ratio of the resampled sums; pairs with a NaN on either side are left out. Used
    for :func:`helpers.metrics.background_lesion_ratio`: its numerators are the maps' mean
    background values, its denominators their mean lesion values.
    """
    a, b = _float64(numerators), _float64(denominators)
    if a.shape != b.shape:
        raise ValueError(f"numerators {tuple(a.shape)} and denominators {tuple(b.shape)} must "
                         "pair up, one value of each per image")
    labels, _ = _grouped_items(groups, a.numel())
    keep = ~(a.isnan() | b.isnan())
    a, b = _finite_values(a[keep], "numerators"), _finite_values(b[keep], "denominators")
    labels = [g for g, k in zip(labels, keep.tolist(), strict=True) if k]
    codes = group_codes(labels)
    n_groups = int(codes.max()) + 1
    sums_a = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, codes, a)
    sums_b = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, codes, b)
    if sums_b.sum() <= 0:
        raise ValueError("denominators sum to 0 or less: the ratio is not defined")
    return grouped_bootstrap(lambda drawn: sums_a[drawn].sum(1) / sums_b[drawn].sum(1), labels,
                             n_boot, seed, level)


def _sensitivity_at(scores: np.ndarray, positive: np.ndarray, specificity: float
                    ) -> tuple[float, float, float]:
    negatives, positives = scores[~positive], scores[positive]
    if len(negatives) == 0 or len(positives) == 0:
        return math.nan, math.nan, math.nan
    threshold = float(np.quantile(negatives, specificity, method="inverted_cdf"))
    return (float((positives > threshold).mean()), threshold,
            float((negatives <= threshold).mean()))


def sensitivity_at_specificity(scores: Sequence[float], positive: Sequence[bool],
                               specificity: float = 0.9, groups: Sequence[object] | None = None,
                               level: float = 0.95, n_boot: int = 2_000, seed: int = 0
                               ) -> dict[str, float]:
    r"""The operating point that keeps at least ``specificity`` of the negatives negative, and
    the sensitivity it reaches there, with a bootstrap interval by group.

    The threshold :math:`t` is the ``specificity`` quantile of the negatives' scores (the
    smallest observed score with at least that share of negatives at or below it); an image is
    called positive when its score exceeds :math:`t`. So the achieved specificity is at least
    the target, and the sensitivity is :math:`\frac1{|P|}\sum_{i \in P} [s_i > t]`. Each
    resample draws groups (lesions) with replacement and chooses its own threshold: the interval
    covers the operating point as it would be chosen on another sample, not one fixed threshold.
    Returns ``sensitivity``, ``low``, ``high``, ``threshold`` and ``specificity`` (achieved).
    """
    if not 0 < specificity < 1:
        raise ValueError(f"specificity must be in (0, 1), got {specificity!r}")
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    pos = np.asarray(positive).reshape(-1)
    if pos.dtype != bool or pos.shape != s.shape:
        raise ValueError(f"positive must be one bool per score ({s.size}), got dtype {pos.dtype} "
                         f"and {pos.size} values")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite (a NaN or inf score has no place on the ROC)")
    labels, codes = _grouped_items(groups, s.size)
    sensitivity, threshold, achieved = _sensitivity_at(s, pos, specificity)
    if math.isnan(sensitivity):
        raise ValueError("scores need at least one positive and one negative image")
    members = [np.flatnonzero(codes.numpy() == g) for g in range(int(codes.max()) + 1)]

    resampled: list[float] = []

    def statistic(drawn: Tensor) -> Tensor:
        values = []
        for row in drawn.tolist():
            index = np.concatenate([members[g] for g in row])
            values.append(_sensitivity_at(s[index], pos[index], specificity)[0])
        resampled.extend(values)
        return torch.tensor(values, dtype=torch.float64)

    grouped_bootstrap(statistic, labels, n_boot, seed, level)
    # a resample without a positive or a negative lesion has no operating point: left out
    defined = torch.tensor(resampled[: n_boot], dtype=torch.float64)
    defined = defined[~defined.isnan()]
    low, high = _quantiles(defined, level) if len(defined) else (math.nan, math.nan)
    return {"sensitivity": sensitivity, "low": low, "high": high, "threshold": threshold,
            "specificity": achieved}
