"""helpers.data.lesion_groups / lesion_split: one lesion under two ids stays on one side."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import data as D

PAIRS = D.duplicate_pairs()


def test_the_packaged_pairs_are_the_18_published_ones() -> None:
    assert len(PAIRS) == 18 and list(PAIRS.columns) == ["image_a", "image_b", "similarity"]
    meta = D.packaged_metadata().set_index("image_id")
    assert set(PAIRS["image_a"]) | set(PAIRS["image_b"]) <= set(meta.index)
    # each pair joins two different lesion ids of one diagnosis
    for a, b in PAIRS[["image_a", "image_b"]].itertuples(index=False):
        assert meta.at[a, "lesion_id"] != meta.at[b, "lesion_id"]
        assert meta.at[a, "dx"] == meta.at[b, "dx"]


@pytest.mark.parametrize("seed", range(12))
def test_no_duplicate_pair_straddles_two_splits(seed: int) -> None:
    splits = D.lesion_split(D.packaged_metadata(), seed=seed)
    where = {image: name for name, part in splits.items() for image in part["image_id"]}
    straddling = [(a, b) for a, b in PAIRS[["image_a", "image_b"]].itertuples(index=False)
                  if where[a] != where[b]]
    assert not straddling


def _table(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["lesion_id", "image_id", "dx"])


def test_groups_merge_the_lesions_of_a_pair_present_in_the_table() -> None:
    a, b = PAIRS.iloc[0][["image_a", "image_b"]]
    c, d = PAIRS.iloc[1][["image_a", "image_b"]]
    df = _table([("L2", a, "nv"), ("L1", b, "nv"), ("L2", "x1", "nv"),  # L2 holds a and x1
                 ("L3", c, "nv"),  # d absent: L3 stays alone
                 ("L4", "x2", "nv")])
    groups = D.lesion_groups(df)
    assert groups.tolist() == ["L1", "L1", "L1", "L3", "L4"]  # named by the smaller id
    assert groups.index.equals(df.index)
    assert d not in set(df["image_id"])


def test_chained_pairs_form_one_group() -> None:
    a, b = PAIRS.iloc[0][["image_a", "image_b"]]
    c, d = PAIRS.iloc[1][["image_a", "image_b"]]
    # b and c belong to the same lesion id: the two pairs chain into one group
    df = _table([("L9", a, "nv"), ("L5", b, "nv"), ("L5", c, "nv"), ("L7", d, "nv")])
    assert set(D.lesion_groups(df)) == {"L5"}


def test_without_pairs_groups_are_the_lesion_ids() -> None:
    df = _table([("L1", "x1", "nv"), ("L2", "x2", "mel"), ("L1", "x3", "nv")])
    assert D.lesion_groups(df).tolist() == ["L1", "L2", "L1"]


def test_groups_need_lesion_and_image_ids() -> None:
    with pytest.raises(ValueError, match="image_id"):
        D.lesion_groups(pd.DataFrame({"lesion_id": ["L1"]}))


def test_a_split_that_would_separate_a_pair_is_refused() -> None:
    a, b = PAIRS.iloc[0][["image_a", "image_b"]]
    splits = {"train": _table([("L1", a, "nv")]).assign(lesion_group="G"),
              "test": _table([("L2", b, "nv")]).assign(lesion_group="G")}
    with pytest.raises(ValueError, match="Lesion groups in both"):
        D._check_splits(splits)
