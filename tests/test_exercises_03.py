"""The checks of notebook 03's exercises (helpers.exercises): right answers in several
forms pass, wrong ones fail."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.models import resnet18

from helpers import exercises as ex


def test_second_derivative_forms():
    for zero in (0, 0.0, torch.tensor(0.0), np.zeros(1), "0"):
        assert ex.check_03_second_derivative(zero).ok
    assert not ex.check_03_second_derivative(torch.tensor(1e-3)).ok


@pytest.mark.parametrize("answer", ["Grad-CAM++", "gradcam++", ["GradCAM++"], "GradCAMPlusPlus"])
def test_logit_scale_accepts(answer):
    assert ex.check_03_logit_scale(answer).ok


@pytest.mark.parametrize("answer", ["CAM", "Grad-CAM", ["CAM", "Grad-CAM++"], "score-cam"])
def test_logit_scale_rejects(answer):
    assert not ex.check_03_logit_scale(answer).ok


def test_other_implementation_measures_the_two_weight_arrays():
    rng = np.random.default_rng(0)
    reference = rng.random(8) + 0.5
    assert ex.check_03_other_implementation(reference + 1e-7, reference)
    eps = ex.check_03_other_implementation(reference * 0.95, reference)  # an eps in the formula
    assert eps and "eps" in eps.message
    assert not ex.check_03_other_implementation(reference, reference)     # one array twice
    assert not ex.check_03_other_implementation(reference[:-1], reference)
    assert not ex.check_03_other_implementation(np.r_[reference[:-1], math.nan], reference)
    assert not ex.check_03_other_implementation(rng.random(8) * 5, reference)
    unscaled = ex.check_03_other_implementation(reference, reference * math.exp(2.0))
    assert not unscaled and "exp(S)" in unscaled.hint                     # conceptual: w_eq10


def test_second_derivative_is_zero_only():
    assert ex.check_03_second_derivative(0.0)
    assert ex.check_03_second_derivative(torch.zeros(()))
    for value in (0.37, math.nan, math.inf, "zero-ish"):  # 0.37: d2 exp(S) (conceptual)
        assert not ex.check_03_second_derivative(value), value


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    return resnet18(num_classes=3).eval(), torch.rand(1, 3, 64, 64)


def test_layer3_correlation_recomputed_from_the_model(trained):
    model, images = trained
    right = ex.blog_and_paper_correlations(model, images)
    assert len(right) == 3
    assert ex.check_03_layer3_correlation(right, model, images)
    assert ex.check_03_layer3_correlation(torch.tensor(right), model, images)
    at4 = ex.blog_and_paper_correlations(model, images, "layer4")
    assert not np.allclose(right, at4, equal_nan=True)
    layer4 = ex.check_03_layer3_correlation(at4, model, images)         # conceptual: layer4
    assert not layer4 and "layer3" in layer4.hint
    assert not ex.check_03_layer3_correlation(right)                    # nothing to recompute
    assert not ex.check_03_layer3_correlation([0.3, 0.2, 0.1], model, images)
    assert not ex.check_03_layer3_correlation([1.5, 0.2, 0.1], model, images)
    assert not ex.check_03_layer3_correlation([math.inf, 0.2, 0.1], model, images)
    assert not ex.check_03_layer3_correlation([math.nan] * 3, model, images)


@pytest.mark.parametrize("answer", ["Grad-CAM++", ["gradcam++"], "GradCAMPlusPlus"])
def test_logit_scale_right(answer):
    assert ex.check_03_logit_scale(answer)


@pytest.mark.parametrize("answer", [
    "Grad-CAM",                          # conceptual: Grad-CAM's map only scales
    "CAM", ["Grad-CAM++", "CAM"], ["CAM", "Grad-CAM", "Grad-CAM++"], math.nan, "Score-CAM"])
def test_logit_scale_wrong(answer):
    assert not ex.check_03_logit_scale(answer)
