"""helpers.baselines: the model-free baseline maps, checked against scipy's Sobel filter
and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from helpers import baselines, metrics


def test_centre_gaussian_peaks_in_the_centre_and_is_symmetric() -> None:
    maps = baselines.centre_gaussian_maps(2, 9, 9, sigma=0.3)
    assert maps.shape == (2, 9, 9) and torch.equal(maps[0], maps[1])
    assert maps[0].argmax().item() == 4 * 9 + 4 and maps[0, 4, 4].item() == pytest.approx(1.0)
    assert torch.allclose(maps[0], maps[0].flip(0)) and torch.allclose(maps[0], maps[0].T)
    # a pixel at x = 2/3 (column 7 of 9): exp(-(2/3)^2 / (2 * 0.09))
    assert maps[0, 4, 7].item() == pytest.approx(np.exp(-(2 / 3) ** 2 / 0.18), rel=1e-5)
    with pytest.raises(ValueError, match="sigma"):
        baselines.centre_gaussian_maps(1, 4, 4, sigma=0)


def test_random_maps_are_seeded_and_leave_the_global_state_alone() -> None:
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = baselines.random_maps(3, 5, 6, seed=1), baselines.random_maps(3, 5, 6, seed=1)
    assert torch.equal(a, b) and not torch.equal(a, baselines.random_maps(3, 5, 6, seed=2))
    assert torch.equal(before, torch.random.get_rng_state())
    assert 0 <= a.min() and a.max() < 1


def test_edge_maps_match_scipy_sobel() -> None:
    rng = np.random.default_rng(0)
    images = torch.as_tensor(rng.random((2, 3, 12, 10)), dtype=torch.float32)
    ours = baselines.edge_maps(images)
    for k in range(2):
        grey = images[k].mean(dim=0).double().numpy()
        # scipy's sobel along axis 1 is the x derivative, axis 0 the y derivative
        mag = np.hypot(ndimage.sobel(grey, axis=1, mode="nearest"),
                       ndimage.sobel(grey, axis=0, mode="nearest"))
        ref = (mag - mag.min()) / (mag.max() - mag.min())
        np.testing.assert_allclose(ours[k].numpy(), ref, atol=1e-5)
    assert torch.equal(baselines.edge_maps(torch.ones(1, 3, 5, 5)), torch.zeros(1, 5, 5))


def test_baseline_maps_names_and_mask_reference() -> None:
    images, masks = torch.rand(2, 3, 8, 8), torch.zeros(2, 8, 8)
    masks[:, 2:5, 2:5] = 255
    maps = baselines.baseline_maps(images, masks)
    assert list(maps) == ["uniform", "random", "centre Gaussian", "edges (Sobel)", "lesion mask"]
    assert all(m.shape == (2, 8, 8) for m in maps.values())
    # the mask as a map puts all its energy on the lesion and points into it
    assert metrics.energy_share(maps["lesion mask"], masks).tolist() == [1.0, 1.0]
    # the uniform map's energy share is the mask's area fraction (9 of 64 pixels)
    assert metrics.energy_share(maps["uniform"], masks).tolist() == [9 / 64, 9 / 64]
