"""The checks of notebook 01's exercises (helpers.exercises): right answers in several
forms pass, wrong ones get feedback that never names the answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import exercises as ex


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


@pytest.mark.parametrize("medians", [{"train": 50.0, "val": 50.0, "test": 52.5}, [50, 55],
                                     pd.Series({"train": 45.0, "test": 45.0})])
def test_age_medians(medians):
    assert ex.check_01_age_medians(medians).ok


@pytest.mark.parametrize("medians", [[20, 60], [50, 150], [50, float("nan")], [50]])
def test_age_medians_rejects(medians):
    assert not ex.check_01_age_medians(medians).ok
