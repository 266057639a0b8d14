"""No number of a run in the prose: the notebooks' markdown, the README and the book's pages.

A sentence such as "balanced accuracy 0.95 in this run" is wrong for the next run, another
seed, and every class that runs the real data. A run's numbers and verdicts reach the reader
only as outputs of the code that measured them (``helpers.findings``). Prose may hold a number
only when it is quoted from a source named in the same sentence (a paper, the seed post, a
benchmark's dated table), or listed in ``CITED`` with its source. This test takes every decimal
number and every percentage from the prose (code, LaTeX, links, times and sizes, and section or
equation references left out; the title cell, which states the run time, too; the folded
solution texts belong to the exercises) and requires one of the two.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGES = [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))]
NUMBER = re.compile(r"(?<![\w.$\\-])-?\d+(?:\.\d+)?\s?%|(?<![\w.$\\])-?\d+\.\d+(?![\w.])")
HIDDEN = [
    re.compile(r"```.*?```", re.S),  # fenced code
    re.compile(r"\$\$.*?\$\$", re.S),  # display maths
    re.compile(r"\$[^$\n]+\$"),  # inline maths
    re.compile(r"`[^`\n]+`"),  # inline code
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"https?://\S+"),
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"\b(?:arXiv:?\s?|doi:\s?)\S+", re.I),
    re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|seconds|minutes|min|MB|GB|GiB|px)\b"),  # times, sizes
    re.compile(r"\b(?:sec\.|section|eq\.|eqs\.|fig\.|table|v)\s?\d+(?:\.\d+)*", re.I),
]
# a sentence that names its source: an author, a paper, the seed post, a dated benchmark table
SOURCE = re.compile(r"\bet al\b|\b(?:19|20)\d\d\b|seed (?:blog )?post|\bblog\b|the paper|"
                    r"benchmarks/|Tschandl|Winkler|Guo|Adebayo|Chattopadhyay", re.I)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z*(])")
# number -> its source, per notebook or page, where the sentence itself cannot name it
LEVEL = {"95%": "the intervals' level, a setting of every interval"}
CITED: dict[str, dict[str, str]] = {
    "01": {"67%": "HAM10000's share of nevi, 6,705 of 10,015 images (Tschandl et al. 2018)",
           "15%": "the test fraction of the split, a setting",
           "20%": "a test fraction of the exercise, a setting"},
    "03": {"0.5": "the constant 1/2 of the derivation"},
    "05": {"0%": "Average Drop's best value, by definition"},
    "06": {"90%": "the share of nevi given the ink in the moved split, a setting"},
    "README": {"3.10": "the minimum Python version"},
    "real_data": {"4.0": "the licence's version (CC BY-NC 4.0)"},
    "setup": {"2.5": "the last PyTorch version on the pytorch channel"},
}
# pages of maintainers' evidence: every number there is a dated benchmark table's
BENCHMARK_PAGES = {"robustness": "benchmarks/bench_robustness.py and bench_demo_training.py, "
                                 "quoted with their dates"}


def _hide(text: str) -> str:
    for pattern in HIDDEN:
        text = pattern.sub(" ", text)
    return text


def uncited_numbers(text: str, cited: dict[str, str]) -> list[str]:
    """The numbers of ``text`` (markdown) that no source vouches for, in order."""
    found = []
    for sentence in SENTENCE.split(_hide(text)):
        if SOURCE.search(sentence):
            continue
        found += [n.replace(" ", "") for n in NUMBER.findall(sentence)
                  if n.replace(" ", "").rstrip("%") not in cited
                  and n.replace(" ", "") not in {**cited, **LEVEL}]
    return found


def _prose(nb: nbformat.NotebookNode) -> str:
    return "\n\n".join(c.source for c in nb.cells[1:] if c.cell_type == "markdown"
                       )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_prose_holds_no_number_of_a_run(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    found = uncited_numbers(_prose(nb), CITED.get(path.name[:2], {}))
    assert not found, (
        f"{path.name}: numbers in the markdown that no cited source vouches for: {found}. A "
        "run's number belongs in an output (helpers.findings writes the sentence); a quoted "
        "one names its source in the same sentence (or CITED in this test).")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_hold_no_number_of_a_run(path: Path) -> None:
    if path.stem in BENCHMARK_PAGES:
        pytest.skip(f"{path.name} quotes dated benchmark tables: {BENCHMARK_PAGES[path.stem]}")
    text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("|"))  # tables are generated or cited
    found = uncited_numbers(text, CITED.get(path.stem, {}))
    assert not found, f"{path.name}: numbers no cited source vouches for: {found}"


def test_the_check_catches_a_run_number_and_lets_a_cited_one_pass() -> None:
    text = ("It scores 0.95 (95.4 %) here. Winkler et al. found a specificity of 84.1 %. "
            "The seed post reports 78.5 % accuracy. `x = 1.5`, $w = 2.5$, after 3.5 s.")
    assert uncited_numbers(text, {}) == ["0.95", "95.4%"]
    assert uncited_numbers("The target is 0.80 here.", {"0.80": "a setting"}) == []
