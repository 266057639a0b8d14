"""helpers.calibration: ECE, reliability bins and temperature scaling, on hand cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special
from sklearn.metrics import log_loss

from helpers.calibration import (
    expected_calibration_error,
    fit_temperature,
    reliability_table,
    scale_temperature,
)


def test_ece_hand_case() -> None:
    # 4 predictions at confidence 0.9 (3 right) and 2 at 0.6 (1 right):
    # ECE = 4/6 * |0.75 - 0.9| + 2/6 * |0.5 - 0.6| = 0.1 + 0.0333...
    probs = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    labels = np.array([0, 0, 0, 1, 0, 1])
    table = reliability_table(probs, labels, n_bins=10)
    assert table["count"].tolist() == [2, 4]
    assert table["accuracy"].tolist() == [0.5, 0.75]
    assert expected_calibration_error(probs, labels, 10) == pytest.approx(0.1 + 0.1 / 3)


def test_ece_is_zero_when_confidence_equals_accuracy() -> None:
    probs = np.array([[0.5, 0.5]] * 2 + [[1.0, 0.0]] * 3)
    labels = np.array([0, 1, 0, 0, 0])
    assert expected_calibration_error(probs, labels) == pytest.approx(0.0)


def test_temperature_keeps_predictions_and_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1, (300, 5))
    labels = np.array([rng.choice(5, p=special.softmax(row)) for row in logits])
    over = special.softmax(logits * 3, axis=1)  # over-confident by a factor 3
    t = fit_temperature(over, labels)
    ref = optimize.minimize_scalar(
        lambda temp: log_loss(labels, scale_temperature(over, temp), labels=range(5)),
        bounds=(0.05, 20), method="bounded").x
    assert t == pytest.approx(ref, rel=1e-3) and 2.0 < t < 4.5
    scaled = scale_temperature(over, t)
    assert (scaled.argmax(1) == over.argmax(1)).all()
    assert expected_calibration_error(scaled, labels) < expected_calibration_error(over, labels)
    np.testing.assert_allclose(scale_temperature(over, 1.0), over, atol=1e-9)


@pytest.mark.parametrize(("probs", "labels", "phrase"), [
    (np.array([[2.0, -1.0]]), np.array([0]), "not logits"),
    (np.array([0.5, 0.5]), np.array([0]), r"\(N, K\)"),
    (np.array([[0.5, 0.5]]), np.array([2]), r"labels.*integers"),
    (np.array([[np.nan, 0.5]]), np.array([0]), "probabilities"),
])
def test_bad_inputs_are_refused(probs: np.ndarray, labels: np.ndarray, phrase: str) -> None:
    with pytest.raises(ValueError, match=phrase):
        expected_calibration_error(probs, labels)
    with pytest.raises(ValueError, match=r"temperature.*> 0"):
        scale_temperature(np.array([[0.5, 0.5]]), 0.0)
