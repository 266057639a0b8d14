"""Bad inputs for helpers.course.sources: damaged or misplaced archives are refused with a
message that
names the archive and the fix, and nothing is left half-extracted."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from helpers.course import sources as S
from helpers.demo import sets as DM


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
    (lambda tmp: tmp / "missing.zip", FileNotFoundError, "missing.zip does not exist"),
    (lambda tmp: (tmp / "folder.zip").mkdir() or tmp / "folder.zip", IsADirectoryError,
     "is a folder; expected the downloaded zip"),
], ids=["missing", "folder"])
def test_a_zip_path_that_is_not_a_file_is_refused(make, error, phrase, tmp_path) -> None:
    with pytest.raises(error, match=phrase):
        S.extract_ham10000_zip(make(tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("notebook", ["99_no_such_notebook.ipynb", "02_finetune_resnet50",
                                      "../README.md", 2])
def test_colab_url_refuses_a_name_that_is_not_a_notebook_of_the_series(notebook) -> None:
    from helpers.course import colab

    with pytest.raises(ValueError, match="expected a notebook's file name.*02_finetune_resnet50"):
        colab.colab_url(notebook)
    assert colab.colab_url("02_finetune_resnet50.ipynb").endswith(
        "/notebooks/02_finetune_resnet50.ipynb")


def test_sync_notebook_names_a_missing_notebook(tmp_path) -> None:
    from helpers.course import colab

    with pytest.raises(FileNotFoundError, match="No notebook at .*02_x.ipynb.*colab"):
        colab.sync_notebook(tmp_path / "02_x.ipynb")
