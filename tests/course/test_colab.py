"""helpers.course.colab: the course folder (``use_data(course_folder=...)``, Google Drive
inside and outside Colab) and the notebooks' Colab links."""

from __future__ import annotations

import os
import sys
import types

import pytest

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
