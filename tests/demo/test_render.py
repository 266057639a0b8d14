"""helpers.demo.render: a drawn lesion's evidence mask lies inside the lesion and comes
from its structures."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import data as D
from helpers.demo import render as lesions

SIZE = 64  # as in the demo set


# --------------------------------------------------------------------------- pixels unchanged

# The evidence masks were added with the images' pixels unchanged: at commit 2f0d80e,
# render_lesion's
# RGB, lesion and artefact arrays were checked against hashes taken before (11 cases). Those
# hashes are not kept as a test: another CPU's numpy may round a float differently, and a test
# must hold on every machine.


@pytest.mark.parametrize("dx", D.CLASSES)
def test_render_returns_an_evidence_mask_like_the_lesion_mask(dx: str) -> None:
    lesion = lesions.draw_lesion(dx, np.random.default_rng([3, 5]))
    out = lesions.render_lesion(lesion, 64, 85, np.random.default_rng([3, 5, 1]))
    assert out.evidence.shape == out.mask.shape and out.evidence.dtype == np.uint8
    assert set(np.unique(out.evidence)) <= {0, 255} and (out.evidence > 0).any()
    assert not ((out.evidence > 0) & (out.mask == 0)).any(), "evidence lies inside the lesion"


def test_evidence_comes_from_the_structures() -> None:
    """Without their structures (spots, vessels), bcc, bkl and vasc lesions have no evidence;
    an nv without its network (frequency 0: flat) has none either."""
    for dx in ("bcc", "bkl", "vasc", "nv"):
        lesion = lesions.draw_lesion(dx, np.random.default_rng([0, 3]))
        rng = np.random.default_rng([0, 3, 0])
        assert lesions.render_lesion(lesion, SIZE, 85, rng).evidence.any(), dx
        lesion.spots, lesion.spot_colours = np.zeros((0, 3)), np.zeros((0, 3))
        lesion.segments = np.zeros((0, 5))
        if dx == "nv":
            lesion.extra = {"freq": 0.0}
            lesion.noise = np.full_like(lesion.noise, 0.5)  # sin(3 * 0.5)^2 ~ 1: no lines
        rng = np.random.default_rng([0, 3, 0])
        assert not lesions.render_lesion(lesion, SIZE, 85, rng).evidence.any()
