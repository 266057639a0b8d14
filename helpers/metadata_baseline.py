r"""What the metadata alone predicts: a baseline that sees no pixel, for the image model to beat.

:func:`fit_metadata_baseline` fits on the **train** part of a split and scores the **test**
part. Its features, all learned from the train rows only:

* ``age``: a missing age is filled with the train median, then standardised,
  :math:`z = (a - \mu_\text{train}) / \sigma_\text{train}`;
* ``sex`` and ``localization`` (and any other column named in ``features``): one-hot; a
  category the train part never showed (a body site absent from training) is all zeros.

The model is scikit-learn's multinomial ``LogisticRegression`` with
``class_weight="balanced"``: image :math:`i` of class :math:`c` weighs :math:`N / (K n_c)` in
the loss (:func:`helpers.train.class_weights`' rule), so a rare class counts as much as ``nv``.
The fit is deterministic (the ``lbfgs`` solver has no randomness). It is scored like the image
model: the balanced accuracy of the test predictions, with a lesion-bootstrap interval
(:func:`helpers.stats.balanced_accuracy_interval`); chance, guessing a class at random, is
:math:`1/K`.

``dx_type`` (how the diagnosis was confirmed) is deliberately *not* a default feature: it was
written down after the diagnosis and carries it (:data:`LEAKY`), a label in disguise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .data import CLASSES

__all__ = ["FEATURES", "LEAKY", "MetadataBaseline", "fit_metadata_baseline"]

FEATURES: tuple[str, ...] = ("age", "sex", "localization")
"""What a patient's record holds before any diagnosis: the baseline's default features."""
LEAKY = "dx_type"
"""How the diagnosis was confirmed: recorded *after* it, so it must never be an input."""
NUMERIC = ("age",)  #: the features read as numbers; every other one is a category


@dataclass(frozen=True)
class MetadataBaseline:
    """The test part scored by a metadata-only model.

    ``labels`` and ``pred``: true and predicted class indices into ``CLASSES``; ``probs``:
    ``(n_test, len(CLASSES))`` probabilities (0 for a class absent from training); ``groups``:
    each test image's ``lesion_id``, to resample by lesion; ``model``: the fitted pipeline."""

    labels: np.ndarray
    pred: np.ndarray
    probs: np.ndarray
    groups: np.ndarray
    features: tuple[str, ...]
    model: Pipeline


def _inputs(df: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The feature columns: numbers as floats, categories as strings (missing: "unknown")."""
    return pd.DataFrame({
        f: (pd.to_numeric(df[f], errors="coerce") if f in NUMERIC
            else df[f].astype(object).where(df[f].notna(), "unknown").astype(str))
        for f in features}, index=df.index)


def _labels(df: pd.DataFrame, name: str) -> np.ndarray:
    unknown = sorted(set(df["dx"]) - set(CLASSES))
    if unknown:
        raise ValueError(f"{name}: dx holds {unknown}, not one of {CLASSES}.")
    return df["dx"].map({c: k for k, c in enumerate(CLASSES)}).to_numpy(dtype=np.int64)


def fit_metadata_baseline(train: pd.DataFrame, test: pd.DataFrame,
                          features: Sequence[str] = FEATURES) -> MetadataBaseline:
    """Fit the metadata-only model on ``train`` and predict ``test`` (the module's recipe).

    ``train`` and ``test``: parts of a split of the metadata table (columns ``dx``,
    ``lesion_id`` and ``features``). Add :data:`LEAKY` to ``features`` only to show the leak.
    """
    features = tuple(features)
    if not features:
        raise ValueError("features is empty: name at least one column, e.g. FEATURES.")
    for name, part in (("train", train), ("test", test)):
        missing = [c for c in ("dx", "lesion_id", *features) if c not in part.columns]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}; pass parts of a split of the "
                             "metadata table (data.lesion_split(meta)).")
        if part.empty:
            raise ValueError(f"{name} has no rows.")
    numeric = [f for f in features if f in NUMERIC]
    categories = [f for f in features if f not in NUMERIC]
    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categories", OneHotEncoder(handle_unknown="ignore"), categories),
    ])
    model = make_pipeline(columns, LogisticRegression(class_weight="balanced", max_iter=2000))
    model.fit(_inputs(train, features), _labels(train, "train"))
    inputs = _inputs(test, features)
    probs = np.zeros((len(test), len(CLASSES)))
    probs[:, model.classes_] = model.predict_proba(inputs)
    return MetadataBaseline(labels=_labels(test, "test"), pred=model.predict(inputs), probs=probs,
                            groups=test["lesion_id"].to_numpy(), features=features, model=model)
