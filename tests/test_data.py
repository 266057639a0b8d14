"""Tests for helpers.data, on files the tests write (no network, no real images)."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from helpers import data as D
from helpers.config import load_config
from helpers.course import prepare as DS
from helpers.course import sources as S
from helpers.demo import sets as DM

README_COUNTS = {  # images, lesions per class: /work/shared/data/README.md
    "nv": (6705, 5403), "mel": (1113, 614), "bkl": (1099, 727), "bcc": (514, 327),
    "akiec": (327, 228), "vasc": (142, 98), "df": (115, 73),
}
SHA256 = "3acc8553b04222669907b3bf2bcd73c5e59bbe549e12158f033a7c9ad0b60542"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def meta() -> pd.DataFrame:
    return D.packaged_metadata()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return DM.make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo", 60, 48, seed=0)


@pytest.fixture(scope="module")
def demo_meta(demo: Path) -> pd.DataFrame:
    return D.load_metadata(demo)


def write_layout(root: Path, rows: pd.DataFrame, folders: tuple[str, ...]) -> None:
    """A fake HAM10000 folder: the CSV and tiny jpgs dealt round-robin into ``folders``."""
    root.mkdir(parents=True, exist_ok=True)
    rows.to_csv(root / D.METADATA_FILE, index=False)
    for k, image_id in enumerate(rows["image_id"]):
        folder = root / folders[k % len(folders)]
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6), (200, 100, 50)).save(folder / f"{image_id}.jpg")


# --------------------------------------------------------------------------- packaged metadata


def test_packaged_metadata_facts(meta: pd.DataFrame) -> None:
    resource = Path(D.__file__).parent / "resources" / D.METADATA_FILE
    assert sha256(resource) == SHA256
    assert len(meta) == 10_015 and meta["lesion_id"].nunique() == 7_470
    assert tuple(meta.columns) == D.METADATA_COLUMNS
    for dx, (images, lesions) in README_COUNTS.items():
        rows = meta[meta["dx"] == dx]
        assert (len(rows), rows["lesion_id"].nunique()) == (images, lesions), dx
    assert meta["age"].isna().sum() == 57
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
    tmp_path: Path, meta: pd.DataFrame, folders: tuple[str, ...]
) -> None:
    rows = meta.head(12)
    write_layout(tmp_path, rows, folders)
    out = D.load_metadata(tmp_path)
    assert list(out["image_id"]) == list(rows["image_id"])
    assert [Path(p).stem for p in out["path"]] == list(rows["image_id"])
    assert all(Path(p).is_file() for p in out["path"])
    assert list(out["label"]) == [D.CLASSES.index(d) for d in rows["dx"]]
    assert out["mask_path"].isna().all()


def test_load_metadata_masks_and_dataverse_csv(tmp_path: Path, meta: pd.DataFrame) -> None:
    rows = meta.head(4)
    write_layout(tmp_path, rows, ("HAM10000_images_part_1",))
    (tmp_path / D.METADATA_FILE).rename(tmp_path / "HAM10000_metadata")  # Dataverse: no .csv
    masks = tmp_path / "HAM10000_segmentations_lesion_tschandl"
    masks.mkdir()
    first = rows["image_id"].iloc[0]
    Image.new("L", (8, 6), 255).save(masks / f"{first}_segmentation.png")
    out = D.load_metadata(tmp_path)
    assert out["mask_path"].iloc[0].endswith(f"{first}_segmentation.png")
    assert out["mask_path"].iloc[1:].isna().all()


def test_load_metadata_keeps_missing_age(tmp_path: Path, meta: pd.DataFrame) -> None:
    rows = pd.concat([meta[meta["age"].isna()].head(2), meta.head(2)])
    write_layout(tmp_path, rows, ("images",))
    assert D.load_metadata(tmp_path)["age"].isna().sum() == 2


def test_load_metadata_names_missing_images(tmp_path: Path, meta: pd.DataFrame) -> None:
    rows = meta.head(10)
    write_layout(tmp_path, rows, ("HAM10000_images_part_1",))
    for image_id in rows["image_id"].iloc[:7]:
        (tmp_path / "HAM10000_images_part_1" / f"{image_id}.jpg").unlink()
    with pytest.raises(FileNotFoundError) as err:
        D.load_metadata(tmp_path)
    text = str(err.value)
    assert "7 of 10" in text and rows["image_id"].iloc[0] in text and "(7 in all)" in text
    assert "10.7910/DVN/DBW86T" in text and D.KAGGLE_HANDLE in text


def test_load_metadata_missing_folder_csv_column(tmp_path: Path, meta: pd.DataFrame) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load_metadata(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="HAM10000_metadata.csv"):
        D.load_metadata(tmp_path)
    write_layout(tmp_path, meta.head(3).drop(columns=["dx_type"]), ("images",))
    with pytest.raises(ValueError, match="dx_type"):
        D.load_metadata(tmp_path)
    write_layout(tmp_path, meta.head(3).assign(dx="xyz"), ("images",))
    with pytest.raises(ValueError, match="xyz"):
        D.load_metadata(tmp_path)


# --------------------------------------------------------------------------- splits


def test_lesion_split_real_metadata(meta: pd.DataFrame) -> None:
    splits = D.lesion_split(meta, val=0.15, test=0.15, seed=0)
    assert set(splits) == {"train", "val", "test"}
    assert sum(len(s) for s in splits.values()) == len(meta)
    ids = [set(s["lesion_id"]) for s in splits.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    for name, part in splits.items():
        assert set(part["dx"]) == set(D.CLASSES), name
        assert list(part.index) == list(range(len(part)))
    assert abs(len(splits["test"]) / len(meta) - 0.15) < 0.01
    again = D.lesion_split(meta, seed=0)
    assert all(again[k].equals(splits[k]) for k in splits)
    other = D.lesion_split(meta, seed=1)
    assert set(other["test"]["image_id"]) != set(splits["test"]["image_id"])


def test_lesion_split_refuses_leak_and_tiny_class(meta: pd.DataFrame) -> None:
    splits = D.lesion_split(meta)
    leaky = dict(splits, test=pd.concat([splits["test"], splits["train"].head(1)]))
    with pytest.raises(ValueError, match="Lesions in both"):
        D._check_splits(leaky)
    df_lesions = meta.loc[meta["dx"] == "df", "lesion_id"].unique()[:2]
    two_df_lesions = meta[meta["lesion_id"].isin(df_lesions)]
    with pytest.raises(ValueError, match="'df'"):
        D.lesion_split(pd.concat([meta[meta["dx"] != "df"], two_df_lesions]))


def test_random_split_leaks_and_lesion_split_does_not(meta: pd.DataFrame) -> None:
    naive = D.random_image_split(meta, val=0.15, test=0.15, seed=0)
    assert sum(len(s) for s in naive.values()) == len(meta)
    assert D.shared_lesion_count(naive["train"], naive["test"]) > 100
    safe = D.lesion_split(meta, seed=0)
    assert D.shared_lesion_count(safe["train"], safe["test"]) == 0


# --------------------------------------------------------------------------- demo set


def test_demo_layout_and_masks(demo: Path, demo_meta: pd.DataFrame) -> None:
    assert len(demo_meta) == 60 and set(demo_meta["dx"]) == set(D.CLASSES)
    assert (demo / "HAM10000_images_part_1").is_dir() and (demo / "HAM10000_images_part_2").is_dir()
    assert not [p for p in demo.parent.iterdir() if p.name.startswith(".")]  # temp folder gone
    for _, row in demo_meta.iterrows():
        number = int(row["image_id"][5:])
        assert Path(row["path"]).parent.name == DM._demo_part(row["image_id"])
        assert (number <= 29305) == Path(row["path"]).parent.name.endswith("1")
        assert Image.open(row["path"]).size == (64, 48)
    masks = [np.asarray(Image.open(p)) for p in demo_meta["mask_path"]]
    assert all(m.shape == (48, 64) and m.dtype == np.uint8 for m in masks)
    assert set(np.unique(np.concatenate([m.ravel() for m in masks]))) == {0, 255}
    assert all(0.02 < (m > 0).mean() < 0.9 for m in masks)


def test_demo_rows_are_whole_real_lesions(demo_meta: pd.DataFrame, meta: pd.DataFrame) -> None:
    real = meta.set_index("image_id")
    for column in ("lesion_id", "dx", "age", "localization"):
        assert demo_meta[column].equals(
            real.loc[demo_meta["image_id"], column].reset_index(drop=True)), column
    chosen = meta[meta["lesion_id"].isin(demo_meta["lesion_id"])]
    assert sorted(chosen["image_id"]) == sorted(demo_meta["image_id"])
    assert demo_meta.groupby("lesion_id")["dx"].nunique().max() == 1
    assert demo_meta.groupby("dx")["lesion_id"].nunique().min() >= 3


def test_demo_same_seed_same_bytes(tmp_path: Path, demo: Path) -> None:
    again = DM.make_demo_dataset(tmp_path / "again", 60, 48, seed=0)

    def digest(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}

    assert digest(again) == digest(demo)
    other = DM.make_demo_dataset(tmp_path / "other", 60, 48, seed=1)
    assert digest(other) != digest(demo)


def test_demo_classes_differ_in_lesion_colour(demo_meta: pd.DataFrame) -> None:
    """A nearest-centroid rule on the mean lesion colour already tells most classes apart."""
    def lesion_colour(row: pd.Series) -> np.ndarray:
        img = np.asarray(Image.open(row["path"]), dtype=float)
        return img[np.asarray(Image.open(row["mask_path"])) > 0].mean(axis=0)

    colours = np.stack([lesion_colour(row) for _, row in demo_meta.iterrows()])
    labels = demo_meta["label"].to_numpy()
    centres = np.stack([colours[labels == k].mean(axis=0) for k in range(len(D.CLASSES))])
    nearest = np.linalg.norm(colours[:, None] - centres[None], axis=2).argmin(axis=1)
    assert (nearest == labels).mean() > 0.8


def test_demo_returns_existing_and_refuses_foreign_folders(tmp_path: Path, demo: Path) -> None:
    stamp = (demo / D.DEMO_MARKER).stat().st_mtime_ns
    assert DM.make_demo_dataset(demo, 60, 48, seed=0) == demo
    assert (demo / D.DEMO_MARKER).stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="another demo set"):
        DM.make_demo_dataset(demo, 61, 48, seed=0)
    real = tmp_path / "real"
    real.mkdir()
    (real / D.METADATA_FILE).write_text("lesion_id\n")
    with pytest.raises(FileExistsError, match="holds HAM10000 data"):
        DM.make_demo_dataset(real / "demo", 30, 32)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        DM.make_demo_dataset(busy, 30, 32)
    with pytest.raises(ValueError, match="n_images"):
        DM.make_demo_dataset(tmp_path / "tiny", 10, 32)


def test_demo_split_has_every_class_everywhere(tmp_path: Path) -> None:
    cfg = load_config(profile="smoke", cache_dir=tmp_path, num_workers=0)
    df = DS.prepare_metadata(cfg)
    assert DM.demo_dataset_dir(cfg).is_dir() and len(df) == cfg.n_demo_images
    for part in D.lesion_split(df, seed=cfg.seed).values():
        assert set(part["dx"]) == set(D.CLASSES)


def test_prepare_metadata_other_datasets(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="data_dir"):
        DS.prepare_metadata(load_config(profile="full", dataset="ham10000", data_dir=None))
    with pytest.raises(NotImplementedError, match="load_dermamnist"):
        DS.prepare_metadata(load_config(profile="smoke", dataset="dermamnist"))


# --------------------------------------------------------------------------- torch side


def test_dataset_transforms_and_masks(demo_meta: pd.DataFrame) -> None:
    plain = D.LesionDataset(demo_meta)
    x, y = plain[0]
    assert x.shape == (3, 48, 64) and y == demo_meta["label"].iloc[0]
    assert plain.load_image(0).size == (64, 48)
    with_masks = D.LesionDataset(demo_meta, D.eval_transform(32), mask_size=32)
    x, y, m = with_masks[0]
    assert x.shape == (3, 32, 32) and m.shape == (32, 32) and m.dtype == torch.float32
    assert set(m.unique().tolist()) <= {0.0, 1.0} and m.sum() > 0
    no_masks = D.LesionDataset(demo_meta.assign(mask_path=None), mask_size=32)
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


def test_make_loaders(demo_meta: pd.DataFrame) -> None:
    cfg = load_config(profile="smoke", image_size=32, batch_size=8, num_workers=0)
    splits = D.lesion_split(demo_meta)
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


# --------------------------------------------------------------------------- download


def test_download_with_fake_kagglehub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetched = tmp_path / "kaggle-cache"
    fetched.mkdir()
    (fetched / D.METADATA_FILE).write_text("lesion_id\n")
    calls = []

    def dataset_download(handle: str) -> str:
        calls.append(handle)
        return str(fetched)

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(
        dataset_download=dataset_download))
    assert S.download_ham10000() == fetched
    dest = S.download_ham10000(tmp_path / "data" / "HAM10000")
    assert dest.resolve() == fetched.resolve() and calls == [D.KAGGLE_HANDLE] * 2
    assert S.download_ham10000(dest) == dest


def test_download_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # import fails
    with pytest.raises(RuntimeError, match="10.7910/DVN/DBW86T"):
        S.download_ham10000(tmp_path)

    def refuse(handle: str) -> str:
        raise PermissionError("401 unauthorised")

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=refuse))
    with pytest.raises(RuntimeError, match="401 unauthorised") as err:
        S.download_ham10000(tmp_path)
    assert D.KAGGLE_HANDLE in str(err.value) and "HAM10000_images_part_1" in str(err.value)
