"""Notebook 08's checks: "correct" for the solution's answer, "wrong" for at least three wrong
answers each, one of them a conceptual mistake (the wrong layer)."""


import math

import numpy as np
import pytest
import torch
from torchvision.models import resnet18

from helpers import exercises as ex
from helpers import stats


@pytest.fixture(scope="module")
def shares():
    rng = np.random.default_rng(0)
    plus = rng.uniform(0.1, 0.3, 20)
    grad = plus - rng.normal(0.05, 0.02, 20)
    return plus, grad, stats.paired_difference(plus, grad, n_boot=2000)


@pytest.fixture(scope="module")
def model():
    return resnet18(num_classes=3).eval()


def test_smaller_copy_at_a_14x14_layer(shares, model):
    plus, grad, gap = shares
    feedback = ex.check_08_smaller_copy(gap, plus, grad, model, "layer3")
    assert feedback and "more" in feedback.message
    last = ex.check_08_smaller_copy(gap, plus, grad, model, "layer4")  # conceptual: 7x7 layer
    assert not last and "7x7" in last.message
    assert not ex.check_08_smaller_copy(gap, plus, plus, model, "layer3")  # one array twice
    swapped = stats.paired_difference(grad, plus, n_boot=2000)
    assert not ex.check_08_smaller_copy(swapped, plus, grad, model, "layer3")
    assert not ex.check_08_smaller_copy({**gap, "low": math.nan}, plus, grad, model, "layer3")
    assert not ex.check_08_smaller_copy(gap, plus, grad)                   # no layer to measure
    assert not ex.check_08_smaller_copy(gap, plus * 10, grad, model, "layer3")  # not shares


def test_smaller_copy_says_no_difference_when_the_interval_holds_0(model):
    plus = np.linspace(0.1, 0.3, 20)
    grad = plus + np.r_[0.01, -0.01] .repeat(10)
    gap = stats.paired_difference(plus, grad, n_boot=2000)
    feedback = ex.check_08_smaller_copy(gap, plus, grad, model, "layer3")
    assert feedback and "includes 0" in feedback.message


def _alpha_spread(model, layer, x):
    from helpers.cam import GradCAMPlusPlus

    method = GradCAMPlusPlus(model, layer)
    method.compute_raw(x, 0)
    a, g = method.last_activations, method.last_gradients
    alpha = torch.nan_to_num(g**2 / (2 * g**2 + a.sum(dim=(2, 3), keepdim=True) * g**3))
    flat = alpha.flatten(2)
    scale = flat.abs().amax(2).clamp_min(1e-12)
    return float(((flat.amax(2) - flat.amin(2)) / scale).max())


def test_alpha_positions_on_a_real_network(model):
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64)
    last, earlier = _alpha_spread(model, "layer4", x), _alpha_spread(model, "layer3", x)
    assert last < 1e-4 <= earlier
    assert ex.check_08_alpha_positions(last, earlier)
    assert not ex.check_08_alpha_positions(earlier, last)      # conceptual: the layers swapped
    assert not ex.check_08_alpha_positions(earlier, earlier)   # the earlier layer twice
    assert not ex.check_08_alpha_positions(last, last)         # the last layer twice
    assert not ex.check_08_alpha_positions(math.nan, earlier)
    assert not ex.check_08_alpha_positions(-0.1, earlier)
