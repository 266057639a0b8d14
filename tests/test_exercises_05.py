"""The checks of notebook 05's exercises (helpers.exercises): the answers a solution
computes pass in any common form, wrong ones get a message that says what is off, junk
never raises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import exercises as ex
from helpers.agreement import ssim

FORMS = [lambda v: v, np.float32, torch.tensor, lambda v: [v], lambda v: f"{v * 100:g} %"]


@pytest.mark.parametrize("form", FORMS)
def test_ruler_reads_every_form_and_says_learned_and_found(form):
    fb = ex.check_05_ruler(form(0.25), [0.2, 0.25], form(0.05))
    assert fb and "learned the ruler" in fb.message and "find it" in fb.message


def test_ruler_not_learned_not_found():
    fb = ex.check_05_ruler(0.01, 0.05, 0.05)
    assert fb and "did not learn" in fb.message and "do not single it out" in fb.message


@pytest.mark.parametrize(("drop", "energy", "area", "says"), [
    (0.2, 0.3, 0.9, "not a ruler's"),        # the image's share of the lesion, not the ruler
    (0.2, 0.3, 5, "percentage"),             # 5 % written as 5
    (0.2, 1.7, 0.05, "energy shares"),       # an energy share above 1
    (3.0, 0.3, 0.05, "[-1, 1]"),             # not a difference of balanced accuracies
])
def test_ruler_says_what_is_off(drop, energy, area, says):
    fb = ex.check_05_ruler(drop, energy, area)
    assert not fb and says in fb.message + fb.hint and fb.hint


@pytest.mark.parametrize(("rho", "floor", "word"), [(0.8, 0.5, "fails"), (0.2, 0.5, "passes")])
def test_score_cam_verdict_follows_the_floor(rho, floor, word):
    fb = ex.check_05_score_cam(torch.tensor(rho), f"{floor}")
    assert fb and word in fb.message


@pytest.mark.parametrize(("rho", "floor"), [(1.0, 0.5), (1.4, 0.5), (0.5, -2)])
def test_score_cam_refuses_self_comparison_and_non_correlations(rho, floor):
    assert not ex.check_05_score_cam(rho, floor)


def _maps(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(4, 1, 24, 24, generator=g), 5, 1, 2)[:, 0]
    return {"A": smooth, "B": smooth.flip(-1) ** 2}


def test_ssim_floors_recomputed_from_the_maps():
    trained, ra, rb = _maps(0), _maps(1), _maps(2)
    images = {k: ssim(m, m.roll(1, dims=0)).mean().item() for k, m in trained.items()}
    models = {k: ssim(ra[k], rb[k]).mean().item() for k in trained}
    floors = {k: max(images[k], models[k]) for k in trained}
    assert ex.check_05_ssim_floors(floors, trained, ra, rb)
    assert ex.check_05_ssim_floors(pd.Series(floors), trained, ra, rb)
    assert ex.check_05_ssim_floors(list(floors.values()), trained, ra, rb)
    # one floor only: the check names which one is missing
    if not np.allclose(list(images.values()), list(floors.values())):
        only = ex.check_05_ssim_floors(images, trained, ra, rb)
        assert not only and "different-images floors only" in only.message
    if not np.allclose(list(models.values()), list(floors.values())):
        only = ex.check_05_ssim_floors(models, trained, ra, rb)
        assert not only and "random-models floors only" in only.message
    off = ex.check_05_ssim_floors({k: v + 0.1 for k, v in floors.items()}, trained, ra, rb)
    assert not off and off.hint
    assert not ex.check_05_ssim_floors({"A": 0.3}, trained, ra, rb)  # B missing


@pytest.mark.parametrize(("with_ink", "without", "says"), [
    (0.05, 0.0, "no longer"), ("42 %", 0.4, "no longer"), (0.8, 0.1, "still pulls")])
def test_fair_ink_reads_the_pull(with_ink, without, says):
    fb = ex.check_05_fair_ink(with_ink, without)
    assert fb and says in fb.message


def test_fair_ink_swapped_shares_are_flagged():
    fb = ex.check_05_fair_ink(0.1, 0.8)
    assert not fb and "swapped" in fb.message and fb.hint


@pytest.mark.parametrize(("recall", "inked", "says"), [
    (0.0, 0.9, "the ink"), (0.5, 0.1, "the lesion"), (0.05, 0.2, "neither")])
def test_choice_names_the_cue(recall, inked, says):
    fb = ex.check_05_choice(recall, torch.tensor([inked]))
    assert fb and says in fb.message


@pytest.mark.parametrize("check", [ex.check_05_fair_ink, ex.check_05_choice])
def test_shares_out_of_range_are_refused_with_a_hint(check):
    for bad in (-0.1, 40, 250):
        fb = check(bad, 0.1)
        assert not fb and fb.hint


CHECKS = [ex.check_05_ruler, ex.check_05_score_cam, ex.check_05_ssim_floors,
          ex.check_05_fair_ink, ex.check_05_choice]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("junk", [None, "no number", float("nan"), object(), [[1, "a"]]])
def test_junk_in_every_argument_gives_feedback(check, junk):
    n_args = {ex.check_05_ruler: 3, ex.check_05_ssim_floors: 4}.get(check, 2)
    fb = check(*[junk] * n_args)
    assert isinstance(fb, ex.Feedback) and not fb and fb.exercise and fb.message
