"""helpers.demo.sets: the demo set (layout, masks, real lesions' rows, bytes per seed),
its difficulty (look-alike lesions, off-centre views), its artefact option (notebook
06's shortcut), the evidence masks and the multi-lesion set; bad arguments are refused
before any image is drawn."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import data as D
from helpers.demo import sets as DM


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- demo set


def test_demo_layout_and_masks(demo_set: Path, demo_set_meta: pd.DataFrame) -> None:
    assert len(demo_set_meta) == 60 and set(demo_set_meta["dx"]) == set(D.CLASSES)
    assert (demo_set / "HAM10000_images_part_1").is_dir()
    assert (demo_set / "HAM10000_images_part_2").is_dir()
    assert not [p for p in demo_set.parent.iterdir() if p.name.startswith(".")]  # temp folder gone
    for _, row in demo_set_meta.iterrows():
        number = int(row["image_id"][5:])
        assert Path(row["path"]).parent.name == DM._demo_part(row["image_id"])
        assert (number <= 29305) == Path(row["path"]).parent.name.endswith("1")
        assert Image.open(row["path"]).size == (64, 48)
    masks = [np.asarray(Image.open(p)) for p in demo_set_meta["mask_path"]]
    assert all(m.shape == (48, 64) and m.dtype == np.uint8 for m in masks)
    assert set(np.unique(np.concatenate([m.ravel() for m in masks]))) == {0, 255}
    assert all(0.02 < (m > 0).mean() < 0.9 for m in masks)


def test_demo_rows_are_whole_real_lesions(demo_set_meta: pd.DataFrame,
                                          packaged_meta: pd.DataFrame) -> None:
    real = packaged_meta.set_index("image_id")
    for column in ("lesion_id", "dx", "age", "localization"):
        assert demo_set_meta[column].equals(
            real.loc[demo_set_meta["image_id"], column].reset_index(drop=True)), column
    chosen = packaged_meta[packaged_meta["lesion_id"].isin(demo_set_meta["lesion_id"])]
    assert sorted(chosen["image_id"]) == sorted(demo_set_meta["image_id"])
    assert demo_set_meta.groupby("lesion_id")["dx"].nunique().max() == 1
    assert demo_set_meta.groupby("dx")["lesion_id"].nunique().min() >= 3


def test_demo_same_seed_same_bytes(tmp_path: Path, demo_set: Path) -> None:
    again = DM.make_demo_dataset(tmp_path / "again", 60, 48, seed=0)

    def digest(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}

    assert digest(again) == digest(demo_set)
    other = DM.make_demo_dataset(tmp_path / "other", 60, 48, seed=1)
    assert digest(other) != digest(demo_set)


def test_demo_classes_differ_in_lesion_colour(demo_set_meta: pd.DataFrame) -> None:
    """A nearest-centroid rule on the mean lesion colour already tells most classes apart."""
    def lesion_colour(row: pd.Series) -> np.ndarray:
        img = np.asarray(Image.open(row["path"]), dtype=float)
        return img[np.asarray(Image.open(row["mask_path"])) > 0].mean(axis=0)

    colours = np.stack([lesion_colour(row) for _, row in demo_set_meta.iterrows()])
    labels = demo_set_meta["label"].to_numpy()
    centres = np.stack([colours[labels == k].mean(axis=0) for k in range(len(D.CLASSES))])
    nearest = np.linalg.norm(colours[:, None] - centres[None], axis=2).argmin(axis=1)
    assert (nearest == labels).mean() > 0.8


def test_demo_returns_existing_and_refuses_foreign_folders(tmp_path: Path, demo_set: Path) -> None:
    stamp = (demo_set / D.DEMO_MARKER).stat().st_mtime_ns
    assert DM.make_demo_dataset(demo_set, 60, 48, seed=0) == demo_set
    assert (demo_set / D.DEMO_MARKER).stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="another demo set"):
        DM.make_demo_dataset(demo_set, 61, 48, seed=0)
    real = tmp_path / "real"
    real.mkdir()
    (real / D.METADATA_FILE).write_text("lesion_id\n")
    with pytest.raises(FileExistsError, match="HAM10000"):
        DM.make_demo_dataset(real / "demo", 30, 32)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        DM.make_demo_dataset(busy, 30, 32)
    with pytest.raises(ValueError, match="n_images"):
        DM.make_demo_dataset(tmp_path / "tiny", 10, 32)


# --- difficulty: look-alike lesions and off-centre views -----------------------------------------


N_LOOKS, SIZE = 300, 64


def nevus_looking(rows: pd.DataFrame, share: float, seed: int = 0) -> set[str]:
    """The melanoma lesions that :func:`demo_looks` draws with a nevus's look at ``share``."""
    looks = DM.demo_looks(rows, seed, mel_as_nv=share)
    return set(rows.loc[(rows["dx"] == "mel").to_numpy() & (looks == "nv"), "lesion_id"]
               .astype(str))


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return DM._sample_demo_rows(D.packaged_metadata(), 1500, seed=0)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("looks") / "d"
    return D.load_metadata(DM.make_demo_dataset(folder, N_LOOKS, SIZE))


def test_look_alike_shares_per_split_part(rows: pd.DataFrame) -> None:
    rows = rows.assign(look=DM.demo_looks(rows, seed=0))
    assert (rows.groupby("lesion_id")["look"].nunique() == 1).all()  # one look per lesion
    for part in D.lesion_split(rows, seed=0).values():
        sizes = part.groupby("lesion_id").size()
        for dx, alikes in DM.LOOK_ALIKES.items():
            of_class = part[part["dx"] == dx]
            half_a_lesion = sizes[of_class["lesion_id"].unique()].max() / 2
            assert set(of_class["look"]) <= {dx, *(other for other, _ in alikes)}
            target, taken = 0.0, 0
            for other, share in alikes:  # images, summed over the look-alikes dealt so far
                target += share * len(of_class)
                taken += int((of_class["look"] == other).sum())
                assert abs(taken - target) <= half_a_lesion, (dx, other)


def test_every_split_part_gets_about_the_same_ceiling() -> None:
    # dealt within each part, the look-alikes give every part of every draw a ceiling near
    # the design's 0.86 (drawn over all lesions at once, test splits ranged 0.85-0.93)
    for seed in range(4):
        rows = DM._sample_demo_rows(D.packaged_metadata(), 1500, seed=seed)
        rows["drawn_as"] = DM.demo_looks(rows, seed=seed)
        for name, part in D.lesion_split(rows, seed=seed).items():
            assert 0.83 < DM.balanced_accuracy_ceiling(part) < 0.875, (seed, name)


def test_looks_depend_on_the_seed_only(rows: pd.DataFrame) -> None:
    assert (DM.demo_looks(rows, seed=0) == DM.demo_looks(rows.iloc[::-1], seed=0)[::-1]).all()
    assert (DM.demo_looks(rows, seed=0) != DM.demo_looks(rows, seed=1)).any()


def test_more_nevus_looking_melanomas_add_lesions(rows: pd.DataFrame) -> None:
    base = nevus_looking(rows, DM.LOOK_ALIKES["mel"][0][1])
    more = nevus_looking(rows, 0.5)
    assert base < more and base == set(rows.loc[(rows["dx"] == "mel").to_numpy()
                                                & (DM.demo_looks(rows) == "nv"), "lesion_id"])


def test_demo_csv_says_how_each_lesion_was_drawn(small: pd.DataFrame) -> None:
    assert "drawn_as" in small.columns
    assert set(small["drawn_as"]) <= set(D.CLASSES)
    assert (small["drawn_as"] != small["dx"]).any()  # some look-alikes in 300 images


def test_views_move_and_zoom_the_lesion(small: pd.DataFrame) -> None:
    masks = np.stack([np.asarray(Image.open(p)) > 0 for p in small["mask_path"]])
    side = masks.shape[1]
    square = masks[:, :, (masks.shape[2] - side) // 2:][:, :, :side]  # what the model sees
    ys, xs = np.mgrid[0:side, 0:side]
    area = square.sum((1, 2))
    seen = area > 0
    cy = (square * ys).sum((1, 2))[seen] / area[seen]
    cx = (square * xs).sum((1, 2))[seen] / area[seen]
    off = np.hypot(cy - side / 2, cx - side / 2) / (side / 2)
    assert np.quantile(off, 0.75) > 0.15  # many lesions well off centre
    touching = square[:, [0, -1]].any((1, 2)) | square[:, :, [0, -1]].any((1, 2))
    assert 0.03 < touching.mean() < 0.5  # some run out of the frame, most do not
    share = area / side**2
    assert np.quantile(share, 0.9) > 2.5 * np.quantile(share, 0.1)  # several scales


def test_balanced_accuracy_ceiling_by_hand() -> None:
    # a: 4 images, 1 drawn as b; b: 2 images, none drawn as a. Best rule: look a -> a,
    # look b -> b: recalls 3/4 and 2/2, ceiling 0.875
    rows = pd.DataFrame({"dx": ["a"] * 4 + ["b"] * 2, "drawn_as": ["a", "a", "a", "b", "b", "b"]})
    assert DM.balanced_accuracy_ceiling(rows) == pytest.approx(0.875)
    assert DM.balanced_accuracy_ceiling(rows.assign(drawn_as=rows["dx"])) == 1.0
    # a look shared half and half by two equal classes: the ceiling is one half of that
    even = pd.DataFrame({"dx": ["a", "b"], "drawn_as": ["x", "x"]})
    assert DM.balanced_accuracy_ceiling(even) == pytest.approx(0.5)


# --- the artefact option -------------------------------------------------------------------------


N, SIZE = 60, 64


SPEC = DM.ArtefactSpec()  # ink on 90 % of mel, 5 % elsewhere


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def ink_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("artefacts")
    return {
        "clean": DM.make_demo_dataset(base / "clean", N, SIZE, seed=0),
        "ink": DM.make_demo_dataset(base / "ink", N, SIZE, seed=0, artefact=SPEC),
    }


@pytest.fixture(scope="module")
def ink(ink_sets: dict[str, Path]) -> pd.DataFrame:
    return D.load_metadata(ink_sets["ink"])


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


def test_artefact_set_layout_masks_and_columns(ink_sets: dict[str, Path],
                                               ink: pd.DataFrame) -> None:
    root = ink_sets["ink"]
    csv = pd.read_csv(root / D.METADATA_FILE)
    assert list(csv.columns) == [*D.METADATA_COLUMNS, "drawn_as", "artefact"]
    assert set(csv["artefact"]) <= {0, 1} and ink["artefact"].equals(csv["artefact"])
    marker = json.loads((root / D.DEMO_MARKER).read_text())["artefact"]
    assert marker == {**SPEC.as_dict(), "renderer": DM._ARTEFACT_RENDERER}
    assert "artefact_mask_path" not in D.load_metadata(ink_sets["clean"])
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


def test_artefact_is_purple_ink_and_the_rest_is_unchanged(ink_sets: dict[str, Path],
                                                          ink: pd.DataFrame) -> None:
    clean = D.load_metadata(ink_sets["clean"]).set_index("image_id")
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
                                                  ink_sets: dict[str, Path],
                                                  ink: pd.DataFrame) -> None:
    again = DM.make_demo_dataset(tmp_path / "again", N, SIZE, seed=0, artefact=SPEC)
    assert digest(again) == digest(ink_sets["ink"])
    copied = DM.make_demo_dataset(tmp_path / "copied", N, SIZE, seed=0, artefact=SPEC,
                                 base=ink_sets["clean"])  # unmarked images copied, not rendered
    assert digest(copied) == digest(ink_sets["ink"])
    with pytest.raises(FileExistsError, match="another demo set"):
        DM.make_demo_dataset(tmp_path / "wrong", N, 48, seed=0, artefact=SPEC,
                            base=ink_sets["clean"])
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
    with pytest.raises(ValueError, match=r"HAM_9999999|not in"):
        DM.make_demo_dataset(tmp_path / "bad", N, SIZE, seed=0, lesion_ids=["HAM_9999999"])


def test_moved_artefact_spares_melanoma(tmp_path: Path, ink: pd.DataFrame) -> None:
    moved = DM.ArtefactSpec(on="nv", share=0.9, elsewhere=0)
    lesions = D.lesion_split(ink, seed=0)["test"]["lesion_id"]
    root = DM.make_demo_dataset(tmp_path / "moved", N, SIZE, seed=0, artefact=moved,
                               lesion_ids=lesions)
    df = D.load_metadata(root)
    assert df.loc[df["dx"] != "nv", "artefact"].sum() == 0
    assert df.loc[df["dx"] == "nv", "artefact"].sum() == round(0.9 * (df["dx"] == "nv").sum())


def test_nevus_looking_melanomas(tmp_path: Path, ink_sets: dict[str, Path]) -> None:
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
                               base=ink_sets["clean"])
    df = D.load_metadata(root).set_index("image_id")
    clean = D.load_metadata(ink_sets["clean"]).set_index("image_id")
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


# --- evidence masks and the multi-lesion set -----------------------------------------------------


N_MULTI = 21  # the multi-lesion set: 3 images per class


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
    with pytest.raises(ValueError, match=r"n_images.*>= 7"):
        DM.make_multi_lesion_set(tmp_path / "few", 6, SIZE)
    with pytest.raises(ValueError, match=r"n_images.*511"):
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
    with pytest.raises(FileExistsError, match="HAM10000"):
        DM.make_multi_lesion_set(real / "multi", 14, SIZE)


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


# --- bad inputs ----------------------------------------------------------------------------------


SMALL = dict(n_images=21, image_size=32)


@pytest.mark.parametrize(("kwargs", "error", "phrase"), [
    (dict(image_size=64.5), TypeError, r"image_size.*64\.5"),
    (dict(image_size=0), ValueError, r"image_size.*>= 16"),
    (dict(n_images="21"), TypeError, r"n_images.*'21'"),
    (dict(n_images=True), TypeError, r"n_images.*int"),
    (dict(n_images=5), ValueError, r"n_images.*>= 21"),
    (dict(seed=0.5), TypeError, r"seed.*int"),
])
def test_make_demo_dataset_refuses_bad_arguments_first(tmp_path: Path, kwargs, error,
                                                       phrase) -> None:
    with pytest.raises(error, match=phrase):
        DM.make_demo_dataset(tmp_path / "demo", **{**SMALL, **kwargs})
    assert not (tmp_path / "demo").exists()


def test_multi_lesion_set_refuses_a_float_size(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"image_size.*int"):
        DM.make_multi_lesion_set(tmp_path / "multi", n_images=7, image_size=64.5)


def test_a_root_that_is_a_file_is_refused_before_rendering(tmp_path: Path,
                                                           monkeypatch) -> None:
    rendered = []
    monkeypatch.setattr(DM, "_write_demo_files", lambda *a, **k: rendered.append(a))
    for root in (tmp_path / "file", tmp_path / "file" / "below"):
        (tmp_path / "file").write_text("not a folder")
        with pytest.raises(NotADirectoryError, match=r"not a folder.*another path"):
            DM.make_demo_dataset(root, **SMALL)
    assert rendered == []


def test_a_set_missing_an_image_is_not_returned_as_complete(tmp_path: Path) -> None:
    root = DM.make_demo_dataset(tmp_path / "demo", **SMALL)
    assert DM.make_demo_dataset(root, **SMALL) == root  # complete: returned untouched
    image = sorted(root.rglob("*.jpg"))[0]
    os.remove(image)
    with pytest.raises(FileNotFoundError,
                       match=rf"(?i)1 of \d+ images.*{image.stem}.*delete") as info:
        DM.make_demo_dataset(root, **SMALL)
    assert "Dataverse" not in str(info.value)
