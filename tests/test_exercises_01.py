"""The checks of notebook 01's exercises (helpers.exercises): right answers in several
forms pass, wrong ones get feedback that never names the answer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import exercises as ex
from helpers.data import lesion_split, packaged_metadata, random_image_split, shared_lesion_count


def _meta():
    return pd.DataFrame({
        "dx": ["mel", "mel", "nv", "mel", "nv", "nv", "nv", "bcc"],
        "localization": ["ear", "ear", "ear", "back", "back", "back", "face", "face"],
    })


@pytest.mark.parametrize("answer", ["ear", "Ear", ["ear"], pd.Index(["ear"]), " EAR "])
def test_site_accepts_the_top_site_in_several_forms(answer):
    assert ex.check_01_site(answer, _meta()).ok


def test_site_rejects_others_and_never_names_the_answer():
    for answer in ("back", "face", "knee"):
        fb = ex.check_01_site(answer, _meta())
        assert not fb.ok and "ear" not in str(fb).lower()


def test_site_on_packaged_metadata_is_the_ear():
    # independent of the check: the packaged HAM10000 table, counted directly
    from helpers.data import packaged_metadata

    meta = packaged_metadata()
    counts = meta.assign(mel=meta["dx"] == "mel").groupby("localization")["mel"].mean()
    assert ex.check_01_site(counts.idxmax()).ok
    assert not ex.check_01_site("back").ok


@pytest.mark.parametrize("counts", [[385, 711, 955], (385, 711, 955), np.array([385, 711, 955]),
                                    torch.tensor([385, 711, 955]),
                                    {0.1: 385, 0.2: 711, 0.3: 955}, "385, 711, 955"])
def test_leakage_accepts_growing_counts(counts):
    assert ex.check_01_leakage(counts).ok


@pytest.mark.parametrize("counts", [[955, 711, 385], [0.38, 0.35, 0.32], [385, 711], [-1, 2, 3]])
def test_leakage_rejects_wrong(counts):
    fb = ex.check_01_leakage(counts)
    assert not fb.ok and fb.hint


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


@pytest.fixture(scope="module")
def split01(meta):
    return lesion_split(meta, seed=0)


def _per_feature(split, score):
    from helpers.metadata_baseline import fit_metadata_baseline

    fits = [fit_metadata_baseline(split["train"], split["test"], (f,))
            for f in ("age", "sex", "localization")]
    return [float(score(f.labels, f.pred)) for f in fits]


def test_metadata_features_right_in_two_forms_and_wrong_answers_named(split01):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    want = _per_feature(split01, balanced_accuracy_score)  # recomputed here, by scikit-learn
    assert ex.check_01_metadata_features(want, split01)
    assert ex.check_01_metadata_features(dict(zip(("age", "sex", "localization"), want,
                                                  strict=True)), split01)
    swapped = ex.check_01_metadata_features(want[::-1], split01)
    assert not swapped and "order" in swapped.message
    plain = ex.check_01_metadata_features(_per_feature(split01, accuracy_score), split01)
    assert not plain and "balanced" in plain.hint
    for bad in ([w + 0.05 for w in want], [math.nan, *want[1:]], want[:2]):
        assert not ex.check_01_metadata_features(bad, split01), bad
    assert not ex.check_01_metadata_features(want)  # no split: it cannot check
    assert not ex.check_01_metadata_features({"weight": 0.3}, split01)
