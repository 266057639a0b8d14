"""The metadata-only baseline on hand-made tables whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from helpers.data import CLASSES
from helpers.metadata_baseline import FEATURES, LEAKY, fit_metadata_baseline
from helpers.stats import balanced_accuracy_interval


def _table(n: int, seed: int, site_is_class: bool) -> pd.DataFrame:
    """``n`` images per class; the body site names the class, or is noise."""
    rng = np.random.default_rng(seed)
    dx = np.repeat(CLASSES, n)
    site = dx if site_is_class else rng.choice(["back", "face", "leg"], size=dx.size)
    return pd.DataFrame({
        "lesion_id": [f"L{seed}_{k}" for k in range(dx.size)], "dx": dx,
        "age": rng.normal(50, 15, dx.size), "sex": rng.choice(["male", "female"], dx.size),
        "localization": site, "dx_type": "histo"})


def test_a_site_that_names_the_class_gives_balanced_accuracy_one() -> None:
    fit = fit_metadata_baseline(_table(30, 0, True), _table(10, 1, True))
    assert balanced_accuracy_score(fit.labels, fit.pred) == 1.0
    assert fit.probs.shape == (70, len(CLASSES))
    np.testing.assert_allclose(fit.probs.sum(axis=1), 1.0)
    assert (fit.probs.argmax(axis=1) == fit.pred).all()


def test_noise_gives_about_chance() -> None:
    fit = fit_metadata_baseline(_table(200, 0, False), _table(200, 1, False))
    value = balanced_accuracy_score(fit.labels, fit.pred)
    assert abs(value - 1 / len(CLASSES)) < 0.05


def test_agrees_with_scikit_learn_and_the_lesion_interval() -> None:
    train, test = _table(40, 0, False), _table(20, 1, False)
    test.loc[test.index[::3], "localization"] = test["dx"][::3]  # a third of the sites help
    train.loc[train.index[::3], "localization"] = train["dx"][::3]
    fit = fit_metadata_baseline(train, test)
    value, low, high = balanced_accuracy_interval(fit.labels, fit.pred, fit.groups, n_boot=200)
    assert value == pytest.approx(balanced_accuracy_score(fit.labels, fit.pred))
    assert low < value < high
    assert list(fit.groups) == list(test["lesion_id"])


def test_missing_test_ages_get_the_train_median() -> None:
    train, test = _table(20, 0, False), _table(5, 1, False)
    test.loc[test.index[:4], "age"] = np.nan
    fit = fit_metadata_baseline(train, test, features=("age",))
    imputer = fit.model[0].named_transformers_["numbers"][0]
    assert imputer.statistics_[0] == pytest.approx(train["age"].median())
    assert imputer.statistics_[0] != pytest.approx(test["age"].median())
    filled = fit.model[0].transform(test[["age"]].iloc[:4])
    scaler = fit.model[0].named_transformers_["numbers"][1]
    want = (train["age"].median() - scaler.mean_[0]) / scaler.scale_[0]
    np.testing.assert_allclose(filled.ravel(), want)


def test_an_unseen_site_does_not_crash_and_a_leaky_column_can_be_added() -> None:
    train, test = _table(20, 0, False), _table(5, 1, False)
    test.loc[test.index[0], "localization"] = "acral"  # never in train
    test.loc[test.index[1], "sex"] = None
    fit = fit_metadata_baseline(train, test, features=(*FEATURES, LEAKY))
    assert len(fit.pred) == len(test) and np.isfinite(fit.probs).all()
    assert LEAKY not in FEATURES


def test_a_class_absent_from_training_gets_probability_zero() -> None:
    train = _table(20, 0, True)
    fit = fit_metadata_baseline(train[train["dx"] != "df"], _table(5, 1, True))
    assert (fit.probs[:, CLASSES.index("df")] == 0).all()


@pytest.mark.parametrize("bad", ["no dx", "no rows", "no features", "strange class"])
def test_refuses_what_it_cannot_fit(bad: str) -> None:
    train, test = _table(5, 0, False), _table(5, 1, False)
    kwargs: dict = {}
    if bad == "no dx":
        test = test.drop(columns="dx")
    elif bad == "no rows":
        test = test.iloc[:0]
    elif bad == "no features":
        kwargs["features"] = ()
    else:
        train.loc[train.index[0], "dx"] = "cat"
    with pytest.raises(ValueError):
        fit_metadata_baseline(train, test, **kwargs)
