"""helpers.models: builder, checkpoints (round trip, refusal of pickles), load_or_train reuse."""

from __future__ import annotations

import urllib.error

import pytest
import torch
from torch import nn

from helpers import models
from helpers.config import load_config
from helpers.data import CLASSES
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
    with pytest.raises(ValueError, match="pickled Python objects"):
        load_checkpoint(path)


def test_wrong_arch_classes_and_missing_file_are_clear(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(_tiny_model(), path, arch="resnet18")
    with pytest.raises(ValueError, match="resnet18 model, not the resnet50"):
        load_checkpoint(path, arch="resnet50")
    other = tmp_path / "other.pt"
    save_checkpoint(build_model("resnet18", num_classes=2), other, arch="resnet18",
                    classes=("benign", "malignant"))
    with pytest.raises(ValueError, match="trained for the classes"):
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
    with pytest.raises(ValueError, match=r"train_only names no parameter.*layer5\.") as err:
        models.load_or_train_variant(cfg, {}, "ink", 2, start=start, train_only=("layer5.",))
    assert "layer4" in str(err.value)


def test_weights_digest_sees_every_value():
    a, b = _tiny_model(), _tiny_model()
    assert models.weights_digest(a) == models.weights_digest(b)
    with torch.no_grad():
        b.layer1[0].conv1.weight[0, 0, 0, 0] += 1e-6
    assert models.weights_digest(a) != models.weights_digest(b)
