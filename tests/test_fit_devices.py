"""``fit`` uses mixed precision and channels-last only on CUDA; on the CPU it trains without.

The full profile trains in Colab on a GPU but must also run (slowly) on a CPU: there
``torch.autocast`` must stay disabled (CPU autocast would switch to bfloat16) and tensors keep
the default memory layout. A spy records every autocast that ``fit`` opens and the memory format
of every training batch the model sees.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers.train import fit


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
