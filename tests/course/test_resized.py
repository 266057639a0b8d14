"""helpers.course.resized: the resized copy of HAM10000 in the course folder (issue 24),
made once, known by its original's content, and enough on its own, so that a later
runtime with no data folder (or a student who fetched the teacher's published cache)
neither downloads nor resizes nor trains."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from standins import Trained, no_training, tiny_for

from helpers import data as D
from helpers import models
from helpers.config import load_config
from helpers.course import colab as C
from helpers.course import publish, resized, sources
from helpers.course.prepare import prepare_metadata
from helpers.demo import sets as DM
from helpers.models import checkpoint_meta, checkpoint_path, load_or_train, save_checkpoint


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HAM10000-layout folder with masks, images 48 px (a run at 32 px shrinks them)."""
    return DM.make_demo_dataset(tmp_path_factory.mktemp("data") / "HAM10000", 40, 48, seed=0)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("HAM10000_DIR", "TUTORIAL_PROFILE", "TUTORIAL_HOME", "TUTORIAL_CACHE",
                 "TUTORIAL_CACHE_URL", "TUTORIAL_CACHE_SHA256", "TUTORIAL_CHECKPOINT_URL",
                 "TUTORIAL_CHECKPOINT_SHA256"):
        monkeypatch.setitem(os.environ, name, "")
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def _no_resizing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resized, "_resize_one", lambda *a: (_ for _ in ()).throw(Trained))


def test_the_copy_is_a_smaller_ham10000_folder_with_its_originals_identity(original, tmp_path):
    copy = resized.resized_copy(original, 32, tmp_path / "cache", progress=False)
    fingerprint = resized.data_fingerprint(original)
    assert copy.name == f"ham10000-32px-{fingerprint[:12]}"
    assert resized.data_fingerprint(copy) == fingerprint and resized.copy_size(copy) == 32
    assert resized.copy_size(original) is None
    before, after = D.load_metadata(original), D.load_metadata(copy)
    assert after["image_id"].tolist() == before["image_id"].tolist()
    assert after["dx"].tolist() == before["dx"].tolist()
    for row in after.head(5).itertuples():
        with Image.open(row.path) as img, Image.open(row.mask_path) as mask:
            assert min(img.size) == 32 and mask.size == img.size
            assert set(np.unique(np.asarray(mask))) <= {0, 255}  # nearest: still binary
    assert (copy / D.METADATA_FILE).read_bytes() == (original / D.METADATA_FILE).read_bytes()


def test_a_second_call_or_the_same_data_elsewhere_resizes_nothing(original, tmp_path,
                                                                  monkeypatch) -> None:
    copy = resized.resized_copy(original, 32, tmp_path / "cache", progress=False)
    _no_resizing(monkeypatch)
    assert resized.resized_copy(original, 32, tmp_path / "cache", progress=False) == copy
    elsewhere = Path(shutil.copytree(original, tmp_path / "drive" / "HAM10000"))
    assert resized.resized_copy(elsewhere, 32, tmp_path / "cache", progress=False) == copy
    assert resized.resized_copy(copy, 32, tmp_path / "cache") == copy  # a copy is its own


def test_changed_data_gets_another_copy(original, tmp_path) -> None:
    other = Path(shutil.copytree(original, tmp_path / "other"))
    image = sorted(other.rglob("*.jpg"))[0]
    image.write_bytes(image.read_bytes() + b"\0")
    first = resized.resized_copy(original, 32, tmp_path / "cache", progress=False)
    second = resized.resized_copy(other, 32, tmp_path / "cache", progress=False)
    assert first != second and resized.data_fingerprint(first) != resized.data_fingerprint(second)


def test_an_unfinished_copy_is_not_data_and_is_finished_by_the_next_run(original,
                                                                       tmp_path) -> None:
    cache = tmp_path / "cache"
    copy = resized.resized_copy(original, 32, cache, progress=False)
    (copy / resized.ORIGIN_FILE).unlink()  # as if the runtime died before the end
    victim = sorted((copy / "images").iterdir())[3]
    victim.unlink()
    assert resized.find_resized_copy(cache) is None
    assert resized.resized_copy(original, 32, cache, progress=False) == copy
    assert victim.is_file() and resized.find_resized_copy(cache) == copy


def test_a_copy_smaller_than_the_run_is_refused(original, tmp_path) -> None:
    copy = resized.resized_copy(original, 32, tmp_path / "cache", progress=False)
    with pytest.raises(ValueError, match=r"32 px.*40 px"):
        resized.resized_copy(copy, 40, tmp_path / "cache")


def test_a_larger_copy_makes_a_smaller_one_with_the_same_identity(original, tmp_path) -> None:
    big = resized.resized_copy(original, 40, tmp_path / "cache", progress=False)
    small = resized.resized_copy(big, 32, tmp_path / "cache", progress=False)
    assert resized.data_fingerprint(small) == resized.data_fingerprint(original)
    assert resized.find_resized_copy(tmp_path / "cache") == big  # the largest is the data


def _run(data_dir: Path | str):
    return load_config(profile="smoke", dataset="ham10000", data_dir=data_dir, image_size=32,
                       num_workers=0, seed=0)


def _runtime_one(original: Path, env: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Notebook 02 in runtime 1: the data on hand, the course folder set; the run reads the data
    (making the resized copy) and its checkpoint is saved. Returns the course folder."""
    home = tmp_path / "course"
    env.setenv("TUTORIAL_HOME", str(home))
    first = _run(original)
    prepare_metadata(first)  # training's first step: makes the copy in the course cache
    save_checkpoint(tiny_for(first), checkpoint_path(first),
                    **checkpoint_meta(first, metrics={"balanced_accuracy": 0.5}))
    return home


def _fresh_runtime(env: pytest.MonkeyPatch, tmp_path: Path, name: str) -> Path:
    """Another runtime: an empty working folder, no data, every download refused."""
    fresh = tmp_path / name
    fresh.mkdir()
    env.chdir(fresh)
    env.delenv("HAM10000_DIR", raising=False)
    for how in ("_use_kaggle", "_use_zip", "_use_dermamnist"):
        env.setattr(C, how, lambda *a, **k: (_ for _ in ()).throw(Trained))
    env.setattr(models, "fit", no_training)
    _no_resizing(env)
    return fresh


def test_a_runtime_with_no_data_uses_the_course_folder_and_trains_nothing(
        original, tmp_path, env, capsys) -> None:
    home = _runtime_one(original, env, tmp_path)
    gone = Path(shutil.move(original, tmp_path / "away"))  # runtime 2 has no data folder at all
    try:
        _fresh_runtime(env, tmp_path, "runtime2")
        root = C.use_data("ham10000-kaggle", course_folder=home)
        assert "nothing to download" in capsys.readouterr().out
        assert root.is_relative_to(home / "cache") and os.environ["HAM10000_DIR"] == str(root)
        assert load_config().profile == "full"  # the copy counts as real data
        model, meta = load_or_train(_run(root), progress=False)
        assert "Loaded" in capsys.readouterr().out and meta["metrics"]["balanced_accuracy"] == 0.5
        assert prepare_metadata(_run(root))["path"].str.startswith(str(root)).all()
    finally:
        shutil.move(gone, original)


def test_a_student_with_only_the_published_cache_needs_no_data(original, tmp_path, env,
                                                               server, routes, capsys) -> None:
    home = _runtime_one(original, env, tmp_path)
    lines = publish.pack_folder(home / "cache", tmp_path / "cache.tar")
    body = (tmp_path / "cache.tar").read_bytes()
    assert hashlib.sha256(body).hexdigest() in lines
    routes["cache.tar"] = body
    env.setenv("TUTORIAL_CACHE_URL", f"{server}/cache.tar")
    env.setenv("TUTORIAL_CACHE_SHA256", hashlib.sha256(body).hexdigest())
    _fresh_runtime(env, tmp_path, "runtime3")
    root = C.use_data("ham10000-zip", course_folder=tmp_path / "student")
    out = capsys.readouterr().out
    assert "Fetching the published cache" in out and "nothing to download" in out
    assert root.is_relative_to(tmp_path / "student" / "cache")
    record = json.loads((root / resized.ORIGIN_FILE).read_text())
    assert record["fingerprint"] == resized.data_fingerprint(original) and record["size"] == 32
    assert len(D.load_metadata(root)) == 40


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
        original, tmp_path, env, server, routes, capsys) -> None:
    env.setenv("TUTORIAL_HOME", str(tmp_path / "course"))
    teacher = tmp_path / "teacher"
    made = resized.resized_copy(original, 32, teacher, progress=False)
    publish.pack_folder(teacher, tmp_path / "cache.tar")
    body = (tmp_path / "cache.tar").read_bytes()
    routes["cache.tar"] = body
    env.setenv("TUTORIAL_CACHE_URL", f"{server}/cache.tar")
    env.setenv("TUTORIAL_CACHE_SHA256", hashlib.sha256(body).hexdigest())
    # the student's runtime died while resizing the same data: the same folder, unfinished
    cache = tmp_path / "course" / "cache"
    stale = resized.resized_copy(original, 32, cache, progress=False)
    (stale / resized.ORIGIN_FILE).unlink()
    for image in sorted((stale / "images").iterdir())[::2]:
        image.unlink()
    assert stale.name == made.name and resized.find_resized_copy(cache) is None
    env.setattr(C, "_use_zip", lambda *a, **k: (_ for _ in ()).throw(Trained))
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
