"""One value, or one lesion, has no interval (issue 36): the bounds are NaN with a warning
that says so, never a zero-width interval that "excludes 0"; verdict says there is none."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers import stats


def no_interval(result) -> bool:
    return math.isnan(result[1]) and math.isnan(result[2])


def test_one_value_has_no_interval() -> None:
    with pytest.warns(RuntimeWarning, match="one value has no interval"):
        result = stats.bootstrap_ci([5.0])
    assert result[0] == 5.0 and no_interval(result)
    with pytest.warns(RuntimeWarning, match="one value"):  # NaN left out: one value left
        assert no_interval(stats.bootstrap_ci([float("nan"), 2.0]))


def test_one_lesion_has_no_interval() -> None:
    with pytest.warns(RuntimeWarning, match="one group .*has no interval"):
        result = stats.grouped_bootstrap_ci([1.0, 2.0, 3.0], ["L1", "L1", "L1"])
    assert result[0] == 2.0 and no_interval(result)
    with pytest.warns(RuntimeWarning, match="one group"):
        value = stats.grouped_bootstrap(lambda drawn: drawn.double().mean(1) + 7, ["a", "a"])
    assert value[0] == 7.0 and no_interval(value)


def test_two_values_still_have_an_interval() -> None:
    mean, low, high = stats.bootstrap_ci([1.0, 3.0])
    assert low < mean < high
    mean, low, high = stats.grouped_bootstrap_ci([1.0, 3.0, 5.0], ["a", "a", "b"])
    assert low < high


@pytest.mark.parametrize("groups", [None, ["L1", "L1", "L1"]])
def test_verdict_on_one_lesion_says_there_is_no_interval(groups) -> None:
    a, b = [0.9, 0.8, 0.7], [0.5, 0.4, 0.3]
    if groups is None:
        a, b = a[:1], b[:1]
    with pytest.warns(RuntimeWarning, match="no interval"):
        row = stats.paired_difference(a, b, groups=groups)
    assert math.isnan(row["low"]) and math.isnan(row["high"])
    said = stats.verdict(row, "higher")
    assert "excludes 0" not in said and "no interval" in said


def test_a_table_cell_of_one_value_says_no_interval() -> None:
    scores = pd.DataFrame({"method": ["A", "B", "B"], "image": [0, 0, 1],
                           "score": [0.5, 0.25, 0.75]})
    with pytest.warns(RuntimeWarning, match="one value"):
        table = stats.summarize_with_intervals(scores)
    assert table.loc["A", "score"] == "0.50 [no interval: one value]"
    assert "no interval" not in table.loc["B", "score"]
    assert no_interval(table.attrs["numeric"][("A", "score")])
