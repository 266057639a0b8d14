"""Numbers in the notebooks' prose come from their outputs, or from a cited source.

A sentence such as "balanced accuracy 0.95 when this notebook was written" drifts as soon as
the code, the seed or the machine changes. This test reads every committed (executed) notebook,
takes each decimal number from its markdown (code, LaTeX and links left out; the title cell
with its measured run times too) and requires it to be printed somewhere in that notebook's
outputs, at the prose's precision (0.954 printed covers 0.95; 0.954 also covers 95.4 %), or to
be listed in ``CITED`` with its source.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
DECIMAL = re.compile(r"(?<![\w.$\\])-?\d+\.\d+(?![\w.])")
HIDDEN = [
    re.compile(r"```.*?```", re.S),  # fenced code
    re.compile(r"\$\$.*?\$\$", re.S),  # display maths
    re.compile(r"\$[^$\n]+\$"),  # inline maths
    re.compile(r"`[^`\n]+`"),  # inline code
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"https?://\S+"),
    re.compile(r"\b(?:arXiv:?\s?|doi:\s?)\S+", re.I),
    re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|seconds|minutes|min|MB|GB|GiB|px)\b"),  # times, sizes
    re.compile(r"\b(?:sec\.|section|eq\.|eqs\.|fig\.|table)\s?\d+(?:\.\d+)*", re.I),  # references
]
# number -> its source, per notebook: numbers quoted from papers, the seed post, or a
# measurement that a notebook cannot print (the spread over seeds: bench_robustness.py)
SEED_POST = {"78.5": "the seed blog post's test accuracy", "0.63": "the seed blog post's macro-F1"}
BENCH_TRAINING = "benchmarks/bench_demo_training.py (its table, quoted with its date)"
BENCH_ROUTES = "benchmarks/bench_throughput.py --routes (its table, quoted with its date)"
CITED: dict[str, dict[str, str]] = {
    "01": SEED_POST,
    "02": {**SEED_POST, "1.3": "ImageNet's 1.3 million training images",
           "0.9": "label smoothing's target (1 - 0.1)", "0.1": "the label-smoothing factor",
           "0.72": "the full profile's target macro-F1", "0.80": "its target balanced accuracy",
           "2.3": BENCH_TRAINING,
           "0.979": BENCH_TRAINING, "0.935": BENCH_TRAINING, "0.925": BENCH_TRAINING,
           "0.823": BENCH_TRAINING, "0.92": BENCH_TRAINING, "0.84": BENCH_TRAINING,
           **dict.fromkeys(["48.4", "14.6", "48.9", "32.8", "46.5", "44.4"], BENCH_ROUTES),
           "0.66": "the README's robustness table: seed 1 under the earlier 5-epoch, 128 px "
                   "recipe"},
    "05": {"84.1": "Winkler et al. 2019, specificity on unmarked lesions",
           "0.39": "the README's robustness section: a one-epoch fine-tune, seed 1 on one "
                   "thread (benchmarks/bench_robustness.py)",
           "0.70": "benchmarks/bench_robustness.py --notebooks 05, six runs, layer4 and fc "
                   "fine-tuned: the worst run (seed 2, two threads)",
           "0.92": "the README's robustness table: the worst run with every layer fine-tuned",
           "4.2": "notebook 05's fine-tuning cell, seeds 1 and 2 on two idle threads (249-255 s; "
                  "every layer fine-tuned: 482-516 s)"},
}


def _prose(nb: nbformat.NotebookNode) -> str:
    text = "\n".join(c.source for c in nb.cells[1:] if c.cell_type == "markdown")
    for pattern in HIDDEN:
        text = pattern.sub(" ", text)
    return text


def _printed(nb: nbformat.NotebookNode) -> list[float]:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.extend(v for k, v in out.get("data", {}).items() if k.startswith("text/"))
    text = "".join(p if isinstance(p, str) else "".join(p) for p in parts)
    return [float(m) for m in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)]


def _covered(number: str, printed: list[float]) -> bool:
    digits = len(number.split(".")[1])
    value = float(number)
    return any(round(x, digits) == value or round(100 * x, digits) == value for x in printed)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_prose_numbers_come_from_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    if not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        pytest.skip("not executed: nothing to compare the prose with (run `make run`)")
    printed = _printed(nb)
    cited = CITED.get(path.name[:2], {})
    missing = sorted({n for n in DECIMAL.findall(_prose(nb))
                      if n not in cited and not _covered(n, printed)})
    assert not missing, (
        f"{path.name}: numbers in the prose that no output prints: {missing}. Print them in a "
        "cell, say where they come from (CITED in this test, with the source), or drop them.")


def test_the_check_catches_a_drifted_number() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title, 3.5 minutes"),
                nbformat.v4.new_code_cell("print(0.954)", outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.954\n")]),
                nbformat.v4.new_markdown_cell("It scores 0.95 (95.4 %), not 0.97; `x = 1.5`, "
                                              "$w = 2.5$.")]
    numbers = DECIMAL.findall(_prose(nb))
    assert numbers == ["0.95", "95.4", "0.97"]
    assert [_covered(n, _printed(nb)) for n in numbers] == [True, True, False]
