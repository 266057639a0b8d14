r"""Explanation quality: how faithful, how well placed and how consistent are the heatmaps?

Tensors in, floats out. Maps are ``(B, H, W)`` float tensors (what ``helpers.cam`` returns:
one map per image, non-negative, at the input's size); images are ``(B, C, H, W)``; masks are
``(B, H, W)`` with lesion pixels ``>= 0.5`` (bool, ``{0, 1}`` or ``{0, 255}`` all work).
Functions named for a quantity *per image* return a ``(B,)`` tensor on the CPU; the summary
metrics (the numbers that go into a table) return a Python ``float``. Inputs are checked where
they enter (:mod:`helpers.checks`): maps must be finite, probabilities one per image in [0, 1]
(not logits, not a ``(B, classes)`` matrix), class indices ints; anything else is an error that
says so, never a plausible number.

Four families, each with its paper:

* **Faithfulness by masking** (Chattopadhyay et al. 2018, Grad-CAM++, arXiv 1710.11063,
  sec. 5.1): :func:`explanation_map`, :func:`class_probabilities`, :func:`relative_drop`,
  :func:`average_drop`, :func:`increase_in_confidence`, :func:`win_rate`.
* **Faithfulness by deletion and insertion** (Petsiuk, Das & Saenko 2018, RISE, BMVC,
  arXiv 1806.07421): :func:`perturbation_curve`, :func:`deletion_auc`, :func:`insertion_auc`.
* **Localisation against lesion masks**: :func:`pointing_hits` / :func:`pointing_game`
  (Zhang et al. 2016, "Top-down neural attention by excitation backprop") and
  :func:`energy_share` / :func:`energy_pointing_game` (Wang et al. 2020, Score-CAM,
  arXiv 1910.01279, "energy-based pointing game").
* **Scores by image** (:func:`per_image_scores`) and one table for many methods
  (:func:`method_table`).

Agreement between maps (rank correlation, top-region IoU, SSIM) lives in
:mod:`helpers.agreement`; maps that ignore the model (uniform, random, centre Gaussian, Sobel
edges, the lesion mask) in :mod:`helpers.baselines`.

Intervals and paired tests over these scores live in :mod:`helpers.stats`; the
model-randomisation sanity check (Adebayo et al. 2018) in :mod:`helpers.sanity`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import _checks as checks
from .cam import resolve_class_idx
from .train import predict_probs

ClassIndex = int | Sequence[int] | Tensor | None

__all__ = [
    "explanation_map",
    "class_probabilities",
    "relative_drop",
    "average_drop",
    "increase_in_confidence",
    "win_rate",
    "perturbation_curve",
    "deletion_auc",
    "insertion_auc",
    "pointing_hits",
    "pointing_game",
    "energy_share",
    "energy_pointing_game",
    "method_table",
    "per_image_scores",
]


# ----------------------------------------------------------------------------------------------
# Shared plumbing
# ----------------------------------------------------------------------------------------------


def check_maps(heatmaps: Tensor, name: str = "heatmaps") -> Tensor:
    """``(B, H, W)`` (a single ``(H, W)`` map gains ``B = 1``), finite: a NaN map is refused,
    never scored as a miss or as zero."""
    if not isinstance(heatmaps, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (B, H, W), got {type(heatmaps).__name__}")
    if heatmaps.dim() == 2:
        heatmaps = heatmaps.unsqueeze(0)
    if heatmaps.dim() != 3:
        raise ValueError(f"{name} must be (B, H, W), got shape {tuple(heatmaps.shape)}")
    return checks.finite(heatmaps, name, hint=(
        "Maps from helpers.cam are finite for a finite input; recompute them, or drop those "
        "images."))


def check_map_pair(map_a: Tensor, map_b: Tensor) -> tuple[Tensor, Tensor]:
    map_a, map_b = check_maps(map_a, "map_a"), check_maps(map_b, "map_b")
    if map_a.shape != map_b.shape:
        raise ValueError(f"maps differ in shape: {tuple(map_a.shape)} vs {tuple(map_b.shape)}")
    return map_a.detach().double().cpu(), map_b.detach().double().cpu()


# ----------------------------------------------------------------------------------------------
# Average Drop, Increase in Confidence, Win % (Grad-CAM++ paper, sec. 5.1)
# ----------------------------------------------------------------------------------------------


def explanation_map(x: Tensor, heatmaps: Tensor) -> Tensor:
    r"""The explanation map :math:`E^c = L^c \circ I` of Chattopadhyay et al. (sec. 5.1).

    The heatmap (values in [0, 1]) is multiplied elementwise into the model input as given,
    broadcast over the channels: ``x * heatmaps[:, None]``. With normalised inputs (the
    notebooks' case) a map value of 0 sends a pixel to 0 in normalised space, i.e. to the
    dataset's mean colour, and a value of 1 keeps it; so the explanation map keeps what the
    heatmap points at and greys out the rest.

    Args:
        x: model inputs ``(B, C, H, W)``.
        heatmaps: ``(B, H, W)`` at the input's size.
    """
    heatmaps = check_maps(heatmaps)
    if heatmaps.shape[-2:] != x.shape[-2:] or heatmaps.shape[0] != x.shape[0]:
        raise ValueError(f"heatmaps {tuple(heatmaps.shape)} do not match inputs {tuple(x.shape)}")
    return x * heatmaps.to(x.device, x.dtype).unsqueeze(1)


@torch.no_grad()
def class_probabilities(
    model: nn.Module, x: Tensor, class_idx: ClassIndex = None, batch_size: int = 64
) -> Tensor:
    """Softmax probability of the target class for each image, as a ``(B,)`` CPU tensor.

    ``class_idx``: one class for all images, one per image, or None for each image's
    predicted class. Runs in eval mode without gradients; the model's train/eval flags are
    restored afterwards. Inputs are moved to the model's device and fed in ``batch_size`` chunks.
    """
    return _target_probabilities(model, x, class_idx, batch_size)[1]


def _target_probabilities(model: nn.Module, x: Tensor, class_idx: ClassIndex,
                          batch_size: int) -> tuple[Tensor, Tensor]:
    """The target class of each image (``class_idx`` resolved, None: the predicted one) and its
    softmax probability, two ``(B,)`` CPU tensors."""
    checks.finite(x, "x", hint="A NaN or inf input gives no meaningful probability; find where "
                  "it came from (a broken image, a division by zero in preprocessing).")
    probs = predict_probs(model, x, batch_size=batch_size)
    idx = resolve_class_idx(class_idx, probs)
    return idx, probs.gather(1, idx[:, None])[:, 0]


def relative_drop(p_orig: Tensor, p_expl: Tensor) -> Tensor:
    r"""Per-image relative fall in confidence :math:`(Y_i^c - O_i^c) / Y_i^c`, not clipped.

    :math:`Y` is the class probability on the image, :math:`O` on its explanation map. Negative
    values mean the explanation map *raised* the confidence. A :math:`Y_i^c` of 0 is refused:
    the ratio is undefined there (a floor would turn it into a huge negative number that
    swamps any mean).
    """
    y, o = _probability_pair(p_orig, p_expl)
    zero = (y <= 0).nonzero().flatten()
    if zero.numel():
        raise ValueError(
            f"p_orig is 0 for image(s) {zero[:5].tolist()}: the relative drop (Y - O) / Y is "
            "undefined when the model gives the class no probability on the full image. "
            "Explain a class the model gives some probability (class_idx=None explains the "
            "predicted class), or leave those images out.")
    return (y - o) / y


def _probability_pair(p_orig: Tensor, p_expl: Tensor) -> tuple[Tensor, Tensor]:
    """Both as 1-D float64 CPU tensors of probabilities in [0, 1], one per image, same length."""
    y = checks.probabilities(p_orig, "p_orig")
    o = checks.probabilities(p_expl, "p_expl")
    if y.shape != o.shape:
        raise ValueError(f"{y.numel()} original vs {o.numel()} explanation probabilities: give "
                         "one of each per image, for the same images")
    return y, o


def average_drop(p_orig: Tensor, p_expl: Tensor) -> float:
    r"""Average Drop in percent (Chattopadhyay et al. 2018, sec. 5.1); lower is better.

    .. math:: \text{Average Drop} = 100 \cdot \frac{1}{N} \sum_{i=1}^{N}
              \frac{\max(0,\, Y_i^c - O_i^c)}{Y_i^c}
    """
    return 100.0 * relative_drop(p_orig, p_expl).clamp_min(0).mean().item()


def increase_in_confidence(p_orig: Tensor, p_expl: Tensor) -> float:
    r"""% Increase in Confidence (Chattopadhyay et al. 2018, sec. 5.1); higher is better.

    .. math:: 100 \cdot \frac{1}{N} \sum_{i=1}^{N} \mathbb{1}\left[Y_i^c < O_i^c\right]

    Strictly greater: an unchanged probability is not an increase.
    """
    y, o = _probability_pair(p_orig, p_expl)
    return 100.0 * (o > y).double().mean().item()


def win_rate(p_orig: Tensor, p_expl_a: Tensor, p_expl_b: Tensor, tol: float = 0.0) -> float:
    r"""Win % of method *a* over method *b* (Chattopadhyay et al. 2018, sec. 5.1).

    The share of images, in percent, on which *a*'s explanation map loses less confidence than
    *b*'s, comparing the unclipped :func:`relative_drop` (so a larger increase also wins):

    .. math:: 100 \cdot \frac{1}{N} \sum_i \left(\mathbb{1}[d_i^a < d_i^b]
              + \tfrac12\,\mathbb{1}[d_i^a = d_i^b]\right),\quad
              d_i = \frac{Y_i^c - O_i^c}{Y_i^c}

    A tie counts half for each method, so ``win_rate(y, a, b) + win_rate(y, b, a)`` is always
    100. Drops within ``tol`` of each other are ties (default 0: exact ties only); a small
    ``tol`` keeps two methods whose maps agree up to float rounding from "winning" by noise.
    """
    d_a, d_b = relative_drop(p_orig, p_expl_a), relative_drop(p_orig, p_expl_b)
    tie = (d_a - d_b).abs() <= tol
    wins = ((d_a < d_b) & ~tie).double() + 0.5 * tie.double()
    return 100.0 * wins.mean().item()


# ----------------------------------------------------------------------------------------------
# Deletion and insertion (Petsiuk et al. 2018, RISE)
# ----------------------------------------------------------------------------------------------


def gaussian_kernel1d(sigma: float, radius: int) -> Tensor:
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def _gaussian_blur(x: Tensor, sigma: float, radius: int) -> Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` with reflect padding."""
    channels = x.shape[1]
    kernel = gaussian_kernel1d(sigma, radius).to(x.device, x.dtype)
    padded = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    rows = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    cols = kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    return F.conv2d(F.conv2d(padded, rows, groups=channels), cols, groups=channels)


@torch.no_grad()
def perturbation_curve(
    model: nn.Module,
    x: Tensor,
    heatmaps: Tensor,
    class_idx: ClassIndex,
    start: Tensor,
    finish: Tensor,
    steps: int = 50,
    batch_size: int = 64,
) -> tuple[Tensor, Tensor]:
    r"""Class probability while pixels switch from ``start`` to ``finish``, most salient first.

    Pixels are ranked by decreasing heatmap value (ties: row-major order, first pixel first).
    At step :math:`k = 0, \dots, n` (``n = steps``) the top :math:`\lfloor kHW/n \rfloor` pixels
    (all channels) take their values from ``finish``, the rest from ``start``. Deletion is
    ``start = x, finish = baseline``; insertion is ``start = blurred x, finish = x``.

    All ``B * (steps + 1)`` perturbed inputs are evaluated in ``batch_size`` chunks, in eval
    mode, without gradients.

    Returns:
        ``fractions`` ``(steps + 1,)``, the share of pixels switched, from 0 to 1, and
        ``probs`` ``(B, steps + 1)``, the target-class probability at each step (CPU).
    """
    heatmaps = check_maps(heatmaps)
    batch, _, height, width = x.shape
    if heatmaps.shape != (batch, height, width):
        raise ValueError(f"heatmaps {tuple(heatmaps.shape)} do not match inputs {tuple(x.shape)}")
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}: the number of deletion or "
                         "insertion steps, e.g. steps=50")
    idx = _target_probabilities(model, x, class_idx, batch_size)[0]
    n_pixels = height * width
    start = torch.as_tensor(start, dtype=x.dtype, device=x.device).expand_as(x)
    finish = torch.as_tensor(finish, dtype=x.dtype, device=x.device).expand_as(x)

    # rank[b, p] = position of pixel p in image b's saliency order (0 = most salient)
    order = heatmaps.detach().flatten(1).to(x.device).argsort(dim=1, descending=True, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(n_pixels, device=x.device).expand(batch, -1))
    counts = torch.tensor([k * n_pixels // steps for k in range(steps + 1)], device=x.device)

    jobs = [(b, k) for b in range(batch) for k in range(steps + 1)]
    probs = torch.empty(batch, steps + 1)
    for chunk_start in range(0, len(jobs), batch_size):
        chunk = jobs[chunk_start : chunk_start + batch_size]
        b_idx = torch.tensor([b for b, _ in chunk], device=x.device)
        k_idx = torch.tensor([k for _, k in chunk], device=x.device)
        switched = (rank[b_idx] < counts[k_idx].unsqueeze(1)).view(-1, 1, height, width)
        inputs = torch.where(switched, finish[b_idx], start[b_idx])
        p = class_probabilities(model, inputs, idx[b_idx.cpu()], batch_size=batch_size)
        probs[b_idx.cpu(), k_idx.cpu()] = p
    fractions = counts.double().cpu() / n_pixels
    return fractions, probs


def _auc(fractions: Tensor, probs: Tensor) -> Tensor:
    """Trapezoid area under each row of ``probs`` over ``fractions`` in [0, 1]."""
    return torch.trapezoid(probs.double(), fractions.double(), dim=1)


def deletion_auc(
    model: nn.Module,
    x: Tensor,
    heatmaps: Tensor,
    class_idx: ClassIndex,
    steps: int = 50,
    baseline: float | Tensor = 0.0,
    batch_size: int = 64,
) -> Tensor:
    r"""Deletion AUC per image (Petsiuk et al. 2018, RISE); lower is better, in [0, 1].

    Removes pixels in order of decreasing saliency, ``steps`` equal chunks, by setting them to
    ``baseline``, and integrates the class probability :math:`p_k` over the removed fraction
    :math:`f_k` with the trapezoid rule: :math:`\text{AUC} = \sum_k \tfrac12 (p_k + p_{k+1})
    (f_{k+1} - f_k)`. A faithful map makes the probability collapse early.

    The default baseline 0 is RISE's zero substrate applied to *normalised* inputs: a removed
    pixel becomes the dataset's mean colour. Pass a float or a tensor broadcastable to ``x``
    for another substrate. Returns a ``(B,)`` tensor (CPU, float64); take ``.mean()``.
    """
    return _auc(*perturbation_curve(model, x, heatmaps, class_idx, x, baseline, steps, batch_size))


def insertion_auc(
    model: nn.Module,
    x: Tensor,
    heatmaps: Tensor,
    class_idx: ClassIndex,
    steps: int = 50,
    blur: float | Tensor | Callable[[Tensor], Tensor] = 5.0,
    batch_size: int = 64,
) -> Tensor:
    r"""Insertion AUC per image (Petsiuk et al. 2018, RISE); higher is better, in [0, 1].

    Starts from a blurred copy of the image and pastes the original pixels back in order of
    decreasing saliency, ``steps`` equal chunks; the area under the class-probability curve
    (trapezoid rule over the inserted fraction, as in :func:`deletion_auc`) measures how fast
    the salient pixels alone rebuild the prediction.

    ``blur``: a float is the standard deviation of a Gaussian blur (radius ``2 * sigma``,
    reflect padding; the RISE authors' code uses an 11 x 11 kernel with sigma 5, our default
    at 224 px); a tensor broadcastable to ``x`` is used as the starting canvas itself (e.g.
    zeros); a callable maps ``x`` to the canvas. Returns a ``(B,)`` tensor (CPU, float64).
    """
    if callable(blur):
        canvas = blur(x)
    elif isinstance(blur, Tensor):
        canvas = blur
    else:
        radius = max(1, min(int(round(2 * blur)), min(x.shape[-2:]) - 1))
        canvas = _gaussian_blur(x, float(blur), radius) if blur > 0 else x
    return _auc(*perturbation_curve(model, x, heatmaps, class_idx, canvas, x, steps, batch_size))


# ----------------------------------------------------------------------------------------------
# Localisation: pointing game and energy-based pointing game
# ----------------------------------------------------------------------------------------------


MASK_CUT = 0.5  #: a mask value counts as lesion from here up (grey 128 of 255, as helpers.data)


def _binary_masks(masks: Tensor, like: Tensor) -> Tensor:
    """Masks in [0, 1] as lesion (True) / not, cut at :data:`MASK_CUT`: a mask resized
    bilinearly has a soft border, and counting every value above 0 would grow the lesion."""
    masks = check_maps(torch.as_tensor(masks), "masks")
    if masks.shape != like.shape:
        raise ValueError(f"masks {tuple(masks.shape)} do not match maps {tuple(like.shape)}")
    return (masks >= MASK_CUT).to(like.device)


def _check_tolerance(tolerance: int) -> int:
    if isinstance(tolerance, bool) or not isinstance(tolerance, Integral) or tolerance < 0:
        raise ValueError(f"tolerance must be an int >= 0 (pixels of the map), got "
                         f"{tolerance!r}; 0 asks for the maximum inside the mask itself, "
                         "Zhang et al.'s 15 px at 224 px is tolerance=round(15 * height / 224)")
    return int(tolerance)


def pointing_hits(heatmaps: Tensor, masks: Tensor, tolerance: int = 0) -> Tensor:
    """Per image: does the map's maximum lie inside the mask? ``(B,)`` bool tensor (CPU).

    Zhang et al. (ECCV 2016, "Top-down neural attention by excitation backprop", sec. 5.1)
    count a hit when the map's maximum lies on the object or within 15 pixels of it, at their
    input size (about 224 px). Here:

    * **Tolerance** is in pixels of the map as given (the input's size, for ``helpers.cam``
      maps): the mask is grown by a square of radius ``tolerance`` (a max-pool, so the
      Chebyshev distance) before the test. The default 0 asks for the maximum inside the lesion
      itself: HAM10000's masks are segmentations, not bounding boxes, and most lesions cover a
      large part of the image, where a 15-pixel margin would turn near misses into hits. For
      Zhang et al.'s rule pass ``tolerance=round(15 * height / 224)``. A negative or non-int
      tolerance is refused.
    * **Ties**: the maximum is ``argmax`` of the flattened map, the *first* maximal pixel in
      row-major order (the top-left one). So a constant map (:func:`uniform_maps`) points at the
      image's corner and scores what a map without information should, a miss on a centred
      lesion, instead of the hit that "any maximal pixel counts" (Quantus' ``PointingGame``)
      would give it on every image with a lesion.
    * An all-zero map points nowhere and counts as a miss.
    """
    tolerance = _check_tolerance(tolerance)
    heatmaps = check_maps(heatmaps).detach()
    inside = _binary_masks(masks, heatmaps).float()
    if tolerance > 0:
        inside = F.max_pool2d(inside.unsqueeze(1), 2 * tolerance + 1, 1, tolerance).squeeze(1)
    flat = heatmaps.flatten(1)
    peak = flat.argmax(dim=1, keepdim=True)
    hit = inside.flatten(1).gather(1, peak).squeeze(1) > 0
    return (hit & (flat.amax(dim=1) > 0)).cpu()


def _nonempty(masks: Tensor) -> Tensor:
    """``(B,)`` bool on the CPU: which images have a lesion (a mask with a pixel > 0)."""
    return check_maps(torch.as_tensor(masks), "masks").flatten(1).gt(0).any(dim=1).cpu()


def _with_mask(masks: Tensor, game: str) -> Tensor | None:
    """``(B,)`` bool: the images whose mask is not empty; None (and a warning) when none is."""
    found = _nonempty(masks)
    if not found.any():
        warnings.warn(f"{game}: no image has a non-empty mask, so nothing can be scored; "
                      "returning NaN.", RuntimeWarning, stacklevel=3)
        return None
    return found


def pointing_game(heatmaps: Tensor, masks: Tensor, tolerance: int = 0) -> float:
    """Pointing-game accuracy: the share of images with :func:`pointing_hits`, in [0, 1].

    Only images with a lesion (a non-empty mask) count, as in :func:`method_table`: an image
    without one cannot be pointed at. NaN (with a RuntimeWarning) when no image has a mask.
    """
    hits = pointing_hits(heatmaps, masks, tolerance)
    found = _with_mask(masks, "pointing_game")
    return math.nan if found is None else hits[found].double().mean().item()


def energy_share(heatmaps: Tensor, masks: Tensor) -> Tensor:
    r"""Per image: the share of map energy inside the mask, ``(B,)`` in [0, 1] (CPU, float64).

    .. math:: \text{Proportion} = \frac{\sum_{(i,j) \in \text{mask}} L^c_{ij}}
              {\sum_{(i,j)} L^c_{ij}}

    (Wang et al. 2020, Score-CAM, energy-based pointing game; there the mask is a bounding
    box, here the lesion segmentation); Quantus calls it ``RelevanceMassAccuracy`` (Arras et
    al. 2022), and ``tests/test_quantus_oracle.py`` checks that the two agree. An all-zero map
    has no energy and scores 0 (Quantus: 0/0 = NaN; 0 keeps a mean over images defined, and a
    map that points nowhere has put nothing on the lesion), and so does any map on an image
    whose mask is empty (:func:`energy_pointing_game` leaves those out).
    Maps must be non-negative, as CAMs are after their ReLU: with negative values the "share"
    can leave [0, 1] (a map shifted by -0.5 gives 1.16 or 0.0), so they are refused.
    """
    heatmaps = check_maps(heatmaps).detach().double()
    lowest = heatmaps.min().item() if heatmaps.numel() else 0.0
    if lowest < -1e-6:
        raise ValueError(f"heatmaps has negative values (min {lowest:.3g}): the energy share "
                         "needs non-negative maps, as CAMs are after their ReLU. Pass "
                         "heatmaps.clamp_min(0), or min-max normalise each map first.")
    inside = _binary_masks(masks, heatmaps)
    total = heatmaps.flatten(1).sum(dim=1)
    within = (heatmaps * inside).flatten(1).sum(dim=1)
    return torch.where(total > 0, within / total.clamp_min(1e-300), torch.zeros_like(total)).cpu()


def energy_pointing_game(heatmaps: Tensor, masks: Tensor) -> float:
    """Energy-based pointing game: the mean of :func:`energy_share` over images, in [0, 1].

    Only images with a non-empty mask count (as in :func:`pointing_game`); NaN (with a
    RuntimeWarning) when no image has one.
    """
    shares = energy_share(heatmaps, masks)
    found = _with_mask(masks, "energy_pointing_game")
    return math.nan if found is None else shares[found].mean().item()


def region_means(heatmaps: Tensor, masks: Tensor) -> tuple[Tensor, Tensor]:
    """Per image: the map's mean on the background and on the lesion, ``(B,)`` each (CPU,
    float64); NaN where the image has no background or no lesion pixel."""
    heatmaps = check_maps(heatmaps).detach().double()
    inside = _binary_masks(masks, heatmaps)
    n_in = inside.flatten(1).sum(dim=1).double()
    n_out = inside[0].numel() - n_in if len(inside) else n_in
    on_lesion = (heatmaps * inside).flatten(1).sum(dim=1)
    off_lesion = heatmaps.flatten(1).sum(dim=1) - on_lesion
    nan = torch.full_like(n_in, math.nan)
    return (torch.where(n_out > 0, off_lesion / n_out.clamp_min(1), nan).cpu(),
            torch.where(n_in > 0, on_lesion / n_in.clamp_min(1), nan).cpu())


def background_lesion_ratio(heatmaps: Tensor, masks: Tensor) -> float:
    r"""Mean map value on the background over mean map value on the lesion, over images:

    .. math:: R = \frac{\frac1N \sum_n \bar{L}^c_{n,\text{background}}}
              {\frac1N \sum_n \bar{L}^c_{n,\text{lesion}}}

    with :math:`\bar{L}^c_{n,r}` the mean of image :math:`n`'s map over region :math:`r`
    (:func:`region_means`). Tschandl et al. (Nature Medicine 26, 1229-1234, 2020, Extended Data
    Fig. 1) report this ratio for Grad-CAM over HAM10000 with its lesion masks: 0.32 for
    predictions other than akiec and 0.48 for akiec. Below 1 the maps sit on the lesion; 1 is a
    map that ignores it. Only images with both a lesion and a background count; NaN (with a
    RuntimeWarning) when none has, or when the lesion mean is 0. For an interval resample
    lesions and take the ratio of the resampled sums (``helpers.stats.grouped_bootstrap_ci``
    with a ratio statistic), not the mean of per-image ratios: a map that is near 0 on one
    lesion would make that image's ratio explode.
    """
    background, lesion = region_means(heatmaps, masks)
    both = ~(background.isnan() | lesion.isnan())
    if not both.any() or lesion[both].sum() <= 0:
        warnings.warn("background_lesion_ratio: no image has both a lesion and a background "
                      "with map mass on the lesion; returning NaN.", RuntimeWarning, stacklevel=2)
        return math.nan
    return (background[both].sum() / lesion[both].sum()).item()


# ----------------------------------------------------------------------------------------------
# One table for many methods
# ----------------------------------------------------------------------------------------------


def method_table(
    model: nn.Module,
    x: Tensor,
    maps_by_method: Mapping[str, Tensor],
    class_idx: ClassIndex = None,
    masks: Tensor | None = None,
    *,
    reference: str | None = "Grad-CAM",
    steps: int | None = None,
    tie_tol: float = 1e-6,
    batch_size: int = 64,
) -> pd.DataFrame:
    """One row per method: the metrics above, computed on the same images and target classes.

    Columns: ``Average Drop %`` (lower is better), ``Increase in Confidence %`` (higher),
    ``Win % vs <reference>`` (when ``reference`` is one of the methods; 50 for itself; drops
    within ``tie_tol`` count as ties, so maps equal up to float rounding score 50),
    ``pointing game`` and ``energy pointing game`` (with ``masks``: over the images whose mask
    is not empty; NaN if none is), and with ``steps`` ``deletion AUC`` (lower) and
    ``insertion AUC`` (higher), means over the images.

    ``class_idx`` is the class every map explains (None: each image's predicted class, found
    once on ``x``, so the explanation maps are scored for that class too). ``attrs`` records
    ``n_images``, ``n_with_mask`` and ``steps``.
    """
    batch = x.shape[0]
    idx, p_orig = _target_probabilities(model, x, class_idx, batch_size)
    p_expl = {
        name: class_probabilities(model, explanation_map(x, maps), idx, batch_size)
        for name, maps in maps_by_method.items()
    }
    with_mask = None
    if masks is not None:
        with_mask = _nonempty(masks)
    rows = {}
    for name, maps in maps_by_method.items():
        row = {
            "Average Drop %": average_drop(p_orig, p_expl[name]),
            "Increase in Confidence %": increase_in_confidence(p_orig, p_expl[name]),
        }
        if reference in p_expl:
            row[f"Win % vs {reference}"] = win_rate(p_orig, p_expl[name], p_expl[reference],
                                                    tol=tie_tol)
        if with_mask is not None:
            found = with_mask.any().item()
            hm, mk = maps.cpu()[with_mask], masks.cpu()[with_mask]
            row["pointing game"] = pointing_game(hm, mk) if found else math.nan
            row["energy pointing game"] = energy_pointing_game(hm, mk) if found else math.nan
        if steps:
            row["deletion AUC"] = deletion_auc(model, x, maps, idx, steps, batch_size=batch_size
                                               ).mean().item()
            row["insertion AUC"] = insertion_auc(model, x, maps, idx, steps, batch_size=batch_size
                                                 ).mean().item()
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")
    table.attrs.update(n_images=batch, steps=steps,
                       n_with_mask=None if with_mask is None else int(with_mask.sum()))
    return table


def per_image_scores(
    model: nn.Module,
    x: Tensor,
    maps_by_method: Mapping[str, Tensor],
    class_idx: ClassIndex = None,
    masks: Mapping[str, Tensor] | Tensor | None = None,
    *,
    steps: int | None = None,
    reference: str | None = None,
    tie_tol: float = 1e-6,
    batch_size: int = 64,
) -> pd.DataFrame:
    """The metrics of :func:`method_table`, image by image: one row per (method, image).

    Columns: ``method``, ``image``, ``drop %`` (:func:`relative_drop` clipped at 0, times 100;
    its mean is the Average Drop), ``increase %`` (100 when the explanation map raised the
    confidence; its mean is Increase in Confidence), and for each mask set in ``masks``
    (a tensor means ``{"lesion": masks}``) ``pointing (<name>)`` (1.0 hit, 0.0 miss) and
    ``energy (<name>)`` (:func:`energy_share`), NaN where that image's mask is empty; with
    ``steps``, ``deletion AUC`` and ``insertion AUC``; with ``reference`` (one of the methods),
    ``win % vs <reference>``: 100 where the method's unclipped :func:`relative_drop` is smaller
    than the reference's, 50 for a tie within ``tie_tol``, else 0, so that its mean is
    :func:`win_rate`. Feed it to :func:`helpers.stats.summarize_with_intervals` and
    :func:`helpers.stats.paired_scores`.
    """
    idx, p_orig = _target_probabilities(model, x, class_idx, batch_size)
    mask_sets = {"lesion": masks} if isinstance(masks, Tensor) else dict(masks or {})
    if reference is not None and reference not in maps_by_method:
        raise ValueError(f"reference={reference!r} is not one of the methods "
                         f"{sorted(maps_by_method)}; pass one of them, or None")
    all_maps = {name: check_maps(maps).detach().cpu() for name, maps in maps_by_method.items()}
    drops = {name: relative_drop(p_orig, class_probabilities(model, explanation_map(x, maps), idx,
                                                             batch_size))
             for name, maps in all_maps.items()}
    frames = []
    for name, maps in all_maps.items():
        frame = pd.DataFrame({
            "method": name, "image": range(x.shape[0]),
            "drop %": (100 * drops[name].clamp_min(0)).numpy(),
            "increase %": (100.0 * (drops[name] < 0)).numpy(),
        })
        if reference is not None:
            gap = drops[name] - drops[reference]
            frame[f"win % vs {reference}"] = torch.where(
                gap.abs() <= tie_tol, 50.0, torch.where(gap < 0, 100.0, 0.0)).numpy()
        for mask_name, mask in mask_sets.items():
            mask = check_maps(torch.as_tensor(mask), "masks").cpu()
            has = mask.flatten(1).gt(0).any(dim=1)
            hits = pointing_hits(maps, mask).double()
            frame[f"pointing ({mask_name})"] = torch.where(has, hits, math.nan).numpy()
            frame[f"energy ({mask_name})"] = torch.where(
                has, energy_share(maps, mask), math.nan).numpy()
        if steps:
            frame["deletion AUC"] = deletion_auc(model, x, maps, idx, steps,
                                                 batch_size=batch_size).numpy()
            frame["insertion AUC"] = insertion_auc(model, x, maps, idx, steps,
                                                   batch_size=batch_size).numpy()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
