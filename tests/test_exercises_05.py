"""The checks of notebook 05 (and 06's exercise 2): the answers a solution computes pass in any
common form, wrong ones get a message that says what is off, junk never raises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import exercises as ex
from helpers.agreement import ssim

FORMS = [lambda v: v, np.float32, torch.tensor, lambda v: [v], lambda v: f"{v * 100:g} %"]


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


@pytest.mark.parametrize("check", [ex.check_05_fair_ink, ex.check_05_choice])
def test_shares_out_of_range_are_refused_with_a_hint(check):
    for bad in (-0.1, 40, 250):
        fb = check(bad, 0.1)
        assert not fb and fb.hint


@pytest.mark.parametrize(("exact", "fast", "ok"), [
    (2900.0, 360.0, True), ("2.9e3", [360], True), (300.0, 360.0, False), (9000.0, 360.0, False)])
def test_exact_score_cam_ratio(exact, fast, ok):
    assert bool(ex.check_06_exact_score_cam(exact, fast)) is ok


CHECKS = [ex.check_05_ruler, ex.check_05_score_cam, ex.check_05_ssim_floors,
          ex.check_05_fair_ink, ex.check_05_choice, ex.check_06_exact_score_cam]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("junk", [None, "no number", float("nan"), object(), [[1, "a"]]])
def test_junk_in_every_argument_gives_feedback(check, junk):
    n_args = {ex.check_05_ruler: 3, ex.check_05_ssim_floors: 4}.get(check, 2)
    fb = check(*[junk] * n_args)
    assert isinstance(fb, ex.Feedback) and not fb and fb.exercise and fb.message
