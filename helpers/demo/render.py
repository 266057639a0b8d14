"""Drawing synthetic dermatoscope views: a lesion of a given look, seen by a random view.

The renderer behind :mod:`helpers.demo`'s sets; it knows nothing about files or metadata.
A lesion (:func:`draw_lesion`) is drawn once per lesion id in its own frame: colour, border,
texture and the class-specific structures of its look (``_LOOKS``: a nevus's pigment network,
a melanoma's blue-white veil, dark blotches and irregular dots, a bcc's arborising vessels and
blue-grey nests, a bkl's comedo-like openings and milia-like cysts, an akiec's scale, a df's
central white scar patch, a vascular lesion's lacunae). Each image is a view of it
(:func:`_make_view`: turned, zoomed within :data:`VIEW_SCALE`, moved within
:data:`VIEW_SHIFT`) on skin with hair and a vignette (:func:`render_lesion`), with its lesion mask,
evidence mask and optional artefact (skin-marker ink, a ruler) known pixel for pixel;
:func:`render_pair` draws two lesions in one image. Same generator, same pixels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

# --------------------------------------------------------------------------- one lesion
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


def draw_lesion(dx: str, rng: np.random.Generator) -> _Lesion:
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


_INK = (0.42, 0.20, 0.58)  # gentian violet, the usual surgical skin-marker colour

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


def render_lesion(lesion: _Lesion, height: int, width: int, rng: np.random.Generator,
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


def render_pair(lesions: tuple[_Lesion, _Lesion], height: int, width: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Two lesions in one view: RGB uint8 (H, W, 3), each lesion's mask and the evidence mask
    of both (uint8 (H, W), 255 = inside), thresholded as in :func:`render_lesion`.

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
