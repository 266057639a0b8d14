"""helpers.cards: every branch of each rule, on values made to take it."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from helpers import cards
from helpers.attributions import Occlusion, Saliency
from helpers.cam import GradCAM, ScoreCAM


def scores(gap: float, noise: float = 0.01, n: int = 12) -> pd.DataFrame:
    g = torch.Generator().manual_seed(0)
    base = torch.rand(n, generator=g)
    other = base + gap + noise * torch.randn(n, generator=g)
    return pd.concat([pd.DataFrame({"method": "A", "image": range(n), "s": other.numpy()}),
                      pd.DataFrame({"method": "ref", "image": range(n), "s": base.numpy()})])


@pytest.mark.parametrize(("gap", "better", "word"), [
    (0.3, "higher", "better than"), (0.3, "lower", "worse than"),
    (-0.3, "lower", "better than"), (-0.3, "higher", "worse than"),
    (0.0, "higher", "level with")])
def test_against_reference_every_branch(gap: float, better: str, word: str) -> None:
    lesions = [f"L{i // 2}" for i in range(12)]  # two images a lesion
    text = cards.against_reference(scores(gap, noise=0.01 if gap else 0.5), "A", "ref", "s",
                                   better, lesions)
    assert word in text and "the ref" in text
    with pytest.raises(ValueError, match="better"):
        cards.against_reference(scores(gap), "A", "ref", "s", "more", lesions)


def test_needs_names_what_each_method_asks_for() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 2))
    assert cards.needs(GradCAM(model, "0")) == "a target layer and its gradients"
    assert cards.needs(ScoreCAM(model, "0")) == "a target layer, forward passes"
    assert cards.needs(Saliency(model)) == "gradients to the input"
    assert cards.needs(Occlusion(model)) == "forward passes only (any model)"


def test_method_card_and_cost_cell() -> None:
    card = cards.method_card({"A": {"needs": "x", "cost": "y"}, "B": {"needs": "z"}})
    assert card.loc["B", "cost"] == "not run" and list(card.columns) == ["needs", "cost"]
    with pytest.raises(ValueError, match="empty"):
        cards.method_card({})
    assert cards.cost_cell(16, True, 80.0, 4.0) == (
        "16 forward+backward passes; measured 20 pass units (80 ms)")
    assert "nan pass units" in cards.cost_cell(50, False, 10.0, 0.0)
