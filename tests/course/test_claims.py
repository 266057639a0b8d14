"""helpers.course.claims: the checked, recorded asserts of the notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.course.claims import CLAIMS_ENV, MODE_ENV, claim, read_claims


@pytest.fixture(autouse=True)
def _no_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLAIMS_ENV, raising=False)
    monkeypatch.delenv(MODE_ENV, raising=False)


@pytest.mark.parametrize(("value", "op", "bound"), [
    (0.9, ">", 0.8), (0.8, ">=", 0.8), (0.1, "<", 0.2), (0.2, "<=", 0.2),
])
def test_holding_claims_return_their_value(value: float, op: str, bound: float) -> None:
    assert claim("x", value, op, bound) == value


@pytest.mark.parametrize(("value", "op", "bound"), [
    (0.8, ">", 0.8), (0.7, ">=", 0.8), (0.2, "<", 0.2), (float("nan"), "<", 1.0),
])
def test_failing_claims_raise_with_name_and_bound(value: float, op: str, bound: float) -> None:
    with pytest.raises(AssertionError, match=rf"acc.*\{op[0]}"):
        claim("acc", value, op, bound)


def test_unknown_op_is_refused() -> None:
    with pytest.raises(ValueError, match=r"op.*>="):
        claim("x", 1.0, "==", 1.0)


def test_claims_are_recorded_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(CLAIMS_ENV, str(log))
    claim("a", 0.9, ">", 0.5)
    with pytest.raises(AssertionError):
        claim("b", 0.1, ">", 0.5)  # recorded before it fails
    monkeypatch.setenv(MODE_ENV, "record")
    claim("c", 0.1, ">", 0.5)  # record mode: no error
    got = read_claims(log)
    assert [(c["name"], c["holds"]) for c in got] == [("a", True), ("b", False), ("c", False)]
    assert got[1] == {"name": "b", "value": 0.1, "op": ">", "bound": 0.5, "holds": False}
