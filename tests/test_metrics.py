"""helpers.metrics against hand-computed small cases and scipy / scikit-image references."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers import agreement, metrics

# ---------------------------------------------------------------------------------------------
# A toy model whose class-0 probability is the mean pixel value: softmax(log p) = p.
# ---------------------------------------------------------------------------------------------


class MeanModel(nn.Module):
    """Two classes; p(class 0) = mean of the input (clamped into (0, 1))."""

    def __init__(self) -> None:
        super().__init__()
        self.seen_training: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen_training.append(self.training)
        m = x.double().mean(dim=(1, 2, 3)).clamp(1e-9, 1 - 1e-9)
        return torch.stack([m.log(), (1 - m).log()], dim=1)


def half_image() -> tuple[torch.Tensor, torch.Tensor]:
    """A 1x1x4x4 image: left half 1, right half 0, and a map ranking the left half first."""
    x = torch.zeros(1, 1, 4, 4)
    x[..., :2] = 1.0
    good_map = x[:, 0] * 0.5 + 0.5 * torch.linspace(1, 0, 16).view(1, 4, 4)  # left half first
    return x, good_map


# ---------------------------------------------------------------------------------------------
# Average Drop, Increase in Confidence, Win %
# ---------------------------------------------------------------------------------------------


def test_explanation_map_multiplies_over_channels():
    x = torch.ones(2, 3, 2, 2) * 2
    maps = torch.tensor([[[0.0, 1.0], [0.5, 1.0]], [[1.0, 1.0], [1.0, 1.0]]])
    e = metrics.explanation_map(x, maps)
    assert e.shape == x.shape
    assert torch.equal(e[0, 2], torch.tensor([[0.0, 2.0], [1.0, 2.0]]))
    assert torch.equal(e[1], x[1])


def test_average_drop_and_increase_by_hand():
    y, o = torch.tensor([0.8, 0.5]), torch.tensor([0.4, 0.6])
    assert metrics.average_drop(y, o) == pytest.approx(25.0)  # 100 * mean(0.5, 0)
    assert metrics.increase_in_confidence(y, o) == pytest.approx(50.0)
    assert metrics.increase_in_confidence(y, y) == 0.0  # unchanged is not an increase
    rel = metrics.relative_drop(y, o)
    assert rel.tolist() == pytest.approx([0.5, -0.2])


def test_win_rate_by_hand_and_ties_split():
    y = torch.tensor([0.8, 0.5, 0.4, 1.0])
    a = torch.tensor([0.6, 0.5, 0.4, 0.9])  # drops 0.25, 0, 0, 0.1
    b = torch.tensor([0.4, 0.6, 0.4, 0.8])  # drops 0.5, -0.2, 0, 0.2
    # a wins images 0 and 3, loses image 1, ties image 2
    assert metrics.win_rate(y, a, b) == pytest.approx(100 * 2.5 / 4)
    assert metrics.win_rate(y, a, b) + metrics.win_rate(y, b, a) == pytest.approx(100.0)
    # a tolerance turns near-ties into ties: image 3 (0.1 vs 0.2) becomes a tie at tol 0.15
    assert metrics.win_rate(y, a, b, tol=0.15) == pytest.approx(100 * 2 / 4)
    assert metrics.win_rate(y, y * (1 + 1e-9), y, tol=1e-6) == 50.0


def test_class_probabilities_restores_mode_and_gives_no_grad():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.5))
    model.train()
    model[1].eval()  # a mixed state must come back exactly
    x = torch.randn(5, 1, 2, 2)
    p = metrics.class_probabilities(model, x, class_idx=[0, 1, 2, 0, 1], batch_size=2)
    expected = torch.softmax(model[1](x.flatten(1)), dim=1)
    assert torch.allclose(p, expected[torch.arange(5), [0, 1, 2, 0, 1]].detach())
    assert model.training and model[2].training and not model[1].training
    assert all(param.grad is None for param in model.parameters())
    top = metrics.class_probabilities(model, x, class_idx=None)
    assert torch.allclose(top, expected.max(dim=1).values.detach())


# ---------------------------------------------------------------------------------------------
# Deletion and insertion
# ---------------------------------------------------------------------------------------------


def test_deletion_auc_by_hand():
    x, good = half_image()
    model = MeanModel()
    # p(f) = max(0, 0.5 - f): area 0.125 (exact with the trapezoid: breakpoints on the grid)
    assert metrics.deletion_auc(model, x, good, 0, steps=8).item() == pytest.approx(0.125)
    # the reversed map deletes the zeros first: 0.5 * 0.5 + 0.125 = 0.375
    assert metrics.deletion_auc(model, x, 1 - good, 0, steps=8).item() == pytest.approx(0.375)


def test_insertion_auc_by_hand_on_zero_canvas():
    x, good = half_image()
    model = MeanModel()
    zero = torch.zeros_like(x)
    # p(f) = min(f, 0.5): area 0.125 + 0.25
    auc = metrics.insertion_auc(model, x, good, 0, steps=4, blur=zero)
    assert auc.item() == pytest.approx(0.375)
    auc_bad = metrics.insertion_auc(model, x, 1 - good, 0, steps=4, blur=lambda t: t * 0)
    assert auc_bad.item() == pytest.approx(0.125)


def test_perturbation_curve_shape_batching_and_mode():
    torch.manual_seed(0)
    x = torch.rand(3, 2, 6, 6)
    maps = torch.rand(3, 6, 6)
    model = MeanModel().train()
    fractions, probs = metrics.perturbation_curve(
        model, x, maps, 0, start=x, finish=0.0, steps=5, batch_size=4
    )
    assert fractions.tolist() == pytest.approx([k * 36 // 5 / 36 for k in range(6)])
    assert probs.shape == (3, 6)
    assert torch.allclose(probs[:, 0], x.mean(dim=(1, 2, 3)))  # nothing removed yet
    assert torch.allclose(probs[:, -1], torch.full((3,), 1e-9), atol=1e-8)  # all removed
    assert model.training and not any(model.seen_training)


def test_insertion_with_gaussian_blur_is_in_unit_range():
    torch.manual_seed(1)
    x = torch.rand(2, 3, 16, 16)
    maps = torch.rand(2, 16, 16)
    auc = metrics.insertion_auc(MeanModel(), x, maps, [0, 1], steps=4, blur=2.0)
    assert auc.shape == (2,)
    assert ((auc >= 0) & (auc <= 1)).all()
    dele = metrics.deletion_auc(MeanModel(), x, maps, None, steps=4)
    assert ((dele >= 0) & (dele <= 1)).all()


# ---------------------------------------------------------------------------------------------
# Pointing game and energy
# ---------------------------------------------------------------------------------------------


def test_pointing_game_by_hand():
    maps = torch.zeros(3, 4, 4)
    maps[0, 1, 1] = 1.0  # peak inside the 2x2 mask
    maps[1, 3, 3] = 1.0  # peak outside
    # image 2: all zero -> a miss
    masks = torch.zeros(3, 4, 4, dtype=torch.uint8)
    masks[:, :2, :2] = 255
    assert metrics.pointing_hits(maps, masks).tolist() == [True, False, False]
    assert metrics.pointing_game(maps, masks) == pytest.approx(1 / 3)
    # a 2-pixel tolerance reaches (3, 3) from the mask's corner (1, 1)
    assert metrics.pointing_hits(maps, masks, tolerance=2).tolist() == [True, True, False]


def test_pointing_ties_take_the_first_maximum():
    maps = torch.zeros(1, 2, 2)
    maps[0, 0, 1] = maps[0, 1, 0] = 1.0
    mask_second = torch.tensor([[[0, 0], [1, 0]]])
    assert metrics.pointing_hits(maps, mask_second).tolist() == [False]


def test_energy_share_by_hand():
    maps = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]])
    masks = torch.tensor([[[1, 0], [0, 1]], [[1, 1], [1, 1]]], dtype=torch.bool)
    assert metrics.energy_share(maps, masks).tolist() == pytest.approx([0.5, 0.0])
    assert metrics.energy_pointing_game(maps, masks) == pytest.approx(0.25)


# ---------------------------------------------------------------------------------------------
# Agreement and similarity
# ---------------------------------------------------------------------------------------------


def test_rank_correlation_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    torch.manual_seed(2)
    a = torch.randint(0, 4, (3, 5, 5)).float()  # many ties
    b = a + 0.7 * torch.randn(3, 5, 5)
    got = agreement.rank_correlation(a, b)
    for i in range(3):
        want = stats.spearmanr(a[i].flatten().numpy(), b[i].flatten().numpy()).statistic
        assert got[i].item() == pytest.approx(want, abs=1e-12)


def test_rank_correlation_hand_cases():
    a = torch.arange(9.0).view(1, 3, 3)
    assert agreement.rank_correlation(a, a * 3 + 1).item() == pytest.approx(1.0)
    assert agreement.rank_correlation(a, -a).item() == pytest.approx(-1.0)
    assert agreement.rank_correlation(a, torch.zeros_like(a)).item() == 0.0  # constant: 0


def test_top_region_iou_by_hand():
    a = torch.arange(10.0).view(1, 2, 5)  # top 20 % = pixels 9, 8
    b = a.clone()
    b[0, 1, 3] = -1  # b's top two: 9, 7
    assert agreement.top_region_iou(a, b).item() == pytest.approx(1 / 3)  # {9} / {9, 8, 7}
    assert agreement.top_region_iou(a, a).item() == 1.0
    assert agreement.top_region_iou(a, -a).item() == 0.0
    assert agreement.top_region_iou(a, b, fraction=0.5).item() == pytest.approx(4 / 6)


def test_ssim_hand_cases():
    torch.manual_seed(3)
    a = torch.rand(2, 16, 16)
    assert agreement.ssim(a, a).tolist() == pytest.approx([1.0, 1.0])
    assert (agreement.ssim(a, torch.rand(2, 16, 16)) < 0.5).all()
    const = torch.full((1, 12, 12), 0.3)
    assert agreement.ssim(const, const).item() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        agreement.ssim(torch.rand(1, 8, 8), torch.rand(1, 8, 8))


def test_ssim_matches_scikit_image():
    skm = pytest.importorskip("skimage.metrics")
    torch.manual_seed(4)
    a = torch.rand(3, 20, 24)
    b = (a + 0.2 * torch.randn(3, 20, 24)).clamp(0, 1)
    got = agreement.ssim(a, b)
    for i in range(3):
        want = skm.structural_similarity(
            a[i].double().numpy(),
            b[i].double().numpy(),
            data_range=1.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        assert got[i].item() == pytest.approx(want, abs=1e-10)


def maps_three_methods() -> dict[str, torch.Tensor]:
    torch.manual_seed(5)
    base = torch.rand(4, 12, 12)
    noisy = base.clone()
    noisy[3] = torch.rand(12, 12)  # image 3: one method says something else
    return {"A": base, "B": base * 2, "C": noisy}


@pytest.mark.parametrize("metric", ["spearman", "iou", "ssim"])
def test_agreement_matrix_symmetric_with_unit_diagonal(metric):
    maps = maps_three_methods()
    table = agreement.agreement_matrix(maps, metric=metric)
    assert list(table.index) == list(table.columns) == ["A", "B", "C"]
    assert (table.values == table.values.T).all()
    assert (table.values.diagonal() == 1.0).all()
    if metric != "ssim":  # scaling changes SSIM, not ranks
        assert table.loc["A", "B"] == pytest.approx(1.0)
    one_pair = {"spearman": agreement.rank_correlation, "iou": agreement.top_region_iou,
                "ssim": agreement.ssim}[metric]  # the table = the pair's own metric, averaged
    assert table.loc["A", "C"] == pytest.approx(one_pair(maps["A"], maps["C"]).mean().item())
    with pytest.raises(ValueError, match="maps differ in shape"):
        agreement.agreement_matrix({**maps, "D": torch.rand(4, 12, 13)}, metric=metric)


def test_consensus_and_disagreeing_images():
    maps = maps_three_methods()
    scores = agreement.consensus_scores(maps)
    assert scores.shape == (4,)
    assert scores[:3].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert scores[3] < 0.9  # (1 + two random correlations) / 3
    assert agreement.disagreeing_images(maps, k=1).tolist() == [3]
    assert agreement.disagreeing_images(maps, threshold=0.99).tolist() == [3]
    with pytest.raises(ValueError):
        agreement.agreement_matrix(maps, metric="pearson")


# ---------------------------------------------------------------------------------------------
# One table for many methods
# ---------------------------------------------------------------------------------------------


def test_method_table_by_hand():
    x = half_image()[0].repeat(2, 1, 1, 1)  # two copies: left half 1, right half 0; p = 0.5
    left = x[:, 0].clone()
    maps = {"left": left, "flat": torch.full_like(left, 0.5), "right": 1 - left}
    masks = torch.stack([left[0], torch.zeros_like(left[0])])  # image 1 has no lesion mask
    model = MeanModel()
    table = metrics.method_table(model, x, maps, 0, masks, reference="flat", steps=8)
    assert list(table.index) == ["left", "flat", "right"]
    # explanation maps keep all (p 0.5), half (p 0.25) or none (p ~ 0) of the class evidence
    assert table["Average Drop %"].tolist() == pytest.approx([0.0, 50.0, 100.0])
    assert table["Increase in Confidence %"].tolist() == [0.0, 0.0, 0.0]
    assert table["Win % vs flat"].tolist() == [100.0, 50.0, 0.0]
    # localisation on image 0 only; the flat map's first maximum, pixel (0, 0), is in the lesion
    assert table["pointing game"].tolist() == [1.0, 1.0, 0.0]
    assert table["energy pointing game"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    # deletion: 0.125 and 0.375 as above; flat deletes row by row (two ones, then two zeros)
    assert table["deletion AUC"].tolist() == pytest.approx([0.125, 0.21875, 0.375])
    expected = metrics.insertion_auc(model, x, maps["right"], 0, steps=8).mean().item()
    assert table.loc["right", "insertion AUC"] == pytest.approx(expected)
    assert table.attrs == {"n_images": 2, "steps": 8, "n_with_mask": 1}


def test_method_table_defaults_to_the_predicted_class_and_skips_what_it_lacks():
    x = half_image()[0]
    maps = {"A": x[:, 0], "B": torch.full_like(x[:, 0], 0.5)}
    table = metrics.method_table(MeanModel(), x, maps)  # class 0 (p 0.5 vs 0.5: the first)
    assert list(table.columns) == ["Average Drop %", "Increase in Confidence %"]
    assert table["Average Drop %"].tolist() == pytest.approx([0.0, 50.0])
    empty = metrics.method_table(MeanModel(), x, maps, 0, torch.zeros_like(x[:, 0]))
    assert empty["pointing game"].isna().all() and empty.attrs["n_with_mask"] == 0
