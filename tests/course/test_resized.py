"""helpers.course.resized: the resized copy of HAM10000 in the course folder (issue 24),
made once, known by its original's content, and enough on its own, so that a later
runtime with no data folder (or a student who fetched the teacher's published cache)
neither downloads nor resizes nor trains."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from standins import Trained, no_training, tiny_for

from helpers import data as D
from helpers import models
from helpers.config import load_config
from helpers.course import colab as C
from helpers.course import publish, resized
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
