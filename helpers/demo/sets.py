"""The demo set: a synthetic stand-in for HAM10000 that runs offline.

Rows are drawn from the real metadata (grouped by lesion, so HAM10000's lesion structure, ages,
sites and class imbalance are kept); the pixels are dermatoscope-like drawings whose look depends
on the class, with lesion masks, evidence masks (where the class-specific structures are drawn:
ground truth for explanations, which real data lacks), and optional artefacts (skin-marker ink,
a ruler) whose masks are known pixel for pixel. A second set, for explanations only, shows two
lesions of one class per image, each with its own mask. The drawing itself is
:mod:`helpers.lesions`; this module picks the rows and looks and writes the folders.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

if TYPE_CHECKING:  # pragma: no cover
    from ..config import RunConfig


from ..data import (
    ARTEFACT_FOLDER,
    CLASSES,
    DEMO_MARKER,
    EVIDENCE_FOLDER,
    IMAGE_FOLDERS,
    MASK_FOLDER,
    METADATA_COLUMNS,
    METADATA_FILE,
    PART_1_LAST_ID,
    has_marker,
    lesion_split,
    list_some,
    packaged_metadata,
    write_folder_atomically,
)
from .render import VIEW_SCALE, VIEW_SHIFT, draw_lesion, render_lesion, render_pair

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
    nevus's look, chosen by :func:`demo_looks`; 0 (the default) keeps the demo
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


# --------------------------------------------------------------------------- demo: folder


def _lesion_number(lesion_id: str) -> int:
    return int("".join(ch for ch in lesion_id if ch.isdigit()) or 0)


def _demo_part(image_id: str) -> str:
    """The image folder the real archive uses for ``image_id``."""
    number = int("".join(ch for ch in image_id if ch.isdigit()) or 0)
    return IMAGE_FOLDERS[0] if number <= PART_1_LAST_ID else IMAGE_FOLDERS[1]


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
                lesion = lesion or draw_lesion(str(looks[lesion_id]),
                                                np.random.default_rng([seed, number]))
                extra = ((artefact.kind, np.random.default_rng([seed, number, k, 0xA47E]))
                         if artefact and image_id in flagged else None)
                rgb, mask, art, evidence = render_lesion(lesion, height, width,
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


def demo_marker(n_images: int, image_size: int, seed: int, artefact: ArtefactSpec | None = None,
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
    return has_marker(root, DEMO_MARKER, marker, lambda found: (
        f"{root} holds another demo set ({found}); asked for {marker}."))


def _drop_older_version(root: Path, marker: dict[str, object]) -> None:
    """Remove ``root`` when its marker is an older version of ``marker``'s generator, or the same
    version with other difficulty settings (a cache written by an earlier release of this
    package), so that it is written again in its place.

    The old folder is first renamed away (atomic), then deleted; anything else is left alone.
    """
    path = root / DEMO_MARKER
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
            f"their lesion masks) are missing: {list_some(missing)}. Delete that folder: the "
            "next call writes it again.")


def _refuse_real_data(root: Path) -> None:
    """Refuse ``root`` when it, or a folder above it, holds data that is not a demo set."""
    for folder in (root, *root.parents):
        if (folder / METADATA_FILE).is_file() and not (folder / DEMO_MARKER).is_file():
            raise FileExistsError(
                f"{folder} holds HAM10000 data; the demo set is never written there. "
                "Pick a folder of its own (demo_dataset_dir(cfg) does)."
            )
    if root.is_dir() and any(root.iterdir()) and not (root / DEMO_MARKER).is_file():
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
    marker = demo_marker(n_images, image_size, seed, artefact, subset)
    _drop_older_version(root, marker)
    if _is_complete_demo(root, marker):
        _check_files(root)
        return root
    _refuse_real_data(root)
    if base is not None:
        base = Path(base).expanduser().absolute()
        if not _is_complete_demo(base, demo_marker(n_images, image_size, seed)):
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
            raise ValueError(f"lesion_ids not in this demo set: {list_some(unknown)}")
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
        (tmp / DEMO_MARKER).write_text(json.dumps(marker, indent=1))

    return write_folder_atomically(root, write, lambda done: _is_complete_demo(done, marker))


def demo_dataset_dir(cfg: RunConfig) -> Path:
    """Where the demo set for ``cfg`` is cached: ``<cache_dir>/demo-n<n>-s<size>-seed<seed>``."""
    return Path(cfg.cache_dir) / f"demo-n{cfg.n_demo_images}-s{cfg.image_size}-seed{cfg.seed}"


def artefact_dataset_dir(cfg: RunConfig, spec: ArtefactSpec, part: str = "") -> Path:
    """Where a demo set with an artefact is cached: the clean set's name + the spec's tag
    (+ ``-<part>`` for a subset), e.g. ``<cache_dir>/demo-n1500-s128-seed0-ink-mel-90-5``."""
    name = f"{demo_dataset_dir(cfg).name}-{spec.tag}" + (f"-{part}" if part else "")
    return Path(cfg.cache_dir) / name


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
            lesions = tuple(draw_lesion(str(row.dx), np.random.default_rng(
                [seed, number, _MULTI_SALT, j])) for j in (1, 2))
            rgb, (first, second), evidence = render_pair(
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
        (tmp / DEMO_MARKER).write_text(json.dumps(marker, indent=1))

    return write_folder_atomically(root, write, lambda done: _is_complete_demo(done, marker))


def multi_lesion_dir(cfg: RunConfig, n_images: int = 70) -> Path:
    """Where the multi-lesion set for ``cfg`` is cached:
    ``<cache_dir>/multi-n<n>-s<size>-seed<seed>``."""
    return Path(cfg.cache_dir) / f"multi-n{n_images}-s{cfg.image_size}-seed{cfg.seed}"
