"""The demo set: a synthetic stand-in for HAM10000 that runs offline.

Rows are drawn from the real metadata (grouped by lesion, so HAM10000's lesion structure, ages,
sites and class imbalance are kept); the pixels are dermatoscope-like drawings whose look depends
on the class, with lesion masks, evidence masks (where the class-specific structures are drawn:
ground truth for explanations, which real data lacks), and optional artefacts (skin-marker ink,
a ruler) whose masks are known pixel for pixel. A second set, for explanations only, shows two
lesions of one class per image, each with its own mask.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

if TYPE_CHECKING:  # pragma: no cover
    from .config import RunConfig


from .data import (
    _DEMO_MARKER,
    _PART_1_LAST_ID,
    ARTEFACT_FOLDER,
    CLASSES,
    EVIDENCE_FOLDER,
    HOW_TO_GET,
    IMAGE_FOLDERS,
    MASK_FOLDER,
    METADATA_COLUMNS,
    METADATA_FILE,
    _has_marker,
    _list_some,
    lesion_split,
    load_metadata,
    packaged_metadata,
    write_folder_atomically,
)

# --------------------------------------------------------------------------- demo: rows


def _sample_demo_rows(
    meta: pd.DataFrame, n_images: int, seed: int, min_lesions: int = 3, power: float = 0.8
) -> pd.DataFrame:
    """Rows of whole lesions, ``n_images`` in all (more only when ``n_images`` is tiny).

    Class shares follow the real image counts raised to ``power`` (0.8 softens the imbalance a
    little: nv ~56% instead of 67%, df ~2% instead of 1%) and each class gets at least
    ``min_lesions`` lesions, so that :func:`lesion_split` can put every class in every split.
    """
    if n_images < min_lesions * len(CLASSES):
        raise ValueError(f"n_images must be >= {min_lesions * len(CLASSES)}, got {n_images}.")
    rng = np.random.default_rng([seed, 7])
    counts = meta["dx"].value_counts().reindex(CLASSES).astype(float)
    share = counts**power / (counts**power).sum()
    sizes = meta.groupby("lesion_id").size()
    order = sorted(CLASSES, key=lambda c: counts[c])  # the largest class takes the remainder
    picked: list[str] = []
    for k, dx in enumerate(order):
        taken_images = int(sizes[picked].sum()) if picked else 0
        target = n_images - taken_images if k == len(order) - 1 else round(share[dx] * n_images)
        lesions = np.sort(meta.loc[meta["dx"] == dx, "lesion_id"].unique())
        count, n_lesions = 0, 0
        for lesion in rng.permutation(lesions):
            size = int(sizes[lesion])
            if n_lesions < min_lesions or count + size <= target:
                picked.append(lesion)
                count, n_lesions = count + size, n_lesions + 1
            if n_lesions >= min_lesions and count >= target:
                break
    return meta[meta["lesion_id"].isin(set(picked))].reset_index(drop=True)


# --------------------------------------------------------------------------- demo: pixels
#
# Everything is drawn in "height units": the image spans y in [-1, 1] and x in [-4/3, 4/3].
# A lesion lives in its own frame (u, v); a view places it by rotation, scale and shift, so the
# views of one lesion show the same pattern from another angle.


@dataclass
class _Lesion:
    """The look of one lesion, drawn once from a lesion-seeded generator."""

    dx: str
    radius: float
    harmonics: np.ndarray  # (K, 3): order, amplitude, phase of the border's radial wobble
    edge: float  # border softness (height units)
    colour: np.ndarray  # (3,) main colour
    skin: np.ndarray  # (3,) the patient's skin tone
    noise: np.ndarray  # (65, 65, 4) noise lattice over the lesion frame
    spots: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (u, v, r)
    spot_colours: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    segments: np.ndarray = field(default_factory=lambda: np.zeros((0, 5)))  # u0,v0,u1,v1,width
    fine: np.ndarray = field(default_factory=lambda: np.zeros((2, 2, 1), np.float32))
    extra: dict[str, float] = field(default_factory=dict)


_NOISE_EXTENT = 1.6  # noise grids cover [-extent, extent]^2 of the lesion frame


def _bilinear(grid: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sample ``grid`` (n, n, C) at lesion coordinates (u, v) -> (..., C); clamps outside."""
    n = grid.shape[0]
    fu = np.clip((u + _NOISE_EXTENT) * ((n - 1) / (2 * _NOISE_EXTENT)), 0, n - 1.001)
    fv = np.clip((v + _NOISE_EXTENT) * ((n - 1) / (2 * _NOISE_EXTENT)), 0, n - 1.001)
    iu, iv = fu.astype(np.intp), fv.astype(np.intp)
    tu, tv = (fu - np.floor(fu))[..., None], (fv - np.floor(fv))[..., None]
    flat, i = grid.reshape(n * n, -1), iv * n + iu
    top = np.take(flat, i, axis=0) * (1 - tu) + np.take(flat, i + 1, axis=0) * tu
    bottom = np.take(flat, i + n, axis=0) * (1 - tu) + np.take(flat, i + n + 1, axis=0) * tu
    return top * (1 - tv) + bottom * tv


def _noise_grid(rng: np.random.Generator, sizes: Iterable[int], channels: int) -> np.ndarray:
    """Fractal value noise on a 65 x 65 lattice: octaves of halving weight, about [0, 1].

    Each octave's lattice divides the fine one, so sampling the sum bilinearly equals summing
    the octaves sampled bilinearly, at the cost of one lookup.
    """
    lattice = np.linspace(-_NOISE_EXTENT, _NOISE_EXTENT, 65, dtype=np.float32)
    uu, vv = np.meshgrid(lattice, lattice)
    sizes = list(sizes)
    total = sum(
        _bilinear(rng.random((n, n, channels), dtype=np.float32), uu, vv) * 0.5**k
        for k, n in enumerate(sizes)
    )
    weight = sum(0.5**k for k in range(len(sizes)))
    return np.clip((total / weight - 0.5) * 2.2 + 0.5, 0, 1).astype(np.float32)


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0, 1)
    return t * t * (3 - 2 * t)


def _mix(a: np.ndarray, colour: Iterable[float], weight: np.ndarray) -> np.ndarray:
    """Blend image ``a`` (H, W, 3) towards ``colour`` by ``weight`` (H, W)."""
    w = weight[..., None]
    return a * (1 - w) + np.asarray(colour, dtype=np.float32) * w


def _in_disc(rng: np.random.Generator, n: int, r_max: float) -> np.ndarray:
    """``n`` points spread uniformly over a disc of radius ``r_max`` -> (n, 2)."""
    r = r_max * np.sqrt(rng.random(n))
    a = rng.uniform(0, 2 * np.pi, n)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def _spots(rng: np.random.Generator, n: int, r_max: float, size: tuple[float, float]) -> np.ndarray:
    return np.column_stack([_in_disc(rng, n, r_max), rng.uniform(*size, n)])


def _tree(rng: np.random.Generator, start: np.ndarray, angle: float, length: float,
          width: float, depth: int) -> list[list[float]]:
    """Segments of a branching vessel (bcc's arborising vessels), as u0, v0, u1, v1, width."""
    end = start + length * np.array([np.cos(angle), np.sin(angle)])
    segments = [[*start, *end, width]]
    if depth > 0:
        for turn in (-1, 1):
            segments += _tree(rng, end, angle + turn * rng.uniform(0.3, 0.8),
                              length * rng.uniform(0.55, 0.8), width * 0.7, depth - 1)
    return segments


# class -> (radius range, border wobble per harmonic, edge softness, colour, colour jitter)
_LOOKS: dict[str, tuple[tuple[float, float], float, float, tuple[float, ...], float]] = {
    "akiec": ((0.50, 0.68), 0.045, 0.07, (0.84, 0.47, 0.44), 0.04),
    "bcc": ((0.45, 0.62), 0.035, 0.03, (0.93, 0.62, 0.64), 0.03),
    "bkl": ((0.48, 0.65), 0.030, 0.008, (0.66, 0.50, 0.34), 0.06),
    "df": ((0.30, 0.42), 0.015, 0.06, (0.66, 0.46, 0.38), 0.03),
    "mel": ((0.55, 0.75), 0.075, 0.012, (0.30, 0.18, 0.12), 0.04),
    "nv": ((0.40, 0.58), 0.012, 0.035, (0.52, 0.33, 0.21), 0.08),
    "vasc": ((0.36, 0.52), 0.030, 0.012, (0.80, 0.62, 0.64), 0.03),
}


def _draw_lesion(dx: str, rng: np.random.Generator) -> _Lesion:
    """The look of one lesion of class ``dx``: shape, colours and features, in its own frame."""
    (r_lo, r_hi), wobble, edge, colour, jitter = _LOOKS[dx]
    radius = rng.uniform(r_lo, r_hi)
    orders = np.arange(2, 9 if dx == "mel" else 6)
    harmonics = np.column_stack([
        orders, wobble * rng.uniform(0.3, 1.0, len(orders)) * (1.6 if dx == "mel" else 1.0)
        / np.sqrt(orders - 1), rng.uniform(0, 2 * np.pi, len(orders)),
    ])
    tone = rng.uniform(0, 1) ** 1.5
    skin = (np.array([0.95, 0.80, 0.72]) * (1 - tone) + np.array([0.80, 0.60, 0.48]) * tone
            ).astype(np.float32)
    lesion = _Lesion(
        dx=dx, radius=radius, harmonics=harmonics, edge=edge,
        colour=np.clip(np.asarray(colour) * (1 + rng.normal(0, jitter)) + rng.normal(0, 0.015, 3),
                       0, 1).astype(np.float32),
        skin=skin, noise=_noise_grid(rng, (5, 9, 17, 33), 4),
    )
    if dx == "mel":  # irregular black dots and globules near the border
        lesion.spots = _spots(rng, rng.integers(6, 16), radius * 0.95, (0.012, 0.035))
        lesion.extra = {"tilt": rng.uniform(0, 2 * np.pi)}
    elif dx == "bkl":  # comedo-like openings (dark) and milia-like cysts (white)
        n_dark, n_white = rng.integers(6, 14), rng.integers(3, 8)
        lesion.spots = _spots(rng, n_dark + n_white, radius * 0.8, (0.015, 0.03))
        dark, white = (0.28, 0.19, 0.12), (0.97, 0.95, 0.86)
        lesion.spot_colours = np.array([dark] * n_dark + [white] * n_white)
        lesion.extra = {"freq": rng.uniform(14, 22)}
    elif dx == "bcc":  # arborising vessels and blue-grey ovoid nests
        segments: list[list[float]] = []
        for root in _in_disc(rng, rng.integers(2, 5), radius * 0.6):
            segments += _tree(rng, root, rng.uniform(0, 2 * np.pi), radius * rng.uniform(0.25, 0.4),
                              rng.uniform(0.012, 0.018), depth=3)
        lesion.segments = np.array(segments)
        lesion.spots = _spots(rng, rng.integers(1, 4), radius * 0.6, (0.04, 0.08))
    elif dx == "akiec":  # white-yellow scale flakes and follicle openings
        lesion.spots = _spots(rng, rng.integers(8, 20), radius * 0.85, (0.008, 0.014))
        lesion.fine = rng.random((97, 97, 1), dtype=np.float32)
    elif dx == "vasc":  # red to purple lacunae
        lesion.spots = _spots(rng, rng.integers(10, 22), radius * 0.8, (0.05, 0.11))
        palette = np.array([(0.80, 0.12, 0.18), (0.58, 0.06, 0.12), (0.48, 0.12, 0.38),
                            (0.32, 0.10, 0.34)])
        lesion.spot_colours = palette[rng.integers(0, len(palette), len(lesion.spots))]
    elif dx == "df":  # a central white scar patch with its own irregular outline
        lesion.extra = {"scar": rng.uniform(0.35, 0.5), "phase": rng.uniform(0, 2 * np.pi),
                        "lobes": rng.integers(2, 6), "depth": rng.uniform(0.1, 0.35)}
    elif dx == "nv":  # a regular pigment network
        lesion.extra = {"freq": rng.uniform(28, 40)}
    return lesion


@dataclass
class _View:
    """One photograph of a lesion: pixel grid in both frames plus lighting."""

    x: np.ndarray  # (H, W) image coordinates
    y: np.ndarray
    u: np.ndarray  # (H, W) lesion-frame coordinates
    v: np.ndarray
    angle: float
    scale: float
    shift: np.ndarray

    def to_image(self, uv: np.ndarray) -> np.ndarray:
        """Lesion-frame points (N, 2) -> image coordinates (N, 2)."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        rot = np.array([[c, -s], [s, c]])
        return self.scale * uv @ rot.T + self.shift


#: How far a view may move the lesion from the image centre (height units; the image's half
#: height is 1) and the range of its zoom (log-uniform). Real dermoscopy centres the lesion
#: roughly, at many magnifications; large lesions then run out of the frame.
VIEW_SHIFT, VIEW_SCALE = 0.4, (0.65, 1.35)


def _make_view(height: int, width: int, rng: np.random.Generator) -> _View:
    """A random photograph: any rotation, a zoom in ``VIEW_SCALE``, the lesion's centre anywhere
    within ``VIEW_SHIFT`` of the image centre (uniform over that disc)."""
    angle = rng.uniform(0, 2 * np.pi)
    scale = float(np.exp(rng.uniform(*np.log(VIEW_SCALE))))
    reach, heading = VIEW_SHIFT * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
    shift = np.array([reach * np.cos(heading), reach * np.sin(heading)], np.float32)
    return _view_at(height, width, angle, scale, shift)


def _view_at(height: int, width: int, angle: float, scale: float, shift: np.ndarray) -> _View:
    """The view that shows the lesion frame turned by ``angle``, scaled, centred at ``shift``."""
    px = 2.0 / height
    x = (np.arange(width, dtype=np.float32) + 0.5 - width / 2) * px
    y = (np.arange(height, dtype=np.float32) + 0.5 - height / 2) * px
    xx, yy = np.meshgrid(x, y)
    c, s = float(np.cos(angle)), float(np.sin(angle))
    dx, dy = (xx - shift[0]) / scale, (yy - shift[1]) / scale
    return _View(xx, yy, c * dx + s * dy, -s * dx + c * dy, angle, scale, shift)


def _stamp(view: _View, img: np.ndarray, centres: np.ndarray, radii: np.ndarray,
           colours: np.ndarray, soft: float = 1.0, weight: np.ndarray | None = None) -> None:
    """Paint anti-aliased discs (image coordinates) onto ``img`` in place, one window each.

    ``weight`` (H, W): raised in place to each disc's coverage (> 0.5 inside its radius).
    """
    height = img.shape[0]
    px = 2.0 / height
    x0, y0 = view.x[0, 0], view.y[0, 0]
    for (cx, cy), r, colour in zip(centres, radii, colours, strict=True):
        j0, j1 = int(max((cx - r - x0) / px - 1, 0)), int(max((cx + r - x0) / px + 2, 0))
        i0, i1 = int(max((cy - r - y0) / px - 1, 0)), int(max((cy + r - y0) / px + 2, 0))
        if j0 >= img.shape[1] or i0 >= height or j1 <= 0 or i1 <= 0:
            continue
        d = np.hypot(view.x[i0:i1, j0:j1] - cx, view.y[i0:i1, j0:j1] - cy)
        cover = np.clip((r - d) / (px * soft) + 0.5, 0, 1)
        img[i0:i1, j0:j1] = _mix(img[i0:i1, j0:j1], colour, cover)
        if weight is not None:
            np.maximum(weight[i0:i1, j0:j1], cover, out=weight[i0:i1, j0:j1])


def _strokes(view: _View, img: np.ndarray, segments: np.ndarray, colour: Iterable[float],
             opacity: float = 1.0, weight: np.ndarray | None = None) -> None:
    """Paint anti-aliased line segments (x0, y0, x1, y1, half-width) onto ``img`` in place.

    ``weight`` (H, W): raised in place to each segment's coverage, before ``opacity``.
    """
    height, width = img.shape[:2]
    px = 2.0 / height
    xs, ys = view.x[0, 0], view.y[0, 0]
    for ax, ay, bx, by, w in segments:
        j0 = int(np.clip((min(ax, bx) - w - xs) / px - 1, 0, width))
        j1 = int(np.clip((max(ax, bx) + w - xs) / px + 2, 0, width))
        i0 = int(np.clip((min(ay, by) - w - ys) / px - 1, 0, height))
        i1 = int(np.clip((max(ay, by) + w - ys) / px + 2, 0, height))
        if j1 <= j0 or i1 <= i0:
            continue
        px_x, px_y = view.x[i0:i1, j0:j1] - ax, view.y[i0:i1, j0:j1] - ay
        ex, ey = bx - ax, by - ay
        t = np.clip((px_x * ex + px_y * ey) / max(ex * ex + ey * ey, 1e-12), 0, 1)
        d = np.hypot(px_x - t * ex, px_y - t * ey)
        line = np.clip((w - d) / px + 0.5, 0, 1)
        img[i0:i1, j0:j1] = _mix(img[i0:i1, j0:j1], colour, line * opacity)
        if weight is not None:
            np.maximum(weight[i0:i1, j0:j1], line, out=weight[i0:i1, j0:j1])


def _segments_to_image(view: _View, segments: np.ndarray) -> np.ndarray:
    a, b = view.to_image(segments[:, 0:2]), view.to_image(segments[:, 2:4])
    return np.column_stack([a, b, segments[:, 4] * view.scale])


def _paint(lesion: _Lesion, view: _View, rel: np.ndarray, noise: np.ndarray,
           ) -> tuple[np.ndarray, np.ndarray]:
    """The lesion's colours (H, W, 3) over the whole view and its evidence weights (H, W);
    ``rel`` = radius / border radius.

    The evidence weights are, per pixel, the largest coverage of the class-specific structures
    (0 = none, 1 = fully drawn; their opacity left out): the pigment network of an nv; the
    blue-white veil, dark blotches and irregular black dots of a mel; the comedo-like openings
    and milia-like cysts of a bkl; the arborising vessels and blue-grey ovoid nests of a bcc;
    the white-yellow scale and scale flakes of an akiec; the central white scar patch of a df;
    the red to purple lacunae of a vasc. The lesion's base colour, shading, colour
    variegation and texture noise are not evidence.
    """
    n0, n1, n2, n3 = (noise[..., k] for k in range(4))
    base = np.broadcast_to(lesion.colour.astype(np.float32), (*rel.shape, 3)).copy()
    weight = np.zeros(rel.shape, np.float32)
    dx, e = lesion.dx, lesion.extra
    if dx == "nv":
        img = base * (0.92 + 0.16 * n0[..., None]) * (1 - 0.18 * (1 - rel) ** 2)[..., None]
        f = e["freq"]
        net = np.exp(-np.sin(f * view.u + 3 * n1) ** 2 / 0.08) + np.exp(
            -np.sin(f * view.v + 3 * n2) ** 2 / 0.08)
        lines, fade = np.clip(net, 0, 1), _smoothstep(1.0, 0.6, rel)
        return img * (1 - 0.22 * lines * fade)[..., None], lines * fade
    if dx == "mel":
        tilt = np.cos(np.arctan2(view.v, view.u) - e["tilt"]) * np.clip(rel, 0, 1)
        img = base * (1 + 0.35 * tilt + 0.3 * (n3 - 0.5))[..., None]
        img = _mix(img, (0.62, 0.40, 0.26), _smoothstep(0.55, 0.7, n2))
        blotch = _smoothstep(0.52, 0.66, n0)
        img = _mix(img, (0.08, 0.06, 0.07), blotch)
        veil, centre = _smoothstep(0.6, 0.72, n1), _smoothstep(0.9, 0.5, rel)
        img = _mix(img, (0.42, 0.48, 0.58), 0.7 * veil * centre)
        weight = np.maximum(blotch, veil * centre)
        spots = view.to_image(lesion.spots[:, :2])
        _stamp(view, img, spots, lesion.spots[:, 2] * view.scale,
               np.tile([0.07, 0.05, 0.05], (len(spots), 1)), weight=weight)
        return img, weight
    if dx == "bkl":
        ridges = np.exp(-np.sin(e["freq"] * (n0 * 1.5 + 0.3 * view.u)) ** 2 / 0.06)
        img = base * (0.9 + 0.2 * n1 - 0.28 * ridges)[..., None]
        img = _mix(img, (0.93, 0.86, 0.70), 0.35 * _smoothstep(0.6, 0.75, n2))  # waxy sheen
        _stamp(view, img, view.to_image(lesion.spots[:, :2]), lesion.spots[:, 2] * view.scale,
               lesion.spot_colours, weight=weight)
        return img, weight
    if dx == "bcc":
        img = _mix(base * (0.95 + 0.1 * n0)[..., None], (0.97, 0.92, 0.92),
                   0.5 * _smoothstep(0.55, 0.75, n1))
        nests = view.to_image(lesion.spots[:, :2])
        _stamp(view, img, nests, lesion.spots[:, 2] * view.scale,
               np.tile([0.40, 0.44, 0.54], (len(nests), 1)), soft=6.0, weight=weight)
        _strokes(view, img, _segments_to_image(view, lesion.segments), (0.80, 0.08, 0.12),
                 weight=weight)
        return img, weight
    if dx == "akiec":
        img = base * (0.8 + 0.4 * n0)[..., None]
        img = _mix(img, (0.72, 0.16, 0.18), 0.6 * _smoothstep(0.5, 0.7, n1))  # strawberry red
        specks = _bilinear(lesion.fine, view.u, view.v)[..., 0]
        scale = _smoothstep(0.6, 0.8, specks) * _smoothstep(0.42, 0.58, n2)
        img = _mix(img, (0.96, 0.92, 0.80), 0.85 * scale)  # rough white-yellow scale
        weight = scale.astype(np.float32)  # a copy: the flakes raise it in place
        flakes = view.to_image(lesion.spots[:, :2])
        _stamp(view, img, flakes, lesion.spots[:, 2] * view.scale,
               np.tile([0.98, 0.95, 0.86], (len(flakes), 1)), weight=weight)
        return img, weight
    if dx == "df":
        theta = np.arctan2(view.v, view.u)
        scar = e["scar"] * (1 + e["depth"] * np.cos(e["lobes"] * theta + e["phase"])
                            + 0.4 * (n0 - 0.5))
        ring = base * (0.9 + 0.2 * n1)[..., None] * (1 - 0.25 * _smoothstep(0.5, 0.85, rel))[
            ..., None]
        patch = _smoothstep(scar + 0.08, scar - 0.08, rel)
        return _mix(ring, (0.95, 0.91, 0.88), patch), patch
    if dx == "vasc":
        img = _mix(base, (0.55, 0.08, 0.16), 0.5 * n0)
        _stamp(view, img, view.to_image(lesion.spots[:, :2]), lesion.spots[:, 2] * view.scale,
               lesion.spot_colours, soft=2.0, weight=weight)
        return img, weight
    raise ValueError(f"Unknown class {dx!r}")  # pragma: no cover


def _hair(view: _View, img: np.ndarray, rng: np.random.Generator) -> None:
    """A few dark, curved hair strands across the view (image frame), in place."""
    for _ in range(rng.poisson(2.0)):
        p0 = rng.uniform([-1.5, -1.2], [1.5, 1.2])
        angle = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(0.8, 2.5)
        bend = rng.normal(0, 0.4)
        t = np.linspace(0, 1, 9)
        direction = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-direction[1], direction[0]])
        pts = p0 + np.outer(t * length, direction) + np.outer(bend * t * (1 - t), normal)
        w = rng.uniform(0.006, 0.014)
        segs = np.column_stack([pts[:-1], pts[1:], np.full(len(pts) - 1, w)])
        _strokes(view, img, segs, (0.13, 0.09, 0.07), opacity=0.9)


# --------------------------------------------------------------------------- demo: artefacts


@dataclass(frozen=True)
class ArtefactSpec:
    """Which demo images carry an artefact beside the lesion (a shortcut a model can learn).

    ``kind``: ``"ink"`` (a purple skin-marker dot and line, as surgeons draw around a lesion
    before excision) or ``"ruler"`` (a strip of dark tick marks). ``on``: the class code(s)
    that mostly carry it, in the share ``share`` of their images; every other class in the
    share ``elsewhere``. Shares are exact per class (rounded), the images drawn with a seed.
    The artefact sits beside the lesion, never over it, inside the centre crop the models see.

    ``mel_as_nv``: the share of melanoma *lesions* (all their images) drawn with a benign
    nevus's look, chosen by :func:`nevus_looking_lesions`; 0 (the default) keeps the demo
    set's own share (:data:`LOOK_ALIKES`). Raising it makes the lesion a worse cue for
    melanoma, so that the artefact can become the easier one, as it can on real dermoscopy.
    """

    kind: str = "ink"
    on: str | tuple[str, ...] = ("mel",)
    share: float = 0.9
    elsewhere: float = 0.05
    mel_as_nv: float = 0.0

    def __post_init__(self) -> None:
        on = (self.on,) if isinstance(self.on, str) else tuple(self.on)
        object.__setattr__(self, "on", on)
        if self.kind not in _ARTEFACT_KINDS:
            raise ValueError(f"Unknown artefact kind {self.kind!r}; use one of {_ARTEFACT_KINDS}.")
        unknown = [c for c in on if c not in CLASSES]
        if unknown or not on:
            raise ValueError(f"on must name classes from {CLASSES}, got {self.on!r}.")
        if not all(0 <= v <= 1 for v in (self.share, self.elsewhere, self.mel_as_nv)):
            raise ValueError("share, elsewhere and mel_as_nv must be in [0, 1].")

    @property
    def tag(self) -> str:
        """A short name for folders and checkpoints, e.g. ``ink-mel-90-5`` (shares in %;
        ``-melnv50`` added when half of the melanomas look like nevi)."""
        tag = f"{self.kind}-{'+'.join(self.on)}-{self.share * 100:g}-{self.elsewhere * 100:g}"
        return tag + (f"-melnv{self.mel_as_nv * 100:g}" if self.mel_as_nv else "")

    def as_dict(self) -> dict[str, object]:
        found = {"kind": self.kind, "on": list(self.on), "share": self.share,
                 "elsewhere": self.elsewhere}
        return found | ({"mel_as_nv": self.mel_as_nv} if self.mel_as_nv else {})


_ARTEFACT_KINDS = ("ink", "ruler")
_ARTEFACT_RENDERER = 2  # bump when the drawing changes: cached sets are then refused
_INK = (0.42, 0.20, 0.58)  # gentian violet, the usual surgical skin-marker colour


def artefact_flags(rows: pd.DataFrame, spec: ArtefactSpec, seed: int = 0) -> np.ndarray:
    """Which of ``rows`` (metadata with ``image_id``, ``dx``) get the artefact: bool ``(N,)``.

    Per class, ``round(share * n)`` images (``elsewhere`` for classes not in ``spec.on``),
    chosen by a generator seeded with ``seed`` and the class, among the sorted image ids.
    """
    flags = np.zeros(len(rows), dtype=bool)
    dx, ids = rows["dx"].to_numpy(), rows["image_id"].to_numpy()
    for k, code in enumerate(CLASSES):
        where = np.flatnonzero(dx == code)
        where = where[np.argsort(ids[where], kind="stable")]
        share = spec.share if code in spec.on else spec.elsewhere
        picked = np.random.default_rng([seed, 0xA47E, k]).permutation(len(where))
        flags[where[picked[: round(share * len(where))]]] = True
    return flags


#: Look-alikes: for each class, the share of its images drawn with another class's look (their
#: label is kept). Without them every synthetic class has its own look and a small ResNet
#: scores a balanced accuracy near 1. They put back, on purpose and in known places, the
#: confusions that make real dermoscopy hard and that lesion-grouped ResNet results on HAM10000
#: show most: melanoma <-> nevus (featureless melanomas, atypical nevi), keratosis <->
#: melanoma, actinic keratosis <-> keratosis or basal cell carcinoma. No model can tell a
#: look-alike from the class it imitates, so each share caps its class's recall; together they
#: put the balanced-accuracy ceiling (:func:`balanced_accuracy_ceiling`) near 0.86.
LOOK_ALIKES: dict[str, tuple[tuple[str, float], ...]] = {
    "akiec": (("bkl", 0.19), ("bcc", 0.08)),
    "bcc": (("akiec", 0.10),),
    "bkl": (("mel", 0.14), ("akiec", 0.06)),
    "df": (),  # (a df drawn as a nevus taught the model, through df's large class weight,
    #           to call small nevi df: a confusion real data does not show, so none here)
    "mel": (("nv", 0.24), ("bkl", 0.08)),
    "nv": (("mel", 0.10),),
    "vasc": (),
}


def demo_looks(rows: pd.DataFrame, seed: int = 0, mel_as_nv: float | None = None) -> np.ndarray:
    """The class whose look each row's lesion is drawn with (the ``drawn_as`` column): ``(N,)``.

    Dealt within each part of ``lesion_split(rows, seed=seed)`` (the split the notebooks use),
    so that train, val and test each get every share, and the test split's ceiling does not
    swing with the draw. Per part and class, the lesion ids (sorted) are shuffled by a
    generator seeded with ``seed`` and the class; lesions are taken in that order for the first
    look-alike of :data:`LOOK_ALIKES` while their images stay within half a lesion of
    ``share * n`` (``n``: the class's images in the part), then for the next, up to the summed
    shares; the rest keep their own look. ``mel_as_nv`` replaces the share of nevus-looking
    melanomas (the first look-alike of ``mel``), so that raising it adds lesions.
    """
    sizes = rows.groupby("lesion_id").size()
    looks: dict[str, str] = {}
    for part in lesion_split(rows, seed=seed).values():
        for k, code in enumerate(CLASSES):
            ids = np.sort(part.loc[part["dx"] == code, "lesion_id"].astype(str).unique())
            salt = [seed, 0x4E56] if code == "mel" else [seed, 0x4E56, k]
            order = ids[np.random.default_rng(salt).permutation(len(ids))].tolist()
            total, taken, target = int(sizes[order].sum()) if order else 0, 0, 0.0
            for other, share in LOOK_ALIKES[code]:
                if code == "mel" and other == "nv" and mel_as_nv is not None:
                    share = mel_as_nv
                target += share * total
                while order and taken + sizes[order[0]] / 2 <= target:
                    lesion = order.pop(0)
                    looks[lesion] = other
                    taken += int(sizes[lesion])
    lesion_ids = rows["lesion_id"].astype(str)
    return np.array([looks.get(i, dx) for i, dx in zip(lesion_ids, rows["dx"], strict=True)])


def balanced_accuracy_ceiling(rows: pd.DataFrame) -> float:
    r"""The highest balanced accuracy any classifier can reach on ``rows`` (demo metadata with
    ``dx`` and ``drawn_as``), since it cannot tell a look-alike from the class it imitates.

    With :math:`r(c, L)` the share of class :math:`c`'s images drawn with look :math:`L`, a
    rule that maps each look to one class has balanced accuracy
    :math:`\frac1K \sum_c \sum_{L \to c} r(c, L)`; the best rule gives each look the class
    with the largest share, so the ceiling is :math:`\frac1K \sum_L \max_c r(c, L)`
    (:math:`K`: the classes present).
    """
    counts = pd.crosstab(rows["dx"], rows["drawn_as"])
    shares = counts.div(counts.sum(axis=1), axis=0)
    return float(shares.max(axis=0).sum() / len(shares))


def nevus_looking_lesions(rows: pd.DataFrame, share: float, seed: int = 0) -> set[str]:
    """The melanoma ``lesion_id``s of ``rows`` drawn with a nevus's look when that share is
    ``share``: in each split part, melanomas up to that share of the part's melanoma images
    (within half a lesion; see :func:`demo_looks`).
    Independent of the artefact's placement, so a test split written again with the artefact
    moved keeps the same looks."""
    looks = demo_looks(rows, seed, mel_as_nv=share)
    return set(rows.loc[(rows["dx"] == "mel").to_numpy() & (looks == "nv"), "lesion_id"]
               .astype(str))


def _artefact(view: _View, img: np.ndarray, lesion_alpha: np.ndarray, kind: str,
              rng: np.random.Generator) -> np.ndarray:
    """Paint an ink mark or a ruler beside the lesion onto ``img`` in place; its mask (H, W).

    The place: of eight directions (random phase) at 0.72-0.84 height units from the centre
    (inside the centre square that eval_transform keeps, inside the vignette), the one whose
    surroundings the lesion covers least. The artefact is never drawn over the lesion.
    """
    phase, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0.72, 0.84)
    angles = phase + np.arange(8) * np.pi / 4
    centres = dist * np.column_stack([np.cos(angles), np.sin(angles)])
    overlap = [lesion_alpha[np.hypot(view.x - cx, view.y - cy) < 0.2].sum() for cx, cy in centres]
    angle = angles[int(np.argmin(overlap))]
    centre = centres[int(np.argmin(overlap))]
    radial, tangent = np.array([np.cos(angle), np.sin(angle)]), np.array(
        [-np.sin(angle), np.cos(angle)])
    layer = np.zeros_like(img)  # painted white: channel 0 is then the coverage
    if kind == "ink":
        half = rng.uniform(0.3, 0.4) * tangent
        bend = rng.normal(0, 0.04) * radial
        line = np.array([[*(centre - half), *(centre + bend), rng.uniform(0.035, 0.05)],
                         [*(centre + bend), *(centre + half), rng.uniform(0.035, 0.05)]])
        _strokes(view, layer, line, (1, 1, 1))
        offset, radius = rng.uniform(0.1, 0.14) * radial * rng.choice([-1, 1]), rng.uniform(
            0.08, 0.11)
        if np.abs(centre + offset).max() + radius > 0.97:  # keep it inside the centre crop
            offset = -offset
        _stamp(view, layer, (centre + offset)[None], np.array([radius]), np.ones((1, 3)))
        colour = np.clip(np.array(_INK) * (1 + rng.normal(0, 0.08, 3)), 0, 1)
        opacity = rng.uniform(0.7, 0.9)
    else:  # ruler: a base line and ticks every 0.06, every fifth one longer
        half = rng.uniform(0.3, 0.4)
        ticks = np.arange(-half, half + 1e-6, 0.06)
        base = centre + 0.05 * radial
        segments = [[*(base - half * tangent), *(base + half * tangent), 0.008]]
        for k, t in enumerate(ticks):
            length = 0.1 if k % 5 == 0 else 0.055
            start = base + t * tangent
            segments.append([*start, *(start - length * radial), 0.007])
        _strokes(view, layer, np.array(segments), (1, 1, 1))
        colour, opacity = np.array([0.12, 0.12, 0.14]), rng.uniform(0.8, 0.95)
    cover = layer[..., 0] * (1 - np.clip(lesion_alpha, 0, 1))
    img[:] = _mix(img, colour.astype(np.float32), cover * opacity)
    return np.where(cover > 0.5, 255, 0).astype(np.uint8)


class _Rendered(NamedTuple):
    """One rendered image: RGB uint8 (H, W, 3) and masks uint8 (H, W) in {0, 255}."""

    rgb: np.ndarray
    mask: np.ndarray  # the lesion
    artefact: np.ndarray | None  # the artefact, when one was asked for
    evidence: np.ndarray  # the class-specific structures, inside the lesion


def _outline(lesion: _Lesion, view: _View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``lesion``'s shape in ``view``: inside its border (bool), radius / border radius, and
    its opacity (soft at the border)."""
    rho = np.hypot(view.u, view.v)
    theta = np.arctan2(view.v, view.u)
    order, amp, phase = lesion.harmonics.T.astype(np.float32)
    wobble = (amp[:, None, None] * np.cos(order[:, None, None] * theta + phase[:, None, None]))
    border = lesion.radius * np.maximum(1 + wobble.sum(axis=0), 0.3)
    alpha = 1 / (1 + np.exp(np.minimum((rho - border) / (lesion.edge * view.scale), 40)))
    if lesion.dx == "bcc":
        alpha = alpha * 0.88  # translucent, pearly
    return rho < border, rho / border, alpha


def _skin(tone: np.ndarray, view: _View, rng: np.random.Generator) -> np.ndarray:
    """The patient's skin ``tone`` with this view's own fine texture (brightness, redness)."""
    skin_noise = _bilinear(_noise_grid(rng, (9, 33), 2), view.x, view.y) - 0.5
    return tone * (1 + 0.07 * skin_noise[..., :1]) + np.array(
        [0.03, -0.01, -0.01], np.float32) * skin_noise[..., 1:]


def _light(view: _View, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, colour cast, fall-off, the dermatoscope's dark circular vignette, sensor
    noise and gamma: the finished RGB uint8."""
    r_img = np.hypot(view.x, view.y)
    rim = rng.uniform(1.15, 1.7)
    light = (1 - 0.12 * r_img**2) * (1 - 0.92 * _smoothstep(rim - 0.08, rim + 0.04, r_img))
    cast = (rng.uniform(0.88, 1.08) * (1 + rng.normal(0, 0.03, 3))).astype(np.float32)
    img = img * light[..., None] * cast + rng.standard_normal(img.shape, np.float32) * 0.012
    gamma = ((np.arange(256) / 255) ** rng.uniform(0.9, 1.1) * 255 + 0.5).astype(np.uint8)
    return gamma[(np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)]


def _as_mask(inside: np.ndarray) -> np.ndarray:
    return np.where(inside, 255, 0).astype(np.uint8)


def _render(lesion: _Lesion, height: int, width: int, rng: np.random.Generator,
            artefact: tuple[str, np.random.Generator] | None = None) -> _Rendered:
    """One view of ``lesion``: its RGB, lesion mask, with ``artefact=(kind, generator)`` the
    artefact's mask (else None), and its evidence mask.

    The evidence mask is the lesion's evidence weights (see :func:`_paint`) above 0.5, inside
    the lesion mask: the pixels that its class-specific structures cover at least half. Hair
    drawn over them stays evidence. The artefact draws from its own generator, so the rest of
    the view is the same with or without it.
    """
    view = _make_view(height, width, rng)
    inside, rel, alpha = _outline(lesion, view)
    skin = _skin(lesion.skin, view, rng)
    paint, weight = _paint(lesion, view, rel, _bilinear(lesion.noise, view.u, view.v))
    img = skin + (paint - skin) * alpha[..., None]
    _hair(view, img, rng)
    art_mask = None if artefact is None else _artefact(view, img, alpha, *artefact)
    return _Rendered(_light(view, img, rng), _as_mask(inside), art_mask,
                     _as_mask(inside & (weight > 0.5)))


# --------------------------------------------------------------------------- demo: folder


def _lesion_number(lesion_id: str) -> int:
    return int("".join(ch for ch in lesion_id if ch.isdigit()) or 0)


def _demo_part(image_id: str) -> str:
    """The image folder the real archive uses for ``image_id``."""
    number = int("".join(ch for ch in image_id if ch.isdigit()) or 0)
    return IMAGE_FOLDERS[0] if number <= _PART_1_LAST_ID else IMAGE_FOLDERS[1]


def _write_demo_files(rows: pd.DataFrame, folder: Path, image_size: int, seed: int,
                      artefact: ArtefactSpec | None = None, base: Path | None = None) -> None:
    """Render every row's image, lesion mask and evidence mask into ``folder`` (HAM10000
    layout; evidence masks in ``EVIDENCE_FOLDER``).

    With ``artefact``, the rows flagged in ``rows["artefact"]`` get it, and every image gets
    an artefact mask in ``ARTEFACT_FOLDER`` (all zeros when it has none). ``base``: a clean
    demo set of the same arguments to copy the unflagged images and their masks from (the
    same bytes as rendering them again, in a fraction of the time).
    """
    height, width = image_size, round(image_size * 4 / 3)
    folders = (*IMAGE_FOLDERS, MASK_FOLDER, EVIDENCE_FOLDER) + (
        (ARTEFACT_FOLDER,) if artefact else ())
    for name in folders:
        (folder / name).mkdir(parents=True, exist_ok=True)
    flagged = set(rows.loc[rows["artefact"] == 1, "image_id"]) if artefact else set()
    looks = dict(zip(rows["lesion_id"], rows["drawn_as"], strict=True))
    base_looks = dict(zip(rows["lesion_id"], rows["base_look"], strict=True))
    bar = tqdm(total=len(rows), desc="demo images", unit="img")
    for lesion_id, group in rows.groupby("lesion_id", sort=True):
        number = _lesion_number(str(lesion_id))
        ids = sorted(group["image_id"])
        lesion = None
        for k, image_id in enumerate(ids):
            files = (f"{_demo_part(image_id)}/{image_id}.jpg",
                     f"{MASK_FOLDER}/{image_id}_segmentation.png",
                     f"{EVIDENCE_FOLDER}/{image_id}_evidence.png")
            if base is not None and image_id not in flagged and (
                    looks[lesion_id] == base_looks[lesion_id]):
                for name in files:
                    shutil.copyfile(base / name, folder / name)
                art = None
            else:
                lesion = lesion or _draw_lesion(str(looks[lesion_id]),
                                                np.random.default_rng([seed, number]))
                extra = ((artefact.kind, np.random.default_rng([seed, number, k, 0xA47E]))
                         if artefact and image_id in flagged else None)
                rgb, mask, art, evidence = _render(lesion, height, width,
                                                   np.random.default_rng([seed, number, k]), extra)
                Image.fromarray(rgb).save(folder / files[0], quality=90)
                Image.fromarray(mask).save(folder / files[1])
                Image.fromarray(evidence).save(folder / files[2])
            if artefact:
                art = np.zeros((height, width), np.uint8) if art is None else art
                Image.fromarray(art).save(folder / ARTEFACT_FOLDER / f"{image_id}_artefact.png")
            bar.update()
    bar.close()


# Bump when a demo folder's content changes; an older cached set is then written again (2:
# evidence masks; 3: look-alikes, off-centre views at several zooms, the drawn_as column;
# 4: look-alikes dealt by images within each split part).
_DEMO_VERSION = 4


def _difficulty_digest() -> str:
    """A short digest of :data:`LOOK_ALIKES`, :data:`VIEW_SHIFT` and :data:`VIEW_SCALE`: a
    cached set (and a model trained on it) written with other settings is not reused."""
    record = json.dumps([LOOK_ALIKES, VIEW_SHIFT, VIEW_SCALE], sort_keys=True)
    return hashlib.sha1(record.encode()).hexdigest()[:12]


def _demo_marker(n_images: int, image_size: int, seed: int, artefact: ArtefactSpec | None = None,
                 lesion_ids: list[str] | None = None) -> dict[str, object]:
    marker: dict[str, object] = {"generator": "helpers.data.make_demo_dataset",
                                 "version": _DEMO_VERSION,
                                 "n_images": n_images, "image_size": image_size, "seed": seed,
                                 "looks": _difficulty_digest()}
    if artefact is not None:
        marker["artefact"] = {**artefact.as_dict(), "renderer": _ARTEFACT_RENDERER}
    if lesion_ids is not None:
        marker["lesions"] = {"count": len(lesion_ids), "sha1": hashlib.sha1(
            "\n".join(lesion_ids).encode()).hexdigest()}
    return marker


def _is_complete_demo(root: Path, marker: dict[str, object]) -> bool:
    return _has_marker(root, _DEMO_MARKER, marker, lambda found: (
        f"{root} holds another demo set ({found}); asked for {marker}."))


def _drop_older_version(root: Path, marker: dict[str, object]) -> None:
    """Remove ``root`` when its marker is an older version of ``marker``'s generator, or the same
    version with other difficulty settings (a cache written by an earlier release of this
    package), so that it is written again in its place.

    The old folder is first renamed away (atomic), then deleted; anything else is left alone.
    """
    path = root / _DEMO_MARKER
    try:
        found = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return  # no marker, or a damaged one: the usual checks deal with it
    if not isinstance(found, dict) or found.get("generator") != marker["generator"]:
        return
    version, current = found.get("version"), marker["version"]
    if not (isinstance(version, int) and isinstance(current, int) and version <= current):
        return
    if version == current and found.get("looks") == marker.get("looks"):
        return  # the same generator and settings: not older

    trash = Path(tempfile.mkdtemp(prefix=f".{root.name}-old-", dir=root.parent))
    try:
        root.rename(trash / root.name)
    except FileNotFoundError:  # another process replaced it first
        pass
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def _check_set_arguments(n_images: object, image_size: object, seed: object, *,
                         min_images: int, min_size: int) -> None:
    """Refuse, before anything is drawn, arguments that would fail late or write odd images."""
    for name, value, low, hint in (
            ("n_images", n_images, min_images, f"e.g. n_images={max(min_images, 70)}"),
            ("image_size", image_size, min_size, "the height in pixels, e.g. image_size=128"),
            ("seed", seed, None, "e.g. seed=0")):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{name} must be an int, got {value!r} "
                            f"({type(value).__name__}); {hint}")
        if low is not None and value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}; {hint}")


def _check_root(root: Path) -> None:
    """A root that is (or lies under) a file is refused before any image is rendered."""
    for folder in (root, *root.parents):
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(
                f"root {root}: {folder} is a file, not a folder; the demo set needs a folder "
                "of its own. Pass another path (demo_dataset_dir(cfg) is one), or move that "
                "file away.")


def _check_files(root: Path) -> None:
    """A finished set (its marker matches) must still hold every image and mask it lists."""
    try:
        ids = pd.read_csv(root / METADATA_FILE, usecols=["image_id"])["image_id"].astype(str)
    except (FileNotFoundError, ValueError) as err:
        raise FileNotFoundError(f"The cached demo set {root} is damaged ({err}). Delete that "
                                "folder: the next call writes it again.") from err
    missing = [image_id for image_id in ids
               if not (root / _demo_part(image_id) / f"{image_id}.jpg").is_file()
               or not (root / MASK_FOLDER / f"{image_id}_segmentation.png").is_file()]
    if missing:
        raise FileNotFoundError(
            f"The cached demo set {root} is damaged: {len(missing)} of {len(ids)} images (or "
            f"their lesion masks) are missing: {_list_some(missing)}. Delete that folder: the "
            "next call writes it again.")


def _refuse_real_data(root: Path) -> None:
    """Refuse ``root`` when it, or a folder above it, holds data that is not a demo set."""
    for folder in (root, *root.parents):
        if (folder / METADATA_FILE).is_file() and not (folder / _DEMO_MARKER).is_file():
            raise FileExistsError(
                f"{folder} holds HAM10000 data; the demo set is never written there. "
                "Pick a folder of its own (demo_dataset_dir(cfg) does)."
            )
    if root.is_dir() and any(root.iterdir()) and not (root / _DEMO_MARKER).is_file():
        raise FileExistsError(f"{root} is not empty and is not a demo set; refusing to write.")


def make_demo_dataset(
    root: str | Path, n_images: int = 1500, image_size: int = 128, seed: int = 0,
    artefact: ArtefactSpec | None = None, lesion_ids: Iterable[str] | None = None,
    base: str | Path | None = None,
) -> Path:
    """Write (once) a synthetic HAM10000 stand-in into ``root`` and return ``root``.

    Rows: whole lesions drawn from the real metadata, every class with >= 3 lesions, class
    shares proportional to the real counts to the power 0.8 (imbalance softened a little).
    Pixels: synthetic dermatoscope views (skin, hair, vignette) whose lesion colour, border
    and texture depend on the class; the images of one lesion are views of the same lesion,
    each turned, zoomed and moved off centre (:data:`VIEW_SHIFT`, :data:`VIEW_SCALE`; large
    lesions run out of the frame). A share of each class's lesions is drawn with another
    class's look (:data:`LOOK_ALIKES`; the column ``drawn_as`` says which look each lesion got,
    and its evidence mask marks the structures of that look).
    Images are ``image_size`` high and 4:3 wide; masks (255 = lesion) go to
    ``HAM10000_segmentations_lesion/``, evidence masks to
    ``HAM10000_segmentations_evidence/<image_id>_evidence.png`` (255 = the class-specific
    structures, inside the lesion: a nevus's pigment network, a melanoma's blue-white veil,
    dark blotches and irregular dots, a bcc's arborising vessels and blue-grey nests, a bkl's
    comedo-like openings and milia-like cysts, an akiec's scale, a df's central white scar
    patch, a vascular lesion's lacunae; see ``_paint``), each where its drawing covers a
    pixel at least half. Same arguments, same bytes. Written to a temporary
    folder and renamed, so a half-written set is never seen; an existing complete set is
    returned untouched.

    ``artefact``: add an artefact (see :class:`ArtefactSpec`) to the images
    :func:`artefact_flags` picks; the CSV gains a column ``artefact`` (0/1) and each image an
    artefact mask ``HAM10000_segmentations_artefact/<image_id>_artefact.png`` (255 =
    artefact). Everything else is the same pixels as the set without it, except, with
    ``artefact.mel_as_nv``, the melanomas whose look changes. ``lesion_ids``:
    write only the images of these lesions (of the ``n_images`` rows), e.g. one test split.
    ``base``: the finished demo set of the same ``n_images``, ``image_size`` and ``seed``
    without artefact; the images that get none are copied from it instead of rendered.

    A folder written by an older version of this function is written again in its place.
    """
    _check_set_arguments(n_images, image_size, seed, min_images=3 * len(CLASSES), min_size=16)
    root = Path(root).expanduser().absolute()
    _check_root(root)
    subset = None if lesion_ids is None else sorted({str(i) for i in lesion_ids})
    marker = _demo_marker(n_images, image_size, seed, artefact, subset)
    _drop_older_version(root, marker)
    if _is_complete_demo(root, marker):
        _check_files(root)
        return root
    _refuse_real_data(root)
    if base is not None:
        base = Path(base).expanduser().absolute()
        if not _is_complete_demo(base, _demo_marker(n_images, image_size, seed)):
            raise FileNotFoundError(f"base {base} is not a finished demo set.")
    rows = _sample_demo_rows(packaged_metadata(), n_images, seed)
    columns = [*METADATA_COLUMNS, "drawn_as"]
    # looks are chosen among all lesions, then subset; base_look: the clean set's look
    rows["base_look"] = demo_looks(rows, seed)
    rows["drawn_as"] = (demo_looks(rows, seed, artefact.mel_as_nv)
                        if artefact is not None and artefact.mel_as_nv else rows["base_look"])
    if subset is not None:
        unknown = sorted(set(subset) - set(rows["lesion_id"]))
        if unknown:
            raise ValueError(f"lesion_ids not in this demo set: {_list_some(unknown)}")
        rows = rows[rows["lesion_id"].isin(set(subset))].reset_index(drop=True)
    if artefact is not None:
        rows["artefact"] = artefact_flags(rows, artefact, seed).astype(int)
        columns.append("artefact")

    def write(tmp: Path) -> None:
        rows[columns].to_csv(tmp / METADATA_FILE, index=False)
        _write_demo_files(rows, tmp, image_size, seed, artefact, base)
        (tmp / "README.txt").write_text(
            "Synthetic demo stand-in for HAM10000 written by helpers.demo.make_demo_dataset.\n"
            "Metadata rows are real (CC BY-NC 4.0, doi:10.7910/DVN/DBW86T); pixels are not.\n"
        )
        (tmp / _DEMO_MARKER).write_text(json.dumps(marker, indent=1))

    return write_folder_atomically(root, write, lambda done: _is_complete_demo(done, marker))


def demo_dataset_dir(cfg: RunConfig) -> Path:
    """Where the demo set for ``cfg`` is cached: ``<cache_dir>/demo-n<n>-s<size>-seed<seed>``."""
    return Path(cfg.cache_dir) / f"demo-n{cfg.n_demo_images}-s{cfg.image_size}-seed{cfg.seed}"


def artefact_dataset_dir(cfg: RunConfig, spec: ArtefactSpec, part: str = "") -> Path:
    """Where a demo set with an artefact is cached: the clean set's name + the spec's tag
    (+ ``-<part>`` for a subset), e.g. ``<cache_dir>/demo-n1500-s128-seed0-ink-mel-90-5``."""
    name = f"{demo_dataset_dir(cfg).name}-{spec.tag}" + (f"-{part}" if part else "")
    return Path(cfg.cache_dir) / name


def prepare_artefact_metadata(cfg: RunConfig, spec: ArtefactSpec,
                              lesion_ids: Iterable[str] | None = None,
                              part: str = "") -> pd.DataFrame:
    """The metadata of ``cfg``'s demo set with an artefact (generated once into the cache).

    Same rows and lesion pixels as :func:`prepare_metadata` on the demo set, plus the columns
    ``artefact`` (0/1) and ``artefact_mask_path``. ``lesion_ids`` with a ``part`` name: only
    those lesions (e.g. ``splits["test"]["lesion_id"]``, ``part="test"``). Always synthetic:
    the real images cannot be given an artefact that is known pixel for pixel.
    """
    if lesion_ids is not None and not part:
        raise ValueError("Name the subset (part='test') so that its cache folder is its own.")
    clean = make_demo_dataset(demo_dataset_dir(cfg), cfg.n_demo_images, cfg.image_size,
                              cfg.seed)  # usually cached already; its images are reused
    root = make_demo_dataset(artefact_dataset_dir(cfg, spec, part), cfg.n_demo_images,
                             cfg.image_size, cfg.seed, artefact=spec, lesion_ids=lesion_ids,
                             base=clean)
    return _load_demo(root)


def _load_demo(root: Path) -> pd.DataFrame:
    """:func:`load_metadata` of a cached demo set; if it is damaged (a file missing or wrong),
    the error says to delete the folder, not where to download HAM10000."""
    try:
        return load_metadata(root)
    except (FileNotFoundError, ValueError) as err:
        reason = str(err).replace(HOW_TO_GET, "").strip()
        raise type(err)(f"The cached demo set {root} is damaged ({reason}). Delete that folder: "
                        "the next run writes it again.") from err


def prepare_metadata(cfg: RunConfig) -> pd.DataFrame:
    """The metadata (with ``path``, ``label``, ``mask_path``) of the data ``cfg`` names.

    ``demo``: generates the demo set once into the cache. ``ham10000``: reads ``cfg.data_dir``.
    """
    if cfg.dataset == "demo":
        root = make_demo_dataset(demo_dataset_dir(cfg), cfg.n_demo_images, cfg.image_size,
                                 cfg.seed)
        return _load_demo(root)
    if cfg.dataset == "ham10000":
        if cfg.data_dir is None:
            raise FileNotFoundError(
                "dataset='ham10000' needs data_dir (set HAM10000_DIR or load_config(data_dir=...))."
                f" {HOW_TO_GET}"
            )
        return load_metadata(cfg.data_dir)
    if cfg.dataset == "dermamnist":
        raise NotImplementedError(
            "DermaMNIST has no metadata table (no lesion ids); load its arrays with "
            "helpers.data.load_dermamnist(npz_path) and wrap them in DermaMNISTDataset."
        )
    raise ValueError(f"Unknown dataset {cfg.dataset!r}.")




# --------------------------------------------------------------------------- demo: two lesions
#
# A test set for explanations with several instances of one class, the setting Grad-CAM++ was
# made for: each image shows two lesions of its class, apart, the second smaller and fainter.

_MULTI_GENERATOR = "helpers.demo.make_multi_lesion_set"
_MULTI_VERSION = 1  # bump when the folder's content changes; older cached sets are rewritten
_MULTI_SALT = 0x2E51  # keeps the multi-lesion set's generators apart from the demo set's


def _sample_multi_rows(meta: pd.DataFrame, n_images: int, seed: int) -> pd.DataFrame:
    """``n_images`` real rows, each the first image of another lesion, the classes dealt
    evenly (the first ``n_images % 7`` classes of ``CLASSES`` get one more)."""
    lesion_dx = meta.groupby("lesion_id")["dx"].first()
    most = int(lesion_dx.value_counts().reindex(CLASSES).min()) * len(CLASSES)
    if not len(CLASSES) <= n_images <= most:
        raise ValueError(f"n_images must be in [{len(CLASSES)}, {most}] (at least one image of "
                         f"each class, each of another lesion), got {n_images}.")
    first = meta.sort_values("image_id").groupby("lesion_id")["image_id"].first()
    rng = np.random.default_rng([seed, _MULTI_SALT])
    picked: list[str] = []
    for k, dx in enumerate(CLASSES):
        count = n_images // len(CLASSES) + (k < n_images % len(CLASSES))
        lesions = np.sort(lesion_dx.index[lesion_dx == dx].to_numpy())
        picked += [str(i) for i in rng.permutation(lesions)[:count]]
    rows = meta[meta["image_id"].isin(set(first[picked]))]
    return rows.sort_values("image_id").reset_index(drop=True)


def _extent(lesion: _Lesion) -> float:
    """The largest radius of ``lesion``'s border (lesion frame), sampled every half degree."""
    theta = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    order, amp, phase = lesion.harmonics.T
    wobble = (amp[:, None] * np.cos(order[:, None] * theta + phase[:, None])).sum(axis=0)
    return float(lesion.radius * np.maximum(1 + wobble, 0.3).max())


def _place_pair(extents: tuple[float, float], rng: np.random.Generator,
                ) -> list[tuple[float, float, np.ndarray]]:
    """Angle, scale and centre (image frame) of two lesions side by side, as ``_view_at``
    takes them.

    The first reaches 0.28-0.38 height units from its centre, the second 0.55-0.8 times as
    far; a gap of 0.06-0.2 lies between their reaches, on an axis at a random angle through a
    point near the centre. If the pair does not fit in the centre square (|x|, |y| <= 0.95,
    which eval_transform keeps), all of it shrinks about the image centre until it does.
    """
    reach = rng.uniform(0.28, 0.38)
    reaches = (reach, reach * rng.uniform(0.55, 0.8))
    gap = rng.uniform(0.06, 0.2)
    phi = rng.uniform(0, 2 * np.pi)
    axis, middle = np.array([np.cos(phi), np.sin(phi)]), rng.normal(0, 0.05, 2)
    centres = (middle + (reaches[0] + gap / 2) * axis, middle - (reaches[1] + gap / 2) * axis)
    shrink = min(1.0, 0.95 / max(np.abs(c).max() + r for c, r in zip(centres, reaches,
                                                                       strict=True)))
    return [(rng.uniform(0, 2 * np.pi), r * shrink / extent, (c * shrink).astype(np.float32))
            for c, r, extent in zip(centres, reaches, extents, strict=True)]


def _render_pair(lesions: tuple[_Lesion, _Lesion], height: int, width: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Two lesions in one view: RGB uint8 (H, W, 3), each lesion's mask and the evidence mask
    of both (uint8 (H, W), 255 = inside), thresholded as in :func:`_render`.

    The second lesion is placed smaller (see :func:`_place_pair`) and drawn at 45-70 % of its
    opacity, so it is the weaker instance. Skin, hair and lighting are one view's, on the first
    lesion's skin tone.
    """
    places = _place_pair((_extent(lesions[0]), _extent(lesions[1])), rng)
    contrast = rng.uniform(0.45, 0.7)
    views = [_view_at(height, width, *place) for place in places]
    img = _skin(lesions[0].skin, views[0], rng)
    masks, evidence = [], np.zeros((height, width), bool)
    for lesion, view, opacity in zip(lesions, views, (1.0, contrast), strict=True):
        inside, rel, alpha = _outline(lesion, view)
        paint, weight = _paint(lesion, view, rel, _bilinear(lesion.noise, view.u, view.v))
        img = img + (paint - img) * (alpha * opacity)[..., None]
        masks.append(_as_mask(inside))
        evidence |= inside & (weight > 0.5)
    _hair(views[0], img, rng)
    return _light(views[0], img, rng), masks, _as_mask(evidence)


def _multi_marker(n_images: int, image_size: int, seed: int) -> dict[str, object]:
    return {"generator": _MULTI_GENERATOR, "version": _MULTI_VERSION, "n_images": n_images,
            "image_size": image_size, "seed": seed}


def make_multi_lesion_set(root: str | Path, n_images: int = 70, image_size: int = 224,
                          seed: int = 0) -> Path:
    """Write (once) a test set of images with two lesions of one class each; return ``root``.

    Rows: ``n_images`` real metadata rows, one image each of distinct lesions, the classes
    dealt evenly (``n_images`` from 7 to 511: df has 73 lesions). Each image shows two lesions
    drawn as the row's class, as in :func:`make_demo_dataset`: the first larger, the second
    0.55-0.8 times its size and fainter (45-70 % opacity), apart, both inside the centre
    square that ``eval_transform`` keeps. Files, in the HAM10000 layout (``load_metadata``
    reads it): the images, ``HAM10000_segmentations_lesion/<image_id>_lesion1.png`` and
    ``_lesion2.png`` (each lesion, 255 = inside; disjoint), ``<image_id>_segmentation.png``
    (their union), and ``HAM10000_segmentations_evidence/<image_id>_evidence.png`` (the
    class-specific structures of both, see :func:`make_demo_dataset`). Same arguments, same
    bytes; written atomically; a finished set is returned untouched.
    """
    _check_set_arguments(n_images, image_size, seed, min_images=len(CLASSES), min_size=32)
    root = Path(root).expanduser().absolute()
    _check_root(root)
    marker = _multi_marker(n_images, image_size, seed)
    _drop_older_version(root, marker)
    if _is_complete_demo(root, marker):
        _check_files(root)
        return root
    _refuse_real_data(root)
    rows = _sample_multi_rows(packaged_metadata(), n_images, seed)
    height, width = image_size, round(image_size * 4 / 3)

    def write(tmp: Path) -> None:
        rows[list(METADATA_COLUMNS)].to_csv(tmp / METADATA_FILE, index=False)
        for name in (*IMAGE_FOLDERS, MASK_FOLDER, EVIDENCE_FOLDER):
            (tmp / name).mkdir()
        for row in tqdm(list(rows.itertuples()), desc="multi-lesion images", unit="img"):
            number, image_id = _lesion_number(str(row.lesion_id)), str(row.image_id)
            lesions = tuple(_draw_lesion(str(row.dx), np.random.default_rng(
                [seed, number, _MULTI_SALT, j])) for j in (1, 2))
            rgb, (first, second), evidence = _render_pair(
                lesions, height, width, np.random.default_rng([seed, number, _MULTI_SALT]))
            Image.fromarray(rgb).save(tmp / _demo_part(image_id) / f"{image_id}.jpg", quality=90)
            masks = tmp / MASK_FOLDER
            Image.fromarray(first).save(masks / f"{image_id}_lesion1.png")
            Image.fromarray(second).save(masks / f"{image_id}_lesion2.png")
            Image.fromarray(first | second).save(masks / f"{image_id}_segmentation.png")
            Image.fromarray(evidence).save(tmp / EVIDENCE_FOLDER / f"{image_id}_evidence.png")
        (tmp / "README.txt").write_text(
            "Synthetic two-lesion test set written by helpers.demo.make_multi_lesion_set.\n"
            "Metadata rows are real (CC BY-NC 4.0, doi:10.7910/DVN/DBW86T); pixels are not.\n"
        )
        (tmp / _DEMO_MARKER).write_text(json.dumps(marker, indent=1))

    return write_folder_atomically(root, write, lambda done: _is_complete_demo(done, marker))


def multi_lesion_dir(cfg: RunConfig, n_images: int = 70) -> Path:
    """Where the multi-lesion set for ``cfg`` is cached:
    ``<cache_dir>/multi-n<n>-s<size>-seed<seed>``."""
    return Path(cfg.cache_dir) / f"multi-n{n_images}-s{cfg.image_size}-seed{cfg.seed}"


def prepare_multi_lesion_metadata(cfg: RunConfig, n_images: int = 70) -> pd.DataFrame:
    """The metadata of the multi-lesion test set for ``cfg`` (generated once into the cache):
    ``path``, ``label``, ``mask_path`` (both lesions), ``lesion1_mask_path``,
    ``lesion2_mask_path`` and ``evidence_path``, at ``cfg.image_size`` with ``cfg.seed``.

    Always synthetic, whatever ``cfg.dataset``: real images with two lesions and their masks
    do not exist in HAM10000. See :func:`make_multi_lesion_set`.
    """
    return _load_demo(make_multi_lesion_set(multi_lesion_dir(cfg, n_images), n_images,
                                            cfg.image_size, cfg.seed))
