"""helpers.metrics (model-free baseline maps) and helpers.stats (bootstrap intervals, paired
comparisons).

Checked against scipy (bootstrap, permutation test, Sobel filter) and hand-computed cases.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy import ndimage
from scipy import stats as scipy_stats
from torch import nn

from helpers import baselines, metrics, stats


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


def test_bootstrap_ci_agrees_with_scipy() -> None:
    values = np.random.default_rng(1).normal(0.4, 0.2, 150)
    mean, low, high = stats.bootstrap_ci(values, n_boot=20_000, seed=0)
    ref = scipy_stats.bootstrap((values,), np.mean, n_resamples=20_000, method="percentile",
                                random_state=0).confidence_interval
    assert mean == pytest.approx(values.mean())
    assert low == pytest.approx(ref.low, abs=0.006) and high == pytest.approx(ref.high, abs=0.006)
    # the interval is about mean +- 1.96 standard errors for normal data
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_bootstrap_ci_skips_nan_and_is_seeded() -> None:
    values = [1.0, 2.0, float("nan"), 3.0, 4.0]
    assert stats.bootstrap_ci(values, seed=3) == stats.bootstrap_ci(values, seed=3)
    assert stats.bootstrap_ci(values)[0] == pytest.approx(2.5)
    assert stats.bootstrap_ci([5.0, 5.0, 5.0]) == (5.0, 5.0, 5.0)
    with pytest.raises(ValueError, match="no value that is not NaN"):
        stats.bootstrap_ci([float("nan")])
    with pytest.raises(ValueError, match="infinite"):
        stats.bootstrap_ci([1.0, float("inf")])
    with pytest.raises(ValueError, match="level"):
        stats.bootstrap_ci([1.0, 2.0], level=95)


def test_read_only_arrays_and_tensors_are_taken_without_a_warning() -> None:
    # pandas hands out read-only arrays (Series.to_numpy); torch warns on those unless copied
    values = np.array([1.0, 2.0, 4.0])
    values.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_array = stats.bootstrap_ci(values, seed=1)
        from_tensor = stats.bootstrap_ci(torch.tensor(values, requires_grad=True), seed=1)
        paired = stats.paired_difference(values, values[::-1], seed=1)
    assert from_array == from_tensor and from_array[0] == pytest.approx(7 / 3)
    assert paired["mean"] == pytest.approx(0.0)


def test_paired_difference_agrees_with_scipy_permutation_test() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0.5, 0.1, 40)
    b = a - 0.02 + rng.normal(0, 0.05, 40)
    ours = stats.paired_difference(a, b, n_boot=20_000)
    ref = scipy_stats.permutation_test((a, b), lambda x, y: np.mean(x - y),
                                       permutation_type="samples", n_resamples=20_000,
                                       random_state=0)
    assert ours["mean"] == pytest.approx(np.mean(a - b)) and ours["n"] == 40
    assert ours["p"] == pytest.approx(ref.pvalue, abs=0.02)
    assert ours["low"] < ours["mean"] < ours["high"]


def test_paired_difference_hand_cases() -> None:
    same = stats.paired_difference([0.1, 0.5, 0.9], [0.1, 0.5, 0.9])
    assert same["mean"] == 0 and same["p"] == 1.0 and same["low"] == same["high"] == 0
    # every one of 12 images better by 1: the sign-flip test finds p ~ 2 / 2^12, floored by n_boot
    clear = stats.paired_difference(np.ones(12), np.zeros(12), n_boot=5000)
    assert clear["mean"] == 1 and clear["p"] < 0.01
    nan_pair = stats.paired_difference([1.0, float("nan"), 3.0], [0.0, 1.0, 1.0])
    assert nan_pair["n"] == 2 and nan_pair["mean"] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="pair them by image"):
        stats.paired_difference([1.0, 2.0], [1.0])


class _Tiny(nn.Module):
    """Logits from the mean brightness of the top half vs the bottom half."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[-2] // 2
        return torch.stack([x[..., :h, :].mean((1, 2, 3)), x[..., h:, :].mean((1, 2, 3))], 1) * 4


def test_per_image_scores_and_summary_match_the_table_metrics() -> None:
    torch.manual_seed(0)
    x = torch.rand(6, 3, 8, 8)
    masks = torch.zeros(6, 8, 8)
    masks[:5, :4] = 1  # image 5 has no mask
    maps = {"top": torch.zeros(6, 8, 8), "random": baselines.random_maps(6, 8, 8)}
    maps["top"][:, :4] = 1
    model = _Tiny()
    scores = metrics.per_image_scores(model, x, maps, class_idx=0, masks=masks)
    assert len(scores) == 12 and scores["image"].tolist() == list(range(6)) * 2
    table = metrics.method_table(model, x, maps, class_idx=0, masks=masks, reference=None)
    for name in maps:
        rows = scores[scores["method"] == name]
        assert rows["drop %"].mean() == pytest.approx(table.at[name, "Average Drop %"])
        assert rows["increase %"].mean() == pytest.approx(
            table.at[name, "Increase in Confidence %"])
        assert rows["pointing (lesion)"].mean() == pytest.approx(table.at[name, "pointing game"])
        assert np.isnan(rows["energy (lesion)"].iloc[5])  # no mask: not scored
    assert scores.loc[scores["method"] == "top", "energy (lesion)"].iloc[:5].eq(1.0).all()
    with_auc = metrics.per_image_scores(model, x, maps, class_idx=0, steps=4)
    table = metrics.method_table(model, x, maps, class_idx=0, reference=None, steps=4)
    for name in maps:
        rows = with_auc[with_auc["method"] == name]
        assert rows["deletion AUC"].mean() == pytest.approx(table.at[name, "deletion AUC"])
        assert rows["insertion AUC"].mean() == pytest.approx(table.at[name, "insertion AUC"])
    with_win = metrics.per_image_scores(model, x, {**maps, "same": maps["top"].clone()},
                                        class_idx=0, reference="top")
    table = metrics.method_table(model, x, {**maps, "same": maps["top"].clone()}, class_idx=0,
                                 reference="top")
    for name in (*maps, "same"):
        rows = with_win[with_win["method"] == name]
        assert set(rows["win % vs top"]) <= {0.0, 50.0, 100.0}
        assert rows["win % vs top"].mean() == pytest.approx(table.at[name, "Win % vs top"])
    assert with_win.loc[with_win["method"] == "same", "win % vs top"].eq(50.0).all()
    with pytest.raises(ValueError, match="reference='CAM' is not one of the methods"):
        metrics.per_image_scores(model, x, maps, class_idx=0, reference="CAM")
    summary = stats.summarize_with_intervals(scores, n_boot=500)
    assert summary.at["top", "energy (lesion)"] == "1.00 [1.00, 1.00]"
    mean, low, high = summary.attrs["numeric"][("random", "drop %")]
    assert low <= mean <= high
