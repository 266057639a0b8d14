"""helpers.course.prepare: the metadata of the run's data set (the demo set, its artefact
and multi-lesion variants) prepared in the cache; a damaged cached set says to delete
that folder, never where to download HAM10000."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from helpers import data as D
from helpers.config import load_config
from helpers.course import prepare as DS
from helpers.demo import sets as DM


def test_demo_split_has_every_class_everywhere(tmp_path: Path) -> None:
    cfg = load_config(profile="smoke", cache_dir=tmp_path, num_workers=0)
    df = DS.prepare_metadata(cfg)
    assert DM.demo_dataset_dir(cfg).is_dir() and len(df) == cfg.n_demo_images
    for part in D.lesion_split(df, seed=cfg.seed).values():
        assert set(part["dx"]) == set(D.CLASSES)


def test_prepare_metadata_other_datasets(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="data_dir"):
        DS.prepare_metadata(load_config(profile="full", dataset="ham10000", data_dir=None))
    with pytest.raises(NotImplementedError, match="load_dermamnist"):
        DS.prepare_metadata(load_config(profile="smoke", dataset="dermamnist"))


def test_prepare_multi_lesion_metadata(tmp_path: Path) -> None:
    cfg = load_config(profile="smoke", cache_dir=tmp_path, num_workers=0)
    df = DS.prepare_multi_lesion_metadata(cfg, n_images=14)
    root = DM.multi_lesion_dir(cfg, 14)
    assert root.is_dir() and root.parent == tmp_path and len(df) == 14
    assert root != DM.multi_lesion_dir(cfg) != DM.demo_dataset_dir(cfg)
    assert {"lesion1_mask_path", "lesion2_mask_path", "evidence_path"} <= set(df.columns)
    with Image.open(df["path"].iloc[0]) as img:
        assert img.height == cfg.image_size


SPEC = DM.ArtefactSpec()  # ink on 90 % of mel, 5 % elsewhere


def test_artefact_cache_folders(tmp_path: Path) -> None:
    cfg = load_config(profile="smoke", cache_dir=tmp_path, num_workers=0)
    biased = DM.artefact_dataset_dir(cfg, SPEC)
    assert biased != DM.demo_dataset_dir(cfg)
    assert biased.name.startswith(DM.demo_dataset_dir(cfg).name) and SPEC.tag in biased.name
    assert DM.artefact_dataset_dir(cfg, SPEC, "test") != biased
    df = DS.prepare_artefact_metadata(cfg, SPEC)
    assert len(df) == cfg.n_demo_images and biased.is_dir()
    assert {"artefact", "artefact_mask_path"} <= set(df.columns)
    with pytest.raises(ValueError, match="part="):
        DS.prepare_artefact_metadata(cfg, SPEC, lesion_ids=df["lesion_id"])


# --- bad inputs ----------------------------------------------------------------------------------


def _damage_marker(root: Path) -> None:
    (root / "demo.json").write_text('{"generator": "helpers.data.make_d')


def _lose_an_image(root: Path) -> None:
    next(root.glob("HAM10000_images_part_*/*.jpg")).unlink()


@pytest.mark.parametrize("damage", [_damage_marker, _lose_an_image], ids=["marker", "image"])
def test_damaged_cached_demo_set_says_delete_the_folder(damage, demo_root, tmp_path,
                                                        disk_snapshot) -> None:
    cfg = load_config(profile="smoke", cache_dir=tmp_path, n_demo_images=40, image_size=32,
                      seed=0, num_workers=0)
    folder = DM.demo_dataset_dir(cfg)
    shutil.copytree(demo_root, folder)
    damage(folder)
    before = disk_snapshot(tmp_path)
    with pytest.raises((ValueError, FileNotFoundError)) as info:
        DS.prepare_metadata(cfg)
    message = str(info.value)
    assert str(folder) in message and "delete" in message.lower()
    assert "Dataverse" not in message and "kaggle" not in message.lower()
    assert disk_snapshot(tmp_path) == before  # the damaged set is not "repaired" behind our back


def test_a_damaged_multi_lesion_set_says_delete_not_download(tmp_path: Path) -> None:
    from helpers import load_config
    cfg = load_config(profile="smoke", cache_dir=str(tmp_path), dataset="demo")
    root = DM.make_multi_lesion_set(DM.multi_lesion_dir(cfg, 7), 7, cfg.image_size, cfg.seed)
    (root / "HAM10000_metadata.csv").write_text("image_id,lesion_id\n")  # columns lost
    with pytest.raises((FileNotFoundError, ValueError), match="(?i)delete") as info:
        DS.prepare_multi_lesion_metadata(cfg, 7)
    assert "Dataverse" not in str(info.value)
