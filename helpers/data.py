"""Data: the HAM10000 classes, metadata, lesion-aware splits, an offline demo set, datasets.

The real HAM10000 metadata (10,015 images of 7,470 lesions) is packaged with this module, so
everything that needs only the table works offline. The images come from Harvard Dataverse
(doi:10.7910/DVN/DBW86T) or Kaggle ("kmader/skin-cancer-mnist-ham10000"); without them,
:func:`make_demo_dataset` writes a stand-in with the same layout: real metadata rows, synthetic
dermatoscope-like pixels whose lesion look depends on the class, and lesion masks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T
from tqdm.auto import tqdm

if TYPE_CHECKING:  # pragma: no cover
    from .config import RunConfig

# --------------------------------------------------------------------------- classes

CLASSES: tuple[str, ...] = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
CLASS_NAMES: dict[str, str] = {
    "akiec": "actinic keratosis / intraepithelial carcinoma",
    "bcc": "basal cell carcinoma",
    "bkl": "benign keratosis-like lesion",
    "df": "dermatofibroma",
    "mel": "melanoma",
    "nv": "melanocytic nevus",
    "vasc": "vascular lesion",
}
MALIGNANT: frozenset[str] = frozenset({"akiec", "bcc", "mel"})
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

METADATA_COLUMNS = ("lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization")
METADATA_FILE = "HAM10000_metadata.csv"
IMAGE_FOLDERS = ("HAM10000_images_part_1", "HAM10000_images_part_2")
MASK_FOLDER = "HAM10000_segmentations_lesion"
ARTEFACT_FOLDER = "HAM10000_segmentations_artefact"  # demo sets with an artefact only
KAGGLE_HANDLE = "kmader/skin-cancer-mnist-ham10000"
HOW_TO_GET = (
    "Get HAM10000 from Harvard Dataverse (https://doi.org/10.7910/DVN/DBW86T) or Kaggle "
    f"(https://www.kaggle.com/datasets/{KAGGLE_HANDLE}), or call "
    "helpers.data.download_ham10000(dest). Expected layout: <root>/HAM10000_metadata.csv and "
    "<root>/HAM10000_images_part_1/, <root>/HAM10000_images_part_2/ holding <image_id>.jpg "
    "(either case; a flat folder of jpgs works too); optional lesion masks in "
    "<root>/HAM10000_segmentations_lesion/<image_id>_segmentation.png."
)
# The real archive's first part ends at this image id; the demo splits its images the same way.
_PART_1_LAST_ID = 29305
_DEMO_MARKER = "demo.json"


def _list_some(items: Iterable[str], k: int = 5) -> str:
    """``'a, b, c, ... (12 in all)'``: the first ``k`` items and the count."""
    items = list(items)
    head = ", ".join(map(str, items[:k]))
    return f"{head}{', ...' if len(items) > k else ''} ({len(items)} in all)"


# --------------------------------------------------------------------------- metadata


def packaged_metadata() -> pd.DataFrame:
    """The real HAM10000 metadata table (10,015 rows) shipped inside ``helpers/resources``."""
    with resources.files("helpers").joinpath("resources", METADATA_FILE).open("rb") as f:
        return pd.read_csv(f)


def _find_metadata_csv(root: Path) -> Path:
    for name in (METADATA_FILE, Path(METADATA_FILE).stem):  # Dataverse: no extension
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"No {METADATA_FILE} in {root}. {HOW_TO_GET}")


def _check_schema(meta: pd.DataFrame, source: Path) -> None:
    missing = [c for c in METADATA_COLUMNS if c not in meta.columns]
    if missing:
        raise ValueError(
            f"{source} lacks column(s) {missing}; expected {list(METADATA_COLUMNS)}. {HOW_TO_GET}"
        )
    unknown = sorted(set(meta["dx"].dropna()) - set(CLASSES)) + (
        ["<empty>"] if meta["dx"].isna().any() else []
    )
    if unknown:
        raise ValueError(f"{source}: unknown dx value(s) {unknown}; expected one of {CLASSES}.")


def _image_index(root: Path) -> tuple[dict[str, Path], list[Path]]:
    """image_id -> file for every jpg in the part folders (any case), ``images/`` or root."""
    wanted = {name.lower() for name in IMAGE_FOLDERS} | {"images"}
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and p.name.lower() in wanted]
    index: dict[str, Path] = {}
    for folder in [*folders, root]:
        with os.scandir(folder) as entries:
            for entry in entries:
                stem, ext = os.path.splitext(entry.name)
                if ext.lower() in (".jpg", ".jpeg") and entry.is_file():
                    index.setdefault(stem, Path(entry.path))
    return index, [*folders, root]


def _mask_index(root: Path) -> dict[str, Path]:
    """image_id -> mask file from ``HAM10000_segmentations_lesion*`` folders (any case)."""
    index: dict[str, Path] = {}
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and folder.name.lower().startswith(MASK_FOLDER.lower()):
            for path in sorted(folder.rglob("*_segmentation.png")):
                index.setdefault(path.name[: -len("_segmentation.png")], path)
    return index


def load_metadata(root: str | Path) -> pd.DataFrame:
    """HAM10000 metadata of the data in ``root`` plus ``path``, ``label`` and ``mask_path``.

    Rows keep the CSV's order and extra columns (a demo set with an artefact has ``artefact``,
    0/1, and gains ``artefact_mask_path``); a missing age stays NaN. Raises FileNotFoundError
    naming what is missing (folder, CSV or image files) and ValueError for a wrong schema.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"Data folder {root} does not exist. {HOW_TO_GET}")
    csv = _find_metadata_csv(root)
    meta = pd.read_csv(csv)
    _check_schema(meta, csv)
    images, searched = _image_index(root)
    missing = [i for i in meta["image_id"] if i not in images]
    if missing:
        where = ", ".join(str(p) for p in searched)
        raise FileNotFoundError(
            f"{len(missing)} of {len(meta)} images listed in {csv.name} were not found "
            f"(searched {where}): {_list_some(missing)}. {HOW_TO_GET}"
        )
    masks = _mask_index(root)
    meta["path"] = [str(images[i].resolve()) for i in meta["image_id"]]
    meta["label"] = meta["dx"].map(CLASSES.index).astype(int)
    meta["mask_path"] = [str(masks[i].resolve()) if i in masks else None for i in meta["image_id"]]
    if (root / ARTEFACT_FOLDER).is_dir():  # a demo set with an artefact (make_demo_dataset)
        art = root / ARTEFACT_FOLDER
        meta["artefact_mask_path"] = [
            str((art / f"{i}_artefact.png").resolve()) if (art / f"{i}_artefact.png").is_file()
            else None for i in meta["image_id"]
        ]
    return meta


# --------------------------------------------------------------------------- splits


def _check_splits(splits: dict[str, pd.DataFrame]) -> None:
    """Raise if a lesion is in two splits or a class is missing from a split."""
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = sorted(set(splits[a]["lesion_id"]) & set(splits[b]["lesion_id"]))
            if shared:
                raise ValueError(f"Lesions in both {a} and {b}: {_list_some(shared)}")
    for name, part in splits.items():
        absent = [c for c in CLASSES if c not in set(part["dx"])]
        if absent:
            raise ValueError(f"Split {name!r} has no image of class(es) {absent}.")


def lesion_split(
    df: pd.DataFrame, val: float = 0.15, test: float = 0.15, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """Split by lesion: no ``lesion_id`` in two splits, stratified by ``dx``, every class in each.

    Within each class the lesions are shuffled (seeded) and dealt to test, then val, until each
    holds its share of the class's images; the rest go to train. Needs >= 3 lesions per class.
    """
    rng = np.random.default_rng(seed)
    lesion_dx = df.groupby("lesion_id")["dx"].first()
    sizes = df.groupby("lesion_id").size()
    chosen: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for dx in CLASSES:
        lesions = np.sort(lesion_dx.index[lesion_dx == dx].to_numpy())
        if len(lesions) < 3:
            raise ValueError(f"Class {dx!r} has {len(lesions)} lesion(s); a split needs >= 3.")
        lesions = list(rng.permutation(lesions))
        n_images = int(sizes[lesions].sum())
        for name, share in (("test", test), ("val", val)):
            target, count = round(share * n_images), 0
            while lesions and (count == 0 or count < target) and len(lesions) > 1 + (
                name == "test"
            ):
                lesion = lesions.pop(0)
                chosen[name].append(lesion)
                count += int(sizes[lesion])
        chosen["train"].extend(lesions)
    splits = {
        name: df[df["lesion_id"].isin(set(ids))].reset_index(drop=True)
        for name, ids in chosen.items()
    }
    _check_splits(splits)
    return splits


def random_image_split(
    df: pd.DataFrame, val: float = 0.15, test: float = 0.15, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """The naive split: images (not lesions) shuffled and dealt out, stratified by ``dx``.

    Images of one lesion can land in train and test: see :func:`shared_lesion_count`.
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for dx in CLASSES:
        rows = rng.permutation(np.flatnonzero(df["dx"].to_numpy() == dx))
        n_test, n_val = round(test * len(rows)), round(val * len(rows))
        parts["test"].extend(rows[:n_test])
        parts["val"].extend(rows[n_test : n_test + n_val])
        parts["train"].extend(rows[n_test + n_val :])
    return {name: df.iloc[sorted(rows)].reset_index(drop=True) for name, rows in parts.items()}


def shared_lesion_count(train: pd.DataFrame, test: pd.DataFrame) -> int:
    """How many images of ``test`` show a lesion that also appears in ``train``."""
    return int(test["lesion_id"].isin(set(train["lesion_id"])).sum())


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


def _make_view(height: int, width: int, rng: np.random.Generator) -> _View:
    px = 2.0 / height
    x = (np.arange(width, dtype=np.float32) + 0.5 - width / 2) * px
    y = (np.arange(height, dtype=np.float32) + 0.5 - height / 2) * px
    xx, yy = np.meshgrid(x, y)
    angle, scale = rng.uniform(0, 2 * np.pi), rng.uniform(0.85, 1.15)
    shift = rng.normal(0, 0.06, 2).astype(np.float32)
    c, s = float(np.cos(angle)), float(np.sin(angle))
    dx, dy = (xx - shift[0]) / scale, (yy - shift[1]) / scale
    return _View(xx, yy, c * dx + s * dy, -s * dx + c * dy, angle, scale, shift)


def _stamp(view: _View, img: np.ndarray, centres: np.ndarray, radii: np.ndarray,
           colours: np.ndarray, soft: float = 1.0) -> None:
    """Paint anti-aliased discs (image coordinates) onto ``img`` in place, one window each."""
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


def _strokes(view: _View, img: np.ndarray, segments: np.ndarray, colour: Iterable[float],
             opacity: float = 1.0) -> None:
    """Paint anti-aliased line segments (x0, y0, x1, y1, half-width) onto ``img`` in place."""
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
        cover = np.clip((w - d) / px + 0.5, 0, 1) * opacity
        img[i0:i1, j0:j1] = _mix(img[i0:i1, j0:j1], colour, cover)


def _segments_to_image(view: _View, segments: np.ndarray) -> np.ndarray:
    a, b = view.to_image(segments[:, 0:2]), view.to_image(segments[:, 2:4])
    return np.column_stack([a, b, segments[:, 4] * view.scale])


def _paint(lesion: _Lesion, view: _View, rel: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The lesion's colours (H, W, 3) over the whole view; ``rel`` = radius / border radius."""
    n0, n1, n2, n3 = (noise[..., k] for k in range(4))
    base = np.broadcast_to(lesion.colour.astype(np.float32), (*rel.shape, 3)).copy()
    dx, e = lesion.dx, lesion.extra
    if dx == "nv":
        img = base * (0.92 + 0.16 * n0[..., None]) * (1 - 0.18 * (1 - rel) ** 2)[..., None]
        f = e["freq"]
        net = np.exp(-np.sin(f * view.u + 3 * n1) ** 2 / 0.08) + np.exp(
            -np.sin(f * view.v + 3 * n2) ** 2 / 0.08)
        return img * (1 - 0.22 * np.clip(net, 0, 1) * _smoothstep(1.0, 0.6, rel))[..., None]
    if dx == "mel":
        tilt = np.cos(np.arctan2(view.v, view.u) - e["tilt"]) * np.clip(rel, 0, 1)
        img = base * (1 + 0.35 * tilt + 0.3 * (n3 - 0.5))[..., None]
        img = _mix(img, (0.62, 0.40, 0.26), _smoothstep(0.55, 0.7, n2))
        img = _mix(img, (0.08, 0.06, 0.07), _smoothstep(0.52, 0.66, n0))
        img = _mix(img, (0.42, 0.48, 0.58), 0.7 * _smoothstep(0.6, 0.72, n1)
                   * _smoothstep(0.9, 0.5, rel))
        spots = view.to_image(lesion.spots[:, :2])
        _stamp(view, img, spots, lesion.spots[:, 2] * view.scale,
               np.tile([0.07, 0.05, 0.05], (len(spots), 1)))
        return img
    if dx == "bkl":
        ridges = np.exp(-np.sin(e["freq"] * (n0 * 1.5 + 0.3 * view.u)) ** 2 / 0.06)
        img = base * (0.9 + 0.2 * n1 - 0.28 * ridges)[..., None]
        img = _mix(img, (0.93, 0.86, 0.70), 0.35 * _smoothstep(0.6, 0.75, n2))  # waxy sheen
        _stamp(view, img, view.to_image(lesion.spots[:, :2]), lesion.spots[:, 2] * view.scale,
               lesion.spot_colours)
        return img
    if dx == "bcc":
        img = _mix(base * (0.95 + 0.1 * n0)[..., None], (0.97, 0.92, 0.92),
                   0.5 * _smoothstep(0.55, 0.75, n1))
        nests = view.to_image(lesion.spots[:, :2])
        _stamp(view, img, nests, lesion.spots[:, 2] * view.scale,
               np.tile([0.40, 0.44, 0.54], (len(nests), 1)), soft=6.0)
        _strokes(view, img, _segments_to_image(view, lesion.segments), (0.80, 0.08, 0.12))
        return img
    if dx == "akiec":
        img = base * (0.8 + 0.4 * n0)[..., None]
        img = _mix(img, (0.72, 0.16, 0.18), 0.6 * _smoothstep(0.5, 0.7, n1))  # strawberry red
        specks = _bilinear(lesion.fine, view.u, view.v)[..., 0]
        scale = _smoothstep(0.6, 0.8, specks) * _smoothstep(0.42, 0.58, n2)
        img = _mix(img, (0.96, 0.92, 0.80), 0.85 * scale)  # rough white-yellow scale
        flakes = view.to_image(lesion.spots[:, :2])
        _stamp(view, img, flakes, lesion.spots[:, 2] * view.scale,
               np.tile([0.98, 0.95, 0.86], (len(flakes), 1)))
        return img
    if dx == "df":
        theta = np.arctan2(view.v, view.u)
        scar = e["scar"] * (1 + e["depth"] * np.cos(e["lobes"] * theta + e["phase"])
                            + 0.4 * (n0 - 0.5))
        ring = base * (0.9 + 0.2 * n1)[..., None] * (1 - 0.25 * _smoothstep(0.5, 0.85, rel))[
            ..., None]
        return _mix(ring, (0.95, 0.91, 0.88), _smoothstep(scar + 0.08, scar - 0.08, rel))
    if dx == "vasc":
        img = _mix(base, (0.55, 0.08, 0.16), 0.5 * n0)
        _stamp(view, img, view.to_image(lesion.spots[:, :2]), lesion.spots[:, 2] * view.scale,
               lesion.spot_colours, soft=2.0)
        return img
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
    nevus's look, chosen by :func:`nevus_looking_lesions`. The demo's melanomas are far easier
    to tell from nevi than real ones; this puts back some of that difficulty, so that the
    artefact can become the easier cue, as it can on real dermoscopy.
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


def nevus_looking_lesions(rows: pd.DataFrame, share: float, seed: int = 0) -> set[str]:
    """The melanoma ``lesion_id``s of ``rows`` drawn with a nevus's look: ``round(share * n)``
    of the ``n`` melanoma lesions, picked by a generator seeded with ``seed`` among the sorted
    ids. Independent of the artefact's placement, so a test split written again with the
    artefact moved keeps the same looks."""
    ids = np.sort(rows.loc[rows["dx"] == "mel", "lesion_id"].astype(str).unique())
    picked = np.random.default_rng([seed, 0x4E56]).permutation(len(ids))
    return set(ids[picked[: round(share * len(ids))]].tolist())


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


def _render(lesion: _Lesion, height: int, width: int, rng: np.random.Generator,
            artefact: tuple[str, np.random.Generator] | None = None,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One view of ``lesion``: RGB uint8 (H, W, 3), its mask uint8 (H, W) in {0, 255} and,
    with ``artefact=(kind, generator)``, the artefact's mask (else None).

    The artefact draws from its own generator, so the rest of the view is the same with or
    without it.
    """
    view = _make_view(height, width, rng)
    rho = np.hypot(view.u, view.v)
    theta = np.arctan2(view.v, view.u)
    order, amp, phase = lesion.harmonics.T.astype(np.float32)
    wobble = (amp[:, None, None] * np.cos(order[:, None, None] * theta + phase[:, None, None]))
    border = lesion.radius * np.maximum(1 + wobble.sum(axis=0), 0.3)
    rel = rho / border
    alpha = 1 / (1 + np.exp(np.minimum((rho - border) / (lesion.edge * view.scale), 40)))
    if lesion.dx == "bcc":
        alpha = alpha * 0.88  # translucent, pearly
    # skin: the patient's tone with this view's own fine texture (brightness, redness)
    skin_noise = _bilinear(_noise_grid(rng, (9, 33), 2), view.x, view.y) - 0.5
    skin = lesion.skin * (1 + 0.07 * skin_noise[..., :1]) + np.array(
        [0.03, -0.01, -0.01], np.float32) * skin_noise[..., 1:]
    img = skin + (_paint(lesion, view, rel, _bilinear(lesion.noise, view.u, view.v))
                  - skin) * alpha[..., None]
    _hair(view, img, rng)
    art_mask = None if artefact is None else _artefact(view, img, alpha, *artefact)
    # lighting: brightness, colour cast, fall-off and the dermatoscope's dark circular vignette
    r_img = np.hypot(view.x, view.y)
    rim = rng.uniform(1.15, 1.7)
    light = (1 - 0.12 * r_img**2) * (1 - 0.92 * _smoothstep(rim - 0.08, rim + 0.04, r_img))
    cast = (rng.uniform(0.88, 1.08) * (1 + rng.normal(0, 0.03, 3))).astype(np.float32)
    img = img * light[..., None] * cast + rng.standard_normal(img.shape, np.float32) * 0.012
    gamma = ((np.arange(256) / 255) ** rng.uniform(0.9, 1.1) * 255 + 0.5).astype(np.uint8)
    rgb = gamma[(np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)]
    mask = np.where(rho < border, 255, 0).astype(np.uint8)
    return rgb, mask, art_mask


# --------------------------------------------------------------------------- demo: folder


def _lesion_number(lesion_id: str) -> int:
    return int("".join(ch for ch in lesion_id if ch.isdigit()) or 0)


def _demo_part(image_id: str) -> str:
    """The image folder the real archive uses for ``image_id``."""
    number = int("".join(ch for ch in image_id if ch.isdigit()) or 0)
    return IMAGE_FOLDERS[0] if number <= _PART_1_LAST_ID else IMAGE_FOLDERS[1]


def _write_demo_files(rows: pd.DataFrame, folder: Path, image_size: int, seed: int,
                      artefact: ArtefactSpec | None = None, base: Path | None = None) -> None:
    """Render every row's image and mask into ``folder`` (HAM10000 layout).

    With ``artefact``, the rows flagged in ``rows["artefact"]`` get it, and every image gets
    an artefact mask in ``ARTEFACT_FOLDER`` (all zeros when it has none). ``base``: a clean
    demo set of the same arguments to copy the unflagged images and their masks from (the
    same bytes as rendering them again, in a fraction of the time).
    """
    height, width = image_size, round(image_size * 4 / 3)
    folders = (*IMAGE_FOLDERS, MASK_FOLDER) + ((ARTEFACT_FOLDER,) if artefact else ())
    for name in folders:
        (folder / name).mkdir(parents=True, exist_ok=True)
    flagged = set(rows.loc[rows["artefact"] == 1, "image_id"]) if artefact else set()
    looks = dict(zip(rows["lesion_id"], rows.get("drawn_as", rows["dx"]), strict=True))
    bar = tqdm(total=len(rows), desc="demo images", unit="img")
    for lesion_id, group in rows.groupby("lesion_id", sort=True):
        number = _lesion_number(str(lesion_id))
        ids = sorted(group["image_id"])
        lesion = None
        for k, image_id in enumerate(ids):
            files = (f"{_demo_part(image_id)}/{image_id}.jpg",
                     f"{MASK_FOLDER}/{image_id}_segmentation.png")
            if base is not None and image_id not in flagged and looks[lesion_id] == group[
                    "dx"].iloc[0]:
                for name in files:
                    shutil.copyfile(base / name, folder / name)
                art = None
            else:
                lesion = lesion or _draw_lesion(str(looks[lesion_id]),
                                                np.random.default_rng([seed, number]))
                extra = ((artefact.kind, np.random.default_rng([seed, number, k, 0xA47E]))
                         if artefact and image_id in flagged else None)
                rgb, mask, art = _render(lesion, height, width,
                                         np.random.default_rng([seed, number, k]), extra)
                Image.fromarray(rgb).save(folder / files[0], quality=90)
                Image.fromarray(mask).save(folder / files[1])
            if artefact:
                art = np.zeros((height, width), np.uint8) if art is None else art
                Image.fromarray(art).save(folder / ARTEFACT_FOLDER / f"{image_id}_artefact.png")
            bar.update()
    bar.close()


def _demo_marker(n_images: int, image_size: int, seed: int, artefact: ArtefactSpec | None = None,
                 lesion_ids: list[str] | None = None) -> dict[str, object]:
    marker: dict[str, object] = {"generator": "helpers.data.make_demo_dataset", "version": 1,
                                 "n_images": n_images, "image_size": image_size, "seed": seed}
    if artefact is not None:
        marker["artefact"] = {**artefact.as_dict(), "renderer": _ARTEFACT_RENDERER}
    if lesion_ids is not None:
        marker["lesions"] = {"count": len(lesion_ids), "sha1": hashlib.sha1(
            "\n".join(lesion_ids).encode()).hexdigest()}
    return marker


def _has_marker(root: Path, name: str, marker: dict[str, object],
                mismatch: Callable[[dict[str, object]], str]) -> bool:
    """True when ``root/name`` records ``marker`` (a finished generated folder), False when
    there is no such file; FileExistsError with ``mismatch(found)`` when it records another."""
    path = root / name
    if not path.is_file():
        return False
    found = json.loads(path.read_text())
    if found != marker:
        raise FileExistsError(mismatch(found))
    return True


def _is_complete_demo(root: Path, marker: dict[str, object]) -> bool:
    return _has_marker(root, _DEMO_MARKER, marker, lambda found: (
        f"{root} holds another demo set ({found}); asked for {marker}."))


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


def write_folder_atomically(root: Path, write: Callable[[Path], None],
                            finished: Callable[[Path], bool]) -> Path:
    """Run ``write(tmp)`` in a new hidden folder beside ``root``, then rename it to ``root``.

    A half-written folder is never seen under ``root``: on any error the temporary folder is
    removed. An empty ``root`` is replaced; when another process finished ``root`` first
    (``finished(root)`` is true), its folder is kept and ours dropped.
    """
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        write(tmp)
        tmp.chmod(0o755)  # mkdtemp made it private
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        try:
            tmp.rename(root)
        except OSError:
            if not finished(root):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def make_demo_dataset(
    root: str | Path, n_images: int = 1500, image_size: int = 128, seed: int = 0,
    artefact: ArtefactSpec | None = None, lesion_ids: Iterable[str] | None = None,
    base: str | Path | None = None,
) -> Path:
    """Write (once) a synthetic HAM10000 stand-in into ``root`` and return ``root``.

    Rows: whole lesions drawn from the real metadata, every class with >= 3 lesions, class
    shares proportional to the real counts to the power 0.8 (imbalance softened a little).
    Pixels: synthetic dermatoscope views (skin, hair, vignette) whose lesion colour, border
    and texture depend on the class; the images of one lesion are views of the same lesion.
    Images are ``image_size`` high and 4:3 wide; masks (255 = lesion) go to
    ``HAM10000_segmentations_lesion/``. Same arguments, same bytes. Written to a temporary
    folder and renamed, so a half-written set is never seen; an existing complete set is
    returned untouched.

    ``artefact``: add an artefact (see :class:`ArtefactSpec`) to the images
    :func:`artefact_flags` picks; the CSV gains a column ``artefact`` (0/1) and each image an
    artefact mask ``HAM10000_segmentations_artefact/<image_id>_artefact.png`` (255 =
    artefact). Everything else is the same pixels as the set without it, except, with
    ``artefact.mel_as_nv``, the nevus-looking melanomas (a column ``drawn_as`` says how each
    lesion was drawn). ``lesion_ids``:
    write only the images of these lesions (of the ``n_images`` rows), e.g. one test split.
    ``base``: the finished demo set of the same ``n_images``, ``image_size`` and ``seed``
    without artefact; the images that get none are copied from it instead of rendered.
    """
    root = Path(root).expanduser().absolute()
    subset = None if lesion_ids is None else sorted({str(i) for i in lesion_ids})
    marker = _demo_marker(n_images, image_size, seed, artefact, subset)
    if _is_complete_demo(root, marker):
        return root
    _refuse_real_data(root)
    if base is not None:
        base = Path(base).expanduser().absolute()
        if not _is_complete_demo(base, _demo_marker(n_images, image_size, seed)):
            raise FileNotFoundError(f"base {base} is not a finished demo set.")
    rows = _sample_demo_rows(packaged_metadata(), n_images, seed)
    columns = list(METADATA_COLUMNS)
    if artefact is not None and artefact.mel_as_nv:  # chosen among all lesions, then subset
        disguised = nevus_looking_lesions(rows, artefact.mel_as_nv, seed)
        rows["drawn_as"] = np.where(rows["lesion_id"].isin(disguised), "nv", rows["dx"])
    if subset is not None:
        unknown = sorted(set(subset) - set(rows["lesion_id"]))
        if unknown:
            raise ValueError(f"lesion_ids not in this demo set: {_list_some(unknown)}")
        rows = rows[rows["lesion_id"].isin(set(subset))].reset_index(drop=True)
    if artefact is not None:
        rows["artefact"] = artefact_flags(rows, artefact, seed).astype(int)
        columns.append("artefact")
        if artefact.mel_as_nv:
            columns.append("drawn_as")

    def write(tmp: Path) -> None:
        rows[columns].to_csv(tmp / METADATA_FILE, index=False)
        _write_demo_files(rows, tmp, image_size, seed, artefact, base)
        (tmp / "README.txt").write_text(
            "Synthetic demo stand-in for HAM10000 written by helpers.data.make_demo_dataset.\n"
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
    return load_metadata(root)


def prepare_metadata(cfg: RunConfig) -> pd.DataFrame:
    """The metadata (with ``path``, ``label``, ``mask_path``) of the data ``cfg`` names.

    ``demo``: generates the demo set once into the cache. ``ham10000``: reads ``cfg.data_dir``.
    """
    if cfg.dataset == "demo":
        root = make_demo_dataset(demo_dataset_dir(cfg), cfg.n_demo_images, cfg.image_size,
                                 cfg.seed)
        return load_metadata(root)
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


# --------------------------------------------------------------------------- transforms


class RandomRotate90:
    """Rotate a PIL image by a random multiple of 90 degrees (lesions have no 'up')."""

    _TURNS = (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180,
              Image.Transpose.ROTATE_270)

    def __call__(self, img: Image.Image) -> Image.Image:
        turn = self._TURNS[int(torch.randint(4, (1,)))]
        return img if turn is None else img.transpose(turn)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def eval_transform(image_size: int) -> T.Compose:
    """Resize the short side, centre-crop a square, to tensor, ImageNet-normalise."""
    return T.Compose([
        T.Resize(image_size), T.CenterCrop(image_size), T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def train_transform(image_size: int) -> T.Compose:
    """Random crop and zoom, flips, 90-degree turns, mild colour jitter, ImageNet-normalise."""
    return T.Compose([
        T.RandomResizedCrop(image_size, scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3)),
        T.RandomHorizontalFlip(), T.RandomVerticalFlip(), RandomRotate90(),
        T.ColorJitter(brightness=0.15, contrast=0.15, saturation=0.1, hue=0.02),
        T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """Undo the ImageNet normalisation of ``(3, H, W)`` or ``(B, 3, H, W)``; clamp to [0, 1]."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * std + mean).clamp(0, 1)


def mask_transform(size: int) -> Callable[[Image.Image], torch.Tensor]:
    """A mask aligned with :func:`eval_transform`: resize, centre-crop, float (H, W) in {0, 1}."""
    crop = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.NEAREST),
                      T.CenterCrop(size)])

    def apply(mask: Image.Image) -> torch.Tensor:
        return torch.from_numpy(np.asarray(crop(mask.convert("L"))) > 127).float()

    return apply


# --------------------------------------------------------------------------- datasets


class LesionDataset(Dataset):
    """Images of a metadata frame: ``(image, label)``, or ``(image, label, mask)``.

    With ``mask_size`` set, the mask is resized and centre-cropped like
    ``eval_transform(mask_size)``; rows without a mask give zeros.
    """

    def __init__(self, df: pd.DataFrame, transform: Callable | None = None,
                 mask_size: int | None = None) -> None:
        self.df = df.reset_index(drop=True)
        if "label" not in self.df:
            self.df["label"] = self.df["dx"].map(CLASSES.index)
        self.transform = transform or T.ToTensor()
        self.mask_size = mask_size
        self._mask = mask_transform(mask_size) if mask_size else None

    def __len__(self) -> int:
        return len(self.df)

    def load_image(self, i: int) -> Image.Image:
        """The ``i``-th image as an RGB PIL image, untransformed."""
        with Image.open(self.df.at[i, "path"]) as img:
            return img.convert("RGB")

    def load_mask(self, i: int) -> Image.Image:
        """The ``i``-th lesion mask (mode L, 255 = lesion); all zeros when there is none."""
        path = self.df.at[i, "mask_path"] if "mask_path" in self.df else None
        if isinstance(path, str) and path:
            with Image.open(path) as mask:
                return mask.convert("L")
        with Image.open(self.df.at[i, "path"]) as img:
            return Image.new("L", img.size, 0)

    def __getitem__(self, i: int) -> tuple:
        image = self.transform(self.load_image(i))
        label = int(self.df.at[i, "label"])
        if self._mask is None:
            return image, label
        return image, label, self._mask(self.load_mask(i))


def _drop_lonely_batch(n: int, batch_size: int) -> bool:
    """Drop the last batch only when it would hold one image (BatchNorm cannot train on it)."""
    return n > batch_size and n % batch_size == 1


def make_loaders(splits: dict[str, pd.DataFrame], cfg: RunConfig,
                 masks: bool = False) -> dict[str, DataLoader]:
    """DataLoaders for each split: ``train`` shuffled (seeded) and augmented, others evaluated.

    With ``masks=True`` the non-train loaders also yield lesion masks at ``cfg.image_size``.
    """
    loaders: dict[str, DataLoader] = {}
    for name, df in splits.items():
        train = name == "train"
        dataset = LesionDataset(
            df, train_transform(cfg.image_size) if train else eval_transform(cfg.image_size),
            mask_size=cfg.image_size if masks and not train else None,
        )
        loaders[name] = DataLoader(
            dataset, batch_size=cfg.batch_size, shuffle=train,
            generator=torch.Generator().manual_seed(cfg.seed) if train else None,
            drop_last=train and _drop_lonely_batch(len(dataset), cfg.batch_size),
            num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0,
            pin_memory=str(cfg.device).startswith("cuda"),
        )
    return loaders


# --------------------------------------------------------------------------- resize cache


def _resize_one(src: str, dst: Path, size: int) -> None:
    with Image.open(src) as img:
        img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when possible
        img = img.convert("RGB")
        scale = size / min(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)),
                             Image.Resampling.BICUBIC, reducing_gap=2.0)
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
        img.save(tmp, format="JPEG", quality=95)
        os.replace(tmp, dst)


def cache_resized(df: pd.DataFrame, size: int, cache_dir: str | Path) -> pd.DataFrame:
    """Resize every image once (short side ``size``, JPEG q95) into the cache; new ``path``s.

    Files already cached are skipped. The cache folder is keyed by the images' common folder,
    so two datasets with the same image ids (real and demo) never mix.
    """
    sources = df["path"].astype(str).tolist()
    key = hashlib.sha1(os.path.commonpath(sources).encode()).hexdigest()[:10]
    folder = Path(cache_dir).expanduser() / f"resized-{size}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / f"{image_id}.jpg" for image_id in df["image_id"]]
    todo = [(s, t) for s, t in zip(sources, targets, strict=True) if not t.is_file()]
    if todo:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            jobs = pool.map(lambda st: _resize_one(st[0], st[1], size), todo)
            for _ in tqdm(jobs, total=len(todo), desc=f"resize to {size}px", unit="img"):
                pass
    out = df.copy()
    out["path"] = [str(t) for t in targets]
    return out


# --------------------------------------------------------------------------- DermaMNIST

DERMAMNIST_KEYS = tuple(f"{split}_{kind}" for split in ("train", "val", "test")
                        for kind in ("images", "labels"))


def load_dermamnist(npz_path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """MedMNIST+ ``dermamnist*.npz`` -> ``{split: (images (N, H, W, 3) uint8, labels (N,))}``.

    DermaMNIST's label order equals :data:`CLASSES` (MedMNIST INFO: 0 actinic keratoses ...
    6 vascular lesions). Get the file with ``pip install medmnist`` and
    ``medmnist.DermaMNIST(split="train", download=True, size=224)``, or from Zenodo.
    """
    path = Path(npz_path).expanduser()
    _require_dermamnist_file(path)
    with np.load(path) as npz:
        missing = [k for k in DERMAMNIST_KEYS if k not in npz.files]
        if missing:
            raise ValueError(f"{path} lacks key(s) {missing}; found {sorted(npz.files)}.")
        return {
            split: (npz[f"{split}_images"], npz[f"{split}_labels"].reshape(-1).astype(np.int64))
            for split in ("train", "val", "test")
        }


class DermaMNISTDataset(Dataset):
    """``(image, label)`` pairs from DermaMNIST arrays, with the same transforms as the images."""

    def __init__(self, images: np.ndarray, labels: np.ndarray,
                 transform: Callable | None = None) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels.")
        self.images, self.labels = images, np.asarray(labels).reshape(-1)
        self.transform = transform or T.ToTensor()

    def __len__(self) -> int:
        return len(self.labels)

    def load_image(self, i: int) -> Image.Image:
        """The ``i``-th image as an RGB PIL image."""
        return Image.fromarray(self.images[i]).convert("RGB")

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.load_image(i)), int(self.labels[i])


# --------------------------------------------------------------------------- download


def download_ham10000(dest: str | Path | None = None) -> Path:
    """Fetch HAM10000 from Kaggle with ``kagglehub`` and return the data folder.

    Needs ``pip install kagglehub`` and Kaggle credentials. With ``dest``, a link named
    ``dest`` points to the downloaded folder (no 3 GB copy). Otherwise raises with the
    addresses to fetch it by hand.
    """
    try:
        import kagglehub  # optional dependency
    except ImportError as err:
        raise RuntimeError(
            f"kagglehub is not installed (pip install kagglehub). {HOW_TO_GET}"
        ) from err
    try:
        folder = Path(kagglehub.dataset_download(KAGGLE_HANDLE))
    except Exception as err:  # network, credentials, licence not accepted ...
        raise RuntimeError(f"Downloading {KAGGLE_HANDLE} with kagglehub failed ({err}). "
                           f"{HOW_TO_GET}") from err
    _find_metadata_csv(folder)
    if dest is None:
        return folder
    dest = Path(dest).expanduser()
    if dest.exists() or dest.is_symlink():
        if dest.resolve() == folder.resolve():
            return dest
        raise FileExistsError(f"{dest} exists; HAM10000 was downloaded to {folder}.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.symlink_to(folder, target_is_directory=True)
    return dest


# --------------------------------------------------------------------------- a Kaggle zip


def _is_unsafe_member(name: str) -> bool:
    """True for a zip member that would land outside the target: absolute, drive or ``..``."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts


def _check_members(names: Iterable[str], archive: Path) -> None:
    unsafe = [name for name in names if _is_unsafe_member(name)]
    if unsafe:
        raise ValueError(
            f"{archive} holds {len(unsafe)} member(s) that would be written outside the target "
            f"folder ({', '.join(unsafe[:5])}); refusing to extract. Use the archive as "
            "downloaded from Kaggle."
        )


def _csv_prefix(names: Iterable[str], archive: Path) -> str:
    """The folder inside the zip that holds the metadata CSV: ``""`` (top) or ``"sub/"``."""
    found = sorted((n for n in names if PurePosixPath(n).name == METADATA_FILE),
                   key=lambda n: (n.count("/"), n))
    if not found:
        raise FileNotFoundError(f"{archive} holds no {METADATA_FILE}; is it the Kaggle archive "
                                f"of HAM10000? {HOW_TO_GET}")
    return found[0][: -len(METADATA_FILE)]


def _skip_lowercase_duplicates(infos: list[zipfile.ZipInfo], prefix: str) -> list[zipfile.ZipInfo]:
    """Drop ``ham10000_images_part_*`` (Kaggle's lower-case copies, 2.6 GB) when the
    ``HAM10000_images_part_*`` folders are in the zip too."""
    def top(info: zipfile.ZipInfo) -> str | None:
        name = info.filename
        return name[len(prefix):].split("/", 1)[0] if name.startswith(prefix) else None

    tops = {top(info) for info in infos}
    present = {name.lower() for name in IMAGE_FOLDERS if name in tops}

    def is_copy(info: zipfile.ZipInfo) -> bool:
        folder = top(info)
        return folder is not None and folder not in IMAGE_FOLDERS and folder.lower() in present

    return [info for info in infos if not is_copy(info)]


def _extract(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], dest: Path) -> None:
    with tqdm(total=sum(i.file_size for i in infos), desc="extract", unit="B",
              unit_scale=True) as bar:
        for info in infos:
            archive.extract(info, dest)
            bar.update(info.file_size)


def _folder_with_csv(dest: Path) -> Path | None:
    """``dest`` or its first subfolder that holds the metadata CSV; None when neither does."""
    candidates = [dest, *sorted(p for p in dest.iterdir() if p.is_dir())] if dest.is_dir() else []
    return next((p for p in candidates if (p / METADATA_FILE).is_file()), None)


def existing_extraction(dest: Path) -> Path:
    """The data folder of an earlier extraction at ``dest``, checked with ``load_metadata``."""
    root = _folder_with_csv(dest)
    try:
        if root is None:
            raise FileNotFoundError(f"no {METADATA_FILE} in it or its subfolders")
        load_metadata(root)
    except (FileNotFoundError, ValueError) as err:
        raise FileExistsError(
            f"{dest} exists but is not a complete HAM10000 folder ({err}). Delete it to extract "
            "the zip again, or pass another folder."
        ) from err
    return root


def extract_ham10000_zip(zip_path: str | Path, dest: str | Path) -> Path:
    """Extract Kaggle's HAM10000 zip into ``dest`` (once); return the folder holding the CSV.

    Refuses members with absolute paths or ``..``; skips the lower-case duplicate image
    folders when the upper-case ones are there. Extracts into a temporary folder and renames it
    only once ``load_metadata`` finds every image. An existing ``dest`` is never overwritten:
    returned when complete, refused otherwise.
    """
    archive, dest = Path(zip_path).expanduser().absolute(), Path(dest).expanduser().absolute()
    if dest.exists() or dest.is_symlink():
        return existing_extraction(dest)
    try:
        opened = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{archive} is not a zip file ({err}); download it again.") from err
    with opened:
        infos = opened.infolist()
        _check_members((info.filename for info in infos), archive)
        prefix = _csv_prefix((info.filename for info in infos), archive)
        keep = _skip_lowercase_duplicates(infos, prefix)

        def write(tmp: Path) -> None:
            _extract(opened, keep, tmp)
            load_metadata(tmp / prefix)  # every listed image is there

        write_folder_atomically(dest, write, lambda d: _folder_with_csv(d) is not None)
    return dest / prefix if prefix else dest


# --------------------------------------------------------------------------- DermaMNIST as a folder
#
# DermaMNIST (MedMNIST+) holds HAM10000's images, resized, as arrays. Written out in HAM10000's
# layout, the whole pipeline (load_metadata, lesion_split, loaders, caches) runs on it unchanged.

DERMAMNIST_SIZES = (28, 64, 128, 224)
DERMAMNIST_ZENODO = "https://zenodo.org/records/10519652"
DERMAMNIST_SPLITS = ("train", "val", "test")
_DERMAMNIST_MARKER = "dermamnist.json"


def dermamnist_file_name(size: int = 224) -> str:
    """The file medmnist writes for DermaMNIST at ``size`` px: ``dermamnist_224.npz`` (28: none)."""
    if size not in DERMAMNIST_SIZES:
        raise ValueError(f"DermaMNIST comes in sizes {DERMAMNIST_SIZES}, not {size}.")
    return "dermamnist.npz" if size == 28 else f"dermamnist_{size}.npz"


def file_sha1(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-1 of a file's bytes, read in chunks (the 224 px npz is over a gigabyte)."""
    digest = hashlib.sha1()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _require_dermamnist_file(npz: Path) -> None:
    if not npz.is_file():
        raise FileNotFoundError(
            f"No DermaMNIST file at {npz}. Get it with helpers.data.download_dermamnist(folder) "
            f"(needs pip install medmnist) or download dermamnist_224.npz from {DERMAMNIST_ZENODO}."
        )


def _dermamnist_marker(npz: Path) -> dict[str, object]:
    """What identifies the converted set: the npz's name, size in bytes and SHA-1."""
    return {"generator": "helpers.data.dermamnist_to_folder", "version": 1, "npz": npz.name,
            "bytes": npz.stat().st_size, "sha1": file_sha1(npz)}


def _is_converted_dermamnist(root: Path, marker: dict[str, object]) -> bool:
    """True when ``root`` holds this npz converted; raise when it holds another one."""
    return _has_marker(root, _DERMAMNIST_MARKER, marker, lambda found: (
        f"{root} holds DermaMNIST converted from another file ({found.get('npz')}, "
        f"{found.get('bytes')} bytes); asked for {marker['npz']} ({marker['bytes']} bytes). "
        f"Delete {root} to convert again, or pass another folder."
    ))


def _refuse_foreign_folder(root: Path) -> None:
    """Refuse a file, or a non-empty folder that is not a converted DermaMNIST set."""
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"{root} is a file; pass a folder for the DermaMNIST images.")
    if root.is_dir() and any(root.iterdir()):
        raise FileExistsError(
            f"{root} is not empty and is not a folder written by dermamnist_to_folder (no "
            f"{_DERMAMNIST_MARKER}); refusing to write into it. Pass a new or empty folder, or "
            f"delete {root} if nothing in it is needed."
        )


def _check_dermamnist_arrays(data: dict[str, tuple[np.ndarray, np.ndarray]], npz: Path) -> None:
    """Images (N, H, W, 3) uint8 and as many labels in 0..6 for every split."""
    for split, (images, labels) in data.items():
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"{npz}: {split}_images is {images.dtype} {images.shape}; "
                             "expected uint8 (N, H, W, 3), as MedMNIST+ writes DermaMNIST.")
        if len(images) != len(labels):
            raise ValueError(f"{npz}: {len(images)} {split} images but {len(labels)} labels.")
        if len(labels) and not 0 <= labels.min() <= labels.max() < len(CLASSES):
            raise ValueError(f"{npz}: {split} labels outside 0..{len(CLASSES) - 1}.")


def _dermamnist_rows(data: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """The metadata table: one lesion per image, dx from the label, the rest unknown."""
    frames = []
    for split in DERMAMNIST_SPLITS:
        numbers = [f"{split}_{k:05d}" for k in range(1, len(data[split][1]) + 1)]
        frames.append(pd.DataFrame({
            "lesion_id": [f"DERMA_L_{n}" for n in numbers],
            "image_id": [f"DERMA_{n}" for n in numbers],
            "dx": np.asarray(CLASSES)[data[split][1]],
            "dx_type": "unknown", "age": np.nan, "sex": "unknown", "localization": "unknown",
            "dermamnist_split": split,
        }))
    return pd.concat(frames, ignore_index=True)


def _save_jpeg(image: np.ndarray, path: Path) -> None:
    Image.fromarray(image).save(path, format="JPEG", quality=95)


def _write_dermamnist_files(data: dict[str, tuple[np.ndarray, np.ndarray]], rows: pd.DataFrame,
                            folder: Path) -> None:
    """Every image as ``HAM10000_images_part_1/<image_id>.jpg`` (JPEG q95) and the CSV."""
    images_dir = folder / IMAGE_FOLDERS[0]
    images_dir.mkdir()
    images = (image for split in DERMAMNIST_SPLITS for image in data[split][0])
    jobs = [(image, images_dir / f"{image_id}.jpg")
            for image, image_id in zip(images, rows["image_id"], strict=True)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        done = pool.map(lambda job: _save_jpeg(*job), jobs)
        for _ in tqdm(done, total=len(jobs), desc="DermaMNIST to JPEG", unit="img"):
            pass
    rows.to_csv(folder / METADATA_FILE, index=False)


def dermamnist_to_folder(npz_path: str | Path, root: str | Path) -> Path:
    """Write a MedMNIST+ DermaMNIST npz as a HAM10000-layout folder at ``root``; return it.

    Images go to ``HAM10000_images_part_1/DERMA_<split>_<00001>.jpg`` (JPEG quality 95);
    ``HAM10000_metadata.csv`` has the HAM10000 columns with ``dx`` from the label,
    ``dx_type``/``sex``/``localization`` "unknown", ``age`` empty, plus ``dermamnist_split``
    (DermaMNIST's own train/val/test). DermaMNIST has no lesion ids, so each image gets its own
    ``lesion_id`` (``DERMA_L_<split>_<00001>``): images of one lesion cannot be grouped, and
    any split of this folder (:func:`lesion_split` too) puts images of one lesion on both sides.

    Written to a temporary folder beside ``root`` and renamed, so a half-written set is never
    seen. A finished set of the same npz (its name, size and SHA-1 are kept in
    ``dermamnist.json``) is returned untouched; a non-empty folder that is not one is refused.
    """
    npz = Path(npz_path).expanduser().absolute()
    root = Path(root).expanduser().absolute()
    _require_dermamnist_file(npz)
    marker = _dermamnist_marker(npz)
    if _is_converted_dermamnist(root, marker):
        return root
    _refuse_foreign_folder(root)
    data = load_dermamnist(npz)
    _check_dermamnist_arrays(data, npz)
    rows = _dermamnist_rows(data)

    def write(tmp: Path) -> None:
        _write_dermamnist_files(data, rows, tmp)
        (tmp / "README.txt").write_text(
            f"DermaMNIST (MedMNIST+, CC BY-NC 4.0) from {npz.name}, written in HAM10000's layout "
            "by helpers.data.dermamnist_to_folder.\nThe images are HAM10000's, resized by "
            "MedMNIST. lesion_id is one per image: DermaMNIST has no lesion ids.\nCite Yang et "
            "al., Sci. Data 10, 41 (2023) and Tschandl et al., Sci. Data 5, 180161 (2018).\n"
        )
        (tmp / _DERMAMNIST_MARKER).write_text(json.dumps(marker, indent=1))

    return write_folder_atomically(root, write, lambda r: _is_converted_dermamnist(r, marker))


def download_dermamnist(root: str | Path, size: int = 224) -> Path:
    """Download DermaMNIST (MedMNIST+) at ``size`` px into ``root`` with ``medmnist``.

    Returns the npz (``root/dermamnist_224.npz`` for 224). medmnist checks the file's MD5 and
    skips the download when it is already there. Needs ``pip install medmnist``.
    """
    name = dermamnist_file_name(size)
    try:
        import medmnist  # optional dependency
    except ImportError as err:
        raise RuntimeError(
            f"medmnist is not installed (pip install medmnist). Or download {name} from "
            f"{DERMAMNIST_ZENODO} and pass its path to dermamnist_to_folder."
        ) from err
    root = Path(root).expanduser().absolute()
    root.mkdir(parents=True, exist_ok=True)  # medmnist refuses a root that does not exist
    try:  # the download fetches all splits; "val" is the smallest to load afterwards
        medmnist.DermaMNIST(split="val", download=True, size=size, root=str(root))
    except Exception as err:  # network, checksum, disk ...
        raise RuntimeError(
            f"Downloading DermaMNIST ({size} px) with medmnist failed ({err}). Try again, or "
            f"download {name} from {DERMAMNIST_ZENODO} into {root}."
        ) from err
    npz = root / name
    if not npz.is_file():
        raise RuntimeError(f"medmnist wrote no {name} in {root}; download it from "
                           f"{DERMAMNIST_ZENODO} into {root}.")
    return npz
