r"""Sanity checks for saliency maps: does the map change when the model is randomised?

Adebayo et al. 2018 ("Sanity Checks for Saliency Maps", NeurIPS, sec. 3.1 and 4): re-initialise
the model's weights block by block from the top (cascading randomisation) and compare each
method's maps with the trained model's (:func:`helpers.agreement.rank_correlation`,
:func:`helpers.agreement.ssim`). A map that barely changes does not depend on what the model
learned. :func:`randomized_copy` and :func:`cascade_randomizations` make the copies,
:func:`maps_by_method` and :func:`cascade_maps` compute the maps, :func:`cascade_similarity`
tabulates the comparison. Re-initialising weights is not training: the given model is never
modified.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence

import pandas as pd
import torch
from torch import Tensor, nn

from .agreement import rank_correlation, ssim
from .cam import resolve_class_idx
from .findings import below_floor
from .metrics import ClassIndex
from .stats import grouped_bootstrap_ci
from .train import predict_probs

__all__ = [
    "randomized_copy",
    "cascade_randomizations",
    "maps_by_method",
    "cascade_maps",
    "cascade_similarity",
    "fully_random_maps",
    "similarity_floors",
    "similarity_intervals",
]


# ----------------------------------------------------------------------------------------------
# Model-parameter randomisation (sanity-check helper, Adebayo et al. 2018, sec. 3.1 / 4)
# ----------------------------------------------------------------------------------------------


def randomized_copy(model: nn.Module, blocks: str | Sequence[str], seed: int = 0) -> nn.Module:
    """A deep copy of ``model`` whose named blocks are re-initialised; ``model`` is untouched.

    ``blocks``: dotted submodule names (``"fc"``, ``"layer4"``, ``"layer3.1"``). Every
    submodule inside them with a ``reset_parameters`` method gets PyTorch's default
    initialisation again (Kaiming-uniform convolutions and linear layers; batch norms reset to
    weight 1, bias 0 and fresh running statistics). Seeded and reproducible; the global random
    state is left as it was. This is the sanity-check helper; it trains nothing.
    """
    names = [blocks] if isinstance(blocks, str) else list(blocks)
    if not names or any(not isinstance(name, str) or not name for name in names):
        raise ValueError(f"blocks must name one or more submodules, got {blocks!r}; an empty "
                         "name would re-initialise the whole model. Pass e.g. 'fc' or "
                         "['layer4', 'fc']; to randomise everything, name every top block: "
                         f"{[name for name, _ in model.named_children()]}")
    for name in names:
        try:
            model.get_submodule(name)
        except AttributeError:
            raise AttributeError(
                f"blocks: the model has no submodule {name!r}; its top blocks are "
                f"{[child for child, _ in model.named_children()]} (dotted names such as "
                "'layer3.1' reach inside them)") from None
    clone = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in names:
            for module in clone.get_submodule(name).modules():
                reset = getattr(module, "reset_parameters", None)
                if callable(reset):
                    reset()
    return clone


def cascade_randomizations(
    model: nn.Module,
    order: Sequence[str] = ("fc", "layer4", "layer3", "layer2", "layer1"),
    seed: int = 0,
) -> Iterator[tuple[str, nn.Module]]:
    """Adebayo et al.'s cascading randomisation: yields ``(block, copy)`` from the top down.

    The i-th copy has ``order[0]`` .. ``order[i]`` re-initialised (cumulative: the blocks
    randomised earlier keep the same random weights in later copies), block ``order[i]`` with
    the seed ``seed + i``. Quantus' ``MPRT`` reseeds every layer with one seed, so that two
    layers of the same shape get identical random weights; the seeds here keep them apart.
    With one block per layer and Quantus' seed, :func:`randomized_copy` draws the very weights
    Quantus draws (``tests/test_quantus_oracle.py``). A generator, so only one or two copies
    are alive at a time; ``model`` itself is never modified.
    """
    current = model
    for i, name in enumerate(order):
        current = randomized_copy(current, name, seed=seed + i)
        yield name, current


def maps_by_method(
    model: nn.Module, x: Tensor, methods: Mapping[str, Callable[[nn.Module], Callable]],
    class_idx: ClassIndex = None,
) -> dict[str, Tensor]:
    """Each method's maps of ``x`` for ``model``: ``{name: (B, H, W) on the CPU}``.

    ``methods`` maps a name to a factory such as ``helpers.cam.GradCAM``: ``method(model)``
    must return a callable ``(x, class_idx) -> maps``.
    """
    return {name: method(model)(x, class_idx).detach().cpu() for name, method in methods.items()}


def cascade_maps(
    model: nn.Module, x: Tensor, methods: Mapping[str, Callable[[nn.Module], Callable]],
    class_idx: ClassIndex = None,
    order: Sequence[str] = ("fc", "layer4", "layer3", "layer2", "layer1"),
    seed: int = 0, batch_size: int = 64,
) -> dict[str, dict[str, Tensor]]:
    """The maps of every method for the trained model and each step of the cascade.

    Returns ``{"trained": maps, "fc": maps, "layer4": maps, ...}``, each a
    :func:`maps_by_method` dict, the key naming the last block randomised (cumulative, see
    :func:`cascade_randomizations`). Every step explains the same class: ``class_idx``, or
    (None) the trained model's prediction, found once, as Adebayo et al. do. ``model`` itself
    is never modified.
    """
    idx = resolve_class_idx(class_idx, predict_probs(model, x, batch_size=batch_size))
    steps = {"trained": maps_by_method(model, x, methods, idx)}
    for name, copy_ in cascade_randomizations(model, order, seed):
        steps[name] = maps_by_method(copy_, x, methods, idx)
    return steps


def cascade_similarity(steps: Mapping[str, Mapping[str, Tensor]]) -> pd.DataFrame:
    """How much the maps of each cascade step still resemble the trained model's.

    ``steps``: what :func:`cascade_maps` returns (the first entry is the reference). One row
    per step and method: ``step`` (its name), ``blocks`` (how many blocks are randomised),
    ``method``, and the means over images of ``spearman`` (:func:`rank_correlation`) and
    ``ssim`` (:func:`ssim`). A method that passes the sanity check falls well below 1 as soon
    as the top block is randomised.
    """
    names = list(steps)
    reference = steps[names[0]]
    rows = [
        dict(step=step, blocks=k, method=method,
             spearman=rank_correlation(reference[method], maps).mean().item(),
             ssim=ssim(reference[method], maps).mean().item())
        for k, step in enumerate(names) for method, maps in steps[step].items()
    ]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Floors and intervals: what a similarity means, and how sure it is (notebooks 06 and 08)
# ----------------------------------------------------------------------------------------------


def fully_random_maps(model: nn.Module, x: Tensor,
                      methods: Mapping[str, Callable[[nn.Module], Callable]],
                      class_idx: ClassIndex, seed: int = 0) -> dict[str, Tensor]:
    """Each method's maps of ``x`` for a copy of ``model`` with *every* top block re-initialised
    (:func:`randomized_copy` with the seed ``seed``): a network that learned nothing."""
    blocks = [name for name, child in model.named_children()
              if any(True for _ in child.parameters())]
    return maps_by_method(randomized_copy(model, blocks, seed=seed), x, methods, class_idx)


def similarity_floors(trained: Mapping[str, Tensor], random_a: Mapping[str, Tensor],
                      random_b: Mapping[str, Tensor]) -> pd.DataFrame:
    r"""The two floors of a map similarity, per method (one row each), and the higher.

    ``different images, trained model``: the mean Spearman correlation of image :math:`i`'s
    map with image :math:`i+1`'s (cyclically), what two maps of unrelated lesions share;
    ``two random models, same images``: of the same image's maps for two fully random networks
    (:func:`fully_random_maps` with two seeds), what the image alone puts into a map.
    ``floor (the higher)``: a similarity under it says the map has lost what was specific to
    the trained model.
    """
    floors = pd.DataFrame({
        "different images, trained model": {
            name: rank_correlation(m, m.roll(1, dims=0)).mean().item()
            for name, m in trained.items()},
        "two random models, same images": {
            name: rank_correlation(random_a[name], random_b[name]).mean().item()
            for name in trained},
    })
    floors["floor (the higher)"] = floors.max(axis=1)
    return floors


def similarity_intervals(steps: Mapping[str, Mapping[str, Tensor]], floors: Mapping[str, float],
                         groups: Sequence[object] | None = None, level: float = 0.95,
                         n_boot: int = 10_000, seed: int = 0) -> pd.DataFrame:
    r"""Per step and method, the mean Spearman to the reference maps, its interval, the floor.

    ``steps``: :func:`cascade_maps`' dict (the first entry is the reference), or any dict of
    the same shape (``{"trained": ..., "shuffled labels": ...}``). ``floors``: per method, the
    floor (:func:`similarity_floors`' last column). ``groups``: one group per image (its
    ``lesion_id``, or its source photograph), resampled as a whole by
    :func:`helpers.stats.grouped_bootstrap_ci`; default one group per image. Columns ``step``,
    ``method``, ``mean``, ``low``, ``high``, ``floor``, ``n`` (the number of groups) and
    ``below`` (``high < floor``: the whole interval under the floor); the reference step is
    left out. :func:`helpers.findings.randomisation` reads it and applies the rule.
    """
    names = list(steps)
    reference = steps[names[0]]
    rows = []
    for step in names[1:]:
        for method, maps in steps[step].items():
            rho = rank_correlation(reference[method], maps)
            labels = list(range(len(rho))) if groups is None else list(groups)
            kept = [g for g, r in zip(labels, rho.tolist(), strict=True) if r == r]
            if len(set(kept)) >= 2:
                mean, low, high = grouped_bootstrap_ci(rho, labels, level, n_boot, seed)
            elif kept:
                mean = low = high = float(rho[~rho.isnan()].mean())
            else:
                mean = low = high = float("nan")
            floor = float(floors[method])
            rows.append(dict(step=step, method=method, mean=mean, low=low, high=high,
                             floor=floor, n=len(set(kept)), below=below_floor(high, floor)))
    return pd.DataFrame(rows)
