"""helpers.course.sources: downloading HAM10000 (kagglehub faked) and extracting its zip;
damaged or misplaced archives are refused with a message that names the archive and the
fix, and nothing is left half-extracted."""

from __future__ import annotations

import sys
import types
import zipfile
from pathlib import Path

import pytest

from helpers import data as D
from helpers.course import sources as S
from helpers.demo import sets as DM

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


# --- bad inputs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("bad-sources")
    root = DM.make_demo_dataset(base / "demo", 21, 32, seed=0)
    archive = base / "HAM10000.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())
    return archive


def test_a_bad_crc_names_the_archive_the_member_and_the_fix(demo_zip, tmp_path) -> None:
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(demo_zip) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(".jpg"))
    data = bytearray(demo_zip.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF  # one byte of the member's stored data
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is damaged") as err:
        S.extract_ham10000_zip(damaged, tmp_path / "out")
    message = str(err.value)
    assert str(damaged) in message and info.filename in message
    assert "download it again" in message
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.zip"]  # no temporary folder


def test_the_intact_zip_extracts(demo_zip, tmp_path) -> None:
    root = S.extract_ham10000_zip(demo_zip, tmp_path / "out")
    assert (root / "HAM10000_metadata.csv").is_file()


@pytest.mark.parametrize("make, error, phrase", [
    (lambda tmp: tmp / "missing.zip", FileNotFoundError, r"missing\.zip.*not exist"),
    (lambda tmp: (tmp / "folder.zip").mkdir() or tmp / "folder.zip", IsADirectoryError,
     r"folder.*zip"),
], ids=["missing", "folder"])
def test_a_zip_path_that_is_not_a_file_is_refused(make, error, phrase, tmp_path) -> None:
    with pytest.raises(error, match=phrase):
        S.extract_ham10000_zip(make(tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_file_sha1_of_a_folder_says_so(tmp_path) -> None:
    from helpers.course.sources import file_sha1

    with pytest.raises(FileNotFoundError, match="folder"):
        file_sha1(tmp_path)
