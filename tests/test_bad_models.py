"""Bad inputs for helpers.models: checkpoint metadata, unreadable files, data identity.

One row per case. Every case that fails asserts that the files on disk are unchanged: a good
checkpoint is never replaced by one that cannot be loaded.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from helpers import models
from helpers.config import load_config
from helpers.demo import sets as DM
from helpers.models import (
    build_model,
    checkpoint_meta,
    checkpoint_path,
    load_checkpoint,
    load_or_train,
    save_checkpoint,
)


class Colour(enum.IntEnum):
    RED = 1


# --------------------------------------------------------------------------- metadata types

META_VALUES = [  # a value as notebooks produce it, and what load_checkpoint gives back
    ("np.float64", np.float64(0.85), 0.85),
    ("np.float32", np.float32(0.5), 0.5),
    ("np.int64", np.int64(7), 7),
    ("np.bool_", np.bool_(True), True),
    ("np.str_", np.str_("mel"), "mel"),
    ("np.datetime64", np.datetime64("2026-01-02T03:04:05"), "2026-01-02T03:04:05"),
    ("np.datetime64 NaT", np.datetime64("NaT"), None),
    ("np.timedelta64", np.timedelta64(90, "s"), 90.0),
    ("pd.Timestamp", pd.Timestamp("2026-01-02 03:04"), "2026-01-02T03:04:00"),
    ("pd.NaT", pd.NaT, None),
    ("pd.NA", pd.NA, None),
    ("pd.Timedelta", pd.Timedelta(minutes=2), 120.0),
    ("datetime", dt.datetime(2026, 1, 2, 3, 4), "2026-01-02T03:04:00"),
    ("date", dt.date(2026, 1, 2), "2026-01-02"),
    ("Series.max()", pd.Series([0.1, 0.7]).max(), 0.7),
    ("Series", pd.Series([1, 2], name="n"), {"index": [0, 1], "n": [1, 2]}),
    ("DataFrame", pd.DataFrame({"t": pd.to_datetime(["2026-01-02"]), "v": [np.float32(1)]}),
     {"index": [0], "t": ["2026-01-02T00:00:00"], "v": [1.0]}),
    ("2-D array", np.eye(2, dtype=np.int64), [[1, 0], [0, 1]]),
    ("datetime array", np.array(["2026-01-02"], dtype="datetime64[D]"), ["2026-01-02"]),
    ("str array", np.array(["a", "b"]), ["a", "b"]),
    ("0-d array", np.array(3.5), 3.5),
    ("object array", np.array([np.float64(1.5), "x"], dtype=object), [1.5, "x"]),
    ("tensor", torch.tensor([1.5, 2.5]), [1.5, 2.5]),
    ("Path", Path("outputs") / "a.pt", str(Path("outputs") / "a.pt")),
    ("tuple", (np.int64(1), np.float64(2.0)), [1, 2.0]),
    ("set", {np.str_("b"), "a"}, ["a", "b"]),
    ("IntEnum", Colour.RED, 1),
    ("nested", {"a": [{"b": np.float64(1.0)}], 3: np.int32(4)}, {"a": [{"b": 1.0}], "3": 4}),
    ("nan", np.float64("nan"), "nan"),
]


@pytest.mark.parametrize(("value", "expected"), [(v, e) for _, v, e in META_VALUES],
                         ids=[name for name, _, _ in META_VALUES])
def test_meta_value_round_trips_as_plain_python(value, expected) -> None:
    plain = models._plain({"value": value})
    buffer = io.BytesIO()
    torch.save(plain, buffer)
    buffer.seek(0)
    back = torch.load(buffer, weights_only=True)["value"]  # what load_checkpoint does
    if expected == "nan":
        assert type(back) is float and np.isnan(back)
    else:
        assert back == expected
        assert type(back) is type(expected)


def _tiny_resnet() -> nn.Module:
    torch.manual_seed(0)
    return build_model("resnet18", pretrained=False).eval()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid checkpoint whose meta holds one of every type above."""
    path = tmp_path_factory.mktemp("ckpt") / "good.pt"
    save_checkpoint(_tiny_resnet(), path, arch="resnet18",
                    **{name.replace(" ", "_"): v for name, v, _ in META_VALUES})
    return path


def test_save_checkpoint_with_numpy_and_pandas_meta_loads_back(good) -> None:
    model, meta = load_checkpoint(good, arch="resnet18")
    assert meta["np.float64"] == 0.85 and meta["pd.Timestamp"] == "2026-01-02T03:04:00"
    assert isinstance(model, nn.Module)


def test_the_issue_reproduction_loads(tmp_path) -> None:
    path = tmp_path / "a.pt"
    save_checkpoint(_tiny_resnet(), path, arch="resnet18", best=np.mean([.8, .9]))
    assert load_checkpoint(path)[1]["best"] == pytest.approx(0.85)


def test_unstorable_meta_leaves_the_good_checkpoint(good, tmp_path, disk_snapshot) -> None:
    target = tmp_path / "good.pt"
    target.write_bytes(good.read_bytes())
    before = disk_snapshot(tmp_path)
    with pytest.raises(TypeError, match=r"Cannot store object in checkpoint metadata \(meta\['x'"):
        save_checkpoint(_tiny_resnet(), target, arch="resnet18", x={"y": object()})
    assert disk_snapshot(tmp_path) == before


def test_meta_that_would_not_load_is_refused_before_the_rename(good, tmp_path, monkeypatch,
                                                               disk_snapshot) -> None:
    """The last guard: even if a conversion misses a type, the good file is not replaced."""
    target = tmp_path / "good.pt"
    target.write_bytes(good.read_bytes())
    before = disk_snapshot(tmp_path)
    monkeypatch.setattr(models, "_plain", lambda value, where="meta": value)  # a gap in _plain
    with pytest.raises((TypeError, pickle.UnpicklingError)):
        save_checkpoint(_tiny_resnet(), target, arch="resnet18", best=np.float64(0.85))
    assert disk_snapshot(tmp_path) == before
    load_checkpoint(target)  # still the good one


# --------------------------------------------------------------------------- unreadable files


def _lfs_pointer(path: Path, good: Path) -> None:
    path.write_text("version https://git-lfs.github.com/spec/v1\n"
                    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
                    "size 44786753\n")


def _random_bytes(path: Path, good: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(300))


def _html_page(path: Path, good: Path) -> None:
    path.write_text("<!DOCTYPE html><html><body>Not Found</body></html>")


def _empty(path: Path, good: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path, good: Path) -> None:
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])


def _pickled_object(path: Path, good: Path) -> None:
    torch.save({"state_dict": {}, "meta": {"classes": []}, "x": Colour}, path)


def _plain_tensor(path: Path, good: Path) -> None:
    torch.save(torch.zeros(3), path)


def _other_weights(path: Path, good: Path) -> None:
    torch.save({"state_dict": {"fc.weight": torch.zeros(7, 3)},
                "meta": {"arch": "resnet18", "classes": list(models.CLASSES)}}, path)


def _unknown_arch(path: Path, good: Path) -> None:
    torch.save({"state_dict": {}, "meta": {"arch": "vgg16", "classes": list(models.CLASSES)}},
               path)


def _a_folder(path: Path, good: Path) -> None:
    path.mkdir()


BAD_FILES = [  # how the file is made, error type, phrases in the message
    (_lfs_pointer, ValueError, ["is a git-lfs pointer", "git lfs pull", "Delete the file"]),
    (_random_bytes, ValueError, ["not a checkpoint (a git-lfs pointer?", "Delete the file"]),
    (_html_page, ValueError, ["not a checkpoint", "Delete the file"]),
    (_empty, ValueError, ["is an empty file", "Delete the file"]),
    (_truncated, ValueError, ["damaged or truncated checkpoint", "Delete the file"]),
    (_pickled_object, ValueError, ["pickled Python objects", "arbitrary code"]),
    (_plain_tensor, ValueError, ["not a checkpoint written by", "Delete the file"]),
    (_other_weights, ValueError, ["do not fit a resnet18", "Delete the file"]),
    (_unknown_arch, ValueError, ["'vgg16'", "cannot build"]),
    (_a_folder, IsADirectoryError, ["is a folder", "expected a checkpoint file"]),
]


@pytest.mark.parametrize(("make", "error", "phrases"), BAD_FILES,
                         ids=[m.__name__.strip("_") for m, _, _ in BAD_FILES])
def test_unreadable_checkpoint_says_what_it_is_and_what_to_do(make, error, phrases, good,
                                                              tmp_path, disk_snapshot) -> None:
    path = tmp_path / "model.pt"
    make(path, good)
    before = disk_snapshot(tmp_path)
    with pytest.raises(error) as info:
        load_checkpoint(path)
    for phrase in phrases:
        assert phrase in str(info.value)
    if phrases[0] != "pickled Python objects":
        assert "arbitrary code" not in str(info.value)
    assert disk_snapshot(tmp_path) == before


def test_a_torch_zip_that_is_not_a_checkpoint_is_not_called_code(tmp_path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    assert "damaged or truncated checkpoint" in str(info.value)


# --------------------------------------------------------------------------- data identity


class _Trained(Exception):
    """Raised by a stand-in for fit: load_or_train decided to train."""


@pytest.fixture(scope="module")
def two_data_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("two-sets")
    return (DM.make_demo_dataset(base / "A", 40, 32, seed=0),
            DM.make_demo_dataset(base / "B", 40, 32, seed=1))


def _no_training(*args, **kwargs):
    raise _Trained


def _saved_for(cfg) -> Path:
    path = checkpoint_path(cfg)
    save_checkpoint(_tiny_resnet(), path,
                    **checkpoint_meta(cfg, metrics={"balanced_accuracy": 0.5}))
    return path


def _real(tmp_path: Path, root: Path):
    return load_config(profile="smoke", dataset="ham10000", data_dir=root, image_size=32,
                       output_dir=tmp_path / "out", cache_dir=tmp_path / "cache", num_workers=0)


def test_load_or_train_does_not_reuse_a_model_of_other_data(two_data_sets, tmp_path,
                                                            monkeypatch, capsys) -> None:
    a, b = two_data_sets
    cfg_a, cfg_b = _real(tmp_path, a), _real(tmp_path, b)
    assert checkpoint_path(cfg_a) == checkpoint_path(cfg_b)  # the file name scheme is kept
    _saved_for(cfg_a)
    monkeypatch.setattr(models, "fit", _no_training)
    load_or_train(cfg_a, progress=False)  # the same data: loaded
    assert "Loaded" in capsys.readouterr().out
    with pytest.raises(_Trained):
        load_or_train(cfg_b, progress=False)
    said = capsys.readouterr().out
    assert "other settings or data" in said and "fingerprint" in said


def test_the_same_folder_with_other_contents_is_other_data(two_data_sets, tmp_path,
                                                           monkeypatch) -> None:
    a, b = two_data_sets
    root = tmp_path / "data"
    cfg = _real(tmp_path, root)
    os.symlink(a, root)
    _saved_for(cfg)
    root.unlink()
    os.symlink(b, root)  # the folder now holds other data (another download, another source)
    monkeypatch.setattr(models, "fit", _no_training)
    with pytest.raises(_Trained):
        load_or_train(cfg, progress=False)


@pytest.mark.parametrize("change", [dict(dataset="ham10000"), dict(seed=1)],
                         ids=["real-vs-demo", "other-seed"])
def test_data_identity_differs(change, tmp_path) -> None:
    # seed=0 explicitly: the run's TUTORIAL_SEED (e.g. 1) must not make "other-seed" the same
    base = dict(profile="smoke", cache_dir=tmp_path / "cache", output_dir=tmp_path / "out", seed=0)
    if change.get("dataset") == "ham10000":
        change = {**change, "data_dir": tmp_path}
    mine = models.data_identity(load_config(**base))
    other = models.data_identity(load_config(**{**base, **change}))
    assert mine != other and set(mine) == {"source", "fingerprint"}


def test_the_demo_set_in_another_cache_folder_is_the_same_data(tmp_path) -> None:
    base = dict(profile="smoke", output_dir=tmp_path / "out", seed=0)
    assert (models.data_identity(load_config(**base, cache_dir=tmp_path / "a"))
            == models.data_identity(load_config(**base, cache_dir=tmp_path / "b")))


def test_a_checkpoint_from_before_data_identity_is_retrained(tmp_path, monkeypatch,
                                                             capsys) -> None:
    cfg = load_config(profile="smoke", output_dir=tmp_path, cache_dir=tmp_path / "cache",
                      num_workers=0)
    meta = checkpoint_meta(cfg, metrics={"balanced_accuracy": 0.5})
    del meta["config"][models.DATA_KEY]
    save_checkpoint(_tiny_resnet(), checkpoint_path(cfg), **meta)
    monkeypatch.setattr(models, "prepare_metadata", _no_training)
    with pytest.raises(_Trained):
        load_or_train(cfg, progress=False)
    assert "data (source None -> 'demo'" in capsys.readouterr().out


# --------------------------------------------------------------------------- checkpoint formats


def test_a_checkpoint_without_metrics_loads_and_says_it_has_none(tmp_path, monkeypatch,
                                                                 capsys) -> None:
    cfg = load_config(profile="smoke", output_dir=tmp_path, cache_dir=tmp_path / "cache",
                      num_workers=0)
    save_checkpoint(_tiny_resnet(), checkpoint_path(cfg), **checkpoint_meta(cfg))  # no metrics
    monkeypatch.setattr(models, "fit", _no_training)
    _, meta = load_or_train(cfg, progress=False)
    assert "metrics" not in meta
    assert "records no test metrics" in capsys.readouterr().out


def test_a_data_parallel_checkpoint_loads_without_the_module_prefix(tmp_path, capsys) -> None:
    torch.manual_seed(0)
    net = build_model("resnet18", pretrained=False).eval()
    path = tmp_path / "dp.pt"
    save_checkpoint(nn.DataParallel(net), path, arch="resnet18")
    payload = torch.load(path, weights_only=True)
    assert all(key.startswith("module.") for key in payload["state_dict"])  # as DataParallel saves
    loaded, _ = load_checkpoint(path)
    assert "DataParallel" in capsys.readouterr().out
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x), rtol=0, atol=0)
