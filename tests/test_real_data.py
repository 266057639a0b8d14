"""Tests for the real-data path (helpers.course.colab.use_data, DermaMNIST as a folder), offline.

Kaggle, medmnist and Colab's upload box are faked in ``sys.modules``; the zips, npz files and
JPEGs are tiny look-alikes written here. Every test runs in ``tmp_path`` with HAM10000_DIR
unset, and monkeypatch restores both afterwards.
"""

from __future__ import annotations

import io
import os
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import data as D
from helpers.config import load_config
from helpers.course import colab as C
from helpers.course import sources as S

SIZE = 32
SPLIT_PER_CLASS = {"train": 2, "val": 1, "test": 1}  # 4 images (= lesions) per class


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in ``tmp_path`` with no real data configured; monkeypatch undoes both.

    ``use_data`` sets HAM10000_DIR itself. ``setitem`` first records the variable's state
    (also "unset"), so that it is restored after the test: a leaked HAM10000_DIR would send
    every later notebook in this pytest run to the look-alike data.
    """
    monkeypatch.chdir(tmp_path)
    for name in ("HAM10000_DIR", "TUTORIAL_PROFILE"):
        monkeypatch.setitem(os.environ, name, "")
        monkeypatch.delenv(name)
    return tmp_path


# --------------------------------------------------------------------------- look-alike files


def smooth_images(labels: np.ndarray, seed: int) -> np.ndarray:
    """(N, SIZE, SIZE, 3) uint8: a colour ramp per image (JPEG keeps it close)."""
    rng = np.random.default_rng(seed)
    ramp = np.broadcast_to(np.linspace(0, 1, SIZE)[None, None, :, None], (1, SIZE, SIZE, 1))
    base = rng.integers(40, 160, (len(labels), 1, 1, 3))
    return (base + 80 * ramp).astype(np.uint8)


def write_npz(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """A DermaMNIST look-alike: MedMNIST+ keys, uint8 (N, H, W, 3) images, int (N, 1) labels."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for k, (split, per_class) in enumerate(SPLIT_PER_CLASS.items()):
        labels = rng.permutation(np.repeat(np.arange(len(D.CLASSES)), per_class))
        arrays[f"{split}_images"] = smooth_images(labels, seed * 10 + k)
        arrays[f"{split}_labels"] = labels.reshape(-1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 100, 50)).save(buffer, format="JPEG")
    return buffer.getvalue()


def sample_rows(n: int = 6) -> pd.DataFrame:
    return D.packaged_metadata().head(n)


def write_kaggle_zip(path: Path, rows: pd.DataFrame, prefix: str = "",
                     lower_copies: bool = True, skip_images: int = 0) -> None:
    """A zip shaped like Kaggle's archive: CSV, both part folders in both cases, hmnist CSVs."""
    jpeg = jpeg_bytes()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(prefix + D.METADATA_FILE, rows.to_csv(index=False))
        for k, image_id in enumerate(rows["image_id"]):
            part = D.IMAGE_FOLDERS[k % 2]
            if k >= skip_images:
                archive.writestr(f"{prefix}{part}/{image_id}.jpg", jpeg)
            if lower_copies:
                archive.writestr(f"{prefix}{part.lower()}/{image_id}.jpg", jpeg)
        archive.writestr(prefix + "hmnist_28_28_RGB.csv", "pixel0000,label\n12,2\n")


def write_ham_folder(root: Path, rows: pd.DataFrame) -> None:
    """What kagglehub leaves behind: the CSV and the images at the top of a folder."""
    (root / D.IMAGE_FOLDERS[0]).mkdir(parents=True)
    rows.to_csv(root / D.METADATA_FILE, index=False)
    for image_id in rows["image_id"]:
        (root / D.IMAGE_FOLDERS[0] / f"{image_id}.jpg").write_bytes(jpeg_bytes())


def fake_medmnist(calls: list[dict[str, object]], fail: bool = False) -> types.ModuleType:
    """A ``medmnist`` whose DermaMNIST writes a look-alike npz where the real one would."""
    module = types.ModuleType("medmnist")

    class DermaMNIST:
        def __init__(self, split: str, download: bool = False, size: int | None = None,
                     root: str = "~/.medmnist") -> None:
            calls.append({"split": split, "download": download, "size": size, "root": root})
            if not os.path.isdir(root):
                raise RuntimeError("Failed to setup the default `root` directory.")
            if fail:
                raise RuntimeError("Something went wrong when downloading!")
            write_npz(Path(root) / f"dermamnist_{size}.npz")

    module.DermaMNIST = DermaMNIST  # type: ignore[attr-defined]
    return module


def hidden_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.is_dir() else []


# --------------------------------------------------------------------------- DermaMNIST folder


def test_dermamnist_folder_runs_the_pipeline(tmp_path: Path) -> None:
    arrays = write_npz(tmp_path / "dermamnist_224.npz")
    root = S.dermamnist_to_folder(tmp_path / "dermamnist_224.npz", tmp_path / "derma")
    assert root == tmp_path / "derma" and not hidden_leftovers(tmp_path)
    meta = D.load_metadata(root)
    n = sum(SPLIT_PER_CLASS.values()) * len(D.CLASSES)
    assert len(meta) == n and meta["lesion_id"].nunique() == n
    assert list(meta.columns[: len(D.METADATA_COLUMNS)]) == list(D.METADATA_COLUMNS)
    labels = np.concatenate([arrays[f"{s}_labels"].ravel() for s in SPLIT_PER_CLASS])
    assert list(meta["label"]) == list(labels)
    assert list(meta["dx"]) == [D.CLASSES[k] for k in labels]
    assert meta["image_id"].iloc[0] == "DERMA_train_00001"
    assert meta["lesion_id"].iloc[0] == "DERMA_L_train_00001"
    assert meta["dermamnist_split"].value_counts().to_dict() == {
        s: k * len(D.CLASSES) for s, k in SPLIT_PER_CLASS.items()}
    assert meta["age"].isna().all() and set(meta["sex"]) == {"unknown"}
    first = np.asarray(Image.open(meta["path"].iloc[0]), dtype=float)
    assert first.shape == (SIZE, SIZE, 3)
    assert np.abs(first - arrays["train_images"][0]).mean() < 3  # JPEG q95 of a smooth ramp
    splits = D.lesion_split(meta, seed=0)
    assert sum(len(part) for part in splits.values()) == n
    assert all(set(part["dx"]) == set(D.CLASSES) for part in splits.values())
    x, y = D.LesionDataset(splits["test"], D.eval_transform(24))[0]
    assert x.shape == (3, 24, 24) and y == splits["test"]["label"].iloc[0]


def test_dermamnist_folder_is_written_once(tmp_path: Path) -> None:
    write_npz(tmp_path / "a.npz")
    root = S.dermamnist_to_folder(tmp_path / "a.npz", tmp_path / "derma")
    csv = root / D.METADATA_FILE
    stamp, content = csv.stat().st_mtime_ns, csv.read_bytes()
    assert S.dermamnist_to_folder(tmp_path / "a.npz", root) == root
    assert csv.stat().st_mtime_ns == stamp and csv.read_bytes() == content
    write_npz(tmp_path / "b.npz", seed=1)
    with pytest.raises(FileExistsError, match="another file"):
        S.dermamnist_to_folder(tmp_path / "b.npz", root)


def test_dermamnist_folder_refusals(tmp_path: Path) -> None:
    write_npz(tmp_path / "d.npz")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        S.dermamnist_to_folder(tmp_path / "d.npz", busy)
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    with pytest.raises(FileNotFoundError, match="medmnist"):
        S.dermamnist_to_folder(tmp_path / "missing.npz", tmp_path / "out")
    with np.load(tmp_path / "d.npz") as npz:
        gray = {k: npz[k][..., 0] if k.endswith("images") else npz[k] for k in npz.files}
    np.savez(tmp_path / "gray.npz", **gray)
    with pytest.raises(ValueError, match="train_images"):
        S.dermamnist_to_folder(tmp_path / "gray.npz", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not hidden_leftovers(tmp_path)


def test_download_dermamnist_with_fake_medmnist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setitem(sys.modules, "medmnist", fake_medmnist(calls))
    npz = S.download_dermamnist(tmp_path / "new" / "folder", size=224)
    assert npz == tmp_path / "new" / "folder" / "dermamnist_224.npz" and npz.is_file()
    assert calls == [{"split": "val", "download": True, "size": 224,
                      "root": str(tmp_path / "new" / "folder")}]
    assert set(D.load_dermamnist(npz)) == {"train", "val", "test"}
    assert S.dermamnist_file_name(28) == "dermamnist.npz"
    with pytest.raises(ValueError, match="sizes"):
        S.download_dermamnist(tmp_path, size=100)


def test_download_dermamnist_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "medmnist", None)  # import fails
    with pytest.raises(RuntimeError, match="medmnist"):
        S.download_dermamnist(tmp_path)
    monkeypatch.setitem(sys.modules, "medmnist", fake_medmnist([], fail=True))
    with pytest.raises(RuntimeError, match="went wrong") as err:
        S.download_dermamnist(tmp_path)
    assert D.DERMAMNIST_ZENODO in str(err.value) and "dermamnist_224.npz" in str(err.value)


# --------------------------------------------------------------------------- use_data


def test_use_data_demo_leaves_the_environment_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert C.use_data("demo") is None
    assert "HAM10000_DIR" not in os.environ and "nothing to download" in capsys.readouterr().out
    monkeypatch.setenv("HAM10000_DIR", "/somewhere/HAM10000")
    assert C.use_data("demo") is None
    assert os.environ["HAM10000_DIR"] == "/somewhere/HAM10000"
    assert "/somewhere/HAM10000" in capsys.readouterr().out


def test_use_data_unknown_source() -> None:
    with pytest.raises(ValueError, match=r"source.*'ham'") as err:
        C.use_data("ham")
    assert all(source in str(err.value) for source in C.DATA_SOURCES)
    assert "HAM10000_DIR" not in os.environ


def test_use_data_kaggle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    fetched = tmp_path / "kaggle-cache"
    write_ham_folder(fetched, sample_rows())
    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(
        dataset_download=lambda handle: str(fetched)))
    root = C.use_data("ham10000-kaggle")
    assert root == tmp_path / "data" / "HAM10000" and root.resolve() == fetched.resolve()
    assert os.environ["HAM10000_DIR"] == str(root)
    cfg = load_config()
    assert cfg.profile == "full" and cfg.data_dir == root
    assert len(D.load_metadata(cfg.data_dir)) == 6
    out = capsys.readouterr().out
    assert "CC BY-NC 4.0" in out and "CC BY-NC-SA 4.0" in out and "Tschandl" in out


def test_download_ham10000_failures_point_to_the_other_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed download never tells the student to call download_ham10000 again."""
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # import fails
    with pytest.raises(RuntimeError, match="kagglehub") as missing:
        S.download_ham10000(tmp_path / "HAM10000")

    def offline(handle: str) -> str:
        raise ConnectionError("no route to host")

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=offline))
    with pytest.raises(RuntimeError, match="no route to host") as failed:
        S.download_ham10000(tmp_path / "HAM10000")
    for err in (missing, failed):
        message = str(err.value)
        assert "download_ham10000" not in message
        assert "zip_path=" in message and "HAM10000_DIR" in message
        assert f"kaggle.com/datasets/{D.KAGGLE_HANDLE}" in message and "DBW86T" in message
    assert not (tmp_path / "HAM10000").exists()


def test_use_data_zip_from_kaggle(tmp_path: Path) -> None:
    write_kaggle_zip(tmp_path / "archive.zip", sample_rows())
    root = C.use_data("ham10000-zip")
    assert root == tmp_path / "data" / "HAM10000" and os.environ["HAM10000_DIR"] == str(root)
    names = sorted(p.name for p in root.iterdir())
    assert names == sorted([*D.IMAGE_FOLDERS, D.METADATA_FILE, "hmnist_28_28_RGB.csv"])
    meta = D.load_metadata(root)
    assert {Path(p).parent.name for p in meta["path"]} == set(D.IMAGE_FOLDERS)
    assert not hidden_leftovers(tmp_path / "data")
    stamp = (root / D.METADATA_FILE).stat().st_mtime_ns
    (tmp_path / "archive.zip").unlink()  # the extracted folder is reused without the zip
    assert C.use_data("ham10000-zip") == root
    assert (root / D.METADATA_FILE).stat().st_mtime_ns == stamp


def test_use_data_zip_with_a_subfolder(tmp_path: Path) -> None:
    write_kaggle_zip(tmp_path / "my-download.zip", sample_rows(), prefix="archive/")
    root = C.use_data("ham10000-zip", folder="store", zip_path="my-download.zip")
    assert root == tmp_path / "store" / "HAM10000" / "archive"
    assert os.environ["HAM10000_DIR"] == str(root) and len(D.load_metadata(root)) == 6
    assert not (root / "ham10000_images_part_1").exists()


@pytest.mark.parametrize(
    "member", ["../evil.txt", "/tmp/evil.txt", "HAM10000_images_part_1/../../evil.txt"])
def test_use_data_zip_refuses_unsafe_members(tmp_path: Path, member: str) -> None:
    write_kaggle_zip(tmp_path / "HAM10000.zip", sample_rows())
    with zipfile.ZipFile(tmp_path / "HAM10000.zip", "a") as archive:
        archive.writestr(member, "outside")
    with pytest.raises(ValueError, match="outside") as err:
        C.use_data("ham10000-zip")
    assert member in str(err.value)
    assert not (tmp_path.parent / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "data" / "HAM10000").exists() and "HAM10000_DIR" not in os.environ


def test_use_data_zip_refuses_incomplete_zip(tmp_path: Path) -> None:
    write_kaggle_zip(tmp_path / "HAM10000.zip", sample_rows(), lower_copies=False, skip_images=1)
    with pytest.raises(FileNotFoundError, match=r"1 of 6"):
        C.use_data("ham10000-zip")
    assert not (tmp_path / "data" / "HAM10000").exists()
    assert not hidden_leftovers(tmp_path / "data") and "HAM10000_DIR" not in os.environ
    (tmp_path / "HAM10000.zip").write_text("not a zip")
    with pytest.raises(ValueError, match="not a zip"):
        C.use_data("ham10000-zip")


def test_use_data_zip_missing_outside_colab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.colab", None)  # not in Colab
    with pytest.raises(FileNotFoundError, match="zip_path") as err:
        C.use_data("ham10000-zip")
    assert all(name in str(err.value) for name in C.ZIP_NAMES)
    with pytest.raises(FileNotFoundError, match="nowhere.zip"):
        C.use_data("ham10000-zip", zip_path="nowhere.zip")


def fake_colab(monkeypatch: pytest.MonkeyPatch, upload: object) -> None:
    """Put a ``google.colab`` whose ``files.upload`` is ``upload`` into ``sys.modules``."""
    colab = types.ModuleType("google.colab")
    colab.files = types.SimpleNamespace(upload=upload)  # type: ignore[attr-defined]
    google = types.ModuleType("google")
    google.colab = colab  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)


@pytest.mark.parametrize("saves_to_cwd", [True, False])
def test_use_data_zip_uploaded_in_colab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saves_to_cwd: bool
) -> None:
    """A second upload of ``skin.zip`` is saved by Colab as ``skin (1).zip``; that one is used."""
    source = tmp_path / "elsewhere" / "upload.zip"
    source.parent.mkdir()
    write_kaggle_zip(source, sample_rows())
    (tmp_path / "skin.zip").write_bytes(b"an earlier, unfinished upload")
    asked = []

    def upload() -> dict[str, bytes]:  # like Colab: saves to a free name, returns the bytes
        asked.append(True)
        if saves_to_cwd:
            (Path.cwd() / "skin (1).zip").write_bytes(source.read_bytes())
        return {"notes.txt": b"", "skin.zip": source.read_bytes()}

    fake_colab(monkeypatch, upload)
    root = C.use_data("ham10000-zip", upload=True)
    assert asked == [True] and len(D.load_metadata(root)) == 6
    assert (tmp_path / "skin (1).zip").read_bytes() == source.read_bytes()
    assert (tmp_path / "skin.zip").read_bytes() == b"an earlier, unfinished upload"
    assert not (tmp_path / "skin (2).zip").exists()
    assert os.environ["HAM10000_DIR"] == str(tmp_path / "data" / "HAM10000")


def test_colab_refuses_the_upload_box_for_the_kaggle_zip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without upload=True the box is not opened: the error gives the two routes that work."""
    asked = []
    fake_colab(monkeypatch, lambda: asked.append(True) or {})
    with pytest.raises(FileNotFoundError) as err:
        C.use_data("ham10000-zip")
    message = str(err.value)
    assert not asked and "HAM10000_DIR" not in os.environ
    assert "5.2 GB" in message and "1 GB" in message
    assert "drive.mount('/content/drive')" in message and "zip_path=" in message
    assert "'ham10000-kaggle'" in message and "no Kaggle account" in message


def test_use_data_dermamnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "medmnist", fake_medmnist([]))
    root = C.use_data("dermamnist")
    assert root == tmp_path / "data" / "DermaMNIST-224"
    assert (tmp_path / "data" / "dermamnist" / "dermamnist_224.npz").is_file()
    assert os.environ["HAM10000_DIR"] == str(root) and load_config().data_dir == root
    assert len(D.load_metadata(root)) == sum(SPLIT_PER_CLASS.values()) * len(D.CLASSES)
    out = capsys.readouterr().out
    assert "no lesion ids" in out and "both sides" in out and "CC BY-NC 4.0" in out
