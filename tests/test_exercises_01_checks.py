"""Notebook 01's checks: each says "correct" to the answer its solution computes and "wrong" to
at least three wrong answers, one of them a conceptual mistake (the wrong split or quantity)."""

import math

import numpy as np
import pytest

from helpers import exercises as ex
from helpers.data import lesion_split, packaged_metadata, random_image_split, shared_lesion_count


@pytest.fixture(scope="module")
def meta():
    return packaged_metadata()


def test_site_right_and_three_wrong(meta):
    shares = meta["dx"].eq("mel").groupby(meta["localization"]).mean().sort_values()
    most_images = meta["dx"].eq("mel").groupby(meta["localization"]).sum().idxmax()
    assert ex.check_01_site(shares.index[-1], meta)
    assert most_images != shares.index[-1]
    counted = ex.check_01_site(most_images, meta)  # conceptual: the count, not the share
    assert not counted and "count" in counted.hint
    for answer in (shares.index[-2], "moon", math.nan):
        assert not ex.check_01_site(answer, meta), answer


def _counts(meta, splitter, **kw):
    out = []
    for t in (0.1, 0.2, 0.3):
        parts = splitter(meta, val=0.1, test=t, seed=0, **kw)
        out.append(shared_lesion_count(parts["train"], parts["test"]))
    return out


def test_leakage_recounts_the_splits(meta):
    right = _counts(meta, random_image_split)
    assert ex.check_01_leakage(right, meta)
    assert ex.check_01_leakage(np.array(right), meta, seed=0)
    assert not ex.check_01_leakage([1, 2, math.inf], meta)     # issue 36: inf is never right
    assert not ex.check_01_leakage([right[0], right[1], math.nan], meta)
    assert not ex.check_01_leakage(right[::-1], meta)          # the order of the fractions
    assert not ex.check_01_leakage([right[0] + 1, right[1] + 7, right[2] + 13], meta)  # growing
    wrong_split = ex.check_01_leakage(_counts(meta, lesion_split), meta)  # conceptual: no leak
    assert not wrong_split and "lesion_split" in wrong_split.message
    other_seed = _counts(meta, lambda m, **kw: random_image_split(m, **{**kw, "seed": 1}))
    assert not ex.check_01_leakage(other_seed, meta)           # another split than asked


def test_leakage_counting_lesions_instead_of_images_is_named(meta):
    lesions = []
    for t in (0.1, 0.2, 0.3):
        s = random_image_split(meta, val=0.1, test=t, seed=0)
        leaked = s["test"]["lesion_id"].isin(set(s["train"]["lesion_id"]))
        lesions.append(s["test"].loc[leaked, "lesion_id"].nunique())
    feedback = ex.check_01_leakage(lesions, meta)
    assert not feedback and "lesions" in feedback.message


def test_age_medians_recomputed_from_the_split(meta):
    split = lesion_split(meta, seed=0)
    medians = {name: float(part["age"].median()) for name, part in split.items()}
    assert ex.check_01_age_medians(medians, split)
    assert ex.check_01_age_medians(list(medians.values()), split)
    assert ex.check_01_age_medians([medians["train"], medians["test"]], split)
    means = {name: float(part["age"].mean()) for name, part in split.items()}
    as_means = ex.check_01_age_medians(means, split)            # conceptual: mean, not median
    assert not as_means and "mean" in as_means.message
    assert not ex.check_01_age_medians({**medians, "test": math.nan}, split)
    assert not ex.check_01_age_medians({**medians, "test": medians["test"] + 5}, split)
    assert not ex.check_01_age_medians(medians)                 # no split to check against
    assert not ex.check_01_age_medians({"train": 50, "holdout": 50}, split)


def test_age_medians_as_a_series_and_needing_train_and_test(meta):
    import pandas as pd

    split = lesion_split(meta, seed=0)
    medians = pd.Series({name: float(part["age"].median()) for name, part in split.items()})
    assert ex.check_01_age_medians(medians, split)
    assert not ex.check_01_age_medians({"train": medians["train"]}, split)
