r"""Agreement between heatmaps: do two methods (or two models) point at the same pixels?

:func:`rank_correlation` (Spearman's rho over pixels, per image), :func:`top_region_iou` (IoU of
the top ``fraction`` of pixels), :func:`ssim` (Wang et al. 2004, structural similarity), and
over many methods :func:`agreement_matrix`, :func:`consensus_scores`, :func:`disagreeing_images`;
and whether one method's map follows its image when the image is turned or flipped,
:func:`follows_turn`. Maps are ``(B, H, W)`` float tensors, checked as in :mod:`helpers.metrics`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from .metrics import check_map_pair, gaussian_kernel1d


def _average_ranks(values: Tensor) -> Tensor:
    """Row-wise ranks 1..n, tied values sharing their average rank (like scipy's rankdata)."""
    sorted_values = values.sort(dim=1).values
    below = torch.searchsorted(sorted_values, values, right=False)  # how many are smaller
    up_to = torch.searchsorted(sorted_values, values, right=True)  # how many are <= value
    return (below + 1 + up_to).double() / 2


def _pearson_rows(a: Tensor, b: Tensor) -> Tensor:
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    denom = a.norm(dim=1) * b.norm(dim=1)
    return torch.where(denom > 0, (a * b).sum(dim=1) / denom.clamp_min(1e-300), 0.0)


def rank_correlation(map_a: Tensor, map_b: Tensor) -> Tensor:
    r"""Spearman rank correlation per image pair, ``(B,)`` in [-1, 1] (CPU, float64).

    .. math:: \rho = \frac{\operatorname{cov}(R(a), R(b))}{\sigma_{R(a)}\, \sigma_{R(b)}}

    with :math:`R` the pixel ranks, tied pixels sharing their average rank (as
    ``scipy.stats.spearmanr``). A constant map has no ranking: its correlation with anything is
    defined as 0 here (scipy returns nan).
    """
    map_a, map_b = check_map_pair(map_a, map_b)
    return _pearson_rows(_average_ranks(map_a.flatten(1)), _average_ranks(map_b.flatten(1)))


def _top_mask(maps: Tensor, k: int) -> Tensor:
    order = maps.flatten(1).argsort(dim=1, descending=True, stable=True)[:, :k]
    mask = torch.zeros(maps.shape[0], maps[0].numel(), dtype=torch.bool)
    return mask.scatter_(1, order, True)


def top_region_iou(map_a: Tensor, map_b: Tensor, fraction: float = 0.2) -> Tensor:
    r"""IoU of the two maps' top regions per image, ``(B,)`` in [0, 1] (CPU, float64).

    Each map's top region is its :math:`k = \lceil \text{fraction} \cdot HW \rceil` most salient
    pixels (ties: row-major order, first pixel first);
    :math:`\text{IoU} = |A \cap B| / |A \cup B|`.
    """
    if isinstance(fraction, bool) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}: the share of each "
                         "map's pixels in its top region, e.g. fraction=0.2 (a fifth)")
    map_a, map_b = check_map_pair(map_a, map_b)
    k = max(1, math.ceil(fraction * map_a[0].numel() - 1e-9))
    top_a, top_b = _top_mask(map_a, k), _top_mask(map_b, k)
    inter = (top_a & top_b).sum(dim=1).double()
    return inter / (top_a | top_b).sum(dim=1).double()


def ssim(
    map_a: Tensor, map_b: Tensor, data_range: float = 1.0, win_size: int = 11, sigma: float = 1.5
) -> Tensor:
    r"""Mean structural similarity per image pair (Wang, Bovik, Sheikh & Simoncelli 2004).

    .. math:: \text{SSIM}(a, b) = \frac{(2\mu_a\mu_b + C_1)(2\sigma_{ab} + C_2)}
              {(\mu_a^2 + \mu_b^2 + C_1)(\sigma_a^2 + \sigma_b^2 + C_2)},\quad
              C_1 = (0.01 L)^2,\ C_2 = (0.03 L)^2

    Local means, variances and covariance use a ``win_size`` x ``win_size`` Gaussian window
    (sigma 1.5, the paper's choice) at every position where the window fits inside the map;
    the result is their mean. ``L = data_range`` (1 for maps in [0, 1]). Matches
    ``skimage.metrics.structural_similarity(a, b, data_range=1, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False)``. Returns ``(B,)`` (CPU, float64); 1 means equal.
    """
    map_a, map_b = check_map_pair(map_a, map_b)
    if min(map_a.shape[-2:]) < win_size:
        raise ValueError(f"maps must be at least {win_size} x {win_size} pixels")
    kernel = gaussian_kernel1d(sigma, win_size // 2)
    rows, cols = kernel.view(1, 1, 1, -1), kernel.view(1, 1, -1, 1)

    def local_mean(img: Tensor) -> Tensor:
        return F.conv2d(F.conv2d(img.unsqueeze(1), rows), cols)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = local_mean(map_a), local_mean(map_b)
    var_a = local_mean(map_a * map_a) - mu_a**2
    var_b = local_mean(map_b * map_b) - mu_b**2
    cov = local_mean(map_a * map_b) - mu_a * mu_b
    numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    denominator = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return (numerator / denominator).flatten(1).mean(dim=1)


_AGREEMENT: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "spearman": rank_correlation,
    "iou": top_region_iou,
    "ssim": ssim,
}


def _pairwise(maps_by_method: Mapping[str, Tensor], metric: str) -> dict[tuple[str, str], Tensor]:
    if metric not in _AGREEMENT:
        raise ValueError(f"metric must be one of {sorted(_AGREEMENT)}, got {metric!r}")
    if len(maps_by_method) < 2:
        raise ValueError("need maps from at least two methods")
    pairs = list(itertools.combinations(maps_by_method, 2))
    if metric == "spearman":  # rank each method's maps once, not once for every pair
        first = next(iter(maps_by_method.values()))
        ranks = {name: _average_ranks(check_map_pair(first, maps)[1].flatten(1))
                 for name, maps in maps_by_method.items()}
        return {(a, b): _pearson_rows(ranks[a], ranks[b]) for a, b in pairs}
    score = _AGREEMENT[metric]
    return {(a, b): score(maps_by_method[a], maps_by_method[b]) for a, b in pairs}


def agreement_matrix(
    maps_by_method: Mapping[str, Tensor],
    metric: Literal["spearman", "iou", "ssim"] = "spearman",
) -> pd.DataFrame:
    """Methods x methods table of the mean per-image agreement between their maps.

    ``maps_by_method`` maps a method's name to its ``(B, H, W)`` maps of the same images.
    ``metric``: ``"spearman"`` (:func:`rank_correlation`), ``"iou"`` (:func:`top_region_iou`,
    top 20 %) or ``"ssim"`` (:func:`ssim`). Symmetric, with 1 on the diagonal (a method agrees
    with itself by definition).
    """
    names = list(maps_by_method)
    table = pd.DataFrame(1.0, index=names, columns=names)
    for (a, b), values in _pairwise(maps_by_method, metric).items():
        table.loc[a, b] = table.loc[b, a] = values.mean().item()
    return table


def consensus_scores(
    maps_by_method: Mapping[str, Tensor],
    metric: Literal["spearman", "iou", "ssim"] = "spearman",
) -> Tensor:
    """Per image: the mean pairwise agreement over all pairs of methods, ``(B,)`` (CPU).

    Low values flag images where the methods tell different stories.
    """
    return torch.stack(list(_pairwise(maps_by_method, metric).values())).mean(dim=0)


def disagreeing_images(
    maps_by_method: Mapping[str, Tensor],
    k: int | None = 5,
    threshold: float | None = None,
    metric: Literal["spearman", "iou", "ssim"] = "spearman",
) -> Tensor:
    """Indices of the images where the methods agree least, lowest consensus first.

    With ``threshold``: every image whose :func:`consensus_scores` is below it; otherwise the
    ``k`` lowest. Returns a long tensor of indices into the batch.
    """
    scores = consensus_scores(maps_by_method, metric)
    order = scores.argsort(stable=True)
    if threshold is not None:
        return order[scores[order] < threshold]
    if k is None:
        raise ValueError("give k or threshold")
    return order[:k]


# ----------------------------------------------------------------------------------------------
# Does a map move with its image? (Kindermans et al. 2019, input invariance)
# ----------------------------------------------------------------------------------------------


class Turn(NamedTuple):
    """A transform of the last two (spatial) axes, its inverse, and its name as a participle."""

    forward: Callable[[Tensor], Tensor]
    back: Callable[[Tensor], Tensor]
    done: str


TURNS: dict[str, Turn] = {
    "turn": Turn(lambda t: t.rot90(1, (-2, -1)), lambda t: t.rot90(-1, (-2, -1)), "turned"),
    "flip": Turn(lambda t: t.flip(-1), lambda t: t.flip(-1), "flipped"),
}
"""The transforms :func:`follows_turn` knows: a quarter turn anticlockwise and a left-right
flip, each with its inverse. Both keep every pixel (a square image stays on its grid)."""


@dataclass(frozen=True)
class TurnAgreement:
    """:func:`follows_turn`'s result, per image: ``original`` and ``turned_back`` maps
    ``(B, H, W)``, ``rho`` (the maps' Spearman correlation) and ``rho_in_place`` (the original
    map against the turned image's map *not* turned back), both ``(B,)``."""

    transform: str
    original: Tensor
    turned_back: Tensor
    rho: Tensor
    rho_in_place: Tensor


def follows_turn(explain: Callable[[Tensor], Tensor], images: Tensor,
                 transform: str = "turn", original: Tensor | None = None) -> TurnAgreement:
    r"""Does the map follow the image when the image is turned (or flipped)?

    With :math:`T` the transform (:data:`TURNS`) and :math:`M` the explanation method, per image

    .. math:: \rho_i = \rho_S\big(M(x_i),\ T^{-1} M(T x_i)\big), \qquad
              \rho^\text{in place}_i = \rho_S\big(M(x_i),\ M(T x_i)\big),

    :math:`\rho_S` the Spearman correlation (:func:`rank_correlation`). A map that follows the
    image has :math:`\rho_i = 1`; a map fixed to the pixel grid, whatever the image shows, has
    :math:`\rho^\text{in place}_i = 1` instead. An explanation should respect a transform the
    model is invariant to (Kindermans et al., "The (Un)reliability of Saliency Methods", 2019),
    so check the model's prediction first. ``explain`` takes ``(B, 3, H, W)`` and returns maps
    ``(B, H, W)``; it must explain the same class for the turned image (pass the classes, not
    ``None``). ``images`` must be square for a quarter turn. ``original``: the maps
    :math:`M(x)` when they are already computed (then ``explain`` runs on the turned images
    only, one call instead of two).
    """
    if transform not in TURNS:
        raise ValueError(f"transform must be one of {sorted(TURNS)}, got {transform!r}")
    if transform == "turn" and images.shape[-1] != images.shape[-2]:
        raise ValueError(f"a quarter turn needs square images, got {tuple(images.shape[-2:])}: "
                         "centre-crop them first, or use transform='flip'")
    turn = TURNS[transform]
    original = explain(images) if original is None else original
    turned = explain(turn.forward(images))
    turned_back = turn.back(turned)
    return TurnAgreement(transform, original, turned_back, rank_correlation(original, turned_back),
                         rank_correlation(original, turned))
