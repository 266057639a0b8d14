"""Every notebook is a complete lesson: header, set-up, sections, asserts, clean outputs."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from helpers import config
from helpers.course import colab

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATHS = re.compile(r"(/work/|/root/|/home/\w+/|/tmp/|/Users/|[A-Z]:\\\\)")
MAX_CELL_LINES = 40
MAX_CELL_WORDS = 250


def _cells(path: Path, kind: str) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == kind]


def _output_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.extend(v for k, v in out.get("data", {}).items() if k.startswith("text/"))
        parts.extend(out.get("traceback", []))
    return "".join(p if isinstance(p, str) else "".join(p) for p in parts)


def test_there_are_notebooks() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08", "09"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_valid_nbformat_with_python3_kernel(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_header_badge_points_at_this_notebook(path: Path) -> None:
    first = _cells(path, "markdown")[0]
    assert first.startswith("# "), "the first cell is the title"
    urls = [m.group("url") for m in colab.BADGE_PATTERN.finditer(first)]
    assert urls == [colab.colab_url(path.name)], (
        "run `make badges` after changing helpers/config.py")
    assert re.search(r"what you will learn", first, re.I)
    assert re.search(r"run time", first, re.I)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_is_the_one_helpers_colab_writes(path: Path) -> None:
    setup = _cells(path, "code")[0]
    assert setup == colab.setup_cell(), (
        "run `make badges` after changing helpers/config.py")
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert first.metadata.get("jupyter", {}).get("source_hidden") is True, "folded: make badges"
    environment = _cells(path, "code")[1]
    assert "show_environment(cfg)" in environment, "the second code cell reports profile and data"
    assert "use_data(DATA_SOURCE)" in environment, "... after the settings cell picks the data"
    assert colab.SETTINGS_COMMENT in environment + "\n"


def test_setup_cell_installs_only_when_helpers_is_missing_and_stops_when_that_fails() -> None:
    """The cell is valid IPython of at most 8 lines; %pip runs only when helpers is missing,
    then the cell looks for helpers again in the same kernel and raises, pointing to the
    troubleshooting page, if it is still missing."""
    from IPython.core.inputtransformer2 import TransformerManager

    setup = colab.setup_cell()
    assert len(setup.splitlines()) <= 8, setup
    code = TransformerManager().transform_cell(setup)
    compile(code, "setup-cell", "exec")
    lines = code.splitlines()
    pip = next(i for i, line in enumerate(lines) if "run_line_magic('pip'" in line)
    assert lines[pip].startswith("    ") and 'find_spec("helpers") is None' in lines[pip - 1]
    assert "importlib.invalidate_caches()" in lines[pip + 1]
    after = "\n".join(lines[pip:])
    assert 'find_spec("helpers") is None' in after and "raise RuntimeError(" in after
    assert colab.install_line() in setup
    assert f"{config.PACKAGE}[data] @ {colab.install_source()}" in colab.install_line()
    literal = setup[setup.index("RuntimeError(") + len("RuntimeError"):]
    assert eval(literal) == colab.install_failure_message()  # what the cell says, from helpers
    assert colab.install_failure_message().endswith(colab.troubleshooting_url())


def test_the_troubleshooting_page_says_what_to_do_when_the_set_up_cell_stops() -> None:
    """The cell's address leads to a section of book/troubleshooting.md that gives the steps."""
    page = (NOTEBOOK_DIR.parent / "book" / "troubleshooting.md").read_text(encoding="utf-8")
    url = colab.troubleshooting_url()
    assert url.startswith(f"https://github.com/{config.REPOSITORY}/blob/{config.RELEASE}/book/")
    path, anchor = url.split("/book/")[1].split("#")
    assert path == "troubleshooting.md"
    heading = f"## {colab.TROUBLESHOOTING_SECTION}"
    assert heading in page and anchor == heading[3:].lower().replace(" ", "-")
    section = page[page.index(heading):]
    for step in ("internet", "tag", "RELEASE", "REPOSITORY", "INSTALL_SOURCE", "git clone",
                 "helpers/config.py", "pip install -e"):
        assert step in section, step
    assert "RuntimeError: helpers did not install" in section
    assert colab.INSTALL_FAILED.split(" (")[0] in colab.install_failure_message()


def test_install_source_is_one_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "INSTALL_SOURCE", "https://example.org/helpers-0.1.0.whl")
    setup = colab.setup_cell()
    assert '@ https://example.org/helpers-0.1.0.whl"' in setup
    # every line fits 100 characters but those that end with an address
    assert all(len(line) <= 100 for line in setup.splitlines()
               if "%pip" not in line and "https://" not in "".join(line.split()[-1:]))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_sections_summary_and_hidden_solutions(path: Path) -> None:
    text = "\n".join(_cells(path, "markdown"))
    assert re.search(r"^## Summary", text, re.M | re.I)
    assert re.search(r"^## Exercises", text, re.M | re.I)
    # a solution is folded: in a <details> block, or a code cell with its source hidden that
    # runs the solution and ends with its helpers.exercises check (so the test run checks it)
    folded = [cell for cell in nbformat.read(path, as_version=4).cells
              if cell.cell_type == "code" and cell.metadata.get("jupyter", {}).get("source_hidden")
              and "Solution" in cell.source]
    assert ("<details>" in text and "Solution" in text) or folded
    for cell in folded:
        assert cell.source.rstrip().splitlines()[-1].startswith("check_"), cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_and_their_outputs_are_folded_and_run(path: Path) -> None:
    """After "## Exercises": every code cell is folded with its output (JupyterLab: the
    ``jupyter`` metadata; the book: the ``hide-input``/``hide-output`` tags; Colab: the form
    view), every "Solution N." text is inside a closed ``<details>`` block, and no solution is
    left as code in a markdown block, where the test run would not check it."""
    cells = nbformat.read(path, as_version=4).cells
    start = max(i for i, c in enumerate(cells)
                if c.cell_type == "markdown" and re.search(r"^## Exercises", c.source, re.M))
    end = next((i for i, c in enumerate(cells) if i > start and c.cell_type == "markdown"
                and c.source.startswith("## ")), len(cells))
    part = cells[start:end]
    code = [c for c in part if c.cell_type == "code"]
    assert code, "the exercises have solution cells"
    for cell in code:
        assert cell.metadata.get("jupyter", {}) == {"source_hidden": True,
                                                    "outputs_hidden": True}, cell.source[:60]
        assert {"hide-input", "hide-output"} <= set(cell.metadata.get("tags", [])), cell.source[:60]
        assert cell.metadata.get("cellView") == "form", cell.source[:60]
    solutions = [c for c in code if "Solution" in c.source.splitlines()[0]]
    assert all(c.source.rstrip().splitlines()[-1].startswith("check_") for c in solutions)
    for cell in part:
        if cell.cell_type == "markdown":
            assert "```python" not in cell.source, "a solution as text is never run: make it a cell"
            assert not re.search(r"^\*\*Solution \d", cell.source, re.M), cell.source[:60]
            if "Solution" in cell.source and "<summary>" in cell.source:
                assert cell.source.startswith("<details><summary>")
                assert cell.source.rstrip().endswith("</details>")


def _slot_words():
    """benchmarks/notebook_slots.py's word count (badges, tags and display maths left out)."""
    spec = importlib.util.spec_from_file_location(
        "notebook_slots", NOTEBOOK_DIR.parent / "benchmarks" / "notebook_slots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._words


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_goals_and_markdown_cells_a_reader_can_hold(path: Path) -> None:
    """The opening cell's "What you will learn" lists one to five goals; no markdown cell holds
    more than MAX_CELL_WORDS words (DEVELOPERS.md: "at most about 250")."""
    markdown = _cells(path, "markdown")
    goals = re.search(r"What you will learn.*?\n\n((?:- .*\n(?:  .*\n)*)+)", markdown[0] + "\n",
                      re.S)
    assert goals, "the first cell opens with 'What you will learn' and its bulleted goals"
    assert 1 <= len(re.findall(r"^- ", goals.group(1), re.M)) <= 5
    words = _slot_words()
    too_long = {i: words(src) for i, src in enumerate(markdown) if words(src) > MAX_CELL_WORDS}
    assert not too_long, f"markdown cells over {MAX_CELL_WORDS} words (cell: words): {too_long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_short_cells_and_no_claims_in_lessons(path: Path) -> None:
    """What the demo must show is asserted by tests that read the run record, not by asserts,
    claims or nbval markers in lesson cells (DESIGN): a cell shows its comparison instead."""
    code = _cells(path, "code")
    too_long = [i for i, src in enumerate(code) if len(src.splitlines()) > MAX_CELL_LINES]
    assert not too_long, f"code cells over {MAX_CELL_LINES} lines: {too_long}"
    machinery = [i for i, src in enumerate(code)
                 if re.search(r"\bclaim\(|NBVAL_CHECK_OUTPUT|^\s*assert\b", src, re.M)]
    assert not machinery, f"code cells with asserts, claims or nbval markers: {machinery}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_in_order_and_free_of_machine_paths(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    if any(c is not None for c in counts):  # committed executed: one run, top to bottom
        assert counts == list(range(1, len(code) + 1))
    for i, cell in enumerate(code):
        found = MACHINE_PATHS.search(_output_text(cell))
        assert not found, f"code cell {i} prints a path of this machine: {found.group(0)!r}"
        assert not any(out.output_type == "error" for out in cell.get("outputs", []))


def test_sync_rewrites_badge_and_install_line(tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], copy)
    assert not colab.sync_notebook(copy), "the committed notebook is already in sync"
    monkeypatch.setattr(config, "REPOSITORY", "someone/fork")
    assert colab.sync_notebook(copy)
    text = json.dumps(json.loads(copy.read_text()))
    assert "someone/fork" in text and config.REPOSITORY in colab.install_line()
    assert f"github/someone/fork/blob/{config.RELEASE}/notebooks/{copy.name}" in text


def test_readme_lists_every_notebook_with_its_badge(tmp_path: Path, monkeypatch) -> None:
    readme = NOTEBOOK_DIR.parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    links = [m["notebook"] for m in colab.COLAB_LINK_PATTERN.finditer(text)]
    assert links == [p.name for p in NOTEBOOKS], "one badge per notebook, in order"
    assert all(colab.colab_url(name) in text for name in links)
    copy = tmp_path / "README.md"
    copy.write_text(text, encoding="utf-8")
    assert not colab.sync_links(copy)
    monkeypatch.setattr(config, "REPOSITORY", "someone/fork")
    assert colab.sync_links(copy)
    assert copy.read_text().count("github/someone/fork/blob/") == len(NOTEBOOKS)
