"""What the demo must show, read from the findings the notebooks recorded in this session.

The notebooks hold no asserts about trained models: each finding they render is recorded
(``helpers.findings``), and this test, run after them (marker ``after_notebooks``), checks the
expectations of ``helpers.course.claims.EXPECTED`` against the record. A notebook that is not
executed in this pytest session is skipped: a stale record proves nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from helpers import findings
from helpers.course.claims import EXPECTED, expected_findings

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
    findings.start("07", folder=tmp_path)
    try:
        findings.threshold(1e-7, 1e-3, "max difference", "equal", "differ", at="most",
                           name="CAM = Grad-CAM")
        findings.comparison({"mean": 0.5, "low": 0.4, "high": 0.6, "p": 0.01, "n": 20}, "A",
                            "B", "share", name="multi-object gain")
    finally:
        findings.stop()
    rows = {r["name"]: r for r in expected_findings("07", findings.read_record("07", tmp_path))}
    assert rows["07 max |CAM - Grad-CAM| at the last feature map"]["holds"]
    gain = rows["07 |Grad-CAM++ - Grad-CAM| smaller-copy share, last layer"]
    assert gain["value"] == 0.5 and not gain["holds"]
    missing = rows["07 Grad-CAM's Spearman after a random fc"]
    assert missing["value"] is None and not missing["holds"]
