"""Every branch of every finding, with values that make it true; the run record; Holm.

A class that runs the real data reads sentences the demo never produces, so each outcome, each
tie, NaN, an empty set and a single lesion or photograph get a case here.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from helpers import findings, metrics, sanity, stats
from helpers.course.claims import EXPECTED, expected_findings

NAN = math.nan


@pytest.fixture(autouse=True)
def no_record_left_open():
    yield
    findings.stop()


def table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["step", "method", "mean", "low", "high", "floor", "n"])


# ---- model randomisation ------------------------------------------------------------------


def test_randomisation_passes_at_the_first_step_whose_interval_is_under_the_floor() -> None:
    out = findings.randomisation(table([
        ("fc", "Grad-CAM", 0.10, 0.02, 0.18, 0.30, 16),
        ("layer4", "Grad-CAM", 0.00, -0.1, 0.1, 0.30, 16),
        ("fc", "Grad-CAM++", 0.80, 0.70, 0.90, 0.75, 16),
        ("layer4", "Grad-CAM++", 0.50, 0.40, 0.60, 0.75, 16),
    ]), unit="lesion")
    assert out.values["verdicts"] == {"Grad-CAM": "passes at fc", "Grad-CAM++": "passes at layer4"}
    assert "lies below its floor 0.30" in out.text and "over lesions" in out.text
    assert "interval" in out.rule and "below the method's floor" in out.rule
    assert out._repr_markdown_() == out.text


def test_randomisation_fails_when_no_interval_lies_under_the_floor() -> None:
    out = findings.randomisation(table([
        ("fc", "Grad-CAM++", 0.80, 0.70, 0.90, 0.75, 16),
        ("layer4", "Grad-CAM++", 0.60, 0.40, 0.80, 0.75, 16),  # mean below, interval not
    ]))
    assert out.values["verdicts"] == {"Grad-CAM++": "fails"}
    assert "no step's interval lies below its floor" in out.text


def test_randomisation_tie_an_interval_touching_the_floor_is_not_below_it() -> None:
    out = findings.randomisation(table([("fc", "CAM", 0.2, 0.1, 0.3, 0.3, 8),
                                        ("layer4", "CAM", 0.2, 0.1, 0.3, 0.3, 8)]))
    assert out.verdict == "CAM: fails"


def test_randomisation_nan_similarity_is_undecided() -> None:
    out = findings.randomisation(table([
        ("fc", "CAM", NAN, NAN, NAN, 0.3, 0),
        ("layer4", "CAM", 0.0, -0.1, 0.1, 0.3, 8),
    ]))
    assert out.values["verdicts"] == {"CAM": "undecided"}
    out = findings.randomisation(table([("fc", "CAM", 0.1, 0.0, 0.2, NAN, 8)]))
    assert out.values["verdicts"] == {"CAM": "undecided"}


def test_randomisation_single_lesion_gives_no_interval_and_no_verdict() -> None:
    out = findings.randomisation(table([("fc", "CAM", 0.0, 0.0, 0.0, 0.3, 1)]), unit="lesion")
    assert out.verdict == "CAM: undecided"
    assert "only 1 lesion: no interval" in out.text


def test_randomisation_empty_set_says_there_is_nothing_to_decide() -> None:
    out = findings.randomisation(table([]), unit="photograph")
    assert out.verdict == "nothing to decide"
    assert "No photograph was scored" in out.text


def test_similarity_intervals_groups_and_single_group() -> None:
    torch.manual_seed(0)
    ref = torch.rand(6, 8, 8)
    steps = {"trained": {"m": ref}, "fc": {"m": ref + 0.01 * torch.rand(6, 8, 8)},
             "layer4": {"m": torch.rand(6, 8, 8)}}
    by_image = sanity.similarity_intervals(steps, {"m": 0.5}, n_boot=500)
    assert list(by_image["step"]) == ["fc", "layer4"] and (by_image["n"] == 6).all()
    assert by_image.at[0, "low"] > 0.9 and by_image.at[1, "high"] < 0.5
    verdict = findings.randomisation(by_image).values["verdicts"]["m"]
    assert verdict == "passes at layer4"
    one = sanity.similarity_intervals(steps, {"m": 0.5}, groups=["a"] * 6, n_boot=200)
    assert (one["n"] == 1).all() and (one["low"] == one["high"]).all()
    assert findings.randomisation(one).values["verdicts"]["m"] == "undecided"


def test_cascade_verdicts_for_the_method_card() -> None:
    """The method card's randomisation column (the beyond-CAM notebook): intervals by lesion
    from sanity, the verdict from findings, the same rule as the trust notebook's."""
    g = torch.Generator().manual_seed(1)
    trained = torch.rand(6, 8, 8, generator=g)
    kept = trained + 0.01 * torch.rand(6, 8, 8, generator=g)  # a map the cascade leaves alone
    scrambled = torch.rand(6, 8, 8, generator=g)
    steps = {"trained": {"M": trained, "K": trained}, "fc": {"M": kept, "K": kept},
             "layer4": {"M": scrambled, "K": kept}}
    lesions = [f"L{i // 2}" for i in range(6)]  # two images a lesion: three groups
    table = sanity.similarity_intervals(steps, {"M": 0.5, "K": 0.5}, groups=lesions, n_boot=500)
    assert list(table.columns) == ["step", "method", "mean", "low", "high", "floor", "n", "below"]
    assert (table["below"] == (table["high"] < table["floor"])).all() and (table["n"] == 3).all()
    verdicts = findings.randomisation(table, unit="lesion").values["verdicts"]
    assert verdicts == {"M": "passes at layer4", "K": "fails"}  # every method named, no other
    assert set(table.loc[table["below"], "method"]) == {"M"}  # what the exercise check reads
    # a floor above 1 makes the first step pass; the interval must lie wholly below the floor
    table = sanity.similarity_intervals(steps, {"M": 1.1, "K": -1.0}, groups=lesions,
                                        n_boot=500)
    verdicts = findings.randomisation(table, unit="lesion").values["verdicts"]
    assert verdicts == {"M": "passes at fc", "K": "fails"}


# ---- paired comparisons (multi-object gain, method against method) -----------------------


def row(mean: float, low: float, high: float, n: int = 20, p: float = 0.01) -> dict:
    return {"mean": mean, "low": low, "high": high, "n": n, "p": p}


@pytest.mark.parametrize("values, better, verdict", [
    (row(0.05, 0.01, 0.09), "higher", "Grad-CAM++ beats Grad-CAM"),
    (row(-0.05, -0.09, -0.01), "higher", "Grad-CAM++ loses to Grad-CAM"),
    (row(-0.05, -0.09, -0.01), "lower", "Grad-CAM++ beats Grad-CAM"),
    (row(0.01, -0.02, 0.04, p=0.4), "higher", "no winner"),
    (row(0.05, 0.01, 0.09, p=0.3), "higher", "no winner"),  # interval alone is not enough
    (row(0.02, 0.0, 0.04), "higher", "no winner"),  # tie: the interval touches 0
    (row(NAN, NAN, NAN, n=0), "higher", "undecided"),  # an empty set
    (row(0.1, 0.1, 0.1, n=1), "higher", "undecided"),  # one photograph
    (row(NAN, NAN, NAN, n=5), "higher", "undecided"),  # NaN
])
def test_comparison_branches(values: dict, better: str, verdict: str) -> None:
    out = findings.comparison(values, "Grad-CAM++", "Grad-CAM", "smaller copy's share", better,
                              unit="photograph")
    assert out.verdict == verdict
    assert "paired 95 % interval" in out.rule
    if verdict.startswith("Grad"):
        assert "excludes 0" in out.text
    elif verdict == "no winner":
        assert "includes 0" in out.text or "but p is not below 0.05" in out.text


def test_comparison_holm_adjusted_p_can_withhold_a_win() -> None:
    ps = stats.holm([0.03, 0.02, 0.5])
    out = findings.comparison(row(0.05, 0.01, 0.09, p=0.03), "A", "B", "score",
                              adjusted_p=ps[0])
    assert ps[0] > 0.05 and out.verdict == "no winner"
    assert "Holm-adjusted" in out.text and "Holm-adjusted" in out.rule
    won = findings.comparison(row(0.05, 0.01, 0.09, p=0.001), "A", "B", "score",
                              adjusted_p=0.003)
    assert won.verdict == "A beats B"


def test_comparison_refuses_an_unknown_direction() -> None:
    with pytest.raises(ValueError, match="better must be"):
        findings.comparison(row(0.1, 0.0, 0.2), "A", "B", "x", better="bigger")


def test_holm_matches_the_hand_computed_adjustment() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3 * 0.01, max(0.03, 2 * 0.03), max(0.06, 1 * 0.04)
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.6, 0.5]) == pytest.approx([1.0, 1.0])
    assert math.isnan(stats.holm([NAN, 0.01])[0]) and stats.holm([NAN, 0.01])[1] == 0.01
    assert stats.holm([]) == []
    with pytest.raises(ValueError, match="probabilities"):
        stats.holm([1.5])


# ---- the shortcut: maps against a clean model, and the intervention -----------------------


def gaps(rows: dict[str, dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).T


def test_shortcut_maps_expose_the_mark_when_an_interval_lies_above_zero() -> None:
    out = findings.shortcut_maps(gaps({"energy on ink": row(0.05, 0.03, 0.07, n=30),
                                       "energy on lesion": row(0.0, -0.02, 0.02, n=30)}),
                                 peaks={"clean": (0, 4), "biased": (4, 4)})
    assert out.verdict == "the maps expose the ink on 1 of 2 measures"
    assert out.values["exposing"] == ["energy on ink"]
    assert "biased: 4 of the 4 maps shown peak on the ink" in out.text


def test_shortcut_maps_expose_nothing_when_no_interval_lies_above_zero() -> None:
    out = findings.shortcut_maps(gaps({"energy on ink": row(-0.05, -0.07, -0.03, n=30),
                                       "peak on ink": row(0.05, 0.0, 0.1, n=30)}))  # tie at 0
    assert out.verdict == "the maps expose nothing about the ink"
    assert "lies below 0" in out.text and "includes 0" in out.text


def test_shortcut_maps_without_any_interval_are_undecided() -> None:
    out = findings.shortcut_maps(gaps({"energy on ink": row(NAN, NAN, NAN, n=0),
                                       "peak on ink": row(1.0, 1.0, 1.0, n=1)}))
    assert out.verdict == "undecided" and "no interval" in out.text


def test_shortcut_maps_of_the_clean_model_in_the_biased_models_place_expose_nothing() -> None:
    """06's shortcut finding, run on the clean model's numbers for both models."""
    torch.manual_seed(0)
    n, size = 12, 28
    clean_maps = torch.rand(n, size, size)
    ink = torch.zeros(n, size, size)
    ink[:, 2:5, 20:26] = 1
    lesion = torch.zeros(n, size, size)
    lesion[:, 8:20, 8:20] = 1
    measures = {  # per image, as notebook 06 measures them
        "energy on ink": lambda m: metrics.energy_share(m, ink),
        "energy on lesion": lambda m: metrics.energy_share(m, lesion),
        "peak on ink": lambda m: metrics.pointing_hits(m, ink, tolerance=2).double(),
    }
    clean = {name: fn(clean_maps) for name, fn in measures.items()}
    biased = {name: fn(clean_maps.clone()) for name, fn in measures.items()}  # the clean model
    table_ = stats.paired_table(biased, clean, groups=[i // 2 for i in range(n)], n_boot=500)
    out = findings.shortcut_maps(table_)
    assert out.verdict == "the maps expose nothing about the ink"
    assert "expose nothing" in out.text
    # and the same cells with a map that does sit on the ink expose it
    inked = {name: fn(clean_maps + 3 * ink) for name, fn in measures.items()}
    assert findings.shortcut_maps(stats.paired_table(inked, clean, n_boot=500)).values[
        "exposing"] == ["energy on ink", "peak on ink"]


@pytest.mark.parametrize("values, verdict", [
    (row(0.7, 0.6, 0.8), "the model uses the ink"),
    (row(0.02, -0.05, 0.09), "no use of the ink shown"),
    (row(0.05, 0.0, 0.1), "no use of the ink shown"),  # tie: the interval touches 0
    (row(-0.3, -0.4, -0.2), "no use of the ink shown"),
    (row(NAN, NAN, NAN, n=0), "undecided"),
    (row(1.0, 1.0, 1.0, n=1), "undecided"),
])
def test_intervention_branches(values: dict, verdict: str) -> None:
    out = findings.intervention(values)
    assert out.verdict == verdict
    assert "lies above 0" in out.rule


# ---- class sensitivity ---------------------------------------------------------------------


@pytest.mark.parametrize("args, verdict", [
    ((0.2, 0.1, 0.3, 0.3, 10), "the maps depend on the class"),  # cut = 0.65
    ((0.95, 0.9, 0.99, 0.3, 5), "the maps barely depend on the class"),
    ((0.6, 0.5, 0.8, 0.3, 10), "undecided"),
    ((0.5, 0.4, 0.65, 0.3, 10), "undecided"),  # tie: the interval touches the cut
    ((NAN, NAN, NAN, 0.3, 0), "undecided"),
    ((0.9, 0.9, 0.9, 0.3, 1), "undecided"),
])
def test_class_sensitivity_branches(args: tuple, verdict: str) -> None:
    assert findings.class_sensitivity(*args).verdict == verdict


# ---- the run record and the summary --------------------------------------------------------


def test_findings_are_recorded_and_summarised(tmp_path) -> None:
    assert findings.start("99", folder=tmp_path) is None
    path = findings.record_path("99", folder=tmp_path)
    assert path == tmp_path / "99.jsonl" and path.read_text() == ""
    findings.intervention(row(0.7, 0.6, 0.8))
    findings.comparison(row(NAN, NAN, NAN, n=0), "A", "B", "score")
    findings.intervention(row(0.02, -0.05, 0.09))  # a re-run cell: the summary keeps the last
    record = findings.read_record("99", folder=tmp_path)
    assert [e["name"] for e in record] == ["shortcut by intervention", "A vs B, score",
                                           "shortcut by intervention"]
    assert record[1]["values"]["mean"] is None  # NaN is recorded as null
    assert all(set(e) == {"notebook", "name", "rule", "verdict", "values"} for e in record)
    json.dumps(record)
    text = findings.summary().text
    assert "**A vs B, score**: undecided" in text and "no use of the ink shown" in text
    assert "uses the ink" not in text
    findings.start("98", folder=tmp_path)  # a new notebook starts empty
    assert "no findings yet" in findings.summary().text
    with pytest.raises(ValueError, match="notebook must name"):
        findings.start("")


def test_record_folder_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(findings.RECORD_ENV, str(tmp_path))
    assert findings.record_path("05") == tmp_path / "05.jsonl"


@pytest.mark.parametrize("value, verdict", [
    (0.9, "it memorised them"), (0.6, "it memorised them"),  # a tie meets the bound
    (0.3, "it did not memorise them"), (NAN, "it did not memorise them"),
])
def test_threshold_at_least_branches(value: float, verdict: str) -> None:
    out = findings.threshold(value, 0.6, "the share of shuffled labels it fits",
                             "it memorised them", "it did not memorise them")
    assert out.verdict == verdict and "at least 0.6" in out.rule


@pytest.mark.parametrize("value, verdict", [(1e-7, "equal"), (1e-3, "equal"), (0.2, "differ"),
                                            (NAN, "differ")])
def test_threshold_at_most_branches(value: float, verdict: str) -> None:
    out = findings.threshold(value, 1e-3, "the largest difference", "equal", "differ", at="most")
    assert out.verdict == verdict and "at most 0.001" in out.rule
    with pytest.raises(ValueError, match="at must be"):
        findings.threshold(value, 1, "x", "a", "b", at="more")


def test_comparison_over_few_source_photographs_names_them_and_needs_the_test() -> None:
    gap = stats.paired_difference([0.1, 0.12, 0.11, 0.2, 0.21, 0.19],
                                  [0.0, 0.01, 0.0, 0.1, 0.1, 0.1], n_boot=2000,
                                  groups=["cat"] * 3 + ["coffee"] * 3)
    out = findings.comparison(gap, "A", "B", "share", unit="pair",
                              groups=(2, "source photograph"))
    assert gap["low"] > 0 and gap["p"] > 0.05  # two photographs: the test cannot reach 0.05
    assert out.verdict == "no winner" and "6 pairs from 2 source photographs" in out.text
    one = findings.comparison({**gap, "low": 0.1}, "A", "B", "share", unit="pair",
                              groups=(1, "source photograph"))
    assert one.verdict == "undecided"


def test_data_randomisation_names_its_test_in_the_rule() -> None:
    out = findings.randomisation(table([("shuffled labels", "CAM", 0.1, 0.0, 0.2, 0.3, 8)]),
                                 name="data randomisation", test="data-randomisation")
    assert out.verdict == "CAM: passes"  # one step: no step to name
    assert "data-randomisation test" in out.rule and out.text.startswith("**Data randomisation")


def paired_rows(**rows: tuple) -> pd.DataFrame:
    return pd.DataFrame({k: row(*v) for k, v in rows.items()}).T


def test_comparisons_are_holm_adjusted_and_judge_only_the_named_rows() -> None:
    paired = paired_rows(**{"drop %": (-4.0, -5.0, -3.0, 226, 0.0001),
                            "energy (lesion)": (-0.05, -0.06, -0.04, 226, 0.0001),
                            "pointing (lesion)": (-0.05, -0.09, -0.01, 226, 0.03),
                            "increase %": (0.0, -2.0, 2.0, 226, 1.0)})
    out = findings.comparisons(paired, "Grad-CAM++", "Grad-CAM",
                               {"drop %": "lower", "energy (lesion)": "higher",
                                "pointing (lesion)": "higher"}, name="quality")
    verdicts = out.values["verdicts"]
    assert verdicts["drop %"] == "Grad-CAM++ beats Grad-CAM"
    assert verdicts["energy (lesion)"] == "Grad-CAM++ loses to Grad-CAM"
    assert verdicts["pointing (lesion)"] == "Grad-CAM++ loses to Grad-CAM"  # 3 x 0.03 < 0.05
    assert "increase %" not in verdicts and "Holm-adjusted over the 3" in out.rule
    four = paired_rows(**{f"s{k}": (0.1, 0.05, 0.15, 50, 0.02) for k in range(4)})
    held = findings.comparisons(four, "A", "B", dict.fromkeys(four.index, "higher"), name="x")
    assert set(held.values["verdicts"].values()) == {"no winner"}  # 4 x 0.02 > 0.05
    empty = findings.comparisons(four, "A", "B", {}, name="none")
    assert empty.verdict == "nothing compared"


def faith_plaus(drop: tuple, energy: tuple) -> findings.Finding:
    faithful = findings.comparison(row(*drop), "Grad-CAM++", "Grad-CAM", "drop %", "lower")
    plausible = findings.comparison(row(*energy), "Grad-CAM++", "Grad-CAM", "energy", "higher")
    return findings.disagreement(faithful, plausible)


@pytest.mark.parametrize("drop, energy, verdict", [
    ((-4, -5, -3), (-0.05, -0.06, -0.04), "they disagree"),  # wins on drop, loses on energy
    ((4, 3, 5), (0.05, 0.04, 0.06), "they disagree"),  # loses on drop, wins on energy
    ((-4, -5, -3), (0.05, 0.04, 0.06), "they agree"),
    ((-4, -5, -3), (0.0, -0.01, 0.01), "open"),
    ((NAN, NAN, NAN, 0), (0.05, 0.04, 0.06), "open"),
])
def test_disagreement_branches(drop: tuple, energy: tuple, verdict: str) -> None:
    assert faith_plaus(drop, energy).verdict == verdict


def test_comparisons_of_several_pairs_name_each_pair() -> None:
    index = pd.MultiIndex.from_tuples([("CAM", "centre Gaussian", "pointing"),
                                       ("Grad-CAM++", "centre Gaussian", "pointing")])
    table_ = pd.DataFrame([row(-0.07, -0.1, -0.04, 226, 0.0001), row(0.0, -0.03, 0.03, 226, 1)],
                          index=index)
    out = findings.comparisons(table_, "", "", {"pointing": "higher"}, name="against a blob")
    assert out.values["verdicts"] == {"CAM vs centre Gaussian, pointing":
                                      "CAM loses to centre Gaussian",
                                      "Grad-CAM++ vs centre Gaussian, pointing": "no winner"}


def test_floors_of_fully_random_models_leave_the_model_untouched() -> None:
    from torch import nn

    from helpers.cam import GradCAM

    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("conv", nn.Conv2d(3, 4, 3, padding=1))
    model.add_module("relu", nn.ReLU())
    model.add_module("layer4", nn.Conv2d(4, 4, 3, padding=1))
    model.add_module("pool", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
    model.add_module("fc", nn.Linear(4, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(5, 3, 12, 12)
    methods = {"Grad-CAM": lambda m: GradCAM(m, "layer4")}
    trained = sanity.maps_by_method(model, x, methods, [0] * 5)
    a, b = (sanity.fully_random_maps(model, x, methods, [0] * 5, seed=s) for s in (1, 2))
    again = sanity.fully_random_maps(model, x, methods, [0] * 5, seed=1)
    assert torch.equal(a["Grad-CAM"], again["Grad-CAM"])  # seeded
    assert not torch.equal(a["Grad-CAM"], b["Grad-CAM"])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    floors = sanity.similarity_floors(trained, a, b)
    assert list(floors.columns) == ["different images, trained model",
                                    "two random models, same images", "floor (the higher)"]
    assert floors.at["Grad-CAM", "floor (the higher)"] == floors.loc["Grad-CAM"].iloc[:2].max()


def test_pairs_from_a_single_lesion_give_no_interval() -> None:
    """Two images of one lesion: the grouped interval has zero width, and no verdict is read."""
    table_ = stats.paired_table({"energy on ink": [0.3, 0.4]}, {"energy on ink": [0.1, 0.1]},
                                groups=["L1", "L1"], n_boot=200)
    assert table_.at["energy on ink", "groups"] == 1
    assert findings.shortcut_maps(table_).verdict == "undecided"
    row_ = table_.loc["energy on ink"]
    assert findings.intervention(row_).verdict == "undecided"
    assert findings.comparison(row_, "A", "B", "x").verdict == "undecided"


NOTEBOOKS = sorted({notebook for notebook, *_ in EXPECTED})
STARTED = time.time()


@pytest.mark.after_notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_the_demo_shows_what_it_must(notebook: str, request: pytest.FixtureRequest) -> None:
    ran = [item for item in request.session.items
           if str(item.path).endswith(".ipynb") and Path(item.path).name.startswith(notebook)]
    if not ran:
        pytest.skip(f"notebook {notebook} is not executed in this session")
    path = findings.record_path(notebook)
    assert path.is_file() and path.stat().st_mtime >= STARTED, \
        f"notebook {notebook} ran but wrote no record at {path}"
    rows = expected_findings(notebook, findings.read_record(notebook))
    failed = [row for row in rows if not row["holds"]]
    assert not failed, "\n".join(f"{r['name']}: {r['value']} is not {r['op']} {r['bound']}"
                                 for r in failed)


def test_expectations_are_checked_against_a_record(tmp_path: Path) -> None:
    """Unit test of the reader: a record that meets and one that misses the expectations."""
    findings.start("08", folder=tmp_path)
    try:
        findings.threshold(1e-7, 1e-3, "max difference", "equal", "differ", at="most",
                           name="CAM = Grad-CAM")
        findings.comparison({"mean": 0.5, "low": 0.4, "high": 0.6, "p": 0.01, "n": 20}, "A",
                            "B", "share", name="multi-object gain")
    finally:
        findings.stop()
    rows = {r["name"]: r for r in expected_findings("08", findings.read_record("08", tmp_path))}
    assert rows["08 max |CAM - Grad-CAM| at the last feature map"]["holds"]
    gain = rows["08 |Grad-CAM++ - Grad-CAM| smaller-copy share, last layer"]
    assert gain["value"] == 0.5 and not gain["holds"]
    missing = rows["08 Grad-CAM's Spearman after a random fc"]
    assert missing["value"] is None and not missing["holds"]


# ---- maps of turned images (09) ------------------------------------------------------------


def turns(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["method", "transform", "mean", "low", "high", "n",
                                       "in_place"])


@pytest.mark.parametrize(("row", "verdict"), [
    (("Grad-CAM", "turn", 0.8, 0.7, 0.9, 20, 0.5), "follows the image"),
    (("Grad-CAM", "turn", 0.3, 0.2, 0.4, 20, 0.5), "stays with the grid"),
    (("Grad-CAM", "turn", 0.5, 0.4, 0.6, 20, 0.5), "cannot tell"),
    (("Grad-CAM", "turn", 0.6, 0.5, 0.7, 20, 0.5), "cannot tell"),  # tie: touches the bound
    (("Grad-CAM", "turn", 0.4, 0.3, 0.5, 20, 0.5), "cannot tell"),  # tie from below
    (("Grad-CAM", "turn", NAN, NAN, NAN, 0, 0.5), "undecided"),
    (("Grad-CAM", "turn", 0.9, 0.9, 0.9, 1, 0.5), "undecided"),  # one lesion
    (("Grad-CAM", "turn", 0.8, 0.7, 0.9, 20, NAN), "undecided"),
])
def test_follows_turn_branches(row: tuple, verdict: str) -> None:
    out = findings.follows_turn(turns([row]), unit="lesion")
    assert out.values["verdicts"] == {"Grad-CAM, turn": verdict}
    assert out.verdict == f"Grad-CAM, turn: {verdict}"
    assert "left in place" in out.rule


def test_follows_turn_one_verdict_per_method_and_transform() -> None:
    out = findings.follows_turn(turns([("A", "turn", 0.8, 0.7, 0.9, 9, 0.5),
                                       ("A", "flip", 0.3, 0.2, 0.4, 9, 0.5)]))
    assert out.verdict == "A, turn: follows the image; A, flip: stays with the grid"
    assert "0.8 [0.7, 0.9] over 9 images, above 0.50 left in place" in out.text
    assert "below 0.50 left in place" in out.text


def test_follows_turn_empty_table_decides_nothing() -> None:
    out = findings.follows_turn(turns([]))
    assert out.verdict == "nothing to decide" and "nothing to decide" in out.text


@pytest.mark.parametrize(("high", "floor", "below"), [
    (0.2, 0.3, True), (0.3, 0.3, False), (0.4, 0.3, False), (float("nan"), 0.3, False),
    (0.2, float("nan"), False)])
def test_below_floor_is_the_step_test_of_the_rule(high: float, floor: float, below: bool) -> None:
    assert findings.below_floor(high, floor) is below
    table = pd.DataFrame([dict(step="fc", method="M", mean=high, low=high - 0.1, high=high,
                               floor=floor, n=8)])
    passed = findings.randomisation(table).values["verdicts"]["M"].startswith("passes")
    assert passed is below
