"""Data: the HAM10000 classes, metadata, lesion-aware splits, transforms and datasets.

The real HAM10000 metadata (10,015 images of 7,470 lesions) is packaged with this package, so
everything that needs only the table works offline. The images come from Harvard Dataverse
(doi:10.7910/DVN/DBW86T) or Kaggle ("kmader/skin-cancer-mnist-ham10000"): see
:mod:`helpers.sources`. Without them, :mod:`helpers.demo` writes a stand-in with the same layout.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from . import _checks as checks

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
#: lesion masks: a folder named so (Dataverse's zip unpacks to ``<this>_tschandl/``)
MASK_FOLDER = "HAM10000_segmentations_lesion"
MASK_ARCHIVE = "HAM10000_segmentations_lesion_tschandl.zip"
ARTEFACT_FOLDER = "HAM10000_segmentations_artefact"  # demo sets with an artefact only
EVIDENCE_FOLDER = "HAM10000_segmentations_evidence"  # demo sets: class-specific structures
KAGGLE_HANDLE = "kmader/skin-cancer-mnist-ham10000"
HOW_TO_GET = (
    "Get HAM10000 from Harvard Dataverse (https://doi.org/10.7910/DVN/DBW86T) or Kaggle "
    f"(https://www.kaggle.com/datasets/{KAGGLE_HANDLE}), or call "
    "helpers.sources.download_ham10000(dest). Expected layout: <root>/HAM10000_metadata.csv and "
    "<root>/HAM10000_images_part_1/, <root>/HAM10000_images_part_2/ holding <image_id>.jpg "
    "(either case; a flat folder of jpgs works too); optional lesion masks in "
    "<root>/HAM10000_segmentations_lesion_tschandl/<image_id>_segmentation.png (Dataverse's "
    f"{MASK_ARCHIVE} unpacked in <root>; a folder named HAM10000_segmentations_lesion works too)."
)
# The real archive's first part ends at this image id; the demo splits its images the same way.
PART_1_LAST_ID = 29305
DEMO_MARKER = "demo.json"


def list_some(items: Iterable[str], k: int = 5) -> str:
    """``'a, b, c, ... (12 in all)'``: the first ``k`` items and the count."""
    items = list(items)
    head = ", ".join(map(str, items[:k]))
    return f"{head}{', ...' if len(items) > k else ''} ({len(items)} in all)"


# --------------------------------------------------------------------------- metadata


def packaged_metadata() -> pd.DataFrame:
    """The real HAM10000 metadata table (10,015 rows) shipped inside ``helpers/resources``."""
    with resources.files("helpers").joinpath("resources", METADATA_FILE).open("rb") as f:
        return pd.read_csv(f)


DUPLICATES_FILE = "HAM10000_duplicate_pairs.csv"


def duplicate_pairs() -> pd.DataFrame:
    """The 18 HAM10000 image pairs that show one lesion under two ``lesion_id`` s, found by
    Abhishek et al. (Scientific Data, 2025; their repository
    kakumarabhishek/Corrected-Skin-Image-Datasets, ``newly_discovered_duplicates.csv``),
    packaged in ``helpers/resources``: columns ``image_a``, ``image_b``, ``similarity``."""
    with resources.files("helpers").joinpath("resources", DUPLICATES_FILE).open("rb") as f:
        return pd.read_csv(f)


def lesion_groups(df: pd.DataFrame) -> pd.Series:
    """One group per lesion, aligned with ``df``: its ``lesion_id``, except that the lesions of a
    known duplicate pair (:func:`duplicate_pairs`, both images in ``df``) share one group, named
    by the smaller id. A lesion split that keeps groups together keeps each pair on one side."""
    if not {"lesion_id", "image_id"} <= set(df.columns):
        raise ValueError("df: expected a metadata table with lesion_id and image_id columns, got "
                         f"columns {list(df.columns)}.")
    lesion_of = dict(zip(df["image_id"].astype(str), df["lesion_id"], strict=True))
    parent: dict[object, object] = {}

    def root(lesion: object) -> object:
        while parent.get(lesion, lesion) != lesion:
            lesion = parent[lesion]
        return lesion

    for a, b in duplicate_pairs()[["image_a", "image_b"]].itertuples(index=False):
        if a in lesion_of and b in lesion_of:
            ra, rb = sorted((root(lesion_of[a]), root(lesion_of[b])), key=str)
            if ra != rb:
                parent[rb] = ra
    return df["lesion_id"].map(root).rename("lesion_group")


# --------------------------------------------------------------------------- splits


def _refuse_duplicate_images(meta: pd.DataFrame, source: object) -> None:
    """One row per image: a repeated ``image_id`` would count an image twice, maybe in two
    splits (under two lesion ids)."""
    repeated = meta.loc[meta["image_id"].duplicated(), "image_id"].unique()
    if len(repeated):
        raise ValueError(
            f"{source}: image_id(s) listed more than once: {list_some(repeated)}. Each image "
            "must have one row; drop the repeats, e.g. df.drop_duplicates('image_id').")


def _check_splits(splits: dict[str, pd.DataFrame]) -> None:
    """Raise if a lesion, a lesion group or an image is in two splits or a class is missing
    from a split."""
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for column, what in (("lesion_id", "Lesions"), ("image_id", "Images"),
                                 ("lesion_group", "Lesion groups")):
                if column not in splits[a] or column not in splits[b]:
                    continue
                shared = sorted(set(splits[a][column]) & set(splits[b][column]))
                if shared:
                    raise ValueError(f"{what} in both {a} and {b}: {list_some(shared)}")
    for name, part in splits.items():
        absent = [c for c in CLASSES if c not in set(part["dx"])]
        if absent:
            raise ValueError(f"Split {name!r} has no image of class(es) {absent}.")


def _check_split_request(df: pd.DataFrame, val: float, test: float,
                         columns: tuple[str, ...]) -> None:
    """The checks both splits share: a table with ``columns``, one row per image, and shares
    that leave images to train on."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df: expected the metadata DataFrame (load_metadata(root)), got "
                        f"{type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"df lacks column(s) {missing}; give the table load_metadata returns.")
    if "image_id" in df.columns:
        _refuse_duplicate_images(df, "df")
    val, test = checks.share(val, "val"), checks.share(test, "test")
    if val + test >= 1:
        raise ValueError(
            f"val={val} + test={test} leaves no images to train on; keep val + test below 1 "
            "(the usual: val=0.15, test=0.15).")


def lesion_split(df: pd.DataFrame, val: float = 0.15, test: float = 0.15, seed: int = 0, *,
                 merge_duplicates: bool = True) -> dict[str, pd.DataFrame]:
    """Split by lesion: no ``lesion_id`` in two splits, stratified by ``dx``, every class in each.

    Within each class the lesions are shuffled (seeded) and dealt to test, then val, until each
    holds its share of the class's images; the rest go to train. The two lesions of a known
    duplicate pair (one lesion under two ids, :func:`lesion_groups`) count as one, unless
    ``merge_duplicates=False`` (the ids alone: :func:`pairs_apart`). Needs >= 3 lesions per
    class, shares ``val`` and ``test`` in (0, 1) that leave a training share, one row per image.
    """
    _check_split_request(df, val, test, ("lesion_id", "dx"))
    rng = np.random.default_rng(checks.integer(seed, "seed", minimum=0))
    group = lesion_groups(df) if merge_duplicates and "image_id" in df else df["lesion_id"]
    lesion_dx = df.groupby(group)["dx"].first()
    sizes = df.groupby(group).size()
    chosen: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for dx in CLASSES:
        lesions = np.sort(lesion_dx.index[lesion_dx == dx].to_numpy())
        if len(lesions) < 3:
            counts = ", ".join(f"{c} {int((lesion_dx == c).sum())}/{int((df['dx'] == c).sum())}"
                               for c in CLASSES)
            raise ValueError(
                f"Class {dx!r} has {len(lesions)} lesion(s); a lesion split needs >= 3 per class "
                f"(one each for train, val and test). df came with {len(df)} images of "
                f"{len(lesion_dx)} lesions; per class (lesions/images): {counts}. Split the "
                "whole metadata (load_metadata(root)) and subsample afterwards, or for a tiny "
                "table use random_image_split(df), which splits images, not lesions.")
        lesions = list(rng.permutation(lesions))
        n_images = int(sizes[lesions].sum())
        for name, share in (("test", test), ("val", val)):
            target, count = round(share * n_images), 0
            while lesions and (count == 0 or count < target) and \
                    len(lesions) > 1 + (name == "test"):
                lesion = lesions.pop(0)
                chosen[name].append(lesion)
                count += int(sizes[lesion])
        chosen["train"].extend(lesions)
    rows = {name: group.isin(set(ids)).to_numpy() for name, ids in chosen.items()}
    splits = {name: df[kept].reset_index(drop=True) for name, kept in rows.items()}
    _check_splits({name: part.assign(lesion_group=group[rows[name]].to_numpy())
                   for name, part in splits.items()})
    return splits


def random_image_split(df: pd.DataFrame, val: float = 0.15, test: float = 0.15,
                       seed: int = 0) -> dict[str, pd.DataFrame]:
    """The naive split: images (not lesions) shuffled and dealt out, stratified by ``dx``.

    Images of one lesion can land in train and test: see :func:`shared_lesion_count`.
    """
    _check_split_request(df, val, test, ("dx",))
    rng = np.random.default_rng(checks.integer(seed, "seed", minimum=0))
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
    for name, part in (("train", train), ("test", test)):
        if not isinstance(part, pd.DataFrame) or "lesion_id" not in part:
            raise ValueError(f"{name}: expected a split table with a lesion_id column (a value "
                             "of lesion_split's or random_image_split's result).")
    return int(test["lesion_id"].isin(set(train["lesion_id"])).sum())


def pairs_apart(split: dict[str, pd.DataFrame], pairs: pd.DataFrame | None = None) -> int:
    """How many ``pairs`` (default :func:`duplicate_pairs`) lie in two parts of ``split``; a part
    without ``image_id`` holds the images of its ``lesion_id`` s in the packaged metadata."""
    pairs = duplicate_pairs() if pairs is None else pairs
    lesion_of = None if all("image_id" in part for part in split.values()) else (
        packaged_metadata().set_index("image_id")["lesion_id"])  # read only when needed
    part_of = {image: name for name, part in split.items() for image in (
        part["image_id"] if "image_id" in part
        else lesion_of.index[lesion_of.isin(set(part["lesion_id"]))])}
    a, b = pairs["image_a"].map(part_of), pairs["image_b"].map(part_of)
    return int((a.notna() & b.notna() & (a != b)).sum())


# --------------------------------------------------------------------------- generated folders


def has_marker(root: Path, name: str, marker: dict[str, object],
                mismatch: Callable[[dict[str, object]], str]) -> bool:
    """True when ``root/name`` records ``marker`` (a finished generated folder), False when
    there is no such file; FileExistsError with ``mismatch(found)`` when it records another."""
    path = root / name
    if not path.is_file():
        return False
    try:
        found = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is damaged ({err}): delete the folder {root}, and the next "
                         "run writes it again.") from err
    if found != marker:
        raise FileExistsError(mismatch(found))
    return True


def write_file_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    Readers see the old file or the new one, never half of one; on any error (an interrupt
    too) the temporary file is removed and ``path`` is left as it was. A ``path`` that is a
    folder, or lies under a file, is refused first, naming ``path`` (not the temporary file);
    missing parent folders are created.
    """
    path = checks.writable_file(path, "the target")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


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


def find_metadata_csv(root: Path) -> Path:
    for name in (METADATA_FILE, Path(METADATA_FILE).stem):  # Dataverse: no extension
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"No {METADATA_FILE} in {root}. {HOW_TO_GET}")


def _check_schema(meta: pd.DataFrame, source: Path) -> None:
    missing = [c for c in METADATA_COLUMNS if c not in meta.columns]
    if missing:
        raise ValueError(f"{source} lacks column(s) {missing}; expected "
                         f"{list(METADATA_COLUMNS)}. {HOW_TO_GET}")
    unknown = sorted(set(meta["dx"].fillna("<empty>")) - set(CLASSES))
    if unknown:
        raise ValueError(f"{source}: unknown dx value(s) {unknown}; expected one of {CLASSES}.")
    _refuse_duplicate_images(meta, source)


def image_index(root: Path) -> tuple[dict[str, Path], list[Path], dict[str, list[Path]]]:
    """image_id -> file for every jpg in the part folders (any case), ``images/`` or root; the
    folders searched; and image_id -> all its files for an id found more than once."""
    wanted = {name.lower() for name in IMAGE_FOLDERS} | {"images"}
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and p.name.lower() in wanted]
    index: dict[str, Path] = {}
    repeats: dict[str, list[Path]] = {}
    for folder in [*folders, root]:
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                stem, ext = os.path.splitext(entry.name)
                if ext.lower() in (".jpg", ".jpeg") and entry.is_file():
                    if stem in index:
                        repeats.setdefault(stem, [index[stem]]).append(Path(entry.path))
                    index.setdefault(stem, Path(entry.path))
    return index, [*folders, root], repeats


def mask_folders(root: Path, folder_name: str = MASK_FOLDER) -> list[Path]:
    """The folders named ``folder_name*`` (any case) in ``root`` or one level below it (an
    archive unpacked into a folder of its own); one inside another counts once, the outer."""
    def named(folder: Path) -> bool:
        return folder.is_dir() and folder.name.lower().startswith(folder_name.lower())

    found = []
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        if named(child):
            found.append(child)
        elif not child.name.startswith((".", "__MACOSX")):
            found.extend(sorted(p for p in child.iterdir() if named(p)))
    return found


def mask_index(root: Path, folder_name: str = MASK_FOLDER,
               suffix: str = "_segmentation.png") -> dict[str, Path]:
    """image_id -> ``<image_id><suffix>`` at any depth in :func:`mask_folders`; macOS's
    ``._`` shadow files are skipped."""
    index: dict[str, Path] = {}
    for folder in mask_folders(root, folder_name):
        for path in sorted(folder.rglob(f"*{suffix}")):
            if not path.name.startswith("._"):
                index.setdefault(path.name[: -len(suffix)], path)
    return index


# Per-image masks that only generated sets have (helpers.demo): column -> (folder, suffix). A
# column is added when its folder holds at least one such file.
_OPTIONAL_MASKS = {
    "artefact_mask_path": (ARTEFACT_FOLDER, "_artefact.png"),
    "evidence_path": (EVIDENCE_FOLDER, "_evidence.png"),
    "lesion1_mask_path": (MASK_FOLDER, "_lesion1.png"),
    "lesion2_mask_path": (MASK_FOLDER, "_lesion2.png"),
}


def load_metadata(root: str | Path) -> pd.DataFrame:
    """HAM10000 metadata of the data in ``root`` plus ``path``, ``label`` and ``mask_path``.

    Rows keep the CSV's order and extra columns (a demo set with an artefact has ``artefact``,
    0/1, and gains ``artefact_mask_path``); a missing age stays NaN. Generated sets also gain
    ``evidence_path`` (:mod:`helpers.demo`'s evidence masks) and, for the multi-lesion set,
    ``lesion1_mask_path`` and ``lesion2_mask_path``. Raises FileNotFoundError naming what is
    missing (folder, CSV or image files), NotADirectoryError for a file given as ``root``, and
    ValueError for a wrong schema or an ``image_id`` listed twice; warns when a lesion-mask
    folder (:data:`MASK_FOLDER`) lacks some images' masks.
    """
    root = checks.folder(root, "Data folder", hint=(
        "Give the folder that holds HAM10000_metadata.csv (unzip an archive first). "
        + HOW_TO_GET))
    csv = find_metadata_csv(root)
    meta = pd.read_csv(csv)
    _check_schema(meta, csv)
    images, searched, repeats = image_index(root)
    twice = [i for i in meta["image_id"] if i in repeats]
    if twice:
        files = " and ".join(str(p) for p in repeats[twice[0]])
        raise ValueError(
            f"{len(twice)} image_id(s) listed in {csv.name} have more than one file, e.g. "
            f"{twice[0]}: {files} (ids: {list_some(twice)}). Which one is meant cannot be "
            "told: keep one copy of each image (HAM10000's part_1 and part_2 share no image), "
            "e.g. extract each archive once into a fresh folder.")
    missing = [i for i in meta["image_id"] if i not in images]
    if missing:
        where = ", ".join(str(p) for p in searched)
        raise FileNotFoundError(
            f"{len(missing)} of {len(meta)} images listed in {csv.name} were not found "
            f"(searched {where}): {list_some(missing)}. {HOW_TO_GET}")
    masks, folders = mask_index(root), mask_folders(root)
    lacking = [i for i in meta["image_id"] if i not in masks]
    if folders and lacking:  # a lesion-mask folder that lacks some images' masks
        checks.warn(f"Lesion masks: {len(lacking)} of {len(meta)} images in {csv.name} have no "
                    f"<image_id>_segmentation.png in {', '.join(map(str, folders))}: "
                    f"{list_some(lacking)}. They get an all-zero mask, so mask-based measures "
                    f"mean nothing for them: unpack {MASK_ARCHIVE} (doi:10.7910/DVN/DBW86T) "
                    "into the data folder again, or drop the rows without a mask_path.", depth=2)
    meta["path"] = [str(images[i].resolve()) for i in meta["image_id"]]
    meta["label"] = meta["dx"].map(CLASSES.index).astype(int)
    meta["mask_path"] = [str(masks[i].resolve()) if i in masks else None for i in meta["image_id"]]
    for column, (folder, suffix) in _OPTIONAL_MASKS.items():
        found = mask_index(root, folder, suffix)
        if found:
            meta[column] = [str(found[i].resolve()) if i in found else None
                            for i in meta["image_id"]]
    return meta


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


_SIZE_HINT = "It is the side in pixels of the square the model sees, e.g. 224."


def eval_transform(image_size: int) -> T.Compose:
    """Resize the short side, centre-crop a square, to tensor, ImageNet-normalise."""
    image_size = checks.integer(image_size, "image_size", hint=_SIZE_HINT)
    return T.Compose([
        T.Resize(image_size), T.CenterCrop(image_size), T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def train_transform(image_size: int) -> T.Compose:
    """Random crop and zoom, flips, 90-degree turns, mild colour jitter, ImageNet-normalise."""
    image_size = checks.integer(image_size, "image_size", hint=_SIZE_HINT)
    return T.Compose([
        T.RandomResizedCrop(image_size, scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3)),
        T.RandomHorizontalFlip(), T.RandomVerticalFlip(), RandomRotate90(),
        T.ColorJitter(brightness=0.15, contrast=0.15, saturation=0.1, hue=0.02),
        T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """Undo the ImageNet normalisation of ``(3, H, W)`` or ``(B, 3, H, W)``; clamp to [0, 1]."""
    if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"x: expected a normalised image tensor (3, H, W) or (B, 3, H, W), got "
                         f"{type(x).__name__} of shape {tuple(getattr(x, 'shape', ()))}.")
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * std + mean).clamp(0, 1)


MASK_THRESHOLD = 128  #: a mask pixel >= this (of 0-255) is lesion: a resized mask's grey edge


def mask_transform(size: int) -> Callable[[Image.Image], torch.Tensor]:
    """A mask aligned with :func:`eval_transform`: resize, centre-crop, float (H, W) in {0, 1}.

    A pixel is lesion when its grey value is ``>= MASK_THRESHOLD`` (128 of 255): a mask that
    was resized bilinearly has a grey edge, and counting every value ``> 0`` would grow the
    lesion (19.1 % of the pixels instead of 14.1 % in one case)."""
    size = checks.integer(size, "size", hint=_SIZE_HINT)
    crop = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.NEAREST),
                      T.CenterCrop(size)])

    def apply(mask: Image.Image) -> torch.Tensor:
        grey = np.asarray(crop(mask.convert("L")))
        return torch.from_numpy(grey >= MASK_THRESHOLD).float()

    return apply


# --------------------------------------------------------------------------- datasets


def _damaged_hint(path: Path) -> str:
    """What to do about an unreadable file: delete the cached demo set holding it, or fetch
    the data again."""
    for parent in path.parents:
        if (parent / DEMO_MARKER).is_file():
            return (f"It belongs to the cached demo set {parent}: delete that folder, and the "
                    "next run writes it again.")
    return ("Download or extract the data again (an interrupted copy leaves such files), or "
            "remove the image's row from the metadata.")


def open_image(path: str | Path, mode: str = "RGB", draft: int | None = None) -> Image.Image:
    """The image at ``path`` decoded and converted to ``mode``; a missing, truncated or damaged
    file raises OSError naming the file and what to do (PIL's message alone names neither).

    ``draft``: a JPEG may be decoded at a reduced scale whose short side is still >= ``draft``.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"Image {path} is a folder; expected an image file (a path "
                                "from the metadata's path column).")
    try:
        with Image.open(path) as img:
            if draft:
                img.draft(mode, (draft, draft))
            return img.convert(mode)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"Image file {path} is missing. {_damaged_hint(path)}") from err
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise OSError(f"Cannot read image {path} ({err}): the file is damaged or incomplete. "
                      f"{_damaged_hint(path)}") from err


def open_mask(path: str | Path | None, image_path: str | Path) -> Image.Image:
    """The mask at ``path`` (mode L) for the image at ``image_path``; all zeros when ``path`` is
    None or empty. A mask of another shape than its image is refused: stretching it to fit
    would move the lesion. Only a scaled copy passes (same aspect ratio within a pixel, e.g. the
    original mask of an image that :mod:`helpers.course.resized` shrank), which
    :func:`mask_transform` then resizes and crops exactly as the image."""
    with Image.open(image_path) as img:  # reads the header only
        size = img.size
    if not (isinstance(path, (str, Path)) and str(path)):
        return Image.new("L", size, 0)
    mask = open_image(path, "L")
    (w, h), (mw, mh) = size, mask.size
    if abs(mw * h / w - mh) > 1 and abs(mh * w / h - mw) > 1:
        raise ValueError(
            f"Mask {path} is {mw}x{mh} but its image {image_path} is {w}x{h} (width x "
            "height): a mask must have its image's size (or a scaled copy of it), since "
            "stretching it would move the lesion. Make the mask at the image's size, or drop "
            "its mask_path.")
    return mask


class LesionDataset(Dataset):
    """Images of a metadata frame: ``(image, label)``, or ``(image, label, mask)``.

    With ``mask_size`` set, the mask is resized and centre-cropped like
    ``eval_transform(mask_size)``; rows without a mask give zeros.
    """

    def __init__(self, df: pd.DataFrame, transform: Callable | None = None,
                 mask_size: int | None = None) -> None:
        if not isinstance(df, pd.DataFrame) or "path" not in df or not (
                "label" in df or "dx" in df):
            raise ValueError("df: expected the metadata table (load_metadata(root) or a split of "
                             "it) with a path column and a dx or label column; got "
                             f"{type(df).__name__} with columns "
                             f"{list(getattr(df, 'columns', []))}.")
        if mask_size is not None:
            mask_size = checks.integer(mask_size, "mask_size", hint=_SIZE_HINT)
        self.df = df.reset_index(drop=True)
        if "label" not in self.df:
            self.df["label"] = self.df["dx"].map(CLASSES.index)
        self.transform = transform or T.ToTensor()
        self.mask_size = mask_size
        self._mask = mask_transform(mask_size) if mask_size else None

    def __len__(self) -> int:
        return len(self.df)

    def load_image(self, i: int) -> Image.Image:
        """The ``i``-th image as an RGB PIL image, untransformed (see :func:`open_image`)."""
        return open_image(self.df.at[i, "path"])

    def load_mask(self, i: int) -> Image.Image:
        """The ``i``-th lesion mask (mode L, 255 = lesion); all zeros when there is none."""
        path = self.df.at[i, "mask_path"] if "mask_path" in self.df else None
        return open_mask(path, self.df.at[i, "path"])

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
            mask_size=cfg.image_size if masks and not train else None)
        loaders[name] = DataLoader(
            dataset, batch_size=cfg.batch_size, shuffle=train,
            generator=torch.Generator().manual_seed(cfg.seed) if train else None,
            drop_last=train and _drop_lonely_batch(len(dataset), cfg.batch_size),
            num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0,
            pin_memory=str(cfg.device).startswith("cuda"))
    return loaders


# --------------------------------------------------------------------------- a table as tensors


@dataclass(frozen=True)
class Tensors:
    """A table's images as tensors. ``df``: its rows; ``x``: normalised inputs ``(N, 3, H, W)``;
    ``y``: true classes ``(N,)``; ``masks``: ``{"lesion": (N, H, W) in {0, 1}}`` plus
    ``"evidence"`` where the table has evidence masks (the demo set; real images have none);
    ``shown``: ``x`` denormalised, for display."""

    df: pd.DataFrame
    x: torch.Tensor
    y: torch.Tensor
    masks: dict[str, torch.Tensor]
    shown: torch.Tensor


def _stack(df: pd.DataFrame, size: int, batch_size: int) -> list[tuple[torch.Tensor, ...]]:
    dataset = LesionDataset(df, eval_transform(size), mask_size=size)
    return list(DataLoader(dataset, batch_size=batch_size))


def to_tensors(df: pd.DataFrame, size: int, *, max_images: int | None = None, seed: int = 0,
               batch_size: int = 64) -> Tensors:
    """The rows of ``df`` (a metadata table or a split of it) as tensors, each image through
    :func:`eval_transform` and every mask resized and cropped exactly like its image.

    ``max_images``: keep at most that many rows, drawn at random (seeded by ``seed``) and kept
    in the table's order: a bound on memory for the full data set.
    """
    if not isinstance(df, pd.DataFrame) or "path" not in df or df.empty:
        raise ValueError("df: expected a non-empty metadata table with a path column "
                         "(load_metadata(root), prepare_metadata(cfg) or a split of it).")
    size = checks.integer(size, "size")
    if max_images is not None:
        max_images = checks.integer(max_images, "max_images", hint="or None for every row")
        if len(df) > max_images:
            df = df.sample(max_images, random_state=seed).sort_index()
    batches = _stack(df, size, batch_size)
    x = torch.cat([b[0] for b in batches])
    masks = {"lesion": torch.cat([b[2] for b in batches])}
    if "evidence_path" in df and df["evidence_path"].notna().any():
        evidence = _stack(df.assign(mask_path=df["evidence_path"]), size, batch_size)
        masks["evidence"] = torch.cat([b[2] for b in evidence])
    return Tensors(df=df, x=x, y=torch.cat([b[1] for b in batches]), masks=masks,
                   shown=denormalize(x))


# --------------------------------------------------------------------------- DermaMNIST

DERMAMNIST_ZENODO = "https://zenodo.org/records/10519652"
DERMAMNIST_KEYS = tuple(f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "labels"))


def require_dermamnist_file(npz: Path) -> None:
    if not npz.is_file():
        raise FileNotFoundError(
            f"No DermaMNIST file at {npz}. Get it with helpers.sources.download_dermamnist(folder) "
            f"(needs pip install medmnist) or download dermamnist_224.npz from {DERMAMNIST_ZENODO}."
        )


def load_dermamnist(npz_path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """MedMNIST+ ``dermamnist*.npz`` -> ``{split: (images (N, H, W, 3) uint8, labels (N,))}``.

    DermaMNIST's label order equals :data:`CLASSES` (MedMNIST INFO: 0 actinic keratoses ...
    6 vascular lesions). Get the file with ``pip install medmnist`` and
    ``medmnist.DermaMNIST(split="train", download=True, size=224)``, or from Zenodo.
    """
    path = Path(npz_path).expanduser()
    require_dermamnist_file(path)
    with np.load(path) as npz:
        missing = [k for k in DERMAMNIST_KEYS if k not in npz.files]
        if missing:
            raise ValueError(f"{path} lacks key(s) {missing}; found {sorted(npz.files)}.")
        return {split: (npz[f"{split}_images"], npz[f"{split}_labels"].reshape(-1).astype(np.int64))
                for split in ("train", "val", "test")}
