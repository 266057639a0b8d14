"""helpers.metrics and helpers.sanity against Quantus (Hedström et al., JMLR 2023), the field's
toolkit for evaluating explanations, on the same maps, masks and model.

Equal where the definitions are the same; where ours differ on purpose the test shows the
difference, and the docstrings of :func:`helpers.metrics.pointing_hits`,
:func:`helpers.metrics.energy_share` and :func:`helpers.sanity.cascade_randomizations` say why:

* pointing game, ties: Quantus counts a hit when *any* maximal pixel is on the mask, so a
  constant map hits every lesion; ours takes the first maximal pixel (a constant map misses a
  centred lesion). Empty mask: Quantus means NaN (0.6 stores it in a bool array, so it reads
  as a hit), ours a miss that ``pointing_game`` leaves out.
* energy share of an all-zero map: Quantus 0/0 = NaN, ours 0 (no energy on the lesion).
* cascading randomisation: Quantus reseeds every layer with the same seed (two layers of one
  shape get the same random weights); ours gives step i the seed ``seed + i``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from helpers import agreement, metrics, sanity

quantus = pytest.importorskip("quantus")

H = W = 8


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("layer1", nn.Conv2d(3, 4, 3, padding=1))
    net.add_module("relu", nn.ReLU())
    net.add_module("layer2", nn.Conv2d(4, 4, 3, padding=1))
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flat", nn.Flatten())
    net.add_module("fc", nn.Linear(4, 3))
    return net.eval()


def _inputs(batch: int = 6) -> tuple[np.ndarray, np.ndarray]:
    x = torch.rand(batch, 3, H, W, generator=torch.Generator().manual_seed(1))
    return x.numpy(), np.zeros(batch, dtype=np.int64)


def _masks(batch: int = 6) -> torch.Tensor:
    masks = torch.zeros(batch, H, W)
    masks[:, 2:6, 3:7] = 1  # a centred lesion
    return masks


def _quantus(metric, maps: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    x, y = _inputs(len(maps))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = metric(model=_net(), x_batch=x, y_batch=y, a_batch=maps[:, None].numpy(),
                        s_batch=masks[:, None].numpy(), channel_first=True, device="cpu")
    return np.asarray(scores, dtype=np.float64)


def _localisation(cls):
    return cls(abs=False, normalise=False, disable_warnings=True)


def test_pointing_game_equals_quantus_when_the_maximum_is_unique() -> None:
    maps = torch.rand(6, H, W, generator=torch.Generator().manual_seed(2))
    maps[0, 3, 4] = 2.0  # inside the lesion
    maps[1, 0, 0] = 2.0  # outside
    ours = metrics.pointing_hits(maps, _masks()).double().numpy()
    theirs = _quantus(_localisation(quantus.PointingGame), maps, _masks())
    assert ours.tolist() == theirs.tolist()
    assert ours[:2].tolist() == [1.0, 0.0]


def test_pointing_game_tie_rule_differs_from_quantus_on_purpose() -> None:
    tied = torch.rand(2, H, W, generator=torch.Generator().manual_seed(5))
    tied[0, 0, 0] = tied[0, 3, 4] = 2.0  # two maxima: the first outside, the second inside
    tied[1] = 0.5  # a constant map (Quantus refuses all-ones maps, not constant ones)
    masks = _masks(2)
    assert _quantus(_localisation(quantus.PointingGame), tied, masks).tolist() == [1.0, 1.0]
    assert metrics.pointing_hits(tied, masks).tolist() == [False, False]  # first maximal pixel
    empty = masks.clone()
    empty[1] = 0
    # Quantus 0.6 means NaN for an empty mask, but writes it into a bool array: it reads 1.0
    no_lesion = _quantus(_localisation(quantus.PointingGame), tied, empty)[1]
    assert np.isnan(no_lesion) or no_lesion == 1.0
    assert metrics.pointing_game(tied, empty) == 0.0  # image 1 (no lesion) is left out


def test_energy_share_equals_quantus_relevance_mass_accuracy() -> None:
    maps = torch.rand(6, H, W, generator=torch.Generator().manual_seed(3))
    maps[2] = maps[2] ** 4  # a peakier map
    ours = metrics.energy_share(maps, _masks()).numpy()
    theirs = _quantus(_localisation(quantus.RelevanceMassAccuracy), maps, _masks())
    assert ours == pytest.approx(theirs, abs=1e-6)


def test_energy_share_of_an_all_zero_map_differs_from_quantus_on_purpose() -> None:
    maps = torch.rand(2, H, W, generator=torch.Generator().manual_seed(4))
    maps[1] = 0
    theirs = _quantus(_localisation(quantus.RelevanceMassAccuracy), maps, _masks(2))
    assert np.isnan(theirs[1])
    assert metrics.energy_share(maps, _masks(2))[1].item() == 0.0


ORDER = ("fc", "layer2", "layer1")  # Quantus' top-down order of the modules with parameters


def _random_layers(seed: int):
    from quantus.helpers.model.pytorch_model import PyTorchModel
    wrapped = PyTorchModel(_net(), channel_first=True, device="cpu")
    return list((name, {k: v.clone() for k, v in model.state_dict().items()})
                for name, model in wrapped.get_random_layer_generator("top_down", seed))


def test_randomized_copy_draws_the_weights_quantus_draws() -> None:
    theirs = _random_layers(seed=42)
    assert [name for name, _ in theirs] == list(ORDER)
    current = _net()
    for name, state in theirs:
        current = sanity.randomized_copy(current, name, seed=42 + 1)  # Quantus: seed + 1
        for key, value in current.state_dict().items():
            assert torch.equal(value, state[key]), (name, key)


def test_cascade_seeds_each_step_apart_unlike_quantus() -> None:
    theirs = dict(_random_layers(seed=42))
    steps = dict(sanity.cascade_randomizations(_net(), ORDER, seed=43))
    assert torch.equal(steps["fc"].fc.weight, theirs["fc"]["fc.weight"])  # step 0: seed 43
    # step 1 re-initialises layer2 with seed 44, Quantus with 43 again
    assert not torch.equal(steps["layer2"].layer2.weight, theirs["layer2"]["layer2.weight"])
    assert torch.equal(steps["layer2"].fc.weight, theirs["layer2"]["fc.weight"])


class InputGradient:
    """A tiny explanation method: |d score / d x| summed over channels, ``(B, H, W)``."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __call__(self, x: torch.Tensor, class_idx=None) -> torch.Tensor:
        x = x.detach().clone().requires_grad_(True)
        scores = self.model(x)
        idx = torch.as_tensor(class_idx).expand(len(x)) if class_idx is not None else \
            scores.argmax(1)
        scores.gather(1, idx[:, None]).sum().backward()
        return x.grad.abs().sum(dim=1)


def _explain(model, inputs, targets, **kwargs) -> np.ndarray:
    maps = InputGradient(model)(torch.as_tensor(inputs), torch.as_tensor(targets))
    return maps[:, None].detach().numpy()


def test_cascade_similarity_equals_quantus_mprt_with_its_seeds() -> None:
    x, y = _inputs()
    net = _net()
    trained = InputGradient(net)(torch.as_tensor(x), torch.as_tensor(y))
    mprt = quantus.MPRT(similarity_func=quantus.similarity_func.correlation_spearman,
                        layer_order="top_down", seed=42, abs=False, normalise=False,
                        disable_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = mprt(model=net, x_batch=x, y_batch=y, a_batch=trained[:, None].numpy(),
                      explain_func=_explain, channel_first=True, device="cpu")
    assert list(theirs) == ["original", *ORDER]
    assert theirs["original"] == pytest.approx([1.0] * len(x))
    current = net
    for name in ORDER:  # Quantus' weights (see above), our maps and rank correlation
        current = sanity.randomized_copy(current, name, seed=43)
        maps = sanity.maps_by_method(current, torch.as_tensor(x), {"g": InputGradient},
                                     torch.as_tensor(y))["g"]
        ours = agreement.rank_correlation(trained, maps).numpy()
        assert ours == pytest.approx(np.asarray(theirs[name]), abs=1e-6), name
