"""Tests for the demo set's artefact option (notebook 05's shortcut): helpers.data."""

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
from helpers.demo import sets as DM

N, SIZE = 60, 64
SPEC = DM.ArtefactSpec()  # ink on 90 % of mel, 5 % elsewhere

def nevus_looking(rows: pd.DataFrame, share: float, seed: int = 0) -> set[str]:
    """The melanoma lesions that :func:`demo_looks` draws with a nevus's look at ``share``."""
    looks = DM.demo_looks(rows, seed, mel_as_nv=share)
    return set(rows.loc[(rows["dx"] == "mel").to_numpy() & (looks == "nv"), "lesion_id"]
               .astype(str))



def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("artefacts")
    return {
        "clean": DM.make_demo_dataset(base / "clean", N, SIZE, seed=0),
        "ink": DM.make_demo_dataset(base / "ink", N, SIZE, seed=0, artefact=SPEC),
    }


@pytest.fixture(scope="module")
def ink(folders: dict[str, Path]) -> pd.DataFrame:
    return D.load_metadata(folders["ink"])


def read(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


def test_spec_checks_and_tag() -> None:
    assert SPEC.on == ("mel",) and SPEC.tag == "ink-mel-90-5"
    assert DM.ArtefactSpec(kind="ruler", on="nv", share=0.5, elsewhere=0).tag == "ruler-nv-50-0"
    assert DM.ArtefactSpec(on=("bcc", "nv")).on == ("bcc", "nv")
    for bad in (dict(kind="glitter"), dict(on="melanoma"), dict(on=()), dict(share=1.5),
                dict(elsewhere=-0.1)):
        with pytest.raises(ValueError):
            DM.ArtefactSpec(**bad)


def test_flags_exact_shares_and_seeded() -> None:
    rows = D.packaged_metadata()
    flags = DM.artefact_flags(rows, SPEC, seed=3)
    for code, part in rows.assign(flag=flags).groupby("dx"):
        share = 0.9 if code == "mel" else 0.05
        assert part["flag"].sum() == round(share * len(part)), code
    backwards = DM.artefact_flags(rows.iloc[::-1], SPEC, seed=3)[::-1]
    assert np.array_equal(flags, backwards)  # the row order does not matter
    assert not np.array_equal(flags, DM.artefact_flags(rows, SPEC, seed=4))


def test_artefact_set_layout_masks_and_columns(folders: dict[str, Path], ink: pd.DataFrame) -> None:
    root = folders["ink"]
    csv = pd.read_csv(root / D.METADATA_FILE)
    assert list(csv.columns) == [*D.METADATA_COLUMNS, "drawn_as", "artefact"]
    assert set(csv["artefact"]) <= {0, 1} and ink["artefact"].equals(csv["artefact"])
    marker = json.loads((root / D.DEMO_MARKER).read_text())["artefact"]
    assert marker == {**SPEC.as_dict(), "renderer": DM._ARTEFACT_RENDERER}
    assert "artefact_mask_path" not in D.load_metadata(folders["clean"])
    assert ink["artefact_mask_path"].notna().all()
    assert ink["artefact"].to_numpy().astype(bool).tolist() == DM.artefact_flags(ink, SPEC).tolist()
    crop = D.mask_transform(SIZE)
    for _, row in ink.iterrows():
        art, lesion = read(row["artefact_mask_path"]), read(row["mask_path"])
        assert Path(row["artefact_mask_path"]).name == f"{row['image_id']}_artefact.png"
        assert art.shape == lesion.shape and set(np.unique(art)) <= {0, 255}
        if row["artefact"]:
            assert 0.002 < (art > 0).mean() < 0.05  # a mark, not a frame
            assert not ((art > 0) & (lesion > 0)).any()  # beside the lesion, never over it
            with Image.open(row["artefact_mask_path"]) as img:  # inside what the model sees
                assert crop(img).sum() == (art > 0).sum()
        else:
            assert not art.any()


def test_artefact_is_purple_ink_and_the_rest_is_unchanged(folders: dict[str, Path],
                                                          ink: pd.DataFrame) -> None:
    clean = D.load_metadata(folders["clean"]).set_index("image_id")
    for _, row in ink.iterrows():
        same_file = Path(row["path"]).read_bytes() == Path(clean.at[row["image_id"], "path"]
                                                           ).read_bytes()
        assert same_file != bool(row["artefact"])  # only the marked images changed
        assert Path(row["mask_path"]).read_bytes() == Path(
            clean.at[row["image_id"], "mask_path"]).read_bytes()
    marked = ink[ink["artefact"] == 1]
    for _, row in marked.iterrows():
        img, before = read(row["path"]).astype(int), read(clean.at[row["image_id"], "path"])
        art = read(row["artefact_mask_path"]) > 0
        r, g, b = img[art].mean(axis=0)
        assert b > g + 10 and r > g  # violet (JPEG blurs the colour of a thin mark)
        near = np.zeros_like(art)  # JPEG works in 16 px blocks: compare away from the mark
        ys, xs = np.nonzero(art)
        near[max(ys.min() - 16, 0): ys.max() + 17, max(xs.min() - 16, 0): xs.max() + 17] = True
        assert np.abs(img - before)[~near].max() <= 2


def test_artefact_same_seed_same_bytes_and_subset(tmp_path: Path,
                                                  folders: dict[str, Path],
                                                  ink: pd.DataFrame) -> None:
    again = DM.make_demo_dataset(tmp_path / "again", N, SIZE, seed=0, artefact=SPEC)
    assert digest(again) == digest(folders["ink"])
    copied = DM.make_demo_dataset(tmp_path / "copied", N, SIZE, seed=0, artefact=SPEC,
                                 base=folders["clean"])  # unmarked images copied, not rendered
    assert digest(copied) == digest(folders["ink"])
    with pytest.raises(FileExistsError, match="another demo set"):
        DM.make_demo_dataset(tmp_path / "wrong", N, 48, seed=0, artefact=SPEC,
                            base=folders["clean"])
    lesions = sorted(set(D.lesion_split(ink, seed=0)["test"]["lesion_id"]))
    part = DM.make_demo_dataset(tmp_path / "part", N, SIZE, seed=0, artefact=SPEC,
                               lesion_ids=lesions)
    sub = D.load_metadata(part)
    assert sorted(sub["lesion_id"].unique()) == lesions
    full = ink.set_index("image_id")
    for _, row in sub.iterrows():  # the same lesion, view and lighting as in the full set
        assert Path(row["mask_path"]).read_bytes() == Path(
            full.at[row["image_id"], "mask_path"]).read_bytes()
    with pytest.raises(FileExistsError, match="another demo set"):
        DM.make_demo_dataset(part, N, SIZE, seed=0, artefact=SPEC)  # the full set, same folder
    with pytest.raises(ValueError, match="not in this demo set"):
        DM.make_demo_dataset(tmp_path / "bad", N, SIZE, seed=0, lesion_ids=["HAM_9999999"])


def test_moved_artefact_spares_melanoma(tmp_path: Path, ink: pd.DataFrame) -> None:
    moved = DM.ArtefactSpec(on="nv", share=0.9, elsewhere=0)
    lesions = D.lesion_split(ink, seed=0)["test"]["lesion_id"]
    root = DM.make_demo_dataset(tmp_path / "moved", N, SIZE, seed=0, artefact=moved,
                               lesion_ids=lesions)
    df = D.load_metadata(root)
    assert df.loc[df["dx"] != "nv", "artefact"].sum() == 0
    assert df.loc[df["dx"] == "nv", "artefact"].sum() == round(0.9 * (df["dx"] == "nv").sum())


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


def test_nevus_looking_melanomas(tmp_path: Path, folders: dict[str, Path]) -> None:
    spec = DM.ArtefactSpec(mel_as_nv=0.5)
    assert spec.tag == "ink-mel-90-5-melnv50" and spec.as_dict()["mel_as_nv"] == 0.5
    assert "mel_as_nv" not in SPEC.as_dict()  # sets written before the option keep their marker
    with pytest.raises(ValueError, match="mel_as_nv"):
        DM.ArtefactSpec(mel_as_nv=1.5)
    rows = D.packaged_metadata()
    mel = rows[rows["dx"] == "mel"]
    chosen = nevus_looking(rows, 0.5, seed=0)
    assert abs(mel["lesion_id"].isin(chosen).mean() - 0.5) < 0.02  # half the melanoma images
    assert chosen == nevus_looking(rows, 0.5)
    assert set(rows.loc[rows["lesion_id"].isin(chosen), "dx"]) == {"mel"}

    every = DM.ArtefactSpec(mel_as_nv=1.0)
    root = DM.make_demo_dataset(tmp_path / "melnv", N, SIZE, seed=0, artefact=every,
                               base=folders["clean"])
    df = D.load_metadata(root).set_index("image_id")
    clean = D.load_metadata(folders["clean"]).set_index("image_id")
    # every melanoma looks like a nevus; the other classes keep the clean set's looks
    assert (df["drawn_as"] == clean.loc[df.index, "drawn_as"].where(df["dx"] != "mel", "nv")).all()
    for image_id, row in df.iterrows():  # new looks redrawn, the rest as before (unless inked)
        same = Path(row["path"]).read_bytes() == Path(clean.at[image_id, "path"]).read_bytes()
        kept = row["drawn_as"] == clean.at[image_id, "drawn_as"]
        assert same == (kept and not row["artefact"]), image_id
    lesions = D.lesion_split(df.reset_index(), seed=0)["test"]["lesion_id"]
    moved = DM.ArtefactSpec(on="nv", share=0.9, elsewhere=0, mel_as_nv=1.0)
    part = D.load_metadata(DM.make_demo_dataset(tmp_path / "moved", N, SIZE, seed=0,
                                               artefact=moved, lesion_ids=lesions))
    assert (part["drawn_as"].to_numpy() == df.loc[part["image_id"], "drawn_as"].to_numpy()).all()
    unmarked = part[part["artefact"] == 0].set_index("image_id")
    for image_id in unmarked.index.intersection(df.index[df["artefact"] == 0]):
        assert Path(unmarked.at[image_id, "path"]).read_bytes() == Path(
            df.at[image_id, "path"]).read_bytes()  # same looks in the moved test split
