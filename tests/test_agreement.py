"""helpers.agreement: rank correlation, top-region IoU and SSIM against hand cases, scipy
and scikit-image; the agreement matrix and consensus between methods."""

from __future__ import annotations

import pytest
import torch

from helpers import agreement

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
    with pytest.raises(ValueError, match=r"maps.*shape"):
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
# Does a map follow its image when the image is turned?
# ---------------------------------------------------------------------------------------------


def _ramp(size: int = 6) -> torch.Tensor:
    """A map that rises from the left column to the right one, (1, size, size)."""
    return torch.arange(size, dtype=torch.float64).repeat(size, 1)[None]


def test_follows_turn_a_map_drawn_from_the_image_follows_it_exactly():
    torch.manual_seed(5)
    images = torch.rand(3, 3, 8, 8)
    for transform in agreement.TURNS:
        out = agreement.follows_turn(lambda x: x.mean(dim=1), images, transform)
        assert out.rho.tolist() == pytest.approx([1.0, 1.0, 1.0])
        assert (out.rho_in_place < 0.9).all()  # random images: turning moves the pixels
        assert torch.equal(out.turned_back, out.original)


def test_follows_turn_a_map_fixed_to_the_grid_scores_its_own_symmetry():
    images = torch.zeros(1, 3, 6, 6)
    centre = torch.tensor([0, 1, 2, 2, 1, 0], dtype=torch.float64)
    blob = (centre[:, None] + centre[None, :])[None]  # symmetric under turns and flips

    def fixed(m):
        return lambda x: m.expand(len(x), -1, -1)

    for transform in agreement.TURNS:  # a symmetric fixed map cannot be told from a following one
        assert agreement.follows_turn(fixed(blob), images, transform).rho.item() == pytest.approx(1)
    ramp = agreement.follows_turn(fixed(_ramp()), images, "flip")
    assert ramp.rho.item() == pytest.approx(-1.0)  # flipped back, the ramp runs the other way
    assert ramp.rho_in_place.item() == pytest.approx(1.0)  # it never moved
    turned = agreement.follows_turn(fixed(_ramp()), images, "turn")
    assert turned.rho.item() == pytest.approx(0.0)  # a column ramp against a row ramp


def test_follows_turn_a_method_that_ignores_the_turn_scores_lower():
    torch.manual_seed(6)
    images = torch.rand(4, 3, 10, 10)
    follows = agreement.follows_turn(lambda x: x[:, 0], images, "turn")
    lazy = agreement.follows_turn(lambda x: x[:, 0].rot90(-1, (-2, -1)) if x is not images
                                  else x[:, 0], images, "turn")  # undoes the turn itself
    assert follows.rho.tolist() == pytest.approx([1.0] * 4)
    assert (lazy.rho < follows.rho - 0.5).all()
    assert lazy.rho_in_place.tolist() == pytest.approx([1.0] * 4)


def test_follows_turn_reuses_given_original_maps():
    torch.manual_seed(7)
    images, calls = torch.rand(2, 3, 6, 6), []

    def explain(x):
        calls.append(x)
        return x[:, 1]

    given = agreement.follows_turn(explain, images, "turn", original=images[:, 1])
    assert len(calls) == 1 and not torch.equal(calls[0], images)  # the turned images only
    fresh = agreement.follows_turn(explain, images, "turn")
    assert torch.equal(given.rho, fresh.rho) and len(calls) == 3


def test_follows_turn_refuses_unknown_transforms_and_non_square_turns():
    with pytest.raises(ValueError, match="transform must be one of"):
        agreement.follows_turn(lambda x: x[:, 0], torch.rand(1, 3, 4, 4), "rotate45")
    with pytest.raises(ValueError, match="square"):
        agreement.follows_turn(lambda x: x[:, 0], torch.rand(1, 3, 4, 6), "turn")
    out = agreement.follows_turn(lambda x: x[:, 0], torch.rand(1, 3, 4, 6), "flip")
    assert out.rho.item() == pytest.approx(1.0) and out.transform == "flip"
