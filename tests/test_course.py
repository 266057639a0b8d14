"""The course folder (issue 24): ``TUTORIAL_HOME``, ``use_data(course_folder=...)``, and data
identified by content, so that a later runtime (another working folder, another copy of the data)
reuses the checkpoint and trains nothing."""

from __future__ import annotations

import os
import shutil
import sys
import types
from pathlib import Path

import pytest
from torch import nn

from helpers import models
from helpers.config import load_config
from helpers.course import colab as C
from helpers.demo import sets as DM
from helpers.models import (
    build_model,
    checkpoint_meta,
    checkpoint_path,
    load_or_train,
    save_checkpoint,
)


class _Trained(Exception):
    """Raised by a stand-in for fit: load_or_train decided to train."""


def _no_training(*args, **kwargs):
    raise _Trained


def _tiny(cfg) -> nn.Module:
    return build_model(cfg.arch, pretrained=False, dilated_layer4=cfg.dilated_layer4)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HAM10000_DIR", "TUTORIAL_PROFILE", "TUTORIAL_HOME", "TUTORIAL_CACHE"):
        monkeypatch.setitem(os.environ, name, "")
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture(scope="module")
def data_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return DM.make_demo_dataset(tmp_path_factory.mktemp("data") / "A", 40, 32, seed=0)


def _real(root: Path, **more):
    return load_config(profile="smoke", dataset="ham10000", data_dir=root, image_size=32,
                       num_workers=0, **more)


def test_tutorial_home_holds_the_cache_outputs_and_checkpoints(tmp_path, clean_env) -> None:
    clean_env.setenv("TUTORIAL_HOME", str(tmp_path / "course"))
    cfg = load_config(profile="smoke")
    assert cfg.cache_dir == tmp_path / "course" / "cache"
    assert cfg.output_dir == tmp_path / "course" / "outputs"
    assert checkpoint_path(cfg).is_relative_to(tmp_path / "course")
    clean_env.setenv("TUTORIAL_CACHE", str(tmp_path / "elsewhere"))  # the explicit cache wins
    assert load_config(profile="smoke").cache_dir == tmp_path / "elsewhere"


def test_use_data_sets_the_course_folder(tmp_path, clean_env, capsys) -> None:
    clean_env.chdir(tmp_path)
    C.use_data("demo", course_folder=tmp_path / "course")
    assert os.environ["TUTORIAL_HOME"] == str(tmp_path / "course")
    assert (tmp_path / "course").is_dir()
    assert "course folder" in capsys.readouterr().out.lower()


def test_a_drive_folder_outside_colab_says_what_to_do(tmp_path, clean_env) -> None:
    clean_env.setitem(sys.modules, "google.colab", None)  # not in Colab: the import fails
    with pytest.raises(RuntimeError, match="Google Drive.*only inside Colab"):
        C.use_data("demo", course_folder="/content/drive/MyDrive/gradcam-course")
    assert "TUTORIAL_HOME" not in os.environ


def test_a_drive_folder_in_colab_mounts_drive(tmp_path, clean_env, capsys) -> None:
    mounted: list[str] = []
    fake_drive = types.SimpleNamespace(mount=lambda where: mounted.append(where))
    fake = types.ModuleType("google.colab")
    fake.drive = fake_drive  # type: ignore[attr-defined]
    clean_env.setitem(sys.modules, "google.colab", fake)
    clean_env.setattr(C, "DRIVE_ROOT", str(tmp_path / "drive"))
    C.use_data("demo", course_folder=tmp_path / "drive" / "MyDrive" / "course")
    assert mounted == [str(tmp_path / "drive")]
    assert "Mounting Google Drive" in capsys.readouterr().out


def test_the_same_data_at_another_path_reuses_the_checkpoint(data_set, tmp_path,
                                                             clean_env, capsys) -> None:
    copy = Path(shutil.copytree(data_set, tmp_path / "elsewhere" / "HAM10000"))
    out = dict(output_dir=tmp_path / "course" / "outputs", cache_dir=tmp_path / "cache")
    first, second = _real(data_set, **out), _real(copy, **out)
    assert models.data_identity(first) == models.data_identity(second)
    save_checkpoint(_tiny(first), checkpoint_path(first),
                    **checkpoint_meta(first, metrics={"balanced_accuracy": 0.5}))
    clean_env.setattr(models, "fit", _no_training)
    load_or_train(second, progress=False)
    assert "Loaded" in capsys.readouterr().out


@pytest.mark.parametrize("change", ["one-image-resized", "one-row-dropped"])
def test_other_data_is_refused(change, data_set, tmp_path, clean_env, capsys) -> None:
    other = Path(shutil.copytree(data_set, tmp_path / "other"))
    if change == "one-image-resized":
        image = sorted(other.rglob("*.jpg"))[0]
        image.write_bytes(image.read_bytes() + b"\0")
    else:
        csv = other / "HAM10000_metadata.csv"
        lines = csv.read_text().splitlines(keepends=True)
        csv.write_text("".join(lines[:-1]))
    out = dict(output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    first = _real(data_set, **out)
    save_checkpoint(_tiny(first), checkpoint_path(first),
                    **checkpoint_meta(first, metrics={"balanced_accuracy": 0.5}))
    clean_env.setattr(models, "prepare_metadata", _no_training)  # the first step of training
    with pytest.raises(_Trained):
        load_or_train(_real(other, **out), progress=False)
    assert "fingerprint" in capsys.readouterr().out


def test_a_fresh_working_folder_with_the_course_folder_trains_nothing(tmp_path, clean_env,
                                                                      capsys) -> None:
    """Runtime 1 trains into the course folder; runtime 2 (another cwd, no data/) loads."""
    clean_env.setenv("TUTORIAL_HOME", str(tmp_path / "course"))
    clean_env.chdir(tmp_path)
    first = load_config(profile="smoke", num_workers=0, seed=0)
    DM.make_demo_dataset(DM.demo_dataset_dir(first), first.n_demo_images, first.image_size,
                         seed=first.seed)  # notebook 02 wrote the demo set into the cache
    save_checkpoint(_tiny(first), checkpoint_path(first),
                    **checkpoint_meta(first, metrics={"balanced_accuracy": 0.5}))
    fresh = tmp_path / "runtime2"
    fresh.mkdir()
    clean_env.chdir(fresh)
    calls: list[object] = []
    clean_env.setattr(models, "fit", lambda *a, **k: calls.append(a) or _no_training())
    second = load_config(profile="smoke", num_workers=0, seed=0)
    assert second.output_dir == first.output_dir and second.cache_dir == first.cache_dir
    _, meta = load_or_train(second, progress=False)
    assert calls == [] and "Loaded" in capsys.readouterr().out
    assert meta["metrics"]["balanced_accuracy"] == 0.5
    assert not any(fresh.iterdir())  # nothing written into the fresh working folder
