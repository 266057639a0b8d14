"""The checks of notebook 06's exercises (helpers.exercises): the answers a solution
computes pass in any common form, wrong ones get a message that says what is off, junk
never raises."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import exercises as ex
from helpers.agreement import rank_correlation, ssim
from helpers.metrics import energy_share

FORMS = [lambda v: v, np.float32, torch.tensor, lambda v: [v], lambda v: f"{v * 100:g} %"]


def _maps_by_method(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(4, 1, 24, 24, generator=g), 5, 1, 2)[:, 0]
    return {"A": smooth, "B": smooth.flip(-1) ** 2}


def test_ssim_floors_recomputed_from_the_maps():
    trained, ra, rb = _maps_by_method(0), _maps_by_method(1), _maps_by_method(2)
    images = {k: ssim(m, m.roll(1, dims=0)).mean().item() for k, m in trained.items()}
    models = {k: ssim(ra[k], rb[k]).mean().item() for k in trained}
    floors = {k: max(images[k], models[k]) for k in trained}
    assert ex.check_06_ssim_floors(floors, trained, ra, rb)
    assert ex.check_06_ssim_floors(pd.Series(floors), trained, ra, rb)
    assert ex.check_06_ssim_floors(list(floors.values()), trained, ra, rb)
    # one floor only: the check names which one is missing
    if not np.allclose(list(images.values()), list(floors.values())):
        only = ex.check_06_ssim_floors(images, trained, ra, rb)
        assert not only and "different-images floors only" in only.message
    if not np.allclose(list(models.values()), list(floors.values())):
        only = ex.check_06_ssim_floors(models, trained, ra, rb)
        assert not only and "random-models floors only" in only.message
    off = ex.check_06_ssim_floors({k: v + 0.1 for k, v in floors.items()}, trained, ra, rb)
    assert not off and off.hint
    assert not ex.check_06_ssim_floors({"A": 0.3}, trained, ra, rb)  # B missing


@pytest.mark.parametrize("check", [ex.check_06_fair_ink, ex.check_06_choice])
def test_shares_out_of_range_are_refused_with_a_hint(check):
    for bad in (-0.1, 40, 250):
        fb = check(bad, 0.1)
        assert not fb and fb.hint


CHECKS = [ex.check_06_ruler, ex.check_06_score_cam, ex.check_06_ssim_floors,
          ex.check_06_fair_ink, ex.check_06_choice]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("junk", [None, "no number", float("nan"), object(), [[1, "a"]]])
def test_junk_in_every_argument_gives_feedback(check, junk):
    n_args = {ex.check_06_ruler: 3, ex.check_06_ssim_floors: 4}.get(check, 2)
    fb = check(*[junk] * n_args)
    assert isinstance(fb, ex.Feedback) and not fb and fb.exercise and fb.message


METHODS = ("CAM", "Grad-CAM")


def _maps(seed: int, n: int = 4, size: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.avg_pool2d(torch.rand(n, 1, size, size, generator=g), 3, 1, 1,
                                          count_include_pad=False)[:, 0]


def _ruler_masks(n: int = 4, size: int = 16) -> torch.Tensor:
    masks = torch.zeros(n, size, size)
    masks[:, 3, 2:14] = 1
    return masks


def test_ruler_recomputes_energy_and_area():
    maps, masks = {m: _maps(i) for i, m in enumerate(METHODS)}, _ruler_masks()
    area = masks.gt(0).float().mean().item()
    energy = [energy_share(m, masks).mean().item() for m in maps.values()]
    feedback = ex.check_06_ruler(0.03, energy, area, maps, masks)
    assert feedback and "did not learn" in feedback.message
    assert ex.check_06_ruler(0.25, torch.tensor(energy), f"{area:.6%}", maps, masks)
    ink = torch.zeros_like(masks)
    ink[:, 6:11, 6:11] = 1                                       # conceptual: the ink's masks
    ink_energy = [energy_share(m, ink).mean().item() for m in maps.values()]
    assert not ex.check_06_ruler(0.03, ink_energy, area, maps, masks)
    assert not ex.check_06_ruler(0.03, energy, ink.mean().item(), maps, masks)
    assert not ex.check_06_ruler(math.nan, energy, area, maps, masks)
    assert not ex.check_06_ruler(0.03, [0.2, 0.3], area, maps, masks)  # typed numbers
    assert not ex.check_06_ruler(0.03, energy, area)                   # nothing to recompute
    assert not ex.check_06_ruler(0.03, energy, area * 100, maps, masks)  # a percentage


@pytest.fixture(scope="module")
def cascade():
    trained = _maps(0, n=6)
    fc = trained + 0.02 * _maps(1, n=6)          # after a random fc: nearly unchanged (fails)
    layer4 = 1 - trained                         # after layer4 too: far below any floor
    ra, rb = _maps(3, n=6), _maps(4, n=6)
    return {"trained": {"Score-CAM": trained}, "fc": {"Score-CAM": fc},
            "layer4": {"Score-CAM": layer4}}, ra, rb


def test_score_cam_verdict_is_computed(cascade):
    steps, ra, rb = cascade
    trained = steps["trained"]["Score-CAM"]
    floor = max(rank_correlation(trained, trained.roll(1, dims=0)).mean().item(),
                rank_correlation(ra, rb).mean().item())
    assert rank_correlation(trained, steps["fc"]["Score-CAM"]).mean().item() > floor
    assert ex.check_06_score_cam("fails", steps, ra, rb)
    assert ex.check_06_score_cam(False, steps, ra, rb)
    # conceptual: read at the layer4 step, where it falls below its floor
    assert rank_correlation(trained, steps["layer4"]["Score-CAM"]).mean().item() < floor
    assert not ex.check_06_score_cam("passes", steps, ra, rb)
    assert not ex.check_06_score_cam("fails", steps, ra, ra)       # one random model twice
    assert not ex.check_06_score_cam("fails")                      # nothing to compute from
    assert not ex.check_06_score_cam("maybe", steps, ra, rb)
    swapped = {"trained": steps["trained"], "fc": steps["layer4"]}
    assert ex.check_06_score_cam("passes", swapped, ra, rb)        # it follows the maps


def test_ssim_floors_recomputed_and_nan_refused():
    trained = {m: _maps(10 + i) for i, m in enumerate(METHODS)}
    ra = {m: _maps(20 + i) for i, m in enumerate(METHODS)}
    rb = {m: _maps(30 + i) for i, m in enumerate(METHODS)}
    images = {m: ssim(t, t.roll(1, dims=0)).mean().item() for m, t in trained.items()}
    models = {m: ssim(ra[m], rb[m]).mean().item() for m in METHODS}
    floors = {m: max(images[m], models[m]) for m in METHODS}
    assert ex.check_06_ssim_floors(floors, trained, ra, rb)
    assert ex.check_06_ssim_floors(pd.Series(floors), trained, ra, rb)
    assert not ex.check_06_ssim_floors({m: math.nan for m in METHODS}, trained, ra, rb)  # 36
    assert not ex.check_06_ssim_floors([math.inf, 0.5], trained, ra, rb)
    lower = {m: min(images[m], models[m]) for m in METHODS}          # conceptual: one floor
    assert lower != floors
    assert not ex.check_06_ssim_floors(lower, trained, ra, rb)
    spearman = {m: rank_correlation(ra[m], rb[m]).mean().item() for m in METHODS}
    assert not ex.check_06_ssim_floors(spearman, trained, ra, rb)    # the other measure
    assert not ex.check_06_ssim_floors(floors, trained, ra, ra)      # one random model twice


def _table(moved_nv: float, kept_nv: float, recall_moved: float = 0.4) -> pd.DataFrame:
    return pd.DataFrame({"mel recall": [0.8, recall_moved], "nv called mel": [kept_nv, moved_nv]},
                        index=["ink on mel (as trained)", "ink moved to nv"])


def test_fair_ink_reads_the_nevi_rows():
    table = _table(0.61, 0.45)
    feedback = ex.check_06_fair_ink(0.61, 0.45, table)
    assert feedback and "+0.16" in feedback.message
    assert ex.check_06_fair_ink(*table["nv called mel"].iloc[::-1], table)
    assert not ex.check_06_fair_ink(0.45, 0.61, table)              # swapped
    assert not ex.check_06_fair_ink(0.4, 0.8, table)                # conceptual: melanoma recall
    assert not ex.check_06_fair_ink(math.nan, 0.45, table)
    assert not ex.check_06_fair_ink(61, 45, table)                   # percentages
    assert not ex.check_06_fair_ink(0.61, 0.45)                      # no table


def _choice(trained_nv: float, moved_nv: float, recall_moved: float) -> pd.DataFrame:
    return pd.DataFrame({"mel recall": [0.83, recall_moved],
                         "inked non-mel called mel": [0.8, 0.9],
                         "nv called mel": [trained_nv, moved_nv]},
                        index=["as trained", "ink moved"])


@pytest.mark.parametrize(("table", "right", "wrongs"), [
    (_choice(0.21, 0.83, 0.40), ["both", ["ink", "lesion"]], ["ink", "lesion", "neither"]),
    (_choice(0.21, 0.83, 0.20), ["ink", ["Ink"]], ["both", "lesion", "neither"]),
    (_choice(0.21, 0.25, 0.60), ["lesion"], ["ink", "both", "neither"]),
    (_choice(0.21, 0.25, 0.25), ["neither", []], ["ink", "lesion", "both"]),
])
def test_choice_decides_from_the_table(table, right, wrongs):
    for answer in right:
        assert ex.check_06_choice(answer, table), answer
    for answer in wrongs:
        feedback = ex.check_06_choice(answer, table)
        assert not feedback and feedback.hint, answer


def test_choice_needs_the_table_and_refuses_nan():
    assert not ex.check_06_choice("ink")
    assert not ex.check_06_choice("ink", _choice(0.21, math.nan, 0.4))
    assert not ex.check_06_choice("the ruler", _choice(0.21, 0.83, 0.4))
    # conceptual: reading the "as trained" row as the moved one gives no ink pull
    as_trained = _choice(0.21, 0.83, 0.40).iloc[[0, 0]].set_axis(["as trained", "ink moved"])
    assert ex.check_06_choice("lesion", as_trained)
    assert not ex.check_06_choice("both", as_trained)


@pytest.mark.parametrize(("exact", "fast", "ok"), [
    (2755, 375, True), (375, 2755, False), (40_000, 375, False), (math.nan, 375, False),
    (math.inf, 375, False)])
def test_exact_score_cam_times(exact, fast, ok):
    assert bool(ex.check_09_exact_score_cam(exact, fast)) is ok
