"""helpers.models: the builder, checkpoints (round trip, metadata of every type, refusal
of pickles and unreadable files), and load_or_train's reuse, keyed by the data's
identity (content, not path)."""

from __future__ import annotations

import datetime as dt
import enum
import io
import os
import pickle
import shutil
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from messages import says
from standins import Trained, no_training, tiny_for
from torch import nn

from helpers import models
from helpers.config import load_config
from helpers.data import CLASSES
from helpers.demo import sets as DM
from helpers.models import (
    PretrainedWeightsUnavailable,
    build_model,
    checkpoint_meta,
    checkpoint_path,
    load_checkpoint,
    load_or_train,
    save_checkpoint,
)


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_build_model_shapes(arch):
    model = build_model(arch, num_classes=7, pretrained=False).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 7)
    assert isinstance(model.fc, nn.Linear) and model.fc.out_features == 7
    assert hasattr(model, "layer4")


def _layer4(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    found = {}
    handle = model.layer4.register_forward_hook(lambda m, i, o: found.update(out=o))
    with torch.no_grad():
        model(x)
    handle.remove()
    return found["out"]


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_dilated_layer4_keeps_the_weights_and_halves_the_stride(arch):
    torch.manual_seed(0)
    plain = build_model(arch, pretrained=False).eval()
    dilated = build_model(arch, pretrained=False, dilated_layer4=True).eval()
    dilated.load_state_dict(plain.state_dict())  # same parameters, same shapes
    x = torch.randn(2, 3, 112, 112)
    coarse, fine = _layer4(plain, x), _layer4(dilated, x)
    assert coarse.shape[-2:] == (4, 4) and fine.shape[-2:] == (7, 7)
    assert _layer4(dilated, torch.randn(1, 3, 224, 224)).shape[-2:] == (14, 14)
    # a trous: every other cell of the dilated map is the strided map, exactly (the 3x3
    # convolutions after the stride read the same inputs, two cells apart, padding included)
    x = torch.randn(2, 3, 128, 128)
    torch.testing.assert_close(_layer4(dilated, x)[..., ::2, ::2], _layer4(plain, x),
                               rtol=1e-4, atol=1e-4)


def test_checkpoint_of_a_dilated_model_loads_dilated(tmp_path):
    torch.manual_seed(0)
    model = build_model("resnet18", pretrained=False, dilated_layer4=True).eval()
    path = tmp_path / "d.pt"
    save_checkpoint(model, path, arch="resnet18", dilated_layer4=True)
    loaded, meta = load_checkpoint(path)
    x = torch.randn(1, 3, 112, 112)
    assert meta["dilated_layer4"] is True and _layer4(loaded, x).shape[-2:] == (7, 7)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_unknown_arch_is_named():
    with pytest.raises(ValueError, match="resnet50"):
        build_model("vgg16")


def test_pretrained_download_failure_says_where_to_put_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: it must download

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("no internet")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(PretrainedWeightsUnavailable) as info:
        build_model("resnet50", pretrained=True)
    message = str(info.value)
    expected = tmp_path / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth"
    assert str(expected) in message
    assert "TORCH_HOME" in message and "pretrained=False" in message and "demo" in message


def _tiny_model(dilated_layer4: bool = False) -> nn.Module:
    torch.manual_seed(0)
    return build_model("resnet18", pretrained=False, dilated_layer4=dilated_layer4).eval()


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = _tiny_model()
    path = tmp_path / "sub" / "m.pt"
    metrics = {"balanced_accuracy": 0.5, "confusion": torch.eye(7).numpy().astype(int)}
    save_checkpoint(model, path, arch="resnet18", image_size=64, profile="smoke",
                    metrics=metrics, note="hello")
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temp file left behind
    loaded, meta = load_checkpoint(path, arch="resnet18")
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert meta["arch"] == "resnet18" and meta["image_size"] == 64 and meta["note"] == "hello"
    assert tuple(meta["classes"]) == CLASSES
    assert meta["metrics"]["confusion"][3][3] == 1
    assert set(meta["normalization"]) == {"mean", "std"}
    assert not loaded.training


class _Payload:
    """Stands for any pickled object: loading it would run arbitrary code."""

    def __init__(self):
        self.value = 1


def test_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "meta": {"classes": list(CLASSES)}, "x": _Payload()}, path)
    with pytest.raises(ValueError, match="pickled"):
        load_checkpoint(path)


def test_wrong_arch_classes_and_missing_file_are_clear(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(_tiny_model(), path, arch="resnet18")
    with pytest.raises(ValueError, match=r"resnet18.*resnet50"):
        load_checkpoint(path, arch="resnet50")
    other = tmp_path / "other.pt"
    save_checkpoint(build_model("resnet18", num_classes=2), other, arch="resnet18",
                    classes=("benign", "malignant"))
    with pytest.raises(ValueError, match="classes"):
        load_checkpoint(other)
    with pytest.raises(FileNotFoundError, match="notebook 02"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_path_names_profile_arch_size(tmp_path):
    cfg = load_config(profile="smoke", output_dir=tmp_path)
    assert checkpoint_path(cfg) == tmp_path / "checkpoints" / "smoke-resnet18-64.pt"


def test_load_or_train_reuses_a_matching_checkpoint(tmp_path, monkeypatch):
    cfg = load_config(profile="smoke", output_dir=tmp_path, cache_dir=tmp_path / "cache")
    model = _tiny_model(cfg.dilated_layer4)  # the checkpoint's meta says how it is built
    save_checkpoint(model, checkpoint_path(cfg),
                    **checkpoint_meta(cfg, metrics={"balanced_accuracy": 0.9}))

    def no_training(*args, **kwargs):
        raise AssertionError("load_or_train trained although a matching checkpoint exists")

    monkeypatch.setattr(models, "fit", no_training)
    loaded, meta = load_or_train(cfg, progress=False)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert meta["metrics"]["balanced_accuracy"] == 0.9

    # Other settings (more epochs): the stored checkpoint no longer matches, so it trains.
    with pytest.raises(AssertionError, match="trained although"):
        load_or_train(load_config(profile="smoke", output_dir=tmp_path,
                                  cache_dir=tmp_path / "cache", epochs=2), progress=False)


def test_variant_is_trained_once_cached_and_fine_tuned_from_a_copy(tmp_path, monkeypatch):
    cfg = load_config(profile="smoke", output_dir=tmp_path, cache_dir=tmp_path / "cache")
    calls = []

    def fake_fit(net, loaders, run_cfg, balance_classes=True, progress=True):
        calls.append((run_cfg.epochs, run_cfg.lr, balance_classes))  # and changes one weight
        with torch.no_grad():
            net.fc.bias.add_(1.0)
        return {"epoch": [1]}

    monkeypatch.setattr(models, "fit", fake_fit)
    monkeypatch.setattr(models, "make_loaders", lambda splits, run_cfg: {})
    start = _tiny_model()
    digest = models.weights_digest(start)
    tuned = models.load_or_train_variant(cfg, {}, "ink", 2, start=start, lr=1e-4, artefact="a")
    assert calls == [(2, 1e-4, True)] and models.weights_digest(start) == digest  # untouched
    torch.testing.assert_close(tuned.fc.bias, start.fc.bias + 1.0)
    path = checkpoint_path(cfg).with_name("smoke-resnet18-64-ink-e2.pt")
    assert path.is_file()
    again = models.load_or_train_variant(cfg, {}, "ink", 2, start=start, lr=1e-4, artefact="a")
    assert len(calls) == 1  # reused
    torch.testing.assert_close(again.fc.bias, tuned.fc.bias)
    # another start model, other metadata or another lr: trained again
    other = _tiny_model()
    with torch.no_grad():
        other.fc.bias.zero_()
    models.load_or_train_variant(cfg, {}, "ink", 2, start=other, lr=1e-4, artefact="a")
    models.load_or_train_variant(cfg, {}, "ink", 2, start=other, lr=1e-4, artefact="b")
    models.load_or_train_variant(cfg, {}, "ink", 2, start=other, lr=1e-3, artefact="b")
    assert len(calls) == 4
    # plain cross-entropy is passed on to fit, and is a setting of its own
    models.load_or_train_variant(cfg, {}, "ink", 2, start=other, lr=1e-3, artefact="b",
                                 balance_classes=False)
    models.load_or_train_variant(cfg, {}, "ink", 2, start=other, lr=1e-3, artefact="b",
                                 balance_classes=False)
    assert calls[4:] == [(2, 1e-3, False)]
    # ... and the other way round: that checkpoint is not reused when balancing is asked for
    models.load_or_train_variant(cfg, {}, "ink", 2, start=other, lr=1e-3, artefact="b")
    assert calls[5:] == [(2, 1e-3, True)]
    # a model trained from scratch is not one fine-tuned from a start model
    models.load_or_train_variant(cfg, {}, "ink", 2, lr=1e-3, artefact="b")
    assert len(calls) == 7


def test_variant_trains_only_the_named_layers_and_gives_them_back(tmp_path, monkeypatch):
    cfg = load_config(profile="smoke", output_dir=tmp_path, cache_dir=tmp_path / "cache")
    trainable = []

    def fake_fit(net, loaders, run_cfg, balance_classes=True, progress=True):
        trainable.append({n for n, p in net.named_parameters() if p.requires_grad})
        return {"epoch": [1]}

    monkeypatch.setattr(models, "fit", fake_fit)
    monkeypatch.setattr(models, "make_loaders", lambda splits, run_cfg: {})
    start = _tiny_model()
    names = {n for n, _ in start.named_parameters()}
    tuned = models.load_or_train_variant(cfg, {}, "ink", 2, start=start,
                                         train_only=("layer4.", "fc."))
    assert trainable[0] == {n for n in names if n.startswith(("layer4.", "fc."))}
    assert {"fc.weight", "layer4.0.conv1.weight"} <= trainable[0]
    assert "layer3.0.conv1.weight" not in trainable[0]
    # afterwards every parameter takes gradients again (CAMs below layer4 need them),
    # and the start model was never touched
    assert all(p.requires_grad for p in tuned.parameters())
    assert all(p.requires_grad for p in start.parameters())
    # a run that trains everything is another variant: not reused
    models.load_or_train_variant(cfg, {}, "ink", 2, start=start)
    assert trainable[1] == names
    with pytest.raises(ValueError, match=r"train_only.*layer5") as err:
        models.load_or_train_variant(cfg, {}, "ink", 2, start=start, train_only=("layer5.",))
    assert "layer4" in str(err.value)


def test_weights_digest_sees_every_value():
    a, b = _tiny_model(), _tiny_model()
    assert models.weights_digest(a) == models.weights_digest(b)
    with torch.no_grad():
        b.layer1[0].conv1.weight[0, 0, 0, 0] += 1e-6
    assert models.weights_digest(a) != models.weights_digest(b)


# --- the course folder (issue 24) ----------------------------------------------------------------
# The data is known by its content, so a later runtime (another working folder, another copy of
# the data) reuses the checkpoint and trains nothing.


@pytest.fixture(scope="module")
def data_40(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return DM.make_demo_dataset(tmp_path_factory.mktemp("data") / "A", 40, 32, seed=0)


def _real_at(root: Path, **more):
    return load_config(profile="smoke", dataset="ham10000", data_dir=root, image_size=32,
                       num_workers=0, **more)


def test_the_same_data_at_another_path_reuses_the_checkpoint(data_40, tmp_path,
                                                             clean_env, capsys) -> None:
    copy = Path(shutil.copytree(data_40, tmp_path / "elsewhere" / "HAM10000"))
    out = dict(output_dir=tmp_path / "course" / "outputs", cache_dir=tmp_path / "cache")
    first, second = _real_at(data_40, **out), _real_at(copy, **out)
    assert models.data_identity(first) == models.data_identity(second)
    save_checkpoint(tiny_for(first), checkpoint_path(first),
                    **checkpoint_meta(first, metrics={"balanced_accuracy": 0.5}))
    clean_env.setattr(models, "fit", no_training)
    load_or_train(second, progress=False)
    assert "Loaded" in capsys.readouterr().out


@pytest.mark.parametrize("change", ["one-image-resized", "one-row-dropped"])
def test_other_data_is_refused(change, data_40, tmp_path, clean_env, capsys) -> None:
    other = Path(shutil.copytree(data_40, tmp_path / "other"))
    if change == "one-image-resized":
        image = sorted(other.rglob("*.jpg"))[0]
        image.write_bytes(image.read_bytes() + b"\0")
    else:
        csv = other / "HAM10000_metadata.csv"
        lines = csv.read_text().splitlines(keepends=True)
        csv.write_text("".join(lines[:-1]))
    out = dict(output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    first = _real_at(data_40, **out)
    save_checkpoint(tiny_for(first), checkpoint_path(first),
                    **checkpoint_meta(first, metrics={"balanced_accuracy": 0.5}))
    clean_env.setattr(models, "prepare_metadata", no_training)  # the first step of training
    with pytest.raises(Trained):
        load_or_train(_real_at(other, **out), progress=False)
    assert "fingerprint" in capsys.readouterr().out


def test_a_fresh_working_folder_with_the_course_folder_trains_nothing(tmp_path, clean_env,
                                                                      capsys) -> None:
    """Runtime 1 trains into the course folder; runtime 2 (another cwd, no data/) loads."""
    clean_env.setenv("TUTORIAL_HOME", str(tmp_path / "course"))
    clean_env.chdir(tmp_path)
    first = load_config(profile="smoke", num_workers=0, seed=0)
    DM.make_demo_dataset(DM.demo_dataset_dir(first), first.n_demo_images, first.image_size,
                         seed=first.seed)  # notebook 02 wrote the demo set into the cache
    save_checkpoint(tiny_for(first), checkpoint_path(first),
                    **checkpoint_meta(first, metrics={"balanced_accuracy": 0.5}))
    fresh = tmp_path / "runtime2"
    fresh.mkdir()
    clean_env.chdir(fresh)
    calls: list[object] = []
    clean_env.setattr(models, "fit", lambda *a, **k: calls.append(a) or no_training())
    second = load_config(profile="smoke", num_workers=0, seed=0)
    assert second.output_dir == first.output_dir and second.cache_dir == first.cache_dir
    _, meta = load_or_train(second, progress=False)
    assert calls == [] and "Loaded" in capsys.readouterr().out
    assert meta["metrics"]["balanced_accuracy"] == 0.5
    assert not any(fresh.iterdir())  # nothing written into the fresh working folder


# --- bad inputs ----------------------------------------------------------------------------------
# One row per case. Every case that fails asserts that the files on disk are
# unchanged: a good checkpoint is never replaced by one that cannot be loaded.


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
    with pytest.raises(TypeError, match=r"meta\['x'"):
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


DELETE = r"delete the file"

BAD_FILES = [  # how the file is made, error type, patterns the message must hold
    (_lfs_pointer, ValueError, [r"git-lfs pointer", r"git lfs pull", DELETE]),
    (_random_bytes, ValueError, [r"not a checkpoint", r"git-lfs|download", DELETE]),
    (_html_page, ValueError, [r"not a checkpoint", DELETE]),
    (_empty, ValueError, [r"\bempty\b", DELETE]),
    (_truncated, ValueError, [r"damaged|truncated", DELETE]),
    (_pickled_object, ValueError, [r"pickled", r"arbitrary code"]),
    (_plain_tensor, ValueError, [r"not a checkpoint", r"save_checkpoint", DELETE]),
    (_other_weights, ValueError, [r"do not fit|does not fit", r"resnet18", DELETE]),
    (_unknown_arch, ValueError, [r"'vgg16'", r"cannot build|unknown"]),
    (_a_folder, IsADirectoryError, [r"\bfolder\b", r"checkpoint file"]),
]


@pytest.mark.parametrize(("make", "error", "patterns"), BAD_FILES,
                         ids=[m.__name__.strip("_") for m, _, _ in BAD_FILES])
def test_unreadable_checkpoint_says_what_it_is_and_what_to_do(make, error, patterns, good,
                                                              tmp_path, disk_snapshot) -> None:
    path = tmp_path / "model.pt"
    make(path, good)
    before = disk_snapshot(tmp_path)
    with pytest.raises(error) as info:
        load_checkpoint(path)
    says(info.value, r"model\.pt", *patterns)  # the file, what it is, what to do
    if make is not _pickled_object:
        assert "arbitrary code" not in str(info.value)
    assert disk_snapshot(tmp_path) == before


def test_a_torch_zip_that_is_not_a_checkpoint_is_not_called_code(tmp_path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    says(info.value, r"model\.pt", r"damaged|truncated")


@pytest.fixture(scope="module")
def two_data_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("two-sets")
    return (DM.make_demo_dataset(base / "A", 40, 32, seed=0),
            DM.make_demo_dataset(base / "B", 40, 32, seed=1))


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
    monkeypatch.setattr(models, "fit", no_training)
    load_or_train(cfg_a, progress=False)  # the same data: loaded
    assert "Loaded" in capsys.readouterr().out
    with pytest.raises(Trained):
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
    monkeypatch.setattr(models, "fit", no_training)
    with pytest.raises(Trained):
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
    monkeypatch.setattr(models, "prepare_metadata", no_training)
    with pytest.raises(Trained):
        load_or_train(cfg, progress=False)
    assert "data (source None -> 'demo'" in capsys.readouterr().out


# --------------------------------------------------------------------------- checkpoint formats


def test_a_checkpoint_without_metrics_loads_and_says_it_has_none(tmp_path, monkeypatch,
                                                                 capsys) -> None:
    cfg = load_config(profile="smoke", output_dir=tmp_path, cache_dir=tmp_path / "cache",
                      num_workers=0)
    save_checkpoint(_tiny_resnet(), checkpoint_path(cfg), **checkpoint_meta(cfg))  # no metrics
    monkeypatch.setattr(models, "fit", no_training)
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


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("where", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_a_gpu_says_so_and_how_to_load_on_the_cpu(good, where) -> None:
    with pytest.raises(RuntimeError) as info:
        load_checkpoint(good, map_location=where)
    said = str(info.value)
    assert "no GPU" in said and "map_location='cpu'" in said
    assert "damaged" not in said and "Delete" not in said
    assert good.is_file()


def test_a_device_that_does_not_exist_is_named(good) -> None:
    with pytest.raises(ValueError, match="map_location='gpu'"):
        load_checkpoint(good, map_location="gpu")


def test_a_folder_given_as_the_checkpoint_says_it_is_a_folder(tmp_path) -> None:
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_checkpoint(tmp_path)


def test_a_checkpoint_path_that_is_a_folder_is_refused_before_training(
        tmp_path, clean_env, monkeypatch) -> None:  # noqa: F811
    cfg = load_config(profile="smoke", num_workers=0, seed=0, output_dir=tmp_path / "out")
    checkpoint_path(cfg).mkdir(parents=True)  # a folder where the checkpoint goes
    monkeypatch.setattr(models, "prepare_metadata", no_training)  # training's first step
    monkeypatch.setattr(models, "fit", no_training)
    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        models.load_or_train(cfg, progress=False)
    assert not isinstance(info.value, Trained)
    base = checkpoint_path(cfg)
    base.with_name(f"{base.stem}-shuffled-e1.pt").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        models.load_or_train_variant(cfg, {}, "shuffled", 1)
