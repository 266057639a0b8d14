"""The checks of notebook 07's exercises say "right" to the right answer and "wrong" to at least
three wrong ones, one of them a conceptual mistake."""

from __future__ import annotations

import pandas as pd

from helpers.exercises import (
    check_07_ig_steps,
    check_07_occlusion_passes,
    check_07_randomisation,
)

DELTAS = {4: 0.30, 8: 0.07, 16: 0.02, 32: 0.004}


def test_ig_steps() -> None:
    assert check_07_ig_steps(16, DELTAS)
    assert not check_07_ig_steps(32, DELTAS)   # within 5 %, but not the fewest
    assert not check_07_ig_steps(8, DELTAS)    # 7 %: outside
    assert not check_07_ig_steps(12, DELTAS)   # not tried
    assert not check_07_ig_steps("many", DELTAS)
    assert check_07_ig_steps(32, {4: 0.3, 32: 0.2})  # none within: the most tried


def cascade() -> pd.DataFrame:
    rows = [("Gradient", "fc", True), ("Gradient", "layer4", True),
            ("Grad-CAM++", "fc", False), ("Grad-CAM++", "layer4", False),
            ("LIME", "fc", False), ("LIME", "layer4", True)]
    return pd.DataFrame([dict(method=m, step=s, below=b) for m, s, b in rows])


def test_randomisation() -> None:
    table = cascade()
    assert check_07_randomisation(["Gradient", "LIME"], table)
    assert not check_07_randomisation(["Gradient"], table)                     # one missing
    assert not check_07_randomisation(["Gradient", "LIME", "Grad-CAM++"], table)  # fails
    assert not check_07_randomisation(["Grad-CAM"], table)                     # not a method
    assert not check_07_randomisation("Gradient", table)


def test_occlusion_passes() -> None:
    assert check_07_occlusion_passes(730, 112, 8, 4)
    assert not check_07_occlusion_passes(729, 112, 8, 4)   # forgot the image itself
    assert not check_07_occlusion_passes(197, 112, 8, 4)   # stride taken as the window
    assert not check_07_occlusion_passes(50, 112, 8, 4)    # the layer4 grid's count
    assert not check_07_occlusion_passes(None, 112, 8, 4)
