"""Tests for the demo set's difficulty (helpers.demo): look-alike lesions and off-centre views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import data as D
from helpers.demo import sets as DM

N, SIZE = 300, 64

def nevus_looking(rows: pd.DataFrame, share: float, seed: int = 0) -> set[str]:
    """The melanoma lesions that :func:`demo_looks` draws with a nevus's look at ``share``."""
    looks = DM.demo_looks(rows, seed, mel_as_nv=share)
    return set(rows.loc[(rows["dx"] == "mel").to_numpy() & (looks == "nv"), "lesion_id"]
               .astype(str))



@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return DM._sample_demo_rows(D.packaged_metadata(), 1500, seed=0)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return D.load_metadata(DM.make_demo_dataset(tmp_path_factory.mktemp("looks") / "d", N, SIZE))


def test_look_alike_shares_per_split_part(rows: pd.DataFrame) -> None:
    rows = rows.assign(look=DM.demo_looks(rows, seed=0))
    assert (rows.groupby("lesion_id")["look"].nunique() == 1).all()  # one look per lesion
    for part in D.lesion_split(rows, seed=0).values():
        sizes = part.groupby("lesion_id").size()
        for dx, alikes in DM.LOOK_ALIKES.items():
            of_class = part[part["dx"] == dx]
            half_a_lesion = sizes[of_class["lesion_id"].unique()].max() / 2
            assert set(of_class["look"]) <= {dx, *(other for other, _ in alikes)}
            target, taken = 0.0, 0
            for other, share in alikes:  # images, summed over the look-alikes dealt so far
                target += share * len(of_class)
                taken += int((of_class["look"] == other).sum())
                assert abs(taken - target) <= half_a_lesion, (dx, other)


def test_every_split_part_gets_about_the_same_ceiling() -> None:
    # dealt within each part, the look-alikes give every part of every draw a ceiling near
    # the design's 0.86 (drawn over all lesions at once, test splits ranged 0.85-0.93)
    for seed in range(4):
        rows = DM._sample_demo_rows(D.packaged_metadata(), 1500, seed=seed)
        rows["drawn_as"] = DM.demo_looks(rows, seed=seed)
        for name, part in D.lesion_split(rows, seed=seed).items():
            assert 0.83 < DM.balanced_accuracy_ceiling(part) < 0.875, (seed, name)


def test_looks_depend_on_the_seed_only(rows: pd.DataFrame) -> None:
    assert (DM.demo_looks(rows, seed=0) == DM.demo_looks(rows.iloc[::-1], seed=0)[::-1]).all()
    assert (DM.demo_looks(rows, seed=0) != DM.demo_looks(rows, seed=1)).any()


def test_more_nevus_looking_melanomas_add_lesions(rows: pd.DataFrame) -> None:
    base = nevus_looking(rows, DM.LOOK_ALIKES["mel"][0][1])
    more = nevus_looking(rows, 0.5)
    assert base < more and base == set(rows.loc[(rows["dx"] == "mel").to_numpy()
                                                & (DM.demo_looks(rows) == "nv"), "lesion_id"])


def test_demo_csv_says_how_each_lesion_was_drawn(small: pd.DataFrame) -> None:
    assert "drawn_as" in small.columns
    assert set(small["drawn_as"]) <= set(D.CLASSES)
    assert (small["drawn_as"] != small["dx"]).any()  # some look-alikes in 300 images


def test_views_move_and_zoom_the_lesion(small: pd.DataFrame) -> None:
    masks = np.stack([np.asarray(Image.open(p)) > 0 for p in small["mask_path"]])
    side = masks.shape[1]
    square = masks[:, :, (masks.shape[2] - side) // 2:][:, :, :side]  # what the model sees
    ys, xs = np.mgrid[0:side, 0:side]
    area = square.sum((1, 2))
    seen = area > 0
    cy = (square * ys).sum((1, 2))[seen] / area[seen]
    cx = (square * xs).sum((1, 2))[seen] / area[seen]
    off = np.hypot(cy - side / 2, cx - side / 2) / (side / 2)
    assert np.quantile(off, 0.75) > 0.15  # many lesions well off centre
    touching = square[:, [0, -1]].any((1, 2)) | square[:, :, [0, -1]].any((1, 2))
    assert 0.03 < touching.mean() < 0.5  # some run out of the frame, most do not
    share = area / side**2
    assert np.quantile(share, 0.9) > 2.5 * np.quantile(share, 0.1)  # several scales


def test_balanced_accuracy_ceiling_by_hand() -> None:
    # a: 4 images, 1 drawn as b; b: 2 images, none drawn as a. Best rule: look a -> a,
    # look b -> b: recalls 3/4 and 2/2, ceiling 0.875
    rows = pd.DataFrame({"dx": ["a"] * 4 + ["b"] * 2, "drawn_as": ["a", "a", "a", "b", "b", "b"]})
    assert DM.balanced_accuracy_ceiling(rows) == pytest.approx(0.875)
    assert DM.balanced_accuracy_ceiling(rows.assign(drawn_as=rows["dx"])) == 1.0
    # a look shared half and half by two equal classes: the ceiling is one half of that
    even = pd.DataFrame({"dx": ["a", "b"], "drawn_as": ["x", "x"]})
    assert DM.balanced_accuracy_ceiling(even) == pytest.approx(0.5)
