"""Tests for the demo's ground truth for explanations (helpers.demo): the evidence masks of
the demo set and the multi-lesion test set."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import data as D
from helpers.config import load_config
from helpers.course import prepare as DS
from helpers.demo import render as lesions
from helpers.demo import sets as DM

N, SIZE = 60, 64  # the demo set
N_MULTI = 21  # the multi-lesion set: 3 images per class


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("masks")
    return {"demo": DM.make_demo_dataset(base / "demo", N, SIZE, seed=0),
            "multi": DM.make_multi_lesion_set(base / "multi", N_MULTI, SIZE, seed=0)}


@pytest.fixture(scope="module")
def demo(folders: dict[str, Path]) -> pd.DataFrame:
    return D.load_metadata(folders["demo"])


@pytest.fixture(scope="module")
def multi(folders: dict[str, Path]) -> pd.DataFrame:
    return D.load_metadata(folders["multi"])


# --------------------------------------------------------------------------- pixels unchanged

# The evidence masks were added with the images' pixels unchanged: at commit 2f0d80e,
# render_lesion's
# RGB, lesion and artefact arrays were checked against hashes taken before (11 cases). Those
# hashes are not kept as a test: another CPU's numpy may round a float differently, and a test
# must hold on every machine.


@pytest.mark.parametrize("dx", D.CLASSES)
def test_render_returns_an_evidence_mask_like_the_lesion_mask(dx: str) -> None:
    lesion = lesions.draw_lesion(dx, np.random.default_rng([3, 5]))
    out = lesions.render_lesion(lesion, 64, 85, np.random.default_rng([3, 5, 1]))
    assert out.evidence.shape == out.mask.shape and out.evidence.dtype == np.uint8
    assert set(np.unique(out.evidence)) <= {0, 255} and (out.evidence > 0).any()
    assert not ((out.evidence > 0) & (out.mask == 0)).any(), "evidence lies inside the lesion"


# --------------------------------------------------------------------------- evidence masks


def test_evidence_masks_inside_lesion_and_nonempty(folders: dict[str, Path],
                                                   demo: pd.DataFrame) -> None:
    assert (folders["demo"] / D.EVIDENCE_FOLDER).is_dir()
    assert demo["evidence_path"].notna().all() and set(demo["dx"]) == set(D.CLASSES)
    shares: dict[str, list[float]] = {dx: [] for dx in D.CLASSES}
    for _, row in demo.iterrows():
        assert Path(row["evidence_path"]).name == f"{row['image_id']}_evidence.png"
        evidence, lesion = read(row["evidence_path"]), read(row["mask_path"])
        assert evidence.shape == lesion.shape and set(np.unique(evidence)) == {0, 255}
        assert not ((evidence > 0) & (lesion == 0)).any()  # inside the lesion
        shares[row["dx"]].append((evidence > 0).sum() / (lesion > 0).sum())
    for dx, found in shares.items():  # structures inside the lesion, not the lesion itself
        assert 0.005 < np.mean(found) < 0.8, (dx, np.mean(found))
    assert "lesion1_mask_path" not in demo  # one lesion per image here


def test_evidence_comes_from_the_structures() -> None:
    """Without their structures (spots, vessels), bcc, bkl and vasc lesions have no evidence;
    an nv without its network (frequency 0: flat) has none either."""
    for dx in ("bcc", "bkl", "vasc", "nv"):
        lesion = lesions.draw_lesion(dx, np.random.default_rng([0, 3]))
        rng = np.random.default_rng([0, 3, 0])
        assert lesions.render_lesion(lesion, SIZE, 85, rng).evidence.any(), dx
        lesion.spots, lesion.spot_colours = np.zeros((0, 3)), np.zeros((0, 3))
        lesion.segments = np.zeros((0, 5))
        if dx == "nv":
            lesion.extra = {"freq": 0.0}
            lesion.noise = np.full_like(lesion.noise, 0.5)  # sin(3 * 0.5)^2 ~ 1: no lines
        rng = np.random.default_rng([0, 3, 0])
        assert not lesions.render_lesion(lesion, SIZE, 85, rng).evidence.any()


def test_artefact_is_not_evidence(tmp_path: Path, folders: dict[str, Path]) -> None:
    ink = DM.make_demo_dataset(tmp_path / "ink", N, SIZE, seed=0, artefact=DM.ArtefactSpec(),
                               base=folders["demo"])  # the marked images are rendered again
    marked = D.load_metadata(ink)
    assert marked["artefact"].sum() > 0
    ev = D.EVIDENCE_FOLDER
    assert {k: v for k, v in digest(ink).items() if k.startswith(ev)} == {
        k: v for k, v in digest(folders["demo"]).items() if k.startswith(ev)}


# --------------------------------------------------------------------------- multi-lesion set


def test_multi_lesion_rows_and_layout(folders: dict[str, Path], multi: pd.DataFrame) -> None:
    root = folders["multi"]
    assert len(multi) == N_MULTI and multi["dx"].value_counts().to_dict() == dict.fromkeys(
        D.CLASSES, N_MULTI // len(D.CLASSES))
    assert multi["lesion_id"].is_unique and multi["image_id"].is_unique
    real = D.packaged_metadata().set_index("image_id")
    for column in D.METADATA_COLUMNS[:1] + D.METADATA_COLUMNS[2:]:  # the real rows
        assert multi[column].equals(real.loc[multi["image_id"], column].reset_index(drop=True))
    assert list(pd.read_csv(root / D.METADATA_FILE).columns) == list(D.METADATA_COLUMNS)
    for column in ("mask_path", "lesion1_mask_path", "lesion2_mask_path", "evidence_path"):
        assert multi[column].notna().all(), column
    marker = json.loads((root / D.DEMO_MARKER).read_text())
    assert marker["generator"] == "helpers.demo.make_multi_lesion_set"
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")]  # temp folder gone


def test_multi_lesion_masks(multi: pd.DataFrame) -> None:
    crop = D.mask_transform(SIZE)
    stronger = []
    for _, row in multi.iterrows():
        one, two, union, evidence = (read(row[c]) > 0 for c in (
            "lesion1_mask_path", "lesion2_mask_path", "mask_path", "evidence_path"))
        assert Path(row["lesion2_mask_path"]).name == f"{row['image_id']}_lesion2.png"
        assert one.any() and two.any() and not (one & two).any()  # two lesions, apart
        assert (union == (one | two)).all()
        assert evidence.any() and not (evidence & ~union).any()
        assert two.sum() < one.sum()  # the second is the smaller one
        for name in ("lesion1_mask_path", "lesion2_mask_path"):  # inside what the model sees
            with Image.open(row[name]) as img:
                assert crop(img).sum() == (read(row[name]) > 0).sum()
        rgb = read(row["path"]).astype(float)
        centre = np.zeros_like(union)  # the centre square: inside the vignette
        centre[:, (union.shape[1] - SIZE) // 2:][:, :SIZE] = True
        skin = np.median(rgb[centre & ~union], axis=0)
        stronger.append(np.abs(rgb[one] - skin).mean() > np.abs(rgb[two] - skin).mean())
    assert np.mean(stronger) > 0.8  # the second is fainter, too
    by_class = multi.assign(ev=[(read(p) > 0).sum() for p in multi["evidence_path"]])
    assert (by_class.groupby("dx")["ev"].min() > 0).all()


def test_multi_lesion_same_bytes_per_seed(tmp_path: Path, folders: dict[str, Path]) -> None:
    again = DM.make_multi_lesion_set(tmp_path / "again", N_MULTI, SIZE, seed=0)
    assert digest(again) == digest(folders["multi"])
    other = DM.make_multi_lesion_set(tmp_path / "other", N_MULTI, SIZE, seed=1)
    assert digest(other) != digest(folders["multi"])
    stamp = (again / D.DEMO_MARKER).stat().st_mtime_ns  # a finished set is kept
    assert DM.make_multi_lesion_set(again, N_MULTI, SIZE, seed=0) == again
    assert (again / D.DEMO_MARKER).stat().st_mtime_ns == stamp


def test_multi_lesion_bad_arguments(tmp_path: Path, folders: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="n_images must be >= 7"):
        DM.make_multi_lesion_set(tmp_path / "few", 6, SIZE)
    with pytest.raises(ValueError, match=r"n_images must be in \[7, 511\]"):
        DM.make_multi_lesion_set(tmp_path / "many", 512, SIZE)
    with pytest.raises(ValueError, match="image_size"):
        DM.make_multi_lesion_set(tmp_path / "small", 14, 16)
    assert not list(tmp_path.iterdir())  # nothing written
    with pytest.raises(FileExistsError, match="another demo set"):
        DM.make_multi_lesion_set(folders["multi"], N_MULTI + 7, SIZE)
    with pytest.raises(FileExistsError, match="another demo set"):
        DM.make_demo_dataset(folders["multi"], N, SIZE)
    real = tmp_path / "real"
    real.mkdir()
    (real / D.METADATA_FILE).write_text("lesion_id\n")
    with pytest.raises(FileExistsError, match="holds HAM10000 data"):
        DM.make_multi_lesion_set(real / "multi", 14, SIZE)


def test_prepare_multi_lesion_metadata(tmp_path: Path) -> None:
    cfg = load_config(profile="smoke", cache_dir=tmp_path, num_workers=0)
    df = DS.prepare_multi_lesion_metadata(cfg, n_images=14)
    root = DM.multi_lesion_dir(cfg, 14)
    assert root.is_dir() and root.parent == tmp_path and len(df) == 14
    assert root != DM.multi_lesion_dir(cfg) != DM.demo_dataset_dir(cfg)
    assert {"lesion1_mask_path", "lesion2_mask_path", "evidence_path"} <= set(df.columns)
    with Image.open(df["path"].iloc[0]) as img:
        assert img.height == cfg.image_size


# --------------------------------------------------------------------------- cache upgrades


def test_older_version_is_rewritten_in_place(tmp_path: Path) -> None:
    root = DM.make_demo_dataset(tmp_path / "demo", 21, SIZE, seed=0)
    files = digest(root)
    marker = json.loads((root / D.DEMO_MARKER).read_text())
    for path in (root / D.EVIDENCE_FOLDER).iterdir():  # a set written before evidence masks
        path.unlink()
    (root / D.EVIDENCE_FOLDER).rmdir()
    (root / D.DEMO_MARKER).write_text(json.dumps({**marker, "version": 1}, indent=1))
    assert DM.make_demo_dataset(root, 21, SIZE, seed=0) == root
    assert digest(root) == files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # old copy gone

    newer = {**marker, "version": marker["version"] + 1}  # from a later release: not ours
    (root / D.DEMO_MARKER).write_text(json.dumps(newer, indent=1))
    with pytest.raises(FileExistsError, match="another demo set"):
        DM.make_demo_dataset(root, 21, SIZE, seed=0)
    other = {**marker, "generator": "someone.else", "version": 0}
    (root / D.DEMO_MARKER).write_text(json.dumps(other, indent=1))
    with pytest.raises(FileExistsError, match="another demo set"):
        DM.make_demo_dataset(root, 21, SIZE, seed=0)
    assert (root / D.EVIDENCE_FOLDER).is_dir()  # left as it was
