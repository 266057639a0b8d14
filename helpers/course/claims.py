"""Claims: what the demo must show about a trained model, checked against the run record.

The notebooks render their findings with :mod:`helpers.findings`, which records each one (name,
rule, verdict, values) in ``<outputs>/findings/<notebook>.jsonl``. :data:`EXPECTED` lists what
the demo must show, read from those records by :func:`expected_findings`;
``tests/test_run_record_findings.py`` checks it after the notebooks ran, and
``benchmarks/bench_robustness.py`` tabulates it over seeds and thread counts. :func:`claim`
below is the older, inline form, kept for code outside the notebooks.

A number that a trained model produces changes with the seed and with the machine's
floating-point kernels (another CPU, another thread count). A notebook therefore asserts such a
number only with a bound that holds for every seed and thread count tried, with a margin:
``benchmarks/bench_robustness.py`` runs the notebooks under seeds 0-2 and 1 or 2 threads, collects
every claim and prints each one's minimum, median and maximum beside its bound.

>>> claim("balanced accuracy above chance", 0.81, ">", 0.5)
0.81

With the environment variable ``TUTORIAL_CLAIMS`` set to a file path, every claim is appended to
that file as one JSON line (name, value, op, bound, holds) before it is checked. The benchmark
also sets ``TUTORIAL_CLAIMS_MODE=record``: claims are then recorded and not raised, so that one
failing claim does not hide the values of the claims after it.
"""

from __future__ import annotations

import json
import math
import operator
import os
from collections.abc import Callable
from pathlib import Path

CLAIMS_ENV = "TUTORIAL_CLAIMS"
MODE_ENV = "TUTORIAL_CLAIMS_MODE"
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}


def _record(entry: dict[str, object]) -> None:
    path = os.environ.get(CLAIMS_ENV)
    if not path:
        return
    with Path(path).expanduser().open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def claim(name: str, value: float, op: str, bound: float) -> float:
    """Check ``value op bound`` (``op`` one of ``> >= < <=``) and return ``value``.

    Raises AssertionError naming the claim, the value and the bound when it fails (a NaN value
    always fails). Records the claim first when ``TUTORIAL_CLAIMS`` is set, so a benchmark sees
    failing claims too.
    """
    if op not in _OPS:
        raise ValueError(f"op must be one of {', '.join(_OPS)}; got {op!r}.")
    value = float(value)
    holds = not math.isnan(value) and _OPS[op](value, float(bound))
    _record({"name": name, "value": value, "op": op, "bound": float(bound), "holds": holds})
    if not holds and os.environ.get(MODE_ENV) != "record":
        raise AssertionError(f"claim failed: {name}: {value:.4g} is not {op} {bound:g}")
    return value


def read_claims(path: str | Path) -> list[dict[str, object]]:
    """The claims recorded in ``path`` (one JSON object a line), in order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


# ----------------------------------------------------------------------------------------------
# What the demo must show, read from the run record the notebooks write (helpers.findings)
# ----------------------------------------------------------------------------------------------

FINDINGS_ENV = "TUTORIAL_FINDINGS"  # the record's folder; the same variable helpers.findings reads


def _row(entry: dict, step: str, method: str, key: str = "mean") -> float:
    """One (step, method) number of a randomisation finding's table."""
    for row in entry["values"]["rows"]:
        if row["step"] == step and row["method"] == method:
            value = row[key]
            return math.nan if value is None else float(value)
    return math.nan


def _fc_gap(entry: dict, method: str) -> float:
    return _row(entry, "fc", method) - _row(entry, "fc", "Grad-CAM")


def _value(key: str) -> Callable[[dict], float]:
    def read(entry: dict) -> float:
        value = entry["values"].get(key)
        return math.nan if value is None else float(value)
    return read


# (notebook, finding name, what is checked, how it is read from the entry, op, bound). A
# verdict is checked with op "is" (bound: the verdicts allowed); each numeric bound holds for
# seeds 0-2 and 1 or 2 threads with a margin (benchmarks/bench_robustness.py prints them).
EXPECTED: list[tuple[str, str, str, Callable[[dict], object], str, object]] = [
    ("01", "metadata baseline", "metadata baseline: lower end of its balanced accuracy interval",
     _value("value"), ">", 1 / 7),
    ("01", "dx_type leak", "metadata baseline, with dx_type minus without: paired interval's low",
     _value("low"), ">", 0.0),
    ("02", "above the majority baseline", "balanced accuracy above the majority baseline's",
     _value("value"), ">", 0.4),
    ("02", "above the majority baseline", "demo model: test balanced accuracy",
     _value("balanced_accuracy"), ">=", 0.7),
    ("02", "demo ceiling", "demo model: balanced accuracy minus the ceiling",
     _value("value"), "<", 0.02),
    ("02", "calibration", "demo model: fitted temperature", _value("value"), "<", 1.0),
    ("02", "calibration", "demo model: ECE lost by temperature scaling",
     lambda e: _value("ece_before")(e) - _value("ece_after")(e), ">", 0.0),
    ("02", "linear probe", "linear probe balanced accuracy", _value("value"), ">", 0.5),
    ("03", "Grad-CAM++ rescaling at layer4", "median w * mean(A), positive weights, layer4",
     _value("value"), "<", 0.5),
    ("03", "Grad-CAM++ = LayerCAM", "Spearman Grad-CAM++ vs LayerCAM at layer4",
     _value("value"), ">", 0.97),
    ("03", "Grad-CAM++ = LayerCAM", "Spearman Grad-CAM++ vs LayerCAM, layer4 minus layer3",
     lambda e: _value("value")(e) - _value("layer3")(e), ">", 0.0),
    ("03", "flattened head", "Spearman Grad-CAM++ vs LayerCAM, GAP head minus flattened head",
     _value("value"), ">", 0.0),
    ("03", "two lesions", "toy: faint lesion's share, Grad-CAM++ minus Grad-CAM",
     _value("value"), ">", 0.1),
    ("03", "two lesions", "toy: Grad-CAM++ splits the energy more evenly than Grad-CAM",
     lambda e: _value("gap_gradcam")(e) - _value("gap_gradcampp")(e), ">", 0.0),
    ("04", "CAM = Grad-CAM at layer4", "max |method - CAM| at layer4 (three methods)",
     _value("value"), "<", 1e-3),
    ("06", "shuffled labels memorised", "the shuffled-label model fits its labels",
     _value("value"), ">", 0.6),
    ("06", "model randomisation", "Grad-CAM's Spearman after layer4 is random",
     lambda e: _row(e, "layer4", "Grad-CAM"), "<", 0.5),
    ("06", "model randomisation", "Grad-CAM++ minus Grad-CAM, Spearman after a random fc",
     lambda e: _fc_gap(e, "Grad-CAM++"), ">", 0.0),
    ("06", "model randomisation", "LayerCAM minus Grad-CAM, Spearman after a random fc",
     lambda e: _fc_gap(e, "LayerCAM"), ">", 0.0),
    ("06", "model randomisation", "Grad-CAM after layer4: mean Spearman minus its floor",
     lambda e: _row(e, "layer4", "Grad-CAM") - _row(e, "layer4", "Grad-CAM", "floor"), "<", 0.0),
    ("06", "model randomisation", "CAM after layer4: mean Spearman minus its floor",
     lambda e: _row(e, "layer4", "CAM") - _row(e, "layer4", "CAM", "floor"), "<", 0.0),
    ("06", "shortcut by intervention", "the biased model uses the ink",
     lambda e: e["verdict"], "is", ("the model uses the ink",)),
    ("06", "shortcut by intervention", "inked non-melanomas called melanoma, biased minus clean",
     _value("mean"), ">", 0.5),
    ("08", "CAM = Grad-CAM", "max |CAM - Grad-CAM| at the last feature map",
     _value("value"), "<", 1e-3),
    ("08", "Grad-CAM++ = positive-weight CAM", "lowest Spearman Grad-CAM++ vs LayerCAM",
     _value("value"), ">", 0.95),
    ("08", "multi-object gain", "|Grad-CAM++ - Grad-CAM| smaller-copy share, last layer",
     lambda e: abs(float(e["values"]["mean"])), "<", 0.1),
    ("08", "model randomisation", "Grad-CAM's Spearman after a random fc",
     lambda e: _row(e, "fc", "Grad-CAM"), "<", 0.5),
    ("08", "model randomisation", "Grad-CAM++'s Spearman after a random fc",
     lambda e: _row(e, "fc", "Grad-CAM++"), ">", 0.6),
]


def expected_findings(notebook: str, entries: list[dict]) -> list[dict[str, object]]:
    """Check :data:`EXPECTED` for ``notebook`` against its recorded findings (``entries``, as
    :func:`read_record` reads them): one row each (name, value, op, bound, holds). A finding
    missing from the record is a row with value None that does not hold."""
    latest = {entry["name"]: entry for entry in entries}  # a re-run cell: the last one counts
    rows = []
    for nb, finding, name, read, op, bound in EXPECTED:
        if nb != notebook:
            continue
        entry = latest.get(finding)
        value = None if entry is None else read(entry)
        if value is None:
            holds = False
        elif op == "is":
            holds = value in bound
        else:
            holds = not math.isnan(float(value)) and _OPS[op](float(value), float(bound))
        rows.append({"name": f"{nb} {name}", "value": value, "op": op,
                     "bound": list(bound) if op == "is" else bound, "holds": holds})
    return rows


def read_record(notebook: str, folder: str | Path) -> list[dict[str, object]]:
    """The findings ``notebook`` recorded in ``folder`` (``<folder>/<notebook>.jsonl``)."""
    return read_claims(Path(folder) / f"{notebook}.jsonl")
