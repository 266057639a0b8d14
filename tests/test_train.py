"""helpers.train: evaluate against independent scikit-learn calls; fit learns, is
repeatable, and uses mixed precision and channels-last only on CUDA; bad settings are
refused by name."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from messages import says
from PIL import Image
from sklearn import metrics as skm
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import train
from helpers.data import CLASSES
from helpers.train import (
    class_weights,
    dataset_labels,
    evaluate,
    fit,
    predict,
    seed_everything,
    shrink,
    train_one_epoch,
)

MALIGNANT_CODES = {"akiec", "bcc", "mel"}


def _random_probs(n: int, seed: int, classes=range(7)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 7))
    labels = rng.choice(list(classes), size=n)
    logits[np.arange(n), labels] += 1.0  # better than chance, not perfect
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probs, labels


def test_evaluate_matches_sklearn_on_random_data():
    probs, labels = _random_probs(300, seed=1)
    preds = probs.argmax(1)
    result = evaluate(probs, labels)
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(labels, preds))
    assert result["balanced_accuracy"] == pytest.approx(
        skm.balanced_accuracy_score(labels, preds))
    assert result["macro_f1"] == pytest.approx(skm.f1_score(labels, preds, average="macro"))
    assert result["weighted_f1"] == pytest.approx(
        skm.f1_score(labels, preds, average="weighted"))
    assert result["roc_auc"] == pytest.approx(
        skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    np.testing.assert_array_equal(result["confusion"], skm.confusion_matrix(labels, preds))
    report = skm.classification_report(labels, preds, target_names=list(CLASSES),
                                       output_dict=True)
    per_class = result["per_class"]
    assert list(per_class.index) == list(CLASSES)
    for code in CLASSES:
        assert per_class.loc[code, "precision"] == pytest.approx(report[code]["precision"])
        assert per_class.loc[code, "recall"] == pytest.approx(report[code]["recall"])
        assert per_class.loc[code, "f1"] == pytest.approx(report[code]["f1-score"])
        assert per_class.loc[code, "support"] == report[code]["support"]
    malignant = [CLASSES.index(c) for c in MALIGNANT_CODES]
    true_m, pred_m = np.isin(labels, malignant), np.isin(preds, malignant)
    tn, fp, fn, tp = skm.confusion_matrix(true_m, pred_m).ravel()
    assert result["malignant_sensitivity"] == pytest.approx(tp / (tp + fn))
    assert result["malignant_specificity"] == pytest.approx(tn / (tn + fp))


def test_evaluate_with_classes_absent_from_labels():
    probs, labels = _random_probs(200, seed=2, classes=[0, 2, 4, 5])
    result = evaluate(probs, labels)
    present = [0, 2, 4, 5]
    expected_auc = np.mean([skm.roc_auc_score(labels == k, probs[:, k]) for k in present])
    assert result["roc_auc"] == pytest.approx(expected_auc)
    assert result["confusion"].shape == (7, 7)
    assert result["per_class"].loc["df", "support"] == 0
    assert np.isfinite(result["balanced_accuracy"])


def _learnable_loaders(n: int = 96, size: int = 32, seed: int = 0) -> dict[str, DataLoader]:
    """Class k brightens colour channel k % 3 in a class-specific quadrant: easy to learn."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    images = torch.randn(n, 3, size, size, generator=gen) * 0.5
    half = size // 2
    for i, k in enumerate(labels.tolist()):
        r, c = divmod(k, 2)
        images[i, k % 3, r * half:(r + 1) * half, c * half:(c + 1) * half] += 2.0
    train = TensorDataset(images[: n * 3 // 4], labels[: n * 3 // 4])
    val = TensorDataset(images[n * 3 // 4:], labels[n * 3 // 4:])
    return {"train": DataLoader(train, batch_size=16, shuffle=True),
            "val": DataLoader(val, batch_size=32)}


def _small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Dropout(0.2), nn.Linear(16, 7),
    )


def _train_once(epochs: int = 4) -> tuple[pd.DataFrame, nn.Module]:
    seed_everything(0)
    model = _small_cnn()
    history = fit(model, _learnable_loaders(), epochs=epochs, lr=1e-2, progress=False)
    return history, model


def test_fit_lowers_the_loss_and_keeps_the_best_epoch():
    history, model = _train_once()
    assert list(history.columns) == ["train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                     "val_balanced_accuracy", "lr", "train_size", "seconds"]
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    best = history.attrs["best_epoch"]
    assert history.loc[best, "val_balanced_accuracy"] == history["val_balanced_accuracy"].max()
    probs, labels = predict(model, _learnable_loaders()["val"])
    assert probs.shape == (24, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert evaluate(probs, labels)["balanced_accuracy"] == pytest.approx(
        history.loc[best, "val_balanced_accuracy"])
    assert not model.training


def test_fit_is_repeatable_on_cpu():
    first, model_a = _train_once(epochs=2)
    second, model_b = _train_once(epochs=2)
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), second.drop(columns="seconds"))
    for (name, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values(),
                            strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_shrink_resizes_and_keeps_the_mean():
    images = torch.rand(2, 3, 32, 32)
    small = shrink(images, 16)
    assert small.shape == (2, 3, 16, 16)
    torch.testing.assert_close(small.mean(dim=(2, 3)), images.mean(dim=(2, 3)), atol=0.02,
                               rtol=0)
    # the reference: PIL's bilinear resize, which filters (antialiases) when it shrinks
    channel = Image.fromarray(images[1, 2].numpy(), mode="F").resize((16, 16), Image.BILINEAR)
    torch.testing.assert_close(small[1, 2], torch.from_numpy(np.array(channel)), atol=1e-4,
                               rtol=0)


def test_fit_progressive_resizing_trains_small_then_full_size():
    seed_everything(0)
    seen = []
    model = _small_cnn()
    model[0].register_forward_pre_hook(lambda _, args: seen.append(args[0].shape[-1]))
    loaders = _learnable_loaders(size=64)
    history = fit(model, loaders, epochs=3, lr=1e-2, low_res=(32, 2), progress=False)
    assert history["train_size"].tolist() == [32, 32, 64]
    n_train, n_val = len(loaders["train"]), len(loaders["val"])
    # each epoch is validated at the size it trained on; the best epoch is a full-size one
    assert seen == ([32] * (n_train + n_val)) * 2 + [64] * (n_train + n_val)
    assert history.attrs["best_epoch"] == 3


def test_predict_at_a_size_equals_predicting_shrunk_images():
    seed_everything(0)
    model = _small_cnn()
    loaders = _learnable_loaders(size=64)
    probs, labels = predict(model, loaders["val"], size=32)
    model.eval()
    with torch.no_grad():
        ref = torch.cat([torch.softmax(model(shrink(batch[0], 32)), 1) for batch in loaders["val"]])
    np.testing.assert_allclose(probs, ref.numpy(), atol=1e-6)
    assert len(labels) == len(probs)


def test_low_res_settings_are_checked():
    from helpers.config import load_config

    with pytest.raises(ValueError, match=r"low_res.*2 epochs.*full size"):
        fit(_small_cnn(), _learnable_loaders(size=64), epochs=2, low_res=(32, 2),
            progress=False)

    assert load_config(profile="demo").low_res_epochs < load_config(profile="demo").epochs
    with pytest.raises(ValueError, match="low_res_epochs=5"):
        load_config(profile="smoke", epochs=5, low_res_epochs=5, low_res_size=32)
    with pytest.raises(ValueError, match=r"image_size=64"):
        load_config(profile="smoke", epochs=5, low_res_epochs=2, low_res_size=96)


def test_predict_restores_training_mode_and_accepts_masks():
    model = _small_cnn().train()
    data = TensorDataset(torch.randn(5, 3, 16, 16), torch.arange(5), torch.zeros(5, 16, 16))
    probs, labels = predict(model, DataLoader(data, batch_size=2))
    assert probs.shape == (5, 7) and labels.tolist() == [0, 1, 2, 3, 4]
    assert model.training


def test_full_profile_recipe_runs_on_tiny_data(tmp_path):
    """The full profile's code path (ResNet-50, 224 px, its transforms) for two steps."""
    from helpers.config import load_config
    from helpers.course.prepare import prepare_metadata
    from helpers.data import lesion_split, make_loaders
    from helpers.models import build_model

    cfg = load_config(profile="full", dataset="demo", n_demo_images=64, pretrained=False,
                      epochs=1, batch_size=2, num_workers=0, device="cpu",
                      cache_dir=tmp_path, output_dir=tmp_path)
    assert (cfg.arch, cfg.image_size) == ("resnet50", 224)
    splits = lesion_split(prepare_metadata(cfg), seed=0)
    loaders = make_loaders({"train": splits["train"].head(4), "val": splits["val"].head(2)}, cfg)
    assert next(iter(loaders["train"]))[0].shape == (2, 3, 224, 224)
    model = build_model(cfg.arch, pretrained=cfg.pretrained)
    history = fit(model, loaders, cfg, progress=False)
    assert len(history) == 1 and np.isfinite(history["train_loss"]).all()


# --- devices -------------------------------------------------------------------------------------
# ``fit`` uses mixed precision and channels-last only on CUDA; on the CPU it trains without.
# The full profile trains in Colab on a GPU but must also run (slowly) on a CPU: there
# ``torch.autocast`` must stay disabled (CPU autocast would switch to bfloat16) and tensors keep
# the default memory layout. A spy records every autocast that ``fit`` opens and the memory
# format of every training batch the model sees.


class Spy:
    """Wraps ``torch.autocast`` and a model's forward to record what ``fit`` did."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, model: nn.Module) -> None:
        self.autocasts: list[tuple[str, bool]] = []
        self.channels_last: list[bool] = []
        real, spy = torch.autocast, self

        class Autocast(real):  # type: ignore[misc, valid-type]
            def __init__(self, device_type: str, *args: Any, **kwargs: Any) -> None:
                super().__init__(device_type, *args, **kwargs)
                asked = kwargs.get("enabled", args[1] if len(args) > 1 else True)  # dtype, enabled
                spy.autocasts.append((device_type, bool(asked)))

        def record(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            x = inputs[0]
            if module.training:
                spy.channels_last.append(
                    x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous())

        monkeypatch.setattr(torch, "autocast", Autocast)
        model.register_forward_pre_hook(record)


def _tiny() -> tuple[nn.Module, dict[str, DataLoader]]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 7))
    x, y = torch.randn(24, 3, 8, 8), torch.arange(24) % 7
    data = TensorDataset(x, y)
    return model, {"train": DataLoader(data, batch_size=8), "val": DataLoader(data, batch_size=8)}


def test_fit_on_cpu_uses_neither_autocast_nor_channels_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, loaders = _tiny()
    spy = Spy(monkeypatch, model)
    history = fit(model, loaders, epochs=1, device="cpu", progress=False)
    assert len(history) == 1 and torch.isfinite(torch.tensor(history["train_loss"].iloc[0]))
    assert spy.autocasts and all(not enabled for _, enabled in spy.autocasts), spy.autocasts
    assert spy.channels_last == [False, False, False]
    assert model[0].weight.is_contiguous()  # not converted to channels_last


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_on_cuda_uses_autocast_and_channels_last(monkeypatch: pytest.MonkeyPatch) -> None:
    model, loaders = _tiny()
    spy = Spy(monkeypatch, model)
    fit(model, loaders, epochs=1, device="cuda", progress=False)
    assert spy.autocasts and all(d == "cuda" and on for d, on in spy.autocasts), spy.autocasts
    assert spy.channels_last and all(spy.channels_last)


# --- bad inputs ----------------------------------------------------------------------------------


# --------------------------------------------------------------------------- evaluate


def _probs(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(7), size=n)
    return probs, np.arange(n) % 7


def _change(probs=None, labels=None):
    def make():
        p, y = _probs()
        return (p if probs is None else probs(p)), (y if labels is None else labels(y))
    return make


BAD_EVALUATE = [  # make (probs, labels), patterns the message must hold
    (_change(probs=lambda p: p[:, 0]), [r"probs", r"\(10,\)", r"\(N, 7\)"]),
    (_change(probs=lambda p: p[:, :2]), [r"probs", r"\(10, 2\)", r"\(N, 7\)"]),
    (_change(probs=lambda p: np.log(p)), [r"probs", r"softmax"]),
    (_change(probs=lambda p: np.where(p > 0.3, np.nan, p)), [r"probs", r"finite"]),
    (_change(labels=lambda y: y[:-1]), [r"labels", r"\b10\b", r"\(9,\)"]),
    (_change(labels=lambda y: y.astype(float)), [r"labels", r"integer"]),
    (_change(labels=lambda y: y + 1), [r"labels", r"0\.\.6"]),
    (lambda: (np.zeros((0, 7)), np.zeros(0, int)), [r"probs", r"\(0, 7\)", r"\(N, 7\)"]),
]


@pytest.mark.parametrize(("make", "patterns"), BAD_EVALUATE,
                         ids=[str(i) for i in range(len(BAD_EVALUATE))])
def test_evaluate_refuses(make, patterns) -> None:
    with pytest.raises(ValueError) as info:
        evaluate(*make())
    says(info.value, *patterns)


# --------------------------------------------------------------------------- fit


class NaNAfterFirstStep(nn.Module):
    """A classifier whose output turns NaN: training has diverged."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 7)

    def forward(self, x):
        return self.fc(x) * float("nan")


def _loaders() -> dict[str, DataLoader]:
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(14, 4), torch.arange(14) % 7)
    return {"train": DataLoader(data, batch_size=7), "val": DataLoader(data, batch_size=7)}


BAD_FIT = [  # keyword arguments, error, patterns the message must hold
    (dict(epochs=0), ValueError, [r"epochs=0\b", r">= ?1|positive"]),
    (dict(lr=0.0), ValueError, [r"lr=0\.0", r"> ?0|positive"]),
    (dict(lr=float("inf")), ValueError, [r"lr=inf", r"finite"]),
    (dict(device="gpu"), ValueError, [r"device='gpu'", r"'cuda'"]),
    (dict(loaders="no val"), ValueError, [r"loaders", r"'val'"]),
    (dict(model=NaNAfterFirstStep()), FloatingPointError,
     [r"\bnan\b|diverged", r"learning rate|\blr="]),
]


@pytest.mark.parametrize(("kwargs", "error", "patterns"), BAD_FIT,
                         ids=[next(iter(k)) + "=" + str(next(iter(k.values())))[:12]
                              for k, _, _ in BAD_FIT])
def test_fit_refuses(kwargs, error, patterns) -> None:
    kwargs = dict(kwargs)  # the table's row stays as it is
    model = kwargs.pop("model", nn.Linear(4, 7))
    loaders = _loaders()
    if kwargs.pop("loaders", None):
        del loaders["val"]
    with pytest.raises(error) as info:
        fit(model, loaders, **{"epochs": 1, **kwargs}, progress=False)
    says(info.value, *patterns)


# ---------------------------------------------------------------- the parameter walk: train

WALK = [  # call, error type, patterns the message must hold
    (lambda: seed_everything(-1), ValueError, [r"seed=-1", r">= ?0|non-negative"]),
    (lambda: seed_everything("1"), TypeError, [r"seed='1'", r"whole number|int"]),
    (lambda: class_weights(np.array([0, 9])), ValueError, [r"labels", r"0\.\.6"]),
    (lambda: class_weights(np.array([0.5, 1.2])), ValueError, [r"labels", r"integer"]),
    (lambda: class_weights(np.array([], int)), ValueError, [r"labels", r"non-empty|\bempty"]),
    (lambda: shrink(torch.zeros(1, 3, 8, 8), 0), ValueError, [r"\bsize=0\b", r">= ?1"]),
    (lambda: shrink(np.zeros((1, 3, 8, 8)), 4), TypeError, [r"images", r"tensor"]),
    (lambda: dataset_labels([1, 2]), TypeError, [r"dataset", r"np\.asarray"]),
]


@pytest.mark.parametrize("call, error, patterns", WALK, ids=[str(i) for i in range(len(WALK))])
def test_the_parameter_walk_cases_are_refused(call, error, patterns) -> None:
    with pytest.raises(error) as err:
        call()
    says(err.value, *patterns)


N_CLASSES = 7


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, N_CLASSES))


def _data(n: int = 24, size: int = 32, seed: int = 1) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 3, size, size, generator=gen),
                         torch.arange(n) % N_CLASSES)


def _by_hand(model: nn.Module, loader, criterion, optimizer) -> tuple[float, float]:
    """Forward, loss, backward, step: the loop as notebook 02 writes it."""
    model.train()
    total, correct, seen = 0.0, 0, 0
    for images, labels in loader:
        logits = model(images)
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
    return total / seen, correct / seen


@pytest.mark.parametrize("make_optimizer", [
    lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
    lambda params: torch.optim.AdamW(params, lr=1e-2),
], ids=["sgd", "adamw"])
def test_one_epoch_equals_the_loop_written_by_hand(make_optimizer) -> None:
    torch.manual_seed(0)
    mine = _net()
    theirs = copy.deepcopy(mine)
    loader = DataLoader(_data(), batch_size=5)  # the last batch is smaller
    criterion = nn.CrossEntropyLoss(weight=torch.linspace(0.5, 2.0, N_CLASSES),
                                    label_smoothing=0.1)
    loss, accuracy = _by_hand(mine, loader, criterion, make_optimizer(mine.parameters()))
    got = train_one_epoch(theirs, loader, criterion, make_optimizer(theirs.parameters()))
    assert got["loss"] == pytest.approx(loss, rel=1e-6)
    assert got["accuracy"] == accuracy and got["size"] == 32
    for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values(),
                              strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=name)
    assert any(not torch.equal(a, b) for a, b in zip(_net().state_dict().values(),
                                                     theirs.state_dict().values(), strict=True))


def test_one_epoch_steps_the_scheduler_per_batch_and_shrinks_when_asked() -> None:
    torch.manual_seed(0)
    model = _net()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    loader = DataLoader(_data(n=12), batch_size=4)  # 3 batches
    got = train_one_epoch(model, loader, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler,
                          size=16)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 ** 3)
    assert got["size"] == 16


def test_fit_runs_train_one_epoch_once_per_epoch(monkeypatch) -> None:
    calls = []
    real = train.train_one_epoch

    def spy(*args, **kwargs):
        calls.append(kwargs.get("size"))
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "train_one_epoch", spy)
    loaders = {"train": DataLoader(_data(size=48), batch_size=8),
               "val": DataLoader(_data(n=14, size=48, seed=2), batch_size=8)}
    history = fit(_net(), loaders, epochs=3, lr=1e-2, low_res=(32, 1), progress=False)
    assert calls == [32, None, None]  # progressive resizing: the first epoch shrunk
    assert history["train_size"].tolist() == [32, 48, 48]


def test_fit_first_epoch_is_train_one_epoch_with_the_recipe() -> None:
    """fit's epoch 1, replayed with the recipe's parts (seed, weighted smoothed loss, AdamW,
    one-cycle schedule): the same training loss and the same weights."""
    data = _data()
    torch.manual_seed(3)
    start = _net()
    loaders = {"train": DataLoader(data, batch_size=8, shuffle=True),
               "val": DataLoader(_data(n=14, seed=2), batch_size=8)}
    fitted = copy.deepcopy(start)
    history = fit(fitted, loaders, epochs=1, lr=1e-2, seed=5, low_res=(0, 0), progress=False)

    replay = copy.deepcopy(start)
    seed_everything(5)
    criterion = nn.CrossEntropyLoss(weight=class_weights(data.tensors[1].numpy()),
                                    label_smoothing=0.1)
    optimizer = torch.optim.AdamW(replay.parameters(), lr=1e-2, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=1,
                                                    steps_per_epoch=len(loaders["train"]),
                                                    pct_start=0.25)
    got = train_one_epoch(replay, loaders["train"], criterion, optimizer, scheduler=scheduler)
    assert history.loc[1, "train_loss"] == pytest.approx(got["loss"], rel=1e-6)
    assert history.loc[1, "train_accuracy"] == got["accuracy"]
    for a, b in zip(fitted.state_dict().values(), replay.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_the_same_seed_gives_the_same_losses() -> None:
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        loaders = {"train": DataLoader(_data(), batch_size=8, shuffle=True),
                   "val": DataLoader(_data(n=14, seed=2), batch_size=8)}
        history = fit(_net(), loaders, epochs=2, lr=1e-2, seed=7, progress=False)
        losses.append(history[["train_loss", "val_loss"]].to_numpy())
    assert (losses[0] == losses[1]).all()


# --------------------------------------------------------------------------- bad input


def test_an_empty_loader_is_refused() -> None:
    model = _net()
    empty = DataLoader(TensorDataset(torch.zeros(0, 3, 8, 8), torch.zeros(0, dtype=torch.long)))
    with pytest.raises(ValueError, match="loader"):
        train_one_epoch(model, empty, nn.CrossEntropyLoss(),
                        torch.optim.SGD(model.parameters(), lr=0.1))


def test_a_loss_that_is_not_finite_stops_with_the_fix() -> None:
    model = _net()
    images = torch.full((4, 3, 16, 16), float("nan"))
    loader = DataLoader(TensorDataset(images, torch.zeros(4, dtype=torch.long)), batch_size=4)
    with pytest.raises(FloatingPointError, match="Lower the learning rate"):
        train_one_epoch(model, loader, nn.CrossEntropyLoss(),
                        torch.optim.SGD(model.parameters(), lr=0.1))
