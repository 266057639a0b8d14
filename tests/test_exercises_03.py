"""The checks of notebook 03's exercises (helpers.exercises): right answers in several
forms pass, wrong ones fail."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import exercises as ex


def test_other_implementation():
    assert ex.check_03_other_implementation(1e-7).ok
    assert ex.check_03_other_implementation(0.08, largest_weight=1.0).ok
    assert not ex.check_03_other_implementation(0.9, largest_weight=1.0).ok
    assert not ex.check_03_other_implementation(-1.0).ok


def test_second_derivative_forms():
    for zero in (0, 0.0, torch.tensor(0.0), np.zeros(1), "0"):
        assert ex.check_03_second_derivative(zero).ok
    assert not ex.check_03_second_derivative(torch.tensor(1e-3)).ok


def test_layer3_correlation():
    assert ex.check_03_layer3_correlation(torch.tensor([0.4, 0.7, float("nan")])).ok
    assert ex.check_03_layer3_correlation([0.9, 0.2]).ok
    assert not ex.check_03_layer3_correlation([1.0, 1.0]).ok
    assert not ex.check_03_layer3_correlation([float("nan")] * 3).ok
    assert not ex.check_03_layer3_correlation([1.5]).ok


@pytest.mark.parametrize("answer", ["Grad-CAM++", "gradcam++", ["GradCAM++"], "GradCAMPlusPlus"])
def test_logit_scale_accepts(answer):
    assert ex.check_03_logit_scale(answer).ok


@pytest.mark.parametrize("answer", ["CAM", "Grad-CAM", ["CAM", "Grad-CAM++"], "score-cam"])
def test_logit_scale_rejects(answer):
    assert not ex.check_03_logit_scale(answer).ok
