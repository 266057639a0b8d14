"""HAM10000 before any image is read: its classes, its folder layout, the packaged metadata
table, lesion-aware splits of a table, and writing a generated folder atomically.

The module both sides of the data flow share: :mod:`helpers.demo` and :mod:`helpers.sources`
write a folder in this layout, :mod:`helpers.data` reads it (and re-exports these names, which
are its documented contract: ``helpers.data.CLASSES``, ``helpers.data.lesion_split``). It
imports nothing from the package but :mod:`helpers.checks`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from . import checks

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
EVIDENCE_FOLDER = "HAM10000_segmentations_evidence"  # demo sets: class-specific structures
KAGGLE_HANDLE = "kmader/skin-cancer-mnist-ham10000"
HOW_TO_GET = (
    "Get HAM10000 from Harvard Dataverse (https://doi.org/10.7910/DVN/DBW86T) or Kaggle "
    f"(https://www.kaggle.com/datasets/{KAGGLE_HANDLE}), or call "
    "helpers.sources.download_ham10000(dest). Expected layout: <root>/HAM10000_metadata.csv and "
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


# --------------------------------------------------------------------------- splits


def _refuse_duplicate_images(meta: pd.DataFrame, source: object) -> None:
    """One row per image: a repeated ``image_id`` would count an image twice, maybe in two
    splits (under two lesion ids)."""
    repeated = meta.loc[meta["image_id"].duplicated(), "image_id"].unique()
    if len(repeated):
        raise ValueError(
            f"{source}: image_id(s) listed more than once: {_list_some(repeated)}. Each image "
            "must have one row; drop the repeats, e.g. df.drop_duplicates('image_id')."
        )


def _check_splits(splits: dict[str, pd.DataFrame]) -> None:
    """Raise if a lesion or an image is in two splits or a class is missing from a split."""
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for column, what in (("lesion_id", "Lesions"), ("image_id", "Images")):
                if column not in splits[a] or column not in splits[b]:
                    continue
                shared = sorted(set(splits[a][column]) & set(splits[b][column]))
                if shared:
                    raise ValueError(f"{what} in both {a} and {b}: {_list_some(shared)}")
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
            "(the usual: val=0.15, test=0.15)."
        )


def lesion_split(
    df: pd.DataFrame, val: float = 0.15, test: float = 0.15, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """Split by lesion: no ``lesion_id`` in two splits, stratified by ``dx``, every class in each.

    Within each class the lesions are shuffled (seeded) and dealt to test, then val, until each
    holds its share of the class's images; the rest go to train. Needs >= 3 lesions per class,
    shares ``val`` and ``test`` in (0, 1) that leave a training share, and one row per image.
    """
    _check_split_request(df, val, test, ("lesion_id", "dx"))
    rng = np.random.default_rng(checks.integer(seed, "seed", minimum=0))
    lesion_dx = df.groupby("lesion_id")["dx"].first()
    sizes = df.groupby("lesion_id").size()
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


# --------------------------------------------------------------------------- generated folders


def _has_marker(root: Path, name: str, marker: dict[str, object],
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
