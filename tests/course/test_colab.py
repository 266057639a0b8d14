"""helpers.course.colab: the course folder (``use_data(course_folder=...)``, Google Drive
inside and outside Colab) and the notebooks' Colab links."""

from __future__ import annotations

import json
import os
import re
import sys
import types
from pathlib import Path

import pytest

from helpers import config
from helpers.course import colab
from helpers.course import colab as C


def test_use_data_sets_the_course_folder(tmp_path, clean_env, capsys) -> None:
    clean_env.chdir(tmp_path)
    C.use_data("demo", course_folder=tmp_path / "course")
    assert os.environ["TUTORIAL_HOME"] == str(tmp_path / "course")
    assert (tmp_path / "course").is_dir()
    assert "course folder" in capsys.readouterr().out.lower()


def test_a_drive_folder_outside_colab_says_what_to_do(tmp_path, clean_env) -> None:
    clean_env.setitem(sys.modules, "google.colab", None)  # not in Colab: the import fails
    with pytest.raises(RuntimeError, match=r"Drive.*Colab"):
        C.use_data("demo", course_folder="/content/drive/MyDrive/gradcam-course")
    assert "TUTORIAL_HOME" not in os.environ


def test_a_drive_folder_in_colab_mounts_drive(tmp_path, clean_env, capsys) -> None:
    mounted: list[str] = []
    fake_drive = types.SimpleNamespace(mount=lambda where: mounted.append(where))
    fake = types.ModuleType("google.colab")
    fake.drive = fake_drive  # type: ignore[attr-defined]
    clean_env.setitem(sys.modules, "google.colab", fake)
    clean_env.setattr(C, "DRIVE_ROOT", str(tmp_path / "drive"))
    C.use_data("demo", course_folder=tmp_path / "drive" / "MyDrive" / "course")
    assert mounted == [str(tmp_path / "drive")]
    assert "Mounting Google Drive" in capsys.readouterr().out


# --- bad inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", ["99_no_such_notebook.ipynb", "02_finetune_resnet50",
                                      "../README.md", 2])
def test_colab_url_refuses_a_name_that_is_not_a_notebook_of_the_series(notebook) -> None:
    from helpers.course import colab

    with pytest.raises(ValueError, match=r"notebook.*02_finetune_resnet50"):
        colab.colab_url(notebook)
    assert colab.colab_url("02_finetune_resnet50.ipynb").endswith(
        "/notebooks/02_finetune_resnet50.ipynb")


def test_sync_notebook_names_a_missing_notebook(tmp_path) -> None:
    from helpers.course import colab

    with pytest.raises(FileNotFoundError, match=r"02_x\.ipynb"):
        colab.sync_notebook(tmp_path / "02_x.ipynb")


NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DATA_SETTING = re.compile(r"^DATA_SOURCE\s*=", re.M)


def test_the_notebooks_are_found() -> None:
    """The two tests below run once per notebook: an empty list would skip them silently."""
    assert len(NOTEBOOKS) >= 8, NOTEBOOKS


def _source(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_committed_notebook_is_in_sync(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    assert not colab.sync_notebook(copy), "run `make badges` after changing helpers/config.py"
    assert copy.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_make_badges_changes_nothing_but_badges_install_lines_and_the_data_comment(
        path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork's settings and a stale data-settings comment: after the sync every cell but the
    set-up cell equals the committed one once the badge's address is put back, so a lesson's
    own ``# SETTINGS:`` comment (notebook 09's ``MY_IMAGE``) and every output stay as they are."""
    committed = json.loads(path.read_text(encoding="utf-8"))
    stale = json.loads(path.read_text(encoding="utf-8"))
    data_cells = [cell for cell in stale["cells"]
                  if cell["cell_type"] == "code" and DATA_SETTING.search(_source(cell))]
    assert len(data_cells) == 1, "one data-settings cell per notebook"
    old = _source(data_cells[0])
    assert colab.SETTINGS_COMMENT in old
    data_cells[0]["source"] = old.replace(colab.SETTINGS_COMMENT, "# SETTINGS: older words.\n")
    copy = tmp_path / path.name
    copy.write_text(json.dumps(stale, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")

    ours = colab.colab_url(path.name)
    monkeypatch.setattr(config, "REPOSITORY", "someone/fork")
    monkeypatch.setattr(config, "RELEASE", "v9.9.9")
    fork = colab.colab_url(path.name)
    assert colab.sync_notebook(copy)
    synced = json.loads(copy.read_text(encoding="utf-8"))

    assert synced["metadata"] == committed["metadata"]
    assert [c["cell_type"] for c in synced["cells"]] == [c["cell_type"] for c in committed["cells"]]
    first_code = next(i for i, c in enumerate(committed["cells"]) if c["cell_type"] == "code")
    badges = 0
    for i, (new, was) in enumerate(zip(synced["cells"], committed["cells"], strict=True)):
        assert new["metadata"] == was["metadata"], f"cell {i}"
        assert new.get("outputs") == was.get("outputs"), f"cell {i}"
        if i == first_code:
            assert _source(new) == colab.setup_cell()
            assert "someone/fork@v9.9.9" in _source(new)
            continue
        badges += _source(new).count(fork)
        assert _source(new).replace(fork, ours) == _source(was), f"cell {i} changed"
    assert badges == 1, "one badge, pointing at the fork"
