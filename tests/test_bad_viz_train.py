"""Bad inputs and faults for helpers.viz (GIF export) and helpers.train (fit, evaluate): one row
per case; a failed write leaves the old file as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import viz
from helpers.train import evaluate, fit

# --------------------------------------------------------------------------- save_gif


def _frames(colour: int) -> list[np.ndarray]:
    return [np.full((8, 8, 3), colour, np.uint8), np.full((8, 8, 3), 255 - colour, np.uint8)]


def _fails_midway(self, fp, *args, **kwargs):
    Path(fp).write_bytes(b"GIF89a")  # six bytes, then the disk is full
    raise OSError(28, "No space left on device")


def _interrupted(self, fp, *args, **kwargs):
    Path(fp).write_bytes(b"GIF8")
    raise KeyboardInterrupt


@pytest.mark.parametrize("fault", [_fails_midway, _interrupted], ids=["disk-full", "interrupt"])
def test_a_failed_overwrite_keeps_the_old_gif(fault, tmp_path, monkeypatch,
                                              disk_snapshot) -> None:
    path = viz.save_gif(_frames(0), tmp_path / "a.gif")
    before = disk_snapshot(tmp_path)
    monkeypatch.setattr(Image.Image, "save", fault)
    with pytest.raises((OSError, KeyboardInterrupt)):
        viz.save_gif(_frames(200), path, overwrite=True)
    assert disk_snapshot(tmp_path) == before  # the old GIF, and no temporary file left
    monkeypatch.undo()
    with Image.open(path) as gif:
        assert gif.n_frames == 2


def test_overwrite_replaces_and_refusal_keeps(tmp_path, disk_snapshot) -> None:
    path = viz.save_gif(_frames(0), tmp_path / "a.gif")
    before = disk_snapshot(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        viz.save_gif(_frames(200), path)
    assert disk_snapshot(tmp_path) == before
    viz.save_gif(_frames(200)[:1], path, overwrite=True)
    with Image.open(path) as gif:
        assert gif.n_frames == 1 and gif.convert("RGB").getpixel((0, 0))[0] > 150
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]


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


BAD_EVALUATE = [  # make (probs, labels), phrase
    (_change(probs=lambda p: p[:, 0]), "expected (N, 7) softmax probabilities"),
    (_change(probs=lambda p: p[:, :2]), "expected (N, 7)"),
    (_change(probs=lambda p: np.log(p)), "apply softmax to logits"),
    (_change(probs=lambda p: np.where(p > 0.3, np.nan, p)), "finite probabilities"),
    (_change(labels=lambda y: y[:-1]), "labels must be 10 integer class indices"),
    (_change(labels=lambda y: y.astype(float)), "integer class indices"),
    (_change(labels=lambda y: y + 1), "labels must lie in 0..6"),
    (lambda: (np.zeros((0, 7)), np.zeros(0, int)), "expected (N, 7)"),
]


@pytest.mark.parametrize(("make", "phrase"), BAD_EVALUATE,
                         ids=[str(i) for i in range(len(BAD_EVALUATE))])
def test_evaluate_refuses(make, phrase) -> None:
    with pytest.raises(ValueError) as info:
        evaluate(*make())
    assert phrase in str(info.value)


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


BAD_FIT = [  # keyword arguments, error, phrase
    (dict(epochs=0), ValueError, "epochs=0"),
    (dict(lr=0.0), ValueError, "lr=0.0"),
    (dict(lr=float("inf")), ValueError, "lr=inf"),
    (dict(device="gpu"), ValueError, "device='gpu'"),
    (dict(loaders="no val"), ValueError, "loaders lacks ['val']"),
    (dict(model=NaNAfterFirstStep()), FloatingPointError, "Lower the learning rate"),
]


@pytest.mark.parametrize(("kwargs", "error", "phrase"), BAD_FIT,
                         ids=[next(iter(k)) + "=" + str(next(iter(k.values())))[:12]
                              for k, _, _ in BAD_FIT])
def test_fit_refuses(kwargs, error, phrase) -> None:
    kwargs = dict(kwargs)  # the table's row stays as it is
    model = kwargs.pop("model", nn.Linear(4, 7))
    loaders = _loaders()
    if kwargs.pop("loaders", None):
        del loaders["val"]
    with pytest.raises(error) as info:
        fit(model, loaders, **{"epochs": 1, **kwargs}, progress=False)
    assert phrase in str(info.value)
