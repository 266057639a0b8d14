"""``helpers.train.train_one_epoch``: the loop notebook 02 writes by hand, and the one ``fit``
runs every epoch."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import train
from helpers.train import class_weights, fit, seed_everything, train_one_epoch

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
