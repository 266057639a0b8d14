"""A resized copy is the data it claims to be (issue 36): editing a finished copy's table (or
its images) changes its fingerprint, so no checkpoint of other data is reused; the zip route
uses only a copy made from that zip's data; an unfinished copy never stands in for a download."""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from test_course import _Trained  # (tests/test_course.py)
from test_published import ROUTES, server  # noqa: F401  (the loopback server fixture)
from test_resized import env, original  # noqa: F401  (fixtures)

from helpers import data as D
from helpers.course import colab as C
from helpers.course import publish, resized, sources


def zip_of(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return archive


def edit_table(folder: Path) -> None:
    csv = folder / D.METADATA_FILE
    table = pd.read_csv(csv)
    table.loc[0, "dx"] = "mel" if table.loc[0, "dx"] != "mel" else "nv"  # one label changed
    table.to_csv(csv, index=False)


def test_an_edited_table_in_a_finished_copy_changes_its_fingerprint(original,  # noqa: F811
                                                                    tmp_path) -> None:
    cache = tmp_path / "cache"
    copy = resized.resized_copy(original, 32, cache, progress=False)
    assert resized.data_fingerprint(copy) == resized.data_fingerprint(original)
    edit_table(copy)
    assert resized.data_fingerprint(copy) != resized.data_fingerprint(original)
    assert resized.copy_size(copy) is None  # no longer the copy of its original
    assert resized.find_resized_copy(cache) is None
    # the next run of the original restores its copy
    assert resized.resized_copy(original, 32, cache, progress=False) == copy
    assert (copy / D.METADATA_FILE).read_bytes() == (original / D.METADATA_FILE).read_bytes()
    assert resized.data_fingerprint(copy) == resized.data_fingerprint(original)
    assert resized.find_resized_copy(cache) == copy


def test_a_removed_image_in_a_finished_copy_changes_its_fingerprint(original,  # noqa: F811
                                                                    tmp_path) -> None:
    copy = resized.resized_copy(original, 32, tmp_path / "cache", progress=False)
    sorted((copy / "images").iterdir())[0].unlink()
    assert resized.data_fingerprint(copy) != resized.data_fingerprint(original)


@pytest.mark.parametrize("prefix", ["", "HAM10000/"])
def test_a_zips_fingerprint_is_its_extractions(original, tmp_path, prefix) -> None:  # noqa: F811
    archive = zip_of(original, tmp_path / "HAM10000.zip", prefix)
    root = sources.extract_ham10000_zip(archive, tmp_path / "out")
    assert sources.zip_fingerprint(archive) == resized.data_fingerprint(root)
    assert sources.zip_fingerprint(archive) == resized.data_fingerprint(original)


def test_the_zip_route_uses_only_a_copy_of_that_zips_data(original, tmp_path, env,  # noqa: F811
                                                         capsys) -> None:
    env.setenv("TUTORIAL_HOME", str(tmp_path / "course"))
    cache = tmp_path / "course" / "cache"
    copy = resized.resized_copy(original, 32, cache, progress=False)
    other = Path(shutil.copytree(original, tmp_path / "other"))
    edit_table(other)
    other_zip = zip_of(other, tmp_path / "other.zip")
    used = []
    env.setattr(C, "_use_zip", lambda base, zip_path, upload: used.append(zip_path) or other)
    assert C.use_data("ham10000-zip", zip_path=other_zip) == other
    assert used == [other_zip] and "nothing to download" not in capsys.readouterr().out
    same_zip = zip_of(original, tmp_path / "same.zip")
    assert C.use_data("ham10000-zip", zip_path=same_zip) == copy
    assert "nothing to download" in capsys.readouterr().out and used == [other_zip]


def test_an_unfinished_copy_in_the_cache_is_replaced_by_the_published_one(
        original, tmp_path, env, server, capsys) -> None:  # noqa: F811
    env.setenv("TUTORIAL_HOME", str(tmp_path / "course"))
    teacher = tmp_path / "teacher"
    made = resized.resized_copy(original, 32, teacher, progress=False)
    publish.pack_folder(teacher, tmp_path / "cache.tar")
    body = (tmp_path / "cache.tar").read_bytes()
    ROUTES["cache.tar"] = body
    env.setenv("TUTORIAL_CACHE_URL", f"{server}/cache.tar")
    env.setenv("TUTORIAL_CACHE_SHA256", hashlib.sha256(body).hexdigest())
    # the student's runtime died while resizing the same data: the same folder, unfinished
    cache = tmp_path / "course" / "cache"
    stale = resized.resized_copy(original, 32, cache, progress=False)
    (stale / resized.ORIGIN_FILE).unlink()
    for image in sorted((stale / "images").iterdir())[::2]:
        image.unlink()
    assert stale.name == made.name and resized.find_resized_copy(cache) is None
    env.setattr(C, "_use_zip", lambda *a, **k: (_ for _ in ()).throw(_Trained))
    root = C.use_data("ham10000-zip")
    assert root == stale and resized.find_resized_copy(cache) == stale
    assert len(D.load_metadata(root)) == len(D.load_metadata(original))
    assert "nothing to download" in capsys.readouterr().out
    assert sorted(os.listdir(stale / "images")) == sorted(os.listdir(made / "images"))


def test_a_zip_of_other_data_is_not_answered_by_an_earlier_extraction(
        original, tmp_path, env, capsys) -> None:  # noqa: F811
    env.setenv("TUTORIAL_HOME", str(tmp_path / "course"))
    first = zip_of(original, tmp_path / "first.zip")
    root = C.use_data("ham10000-zip", folder=tmp_path / "data", zip_path=first)
    other = Path(shutil.copytree(original, tmp_path / "other"))
    edit_table(other)
    second = zip_of(other, tmp_path / "second.zip")
    with pytest.raises(FileExistsError) as info:
        C.use_data("ham10000-zip", folder=tmp_path / "data", zip_path=second)
    said = str(info.value)
    assert "second.zip" in said and str(tmp_path / "data" / "HAM10000") in said
    assert "Delete" in said and "folder=" in said
    # the same zip again: the extraction is reused, nothing is extracted twice
    assert C.use_data("ham10000-zip", folder=tmp_path / "data", zip_path=first) == root
    assert "already extracted" in capsys.readouterr().out


def test_a_table_without_image_ids_is_named(tmp_path) -> None:
    (tmp_path / D.METADATA_FILE).write_text("lesion_id,dx\nHAM_1,nv\n")
    with pytest.raises(ValueError, match=r"HAM10000_metadata.csv has no image_id column"):
        resized.data_fingerprint(tmp_path)
