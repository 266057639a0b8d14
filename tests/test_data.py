"""helpers.data: the packaged metadata, load_metadata, the splits, the datasets and
to_tensors, on files the tests write (no network, no real images); bad inputs name the
file or the argument and what to do, and leave the disk as it was."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from messages import says
from PIL import Image

from helpers import data as D
from helpers.config import load_config
from helpers.course.prepare import prepare_metadata
from helpers.data import lesion_split, to_tensors

README_COUNTS = {  # images, lesions per class: /work/shared/data/README.md
    "nv": (6705, 5403), "mel": (1113, 614), "bkl": (1099, 727), "bcc": (514, 327),
    "akiec": (327, 228), "vasc": (142, 98), "df": (115, 73),
}
SHA256 = "3acc8553b04222669907b3bf2bcd73c5e59bbe549e12158f033a7c9ad0b60542"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_layout(root: Path, rows: pd.DataFrame, folders: tuple[str, ...]) -> None:
    """A fake HAM10000 folder: the CSV and tiny jpgs dealt round-robin into ``folders``."""
    root.mkdir(parents=True, exist_ok=True)
    rows.to_csv(root / D.METADATA_FILE, index=False)
    for k, image_id in enumerate(rows["image_id"]):
        folder = root / folders[k % len(folders)]
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6), (200, 100, 50)).save(folder / f"{image_id}.jpg")


# --------------------------------------------------------------------------- packaged metadata


def test_packaged_metadata_facts(packaged_meta: pd.DataFrame) -> None:
    resource = Path(D.__file__).parent / "resources" / D.METADATA_FILE
    assert sha256(resource) == SHA256
    assert len(packaged_meta) == 10_015 and packaged_meta["lesion_id"].nunique() == 7_470
    assert tuple(packaged_meta.columns) == D.METADATA_COLUMNS
    for dx, (images, lesions) in README_COUNTS.items():
        rows = packaged_meta[packaged_meta["dx"] == dx]
        assert (len(rows), rows["lesion_id"].nunique()) == (images, lesions), dx
    assert packaged_meta["age"].isna().sum() == 57
    assert set(D.CLASSES) == set(D.CLASS_NAMES) == set(README_COUNTS)
    assert list(D.CLASSES) == sorted(D.CLASSES) and D.MALIGNANT == {"akiec", "bcc", "mel"}


# --------------------------------------------------------------------------- load_metadata


@pytest.mark.parametrize("folders", [
    ("HAM10000_images_part_1", "HAM10000_images_part_2"),
    ("ham10000_images_part_1", "ham10000_images_part_2"),
    ("images",),
    (".",),
])
def test_load_metadata_layouts(
    tmp_path: Path, packaged_meta: pd.DataFrame, folders: tuple[str, ...]
) -> None:
    rows = packaged_meta.head(12)
    write_layout(tmp_path, rows, folders)
    out = D.load_metadata(tmp_path)
    assert list(out["image_id"]) == list(rows["image_id"])
    assert [Path(p).stem for p in out["path"]] == list(rows["image_id"])
    assert all(Path(p).is_file() for p in out["path"])
    assert list(out["label"]) == [D.CLASSES.index(d) for d in rows["dx"]]
    assert out["mask_path"].isna().all()


def test_load_metadata_masks_and_dataverse_csv(tmp_path: Path, packaged_meta: pd.DataFrame) -> None:
    rows = packaged_meta.head(4)
    write_layout(tmp_path, rows, ("HAM10000_images_part_1",))
    (tmp_path / D.METADATA_FILE).rename(tmp_path / "HAM10000_metadata")  # Dataverse: no .csv
    masks = tmp_path / "HAM10000_segmentations_lesion_tschandl"
    masks.mkdir()
    first = rows["image_id"].iloc[0]
    Image.new("L", (8, 6), 255).save(masks / f"{first}_segmentation.png")
    with pytest.warns(UserWarning) as caught:
        out = D.load_metadata(tmp_path)
    assert out["mask_path"].iloc[0].endswith(f"{first}_segmentation.png")
    assert out["mask_path"].iloc[1:].isna().all()
    # masks partly missing: how many, and where it looked
    says(caught[0].message, r"\b3 of 4\b", r"mask", re.escape(str(masks)), rows["image_id"].iloc[1])


def _dataverse_mask(path: Path) -> None:
    """A lesion mask as Dataverse's archive has it: 8-bit greyscale, 255 = lesion, 0 = skin,
    the image's size (600 x 450 there, 8 x 6 here); the lesion is the left half."""
    grey = np.zeros((6, 8), np.uint8)
    grey[:, :4] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grey, mode="L").save(path)


@pytest.mark.parametrize("folder", [
    "HAM10000_segmentations_lesion_tschandl",  # the archive unpacked in the data folder
    "HAM10000_segmentations_lesion_tschandl/HAM10000_segmentations_lesion_tschandl",  # twice
    "masks/HAM10000_segmentations_lesion_tschandl",  # unpacked into a folder of its own
    "HAM10000_segmentations_lesion",
])
def test_dataverse_lesion_masks_are_found_for_every_image(
    tmp_path: Path, packaged_meta: pd.DataFrame, folder: str
) -> None:
    rows = packaged_meta.head(6)
    write_layout(tmp_path, rows, D.IMAGE_FOLDERS)
    for image_id in rows["image_id"]:
        _dataverse_mask(tmp_path / folder / f"{image_id}_segmentation.png")
    (tmp_path / folder / f"._{rows['image_id'].iloc[0]}_segmentation.png").write_bytes(b"\0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every image has its mask: no warning
        out = D.load_metadata(tmp_path)
    assert [Path(p).name for p in out["mask_path"]] == [
        f"{i}_segmentation.png" for i in rows["image_id"]]  # not macOS's ._ shadow file
    _, _, mask = D.LesionDataset(out, D.eval_transform(6), mask_size=6)[0]
    assert mask.shape == (6, 6) and set(mask.unique().tolist()) == {0.0, 1.0}
    assert mask[:, :2].eq(1).all() and mask[:, -2:].eq(0).all()  # the lesion stays left


def test_a_mask_folder_without_masks_says_where_it_looked(
    tmp_path: Path, packaged_meta: pd.DataFrame
) -> None:
    rows = packaged_meta.head(3)
    write_layout(tmp_path, rows, ("images",))
    folder = tmp_path / "HAM10000_segmentations_lesion_tschandl"
    _dataverse_mask(folder / "ISIC_0000000.png")  # not named <image_id>_segmentation.png
    with pytest.warns(UserWarning) as caught:
        out = D.load_metadata(tmp_path)
    assert out["mask_path"].isna().all()
    says(caught[0].message, r"\b3 of 3\b", r"_segmentation\.png", re.escape(str(folder)),
         D.MASK_ARCHIVE.replace(".", r"\."))


def test_load_metadata_keeps_missing_age(tmp_path: Path, packaged_meta: pd.DataFrame) -> None:
    rows = pd.concat([packaged_meta[packaged_meta["age"].isna()].head(2), packaged_meta.head(2)])
    write_layout(tmp_path, rows, ("images",))
    assert D.load_metadata(tmp_path)["age"].isna().sum() == 2


def test_load_metadata_names_missing_images(tmp_path: Path, packaged_meta: pd.DataFrame) -> None:
    rows = packaged_meta.head(10)
    write_layout(tmp_path, rows, ("HAM10000_images_part_1",))
    for image_id in rows["image_id"].iloc[:7]:
        (tmp_path / "HAM10000_images_part_1" / f"{image_id}.jpg").unlink()
    with pytest.raises(FileNotFoundError) as err:
        D.load_metadata(tmp_path)
    text = str(err.value)
    assert "7 of 10" in text and rows["image_id"].iloc[0] in text and "(7 in all)" in text
    assert "10.7910/DVN/DBW86T" in text and D.KAGGLE_HANDLE in text


def test_load_metadata_missing_folder_csv_column(tmp_path: Path,
                                                 packaged_meta: pd.DataFrame) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load_metadata(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="HAM10000_metadata.csv"):
        D.load_metadata(tmp_path)
    write_layout(tmp_path, packaged_meta.head(3).drop(columns=["dx_type"]), ("images",))
    with pytest.raises(ValueError, match="dx_type"):
        D.load_metadata(tmp_path)
    write_layout(tmp_path, packaged_meta.head(3).assign(dx="xyz"), ("images",))
    with pytest.raises(ValueError, match="xyz"):
        D.load_metadata(tmp_path)


# --------------------------------------------------------------------------- splits


def test_lesion_split_real_metadata(packaged_meta: pd.DataFrame) -> None:
    splits = D.lesion_split(packaged_meta, val=0.15, test=0.15, seed=0)
    assert set(splits) == {"train", "val", "test"}
    assert sum(len(s) for s in splits.values()) == len(packaged_meta)
    ids = [set(s["lesion_id"]) for s in splits.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    for name, part in splits.items():
        assert set(part["dx"]) == set(D.CLASSES), name
        assert list(part.index) == list(range(len(part)))
    assert abs(len(splits["test"]) / len(packaged_meta) - 0.15) < 0.01
    again = D.lesion_split(packaged_meta, seed=0)
    assert all(again[k].equals(splits[k]) for k in splits)
    other = D.lesion_split(packaged_meta, seed=1)
    assert set(other["test"]["image_id"]) != set(splits["test"]["image_id"])


def test_lesion_split_refuses_leak_and_tiny_class(packaged_meta: pd.DataFrame) -> None:
    splits = D.lesion_split(packaged_meta)
    leaky = dict(splits, test=pd.concat([splits["test"], splits["train"].head(1)]))
    with pytest.raises(ValueError, match="Lesions in both"):
        D._check_splits(leaky)
    df_lesions = packaged_meta.loc[packaged_meta["dx"] == "df", "lesion_id"].unique()[:2]
    two_df_lesions = packaged_meta[packaged_meta["lesion_id"].isin(df_lesions)]
    with pytest.raises(ValueError, match="'df'"):
        D.lesion_split(pd.concat([packaged_meta[packaged_meta["dx"] != "df"], two_df_lesions]))


def test_random_split_leaks_and_lesion_split_does_not(packaged_meta: pd.DataFrame) -> None:
    naive = D.random_image_split(packaged_meta, val=0.15, test=0.15, seed=0)
    assert sum(len(s) for s in naive.values()) == len(packaged_meta)
    assert D.shared_lesion_count(naive["train"], naive["test"]) > 100
    safe = D.lesion_split(packaged_meta, seed=0)
    assert D.shared_lesion_count(safe["train"], safe["test"]) == 0


# --------------------------------------------------------------------------- torch side


def test_dataset_transforms_and_masks(demo_set_meta: pd.DataFrame) -> None:
    plain = D.LesionDataset(demo_set_meta)
    x, y = plain[0]
    assert x.shape == (3, 48, 64) and y == demo_set_meta["label"].iloc[0]
    assert plain.load_image(0).size == (64, 48)
    with_masks = D.LesionDataset(demo_set_meta, D.eval_transform(32), mask_size=32)
    x, y, m = with_masks[0]
    assert x.shape == (3, 32, 32) and m.shape == (32, 32) and m.dtype == torch.float32
    assert set(m.unique().tolist()) <= {0.0, 1.0} and m.sum() > 0
    no_masks = D.LesionDataset(demo_set_meta.assign(mask_path=None), mask_size=32)
    assert no_masks[0][2].sum() == 0
    t = D.train_transform(40)(plain.load_image(0))
    assert t.shape == (3, 40, 40)
    back = D.denormalize(D.eval_transform(32)(plain.load_image(0)))
    assert back.min() >= 0 and back.max() <= 1
    assert torch.allclose(D.denormalize(torch.stack([x, x]))[1], D.denormalize(x))


def test_mask_alignment_with_eval_transform() -> None:
    """A mask marking the image's left half stays on the same pixels as the image."""
    img = np.zeros((48, 64, 3), np.uint8)
    img[:, :32] = 255
    mask = Image.fromarray(img[..., 0])
    x = D.denormalize(D.eval_transform(24)(Image.fromarray(img)))[0]
    m = D.mask_transform(24)(mask)
    assert torch.equal(x > 0.5, m > 0.5)


def test_make_loaders(demo_set_meta: pd.DataFrame) -> None:
    cfg = load_config(profile="smoke", image_size=32, batch_size=8, num_workers=0)
    splits = D.lesion_split(demo_set_meta)
    loaders = D.make_loaders(splits, cfg, masks=True)
    xb, yb = next(iter(loaders["train"]))
    assert xb.shape == (8, 3, 32, 32) and yb.dtype == torch.int64
    xb, yb, mb = next(iter(loaders["test"]))
    assert mb.shape == (len(xb), 32, 32)
    first, again = ([y.tolist() for _, y in D.make_loaders(splits, cfg)["train"]]
                    for _ in range(2))
    assert first == again  # seeded shuffle
    assert D._drop_lonely_batch(17, 8) and not D._drop_lonely_batch(16, 8)


# --------------------------------------------------------------------------- DermaMNIST


def test_load_dermamnist(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 6), ("val", 2), ("test", 3)):
        arrays[f"{split}_images"] = rng.integers(0, 255, (n, 28, 28, 3), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 7, (n, 1))
    np.savez(tmp_path / "dermamnist.npz", **arrays)
    data = D.load_dermamnist(tmp_path / "dermamnist.npz")
    images, labels = data["train"]
    assert images.shape == (6, 28, 28, 3) and labels.shape == (6,)
    assert labels[0] == arrays["train_labels"][0, 0]
    del arrays["val_labels"]
    np.savez(tmp_path / "broken.npz", **arrays)
    with pytest.raises(ValueError, match="val_labels"):
        D.load_dermamnist(tmp_path / "broken.npz")
    with pytest.raises(FileNotFoundError, match="medmnist"):
        D.load_dermamnist(tmp_path / "missing.npz")


# --------------------------------------------------------------------------- to_tensors


def test_to_tensors_matches_the_split_and_its_masks(tmp_path: Path) -> None:
    cfg = load_config(profile="smoke", cache_dir=str(tmp_path), dataset="demo")
    expected = lesion_split(prepare_metadata(cfg), seed=cfg.seed)["test"]
    test = to_tensors(expected, cfg.image_size, max_images=10, seed=cfg.seed)
    assert len(test.df) == min(10, len(expected)) and set(test.df.index) <= set(expected.index)
    assert list(test.df.index) == sorted(test.df.index)
    n, size = len(test.df), cfg.image_size
    assert test.x.shape == (n, 3, size, size) and test.y.tolist() == test.df["label"].tolist()
    assert set(test.masks) == {"lesion", "evidence"}
    for mask in test.masks.values():
        assert mask.shape == (n, size, size) and set(mask.unique().tolist()) <= {0.0, 1.0}
    # evidence lies inside the lesion, up to resampling at the border
    outside = (test.masks["evidence"] > 0) & (test.masks["lesion"] == 0)
    assert outside.float().mean() < 0.01
    assert torch.all((test.shown >= -1e-6) & (test.shown <= 1 + 1e-6))
    again = to_tensors(expected, cfg.image_size, max_images=10, seed=cfg.seed)
    assert torch.equal(again.x, test.x)  # seeded draw
    with pytest.raises(ValueError, match="max_images"):
        to_tensors(expected, cfg.image_size, max_images=0)
    with pytest.raises(ValueError, match="df"):
        to_tensors(pd.DataFrame(), cfg.image_size)


# --- bad inputs ----------------------------------------------------------------------------------
# Each case asserts the outcome (an error of a given type whose message names the
# file or the argument and what to do, or the correct result) and that nothing on disk
# changed that should not.


@pytest.fixture(scope="module")
def small_demo_meta(demo_root: Path) -> pd.DataFrame:
    return D.load_metadata(demo_root)


@pytest.fixture
def demo_copy(demo_root: Path, tmp_path: Path) -> Path:
    """A copy of the demo set that a case may damage."""
    return Path(shutil.copytree(demo_root, tmp_path / "copy"))


# --------------------------------------------------------------------------- the data root


def _a_file(tmp: Path, demo: Path) -> Path:
    path = tmp / "HAM10000.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    return path


def _missing(tmp: Path, demo: Path) -> Path:
    return tmp / "nowhere"


def _no_csv(tmp: Path, demo: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def _duplicate_ids(tmp: Path, demo: Path) -> Path:
    root = Path(shutil.copytree(demo, tmp / "dup"))
    rows = pd.read_csv(root / D.METADATA_FILE)
    twin = rows.iloc[[0]].assign(lesion_id="HAM_9999999")  # one image under a second lesion id
    pd.concat([rows, twin]).to_csv(root / D.METADATA_FILE, index=False)
    return root


def _unknown_dx(tmp: Path, demo: Path) -> Path:
    root = Path(shutil.copytree(demo, tmp / "dx"))
    rows = pd.read_csv(root / D.METADATA_FILE)
    rows.loc[0, "dx"] = "melanoma"
    rows.to_csv(root / D.METADATA_FILE, index=False)
    return root


def _image_missing(tmp: Path, demo: Path) -> Path:
    root = Path(shutil.copytree(demo, tmp / "gone"))
    next(root.glob("HAM10000_images_part_*/*.jpg")).unlink()
    return root


BAD_ROOTS = [  # make the root, error type, patterns the message must hold (messages.says)
    (_a_file, NotADirectoryError, [r"HAM10000\.zip", r"\bfile\b.*folder", r"unzip"]),
    (_missing, FileNotFoundError, [r"nowhere", r"not exist", r"Dataverse"]),
    (_no_csv, FileNotFoundError, [r"\bno HAM10000_metadata\.csv|HAM10000_metadata\.csv.*missing"]),
    (_duplicate_ids, ValueError, [r"image_id", r"more than once|duplicate", r"drop_duplicates"]),
    (_unknown_dx, ValueError, [r"\bdx\b", r"unknown", r"melanoma"]),
    (_image_missing, FileNotFoundError, [r"\b1 of 40\b", r"not found|missing"]),
]


@pytest.mark.parametrize(("make", "error", "patterns"), BAD_ROOTS,
                         ids=[m.__name__.strip("_") for m, _, _ in BAD_ROOTS])
def test_load_metadata_names_what_is_wrong(make, error, patterns, demo_root, tmp_path,
                                           disk_snapshot) -> None:
    root = make(tmp_path, demo_root)
    before = disk_snapshot(tmp_path)
    with pytest.raises(error) as info:
        D.load_metadata(root)
    says(info.value, *patterns)
    assert disk_snapshot(tmp_path) == before


# --------------------------------------------------------------------------- splits


def _twin_image(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[0]].assign(lesion_id="HAM_9999999")], ignore_index=True)


NO_TRAIN = r"no images to train|below 1"
SHARE = r"between 0 and 1"

BAD_SPLITS = [  # split function, how to change the table, keyword arguments, error, patterns
    (D.lesion_split, None, dict(val=0.6, test=0.6), ValueError, [r"val=0\.6", NO_TRAIN]),
    (D.lesion_split, None, dict(val=0.5, test=0.5), ValueError, [r"test=0\.5", NO_TRAIN]),
    (D.lesion_split, None, dict(val=0.0), ValueError, [r"val=0\.0", SHARE]),
    (D.lesion_split, None, dict(test=1.5), ValueError, [r"test=1\.5", SHARE]),
    (D.lesion_split, None, dict(test=-0.1), ValueError, [r"test=-0\.1", SHARE]),
    (D.lesion_split, None, dict(val="0.2"), TypeError, [r"val='0\.2'", r"share|number"]),
    (D.lesion_split, _twin_image, {}, ValueError, [r"image_id", r"more than once|duplicate"]),
    (D.lesion_split, lambda df: df.drop(columns="lesion_id"), {}, ValueError,
     [r"\bdf\b", r"lacks|missing", r"lesion_id"]),
    (D.lesion_split, lambda df: df["dx"], {}, TypeError, [r"\bdf\b", r"DataFrame", r"Series"]),
    (D.random_image_split, None, dict(val=0.6, test=0.6), ValueError, [r"val=0\.6", NO_TRAIN]),
    (D.random_image_split, _twin_image, {}, ValueError,
     [r"image_id", r"more than once|duplicate"]),
]


@pytest.mark.parametrize(("split", "change", "kwargs", "error", "patterns"), BAD_SPLITS)
def test_split_refuses(split, change, kwargs, error, patterns, small_demo_meta) -> None:
    df = small_demo_meta if change is None else change(small_demo_meta)
    with pytest.raises(error) as info:
        split(df, **kwargs)
    says(info.value, *patterns)


def test_the_final_split_check_catches_an_image_in_two_splits(small_demo_meta) -> None:
    splits = D.lesion_split(small_demo_meta, seed=0)
    leaked = splits["test"].iloc[[0]].assign(lesion_id="HAM_9999999")
    splits["train"] = pd.concat([splits["train"], leaked], ignore_index=True)
    with pytest.raises(ValueError, match=r"train.*test"):
        D._check_splits(splits)


# --------------------------------------------------------------------------- damaged files


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _with_truncated_copy(meta: pd.DataFrame, row: int, broken: Path) -> pd.DataFrame:
    """The first rows of ``meta`` with row ``row`` pointing at a truncated copy at ``broken``."""
    rows = meta.head(3).copy()
    broken.parent.mkdir(parents=True)
    shutil.copy(rows.at[row, "path"], broken)
    _truncate(broken)
    rows.loc[row, "path"] = str(broken)
    return rows


def test_truncated_jpeg_names_the_file_and_the_fix(small_demo_meta, tmp_path) -> None:
    broken = tmp_path / "real" / "ISIC_broken.jpg"
    rows = _with_truncated_copy(small_demo_meta, 1, broken)
    dataset = D.LesionDataset(rows, D.eval_transform(32))
    assert dataset[0][0].shape == (3, 32, 32)
    with pytest.raises(OSError) as info:
        dataset[1]
    assert str(broken) in str(info.value)
    says(info.value, r"damaged|incomplete|truncated", r"download|extract")


def test_truncated_jpeg_in_the_demo_set_says_delete_the_folder(demo_copy) -> None:
    rows = D.load_metadata(demo_copy)
    _truncate(Path(rows.at[2, "path"]))
    with pytest.raises(OSError) as info:
        D.LesionDataset(rows, D.eval_transform(32))[2]
    assert str(demo_copy) in str(info.value)
    says(info.value, r"demo", r"delete")


def test_masks_of_a_split_image_dataset_stay_aligned(small_demo_meta) -> None:
    """A correct-result row: masks still load through the shared image opener."""
    dataset = D.LesionDataset(small_demo_meta.head(2), D.eval_transform(32), mask_size=32)
    _, _, mask = dataset[0]
    assert mask.shape == (32, 32) and set(torch.unique(mask).tolist()) <= {0.0, 1.0}


def test_json_marker_error_is_clear_for_any_generated_folder(tmp_path) -> None:
    (tmp_path / "m.json").write_text("{")
    with pytest.raises(ValueError, match=rf"(?i)delete.*{tmp_path}"):
        D.has_marker(tmp_path, "m.json", {"a": 1}, lambda found: json.dumps(found))


# --------------------------------------------------------------------------- issue 26: data


def test_an_image_in_both_parts_is_refused_naming_both_files(demo_copy) -> None:
    first = sorted((demo_copy / D.IMAGE_FOLDERS[0]).glob("*.jpg"))[0]
    twin = demo_copy / D.IMAGE_FOLDERS[1] / first.name
    shutil.copy(first, twin)
    with pytest.raises(ValueError, match="more than one file") as err:
        D.load_metadata(demo_copy)
    assert str(first) in str(err.value) and str(twin) in str(err.value)


def _with_mask(demo_copy: Path, meta: pd.DataFrame, mask: Image.Image) -> pd.DataFrame:
    row = meta.iloc[[0]].reset_index(drop=True).copy()
    path = demo_copy / "odd_mask.png"
    mask.save(path)
    row["mask_path"] = str(path)
    return row


def test_a_mask_of_another_shape_is_refused(demo_copy) -> None:
    meta = D.load_metadata(demo_copy)
    with Image.open(meta.at[0, "path"]) as img:
        size = img.size
    assert size[0] != size[1]  # demo images are not square, so a square mask cannot fit
    row = _with_mask(demo_copy, meta, Image.new("L", (10, 10), 255))
    with pytest.raises(ValueError, match=rf"10x10.*{size[0]}x{size[1]}"):
        D.LesionDataset(row, mask_size=16)[0]
    from helpers.explore import masks_for

    with pytest.raises(ValueError, match="lesion"):
        masks_for(row, 16)


def test_a_scaled_mask_is_accepted_and_thresholded_at_128(demo_copy) -> None:
    meta = D.load_metadata(demo_copy)
    with Image.open(meta.at[0, "path"]) as img:
        w, h = img.size
    grey = Image.new("L", (2 * w, 2 * h), 0)  # a scaled copy: left half 127, right half 128
    grey.paste(127, (0, 0, w, 2 * h))
    grey.paste(128, (w, 0, 2 * w, 2 * h))
    row = _with_mask(demo_copy, meta, grey)
    _, _, mask = D.LesionDataset(row, mask_size=16)[0]
    assert 0 < mask.mean() < 1  # 127 is background, 128 lesion
    assert mask[:, :4].sum() == 0 and mask[:, -4:].min() == 1


def test_lesion_split_on_a_small_table_says_what_came_in_and_what_to_do(small_demo_meta) -> None:
    small = small_demo_meta[small_demo_meta["dx"] != "akiec"].head(12)
    with pytest.raises(ValueError, match=r"'akiec'.*0 lesion") as err:
        D.lesion_split(small)
    message = str(err.value)
    assert f"{len(small)} images" in message and "akiec 0/0" in message
    assert "random_image_split" in message and "load_metadata(root)" in message


def test_atomic_writes_name_the_real_target_not_the_temporary_file(tmp_path) -> None:
    from helpers.models import save_checkpoint

    folder = tmp_path / "best.pt"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"best\.pt.*folder") as err:
        save_checkpoint(torch.nn.Linear(2, 2), folder, arch="resnet18")
    assert ".tmp" not in str(err.value)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"afile.*not a folder") as err:
        D.write_file_atomically(tmp_path / "afile" / "sub" / "x.bin", lambda t: t.write_bytes(b""))
    assert ".tmp" not in str(err.value)
    written = D.write_file_atomically(tmp_path / "new" / "x.bin", lambda t: t.write_bytes(b"1"))
    assert written.read_bytes() == b"1"  # missing parents are created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "best.pt", "new"]


# ------------------------------------------------------------ the parameter walk: data, sources

AT_LEAST_1 = r">= ?1|positive"

DATA_WALK = [  # call, error type, patterns the message must hold
    (lambda tmp: D.eval_transform(0), ValueError, [r"image_size=0\b", AT_LEAST_1]),
    (lambda tmp: D.eval_transform(64.5), TypeError, [r"image_size=64\.5", r"whole number|int"]),
    (lambda tmp: D.train_transform(-1), ValueError, [r"image_size=-1", AT_LEAST_1]),
    (lambda tmp: D.mask_transform(0), ValueError, [r"\bsize=0\b", AT_LEAST_1]),
    (lambda tmp: D.denormalize(torch.zeros(2, 8, 8)), ValueError, [r"\bx\b", r"\(3, H, W\)"]),
    (lambda tmp: D.open_image(tmp), IsADirectoryError, [r"\bfolder\b", r"image file"]),
    (lambda tmp: D.to_tensors(pd.DataFrame({"path": [], "image_id": []}), 32),
     ValueError, [r"\bdf\b", r"non-empty|\bempty"]),
    (lambda tmp: D.LesionDataset(pd.DataFrame({"x": [1]})), ValueError,
     [r"\bdf\b", r"path column"]),
    (lambda tmp: D.LesionDataset(pd.DataFrame({"path": ["a"], "dx": ["mel"]}), mask_size=0),
     ValueError, [r"mask_size=0\b", AT_LEAST_1]),
    (lambda tmp: D.shared_lesion_count(pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1]})),
     ValueError, [r"\btrain\b", r"lesion_id column"]),
    (lambda tmp: D.random_image_split(pd.DataFrame({"dx": ["mel"] * 3}), seed="x"),
     TypeError, [r"seed='x'", r"whole number|int"]),
    (lambda tmp: D.lesion_split(pd.DataFrame({"dx": ["mel"], "lesion_id": ["a"]}), seed=-1),
     ValueError, [r"seed=-1", r">= ?0|non-negative"]),
]


@pytest.mark.parametrize("call, error, patterns", DATA_WALK,
                         ids=[str(i) for i in range(len(DATA_WALK))])
def test_the_parameter_walk_cases_are_refused(call, error, patterns, tmp_path) -> None:
    with pytest.raises(error) as err:
        call(tmp_path)
    says(err.value, *patterns)


PAIRS = D.duplicate_pairs()


def test_the_packaged_pairs_are_the_18_published_ones() -> None:
    assert len(PAIRS) == 18 and list(PAIRS.columns) == ["image_a", "image_b", "similarity"]
    meta = D.packaged_metadata().set_index("image_id")
    assert set(PAIRS["image_a"]) | set(PAIRS["image_b"]) <= set(meta.index)
    # each pair joins two different lesion ids of one diagnosis
    for a, b in PAIRS[["image_a", "image_b"]].itertuples(index=False):
        assert meta.at[a, "lesion_id"] != meta.at[b, "lesion_id"]
        assert meta.at[a, "dx"] == meta.at[b, "dx"]


@pytest.mark.parametrize("seed", range(12))
def test_no_duplicate_pair_straddles_two_splits(seed: int) -> None:
    splits = D.lesion_split(D.packaged_metadata(), seed=seed)
    where = {image: name for name, part in splits.items() for image in part["image_id"]}
    straddling = [(a, b) for a, b in PAIRS[["image_a", "image_b"]].itertuples(index=False)
                  if where[a] != where[b]]
    assert not straddling


def _table(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["lesion_id", "image_id", "dx"])


def test_groups_merge_the_lesions_of_a_pair_present_in_the_table() -> None:
    a, b = PAIRS.iloc[0][["image_a", "image_b"]]
    c, d = PAIRS.iloc[1][["image_a", "image_b"]]
    df = _table([("L2", a, "nv"), ("L1", b, "nv"), ("L2", "x1", "nv"),  # L2 holds a and x1
                 ("L3", c, "nv"),  # d absent: L3 stays alone
                 ("L4", "x2", "nv")])
    groups = D.lesion_groups(df)
    assert groups.tolist() == ["L1", "L1", "L1", "L3", "L4"]  # named by the smaller id
    assert groups.index.equals(df.index)
    assert d not in set(df["image_id"])


def test_chained_pairs_form_one_group() -> None:
    a, b = PAIRS.iloc[0][["image_a", "image_b"]]
    c, d = PAIRS.iloc[1][["image_a", "image_b"]]
    # b and c belong to the same lesion id: the two pairs chain into one group
    df = _table([("L9", a, "nv"), ("L5", b, "nv"), ("L5", c, "nv"), ("L7", d, "nv")])
    assert set(D.lesion_groups(df)) == {"L5"}


def test_without_pairs_groups_are_the_lesion_ids() -> None:
    df = _table([("L1", "x1", "nv"), ("L2", "x2", "mel"), ("L1", "x3", "nv")])
    assert D.lesion_groups(df).tolist() == ["L1", "L2", "L1"]


def test_groups_need_lesion_and_image_ids() -> None:
    with pytest.raises(ValueError, match="image_id"):
        D.lesion_groups(pd.DataFrame({"lesion_id": ["L1"]}))


def test_a_split_that_would_separate_a_pair_is_refused() -> None:
    a, b = PAIRS.iloc[0][["image_a", "image_b"]]
    splits = {"train": _table([("L1", a, "nv")]).assign(lesion_group="G"),
              "test": _table([("L2", b, "nv")]).assign(lesion_group="G")}
    with pytest.raises(ValueError, match="Lesion groups in both"):
        D._check_splits(splits)


def test_pairs_apart_counts_the_pairs_on_two_sides_of_a_hand_made_split() -> None:
    pairs = pd.DataFrame({"image_a": ["a1", "b1", "c1", "d1"], "image_b": ["a2", "b2", "c2", "z"]})
    split = {"train": _table([("L1", "a1", "nv"), ("L2", "b1", "nv"), ("L3", "b2", "nv")]),
             "val": _table([("L4", "a2", "nv"), ("L5", "c1", "nv"), ("L6", "d1", "nv")]),
             "test": _table([("L7", "c2", "nv")])}
    # a: train/val, b: both in train, c: val/test, d: z is in no part (not counted)
    assert D.pairs_apart(split, pairs) == 2
    assert D.pairs_apart({"train": pd.concat(split.values())}, pairs) == 0


def test_pairs_apart_finds_the_images_of_a_part_without_image_id_by_lesion() -> None:
    meta = D.packaged_metadata().set_index("image_id")
    a, b = PAIRS.iloc[0][["image_a", "image_b"]]
    ids = {"train": [meta.at[a, "lesion_id"]], "test": [meta.at[b, "lesion_id"]]}
    split = {name: pd.DataFrame({"lesion_id": lesions}) for name, lesions in ids.items()}
    assert D.pairs_apart(split) == 1
    together = {"train": pd.DataFrame({"lesion_id": ids["train"] + ids["test"]})}
    assert D.pairs_apart(together) == 0


@pytest.mark.parametrize("seed", range(3))
def test_merge_duplicates_false_splits_on_the_ids_alone(seed: int) -> None:
    meta = D.packaged_metadata()
    merged = D.lesion_split(meta, seed=seed)
    ids_only = D.lesion_split(meta, seed=seed, merge_duplicates=False)
    assert D.pairs_apart(merged) == 0 < D.pairs_apart(ids_only)  # the ids alone miss pairs
    no_image_ids = D.lesion_split(meta.drop(columns="image_id"), seed=seed)
    for name, part in ids_only.items():  # the same split as a table without image ids
        assert set(part["lesion_id"]) == set(no_image_ids[name]["lesion_id"])
    assert D.pairs_apart(ids_only) == D.pairs_apart(no_image_ids)
