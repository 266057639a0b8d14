"""Data: the HAM10000 classes, metadata, lesion-aware splits, transforms and datasets.

The real HAM10000 metadata (10,015 images of 7,470 lesions) is packaged with this package, so
everything that needs only the table works offline. The images come from Harvard Dataverse
(doi:10.7910/DVN/DBW86T) or Kaggle ("kmader/skin-cancer-mnist-ham10000"): see
:mod:`helpers.sources`. Without them, :mod:`helpers.demo` writes a stand-in with the same layout.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T
from tqdm.auto import tqdm

from . import checks
from .ham10000 import (  # noqa: F401  (helpers.data's documented names, see helpers.ham10000)
    _DEMO_MARKER,
    _PART_1_LAST_ID,
    ARTEFACT_FOLDER,
    CLASS_NAMES,
    CLASSES,
    EVIDENCE_FOLDER,
    HOW_TO_GET,
    IMAGE_FOLDERS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    KAGGLE_HANDLE,
    MALIGNANT,
    MASK_FOLDER,
    METADATA_COLUMNS,
    METADATA_FILE,
    _check_split_request,
    _check_splits,
    _has_marker,
    _list_some,
    _refuse_duplicate_images,
    lesion_split,
    packaged_metadata,
    random_image_split,
    shared_lesion_count,
    write_file_atomically,
    write_folder_atomically,
)

if TYPE_CHECKING:  # pragma: no cover
    from .config import RunConfig




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
    _refuse_duplicate_images(meta, source)


def _image_index(root: Path) -> tuple[dict[str, Path], list[Path], dict[str, list[Path]]]:
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


def _mask_index(root: Path, folder_name: str = MASK_FOLDER,
                suffix: str = "_segmentation.png") -> dict[str, Path]:
    """image_id -> ``<image_id><suffix>`` from the folders named ``folder_name*`` (any case)."""
    index: dict[str, Path] = {}
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and folder.name.lower().startswith(folder_name.lower()):
            for path in sorted(folder.rglob(f"*{suffix}")):
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
    ValueError for a wrong schema or an ``image_id`` listed twice.
    """
    root = checks.folder(root, "Data folder", hint=(
        "Give the folder that holds HAM10000_metadata.csv (unzip an archive first). "
        + HOW_TO_GET))
    csv = _find_metadata_csv(root)
    meta = pd.read_csv(csv)
    _check_schema(meta, csv)
    images, searched, repeats = _image_index(root)
    twice = [i for i in meta["image_id"] if i in repeats]
    if twice:
        files = " and ".join(str(p) for p in repeats[twice[0]])
        raise ValueError(
            f"{len(twice)} image_id(s) listed in {csv.name} have more than one file, e.g. "
            f"{twice[0]}: {files} (ids: {_list_some(twice)}). Which one is meant cannot be "
            "told: keep one copy of each image (HAM10000's part_1 and part_2 share no image), "
            "e.g. extract each archive once into a fresh folder.")
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
    for column, (folder, suffix) in _OPTIONAL_MASKS.items():
        found = _mask_index(root, folder, suffix)
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
        if (parent / _DEMO_MARKER).is_file():
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
    original mask of an image that :func:`cache_resized` shrank), which
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
    img = open_image(src, draft=size)
    scale = size / min(img.size)
    if scale < 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)),
                         Image.Resampling.BICUBIC, reducing_gap=2.0)
    write_file_atomically(dst, lambda tmp: img.save(tmp, format="JPEG", quality=95))


def _resize_stamped(src: str, dst: Path, size: int) -> None:
    """:func:`_resize_one` into ``<image_id>-<stamp>.jpg``, removing that image's older versions
    (resized before its source changed)."""
    _resize_one(src, dst, size)
    for stale in dst.parent.glob(f"{glob.escape(dst.stem[:-9])}-{'?' * 8}.jpg"):
        if stale != dst:
            stale.unlink(missing_ok=True)


def _source_stamp(path: str) -> str:
    """8 hex digits that change when the file at ``path`` changes (size or modification time)."""
    try:
        info = os.stat(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"Image file {path} is missing. {_damaged_hint(Path(path))}"
                                ) from err
    return hashlib.sha1(f"{info.st_size}-{info.st_mtime_ns}".encode()).hexdigest()[:8]


def cache_resized(df: pd.DataFrame, size: int, cache_dir: str | Path) -> pd.DataFrame:
    """Resize every image once (short side ``size``, JPEG q95) into the cache; new ``path``s.

    Files already cached are skipped. The cache folder is keyed by the images' common folder,
    so two datasets with the same image ids (real and demo) never mix, and each cached file by
    its source's size and modification time (``<image_id>-<stamp>.jpg``), so an image that
    changed is resized again (its old version is removed).
    """
    size = checks.integer(size, "size")
    if not isinstance(df, pd.DataFrame) or not {"path", "image_id"} <= set(df.columns) or df.empty:
        raise ValueError("df: expected a non-empty metadata table with path and image_id "
                         "columns (load_metadata(root) or a split of it).")
    sources = df["path"].astype(str).tolist()
    key = hashlib.sha1(os.path.commonpath(sources).encode()).hexdigest()[:10]
    folder = Path(cache_dir).expanduser() / f"resized-{size}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / f"{image_id}-{_source_stamp(src)}.jpg"
               for image_id, src in zip(df["image_id"], sources, strict=True)]
    todo = [(s, t) for s, t in zip(sources, targets, strict=True) if not t.is_file()]
    if todo:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            jobs = pool.map(lambda st: _resize_stamped(st[0], st[1], size), todo)
            for _ in tqdm(jobs, total=len(todo), desc=f"resize to {size}px", unit="img"):
                pass
    out = df.copy()
    out["path"] = [str(t) for t in targets]
    return out


# --------------------------------------------------------------------------- DermaMNIST

DERMAMNIST_ZENODO = "https://zenodo.org/records/10519652"
DERMAMNIST_KEYS = tuple(f"{split}_{kind}" for split in ("train", "val", "test")
                        for kind in ("images", "labels"))


def _require_dermamnist_file(npz: Path) -> None:
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


