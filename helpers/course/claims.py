"""Claims: what a notebook asserts about a trained model, checked and recorded.

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
