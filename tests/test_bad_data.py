"""Bad inputs for helpers.data and helpers.demo: one row per case.

Each case asserts the outcome (an error of a given type whose message names the file or the
argument and what to do, or the correct result) and that nothing on disk changed that should not.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from PIL import Image

from helpers import data as D
from helpers.config import load_config
from helpers.course import prepare as DS
from helpers.demo import sets as DM


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return DM.make_demo_dataset(tmp_path_factory.mktemp("bad-data") / "demo", 40, 32, seed=0)


@pytest.fixture(scope="module")
def demo_meta(demo_root: Path) -> pd.DataFrame:
    return D.load_metadata(demo_root)


@pytest.fixture
def demo_copy(demo_root: Path, tmp_path: Path) -> Path:
    """A copy of the demo set that a case may damage."""
    return Path(shutil.copytree(demo_root, tmp_path / "copy"))


# --------------------------------------------------------------------------- the data root


def _a_file(tmp: Path, demo: Path) -> Path:
    path = tmp / "HAM10000.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    return path


def _missing(tmp: Path, demo: Path) -> Path:
    return tmp / "nowhere"


def _no_csv(tmp: Path, demo: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def _duplicate_ids(tmp: Path, demo: Path) -> Path:
    root = Path(shutil.copytree(demo, tmp / "dup"))
    rows = pd.read_csv(root / D.METADATA_FILE)
    twin = rows.iloc[[0]].assign(lesion_id="HAM_9999999")  # one image under a second lesion id
    pd.concat([rows, twin]).to_csv(root / D.METADATA_FILE, index=False)
    return root


def _unknown_dx(tmp: Path, demo: Path) -> Path:
    root = Path(shutil.copytree(demo, tmp / "dx"))
    rows = pd.read_csv(root / D.METADATA_FILE)
    rows.loc[0, "dx"] = "melanoma"
    rows.to_csv(root / D.METADATA_FILE, index=False)
    return root


def _image_missing(tmp: Path, demo: Path) -> Path:
    root = Path(shutil.copytree(demo, tmp / "gone"))
    next(root.glob("HAM10000_images_part_*/*.jpg")).unlink()
    return root


BAD_ROOTS = [  # make the root, error type, phrases in the message
    (_a_file, NotADirectoryError, ["HAM10000.zip is a file; expected a folder", "unzip"]),
    (_missing, FileNotFoundError, ["nowhere does not exist", "Dataverse"]),
    (_no_csv, FileNotFoundError, ["No HAM10000_metadata.csv"]),
    (_duplicate_ids, ValueError, ["listed more than once", "drop_duplicates"]),
    (_unknown_dx, ValueError, ["unknown dx value(s) ['melanoma']"]),
    (_image_missing, FileNotFoundError, ["1 of 40 images", "were not found"]),
]


@pytest.mark.parametrize(("make", "error", "phrases"), BAD_ROOTS,
                         ids=[m.__name__.strip("_") for m, _, _ in BAD_ROOTS])
def test_load_metadata_names_what_is_wrong(make, error, phrases, demo_root, tmp_path,
                                           disk_snapshot) -> None:
    root = make(tmp_path, demo_root)
    before = disk_snapshot(tmp_path)
    with pytest.raises(error) as info:
        D.load_metadata(root)
    for phrase in phrases:
        assert phrase in str(info.value)
    assert disk_snapshot(tmp_path) == before


# --------------------------------------------------------------------------- splits


def _twin_image(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[0]].assign(lesion_id="HAM_9999999")], ignore_index=True)


BAD_SPLITS = [  # split function, how to change the table, keyword arguments, error, phrase
    (D.lesion_split, None, dict(val=0.6, test=0.6), ValueError, "leaves no images to train"),
    (D.lesion_split, None, dict(val=0.5, test=0.5), ValueError, "leaves no images to train"),
    (D.lesion_split, None, dict(val=0.0), ValueError, "val=0.0: expected a share strictly"),
    (D.lesion_split, None, dict(test=1.5), ValueError, "test=1.5"),
    (D.lesion_split, None, dict(test=-0.1), ValueError, "test=-0.1"),
    (D.lesion_split, None, dict(val="0.2"), TypeError, "val='0.2'"),
    (D.lesion_split, _twin_image, {}, ValueError, "listed more than once"),
    (D.lesion_split, lambda df: df.drop(columns="lesion_id"), {}, ValueError,
     "lacks column(s) ['lesion_id']"),
    (D.lesion_split, lambda df: df["dx"], {}, TypeError, "expected the metadata DataFrame"),
    (D.random_image_split, None, dict(val=0.6, test=0.6), ValueError,
     "leaves no images to train"),
    (D.random_image_split, _twin_image, {}, ValueError, "listed more than once"),
]


@pytest.mark.parametrize(("split", "change", "kwargs", "error", "phrase"), BAD_SPLITS)
def test_split_refuses(split, change, kwargs, error, phrase, demo_meta) -> None:
    df = demo_meta if change is None else change(demo_meta)
    with pytest.raises(error) as info:
        split(df, **kwargs)
    assert phrase in str(info.value)


def test_the_final_split_check_catches_an_image_in_two_splits(demo_meta) -> None:
    splits = D.lesion_split(demo_meta, seed=0)
    leaked = splits["test"].iloc[[0]].assign(lesion_id="HAM_9999999")
    splits["train"] = pd.concat([splits["train"], leaked], ignore_index=True)
    with pytest.raises(ValueError, match="Images in both train and test"):
        D._check_splits(splits)


# --------------------------------------------------------------------------- damaged files


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _with_truncated_copy(meta: pd.DataFrame, row: int, broken: Path) -> pd.DataFrame:
    """The first rows of ``meta`` with row ``row`` pointing at a truncated copy at ``broken``."""
    rows = meta.head(3).copy()
    broken.parent.mkdir(parents=True)
    shutil.copy(rows.at[row, "path"], broken)
    _truncate(broken)
    rows.loc[row, "path"] = str(broken)
    return rows


def test_truncated_jpeg_names_the_file_and_the_fix(demo_meta, tmp_path) -> None:
    broken = tmp_path / "real" / "ISIC_broken.jpg"
    rows = _with_truncated_copy(demo_meta, 1, broken)
    dataset = D.LesionDataset(rows, D.eval_transform(32))
    assert dataset[0][0].shape == (3, 32, 32)
    with pytest.raises(OSError) as info:
        dataset[1]
    message = str(info.value)
    assert str(broken) in message and "damaged or incomplete" in message
    assert "Download or extract the data again" in message


def test_truncated_jpeg_in_the_demo_set_says_delete_the_folder(demo_copy) -> None:
    rows = D.load_metadata(demo_copy)
    _truncate(Path(rows.at[2, "path"]))
    with pytest.raises(OSError) as info:
        D.LesionDataset(rows, D.eval_transform(32))[2]
    assert f"cached demo set {demo_copy}: delete that folder" in str(info.value)


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


def test_masks_of_a_split_image_dataset_stay_aligned(demo_meta) -> None:
    """A correct-result row: masks still load through the shared image opener."""
    dataset = D.LesionDataset(demo_meta.head(2), D.eval_transform(32), mask_size=32)
    _, _, mask = dataset[0]
    assert mask.shape == (32, 32) and set(torch.unique(mask).tolist()) <= {0.0, 1.0}


def test_json_marker_error_is_clear_for_any_generated_folder(tmp_path) -> None:
    (tmp_path / "m.json").write_text("{")
    with pytest.raises(ValueError, match=f"delete the folder {tmp_path}"):
        D.has_marker(tmp_path, "m.json", {"a": 1}, lambda found: json.dumps(found))


# --------------------------------------------------------------------------- issue 26: data


def test_an_image_in_both_parts_is_refused_naming_both_files(demo_copy) -> None:
    first = sorted((demo_copy / D.IMAGE_FOLDERS[0]).glob("*.jpg"))[0]
    twin = demo_copy / D.IMAGE_FOLDERS[1] / first.name
    shutil.copy(first, twin)
    with pytest.raises(ValueError, match="more than one file") as err:
        D.load_metadata(demo_copy)
    assert str(first) in str(err.value) and str(twin) in str(err.value)


def _with_mask(demo_copy: Path, meta: pd.DataFrame, mask: Image.Image) -> pd.DataFrame:
    row = meta.iloc[[0]].reset_index(drop=True).copy()
    path = demo_copy / "odd_mask.png"
    mask.save(path)
    row["mask_path"] = str(path)
    return row


def test_a_mask_of_another_shape_is_refused(demo_copy) -> None:
    meta = D.load_metadata(demo_copy)
    with Image.open(meta.at[0, "path"]) as img:
        size = img.size
    assert size[0] != size[1]  # demo images are not square, so a square mask cannot fit
    row = _with_mask(demo_copy, meta, Image.new("L", (10, 10), 255))
    with pytest.raises(ValueError, match=rf"is 10x10 but its image .* is {size[0]}x{size[1]}"):
        D.LesionDataset(row, mask_size=16)[0]
    from helpers.explore import masks_for

    with pytest.raises(ValueError, match="would move the lesion"):
        masks_for(row, 16)


def test_a_scaled_mask_is_accepted_and_thresholded_at_128(demo_copy) -> None:
    meta = D.load_metadata(demo_copy)
    with Image.open(meta.at[0, "path"]) as img:
        w, h = img.size
    grey = Image.new("L", (2 * w, 2 * h), 0)  # a scaled copy: left half 127, right half 128
    grey.paste(127, (0, 0, w, 2 * h))
    grey.paste(128, (w, 0, 2 * w, 2 * h))
    row = _with_mask(demo_copy, meta, grey)
    _, _, mask = D.LesionDataset(row, mask_size=16)[0]
    assert 0 < mask.mean() < 1  # 127 is background, 128 lesion
    assert mask[:, :4].sum() == 0 and mask[:, -4:].min() == 1


def test_lesion_split_on_a_small_table_says_what_came_in_and_what_to_do(demo_meta) -> None:
    small = demo_meta[demo_meta["dx"] != "akiec"].head(12)
    with pytest.raises(ValueError, match="Class 'akiec' has 0 lesion") as err:
        D.lesion_split(small)
    message = str(err.value)
    assert f"{len(small)} images" in message and "akiec 0/0" in message
    assert "random_image_split" in message and "load_metadata(root)" in message


def test_atomic_writes_name_the_real_target_not_the_temporary_file(tmp_path) -> None:
    from helpers.models import save_checkpoint

    folder = tmp_path / "best.pt"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"best.pt is a folder; expected a file") as err:
        save_checkpoint(torch.nn.Linear(2, 2), folder, arch="resnet18")
    assert ".tmp" not in str(err.value)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"afile is a file, not a folder") as err:
        D.write_file_atomically(tmp_path / "afile" / "sub" / "x.bin", lambda t: t.write_bytes(b""))
    assert ".tmp" not in str(err.value)
    written = D.write_file_atomically(tmp_path / "new" / "x.bin", lambda t: t.write_bytes(b"1"))
    assert written.read_bytes() == b"1"  # missing parents are created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "best.pt", "new"]


# ------------------------------------------------------------ the parameter walk: data, sources

DATA_WALK = [  # call, error type, phrase of the message
    (lambda tmp: D.eval_transform(0), ValueError, "image_size=0"),
    (lambda tmp: D.eval_transform(64.5), TypeError, "image_size=64.5"),
    (lambda tmp: D.train_transform(-1), ValueError, "image_size=-1"),
    (lambda tmp: D.mask_transform(0), ValueError, "size=0"),
    (lambda tmp: D.denormalize(torch.zeros(2, 8, 8)), ValueError, "(3, H, W)"),
    (lambda tmp: D.open_image(tmp), IsADirectoryError, "is a folder"),
    (lambda tmp: D.to_tensors(pd.DataFrame({"path": [], "image_id": []}), 32),
     ValueError, "non-empty metadata table"),
    (lambda tmp: D.LesionDataset(pd.DataFrame({"x": [1]})), ValueError, "path column"),
    (lambda tmp: D.LesionDataset(pd.DataFrame({"path": ["a"], "dx": ["mel"]}), mask_size=0),
     ValueError, "mask_size=0"),
    (lambda tmp: D.shared_lesion_count(pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1]})),
     ValueError, "lesion_id column"),
    (lambda tmp: D.random_image_split(pd.DataFrame({"dx": ["mel"] * 3}), seed="x"),
     TypeError, "seed='x'"),
    (lambda tmp: D.lesion_split(pd.DataFrame({"dx": ["mel"], "lesion_id": ["a"]}), seed=-1),
     ValueError, "seed=-1"),
]


@pytest.mark.parametrize("call, error, phrase", DATA_WALK,
                         ids=[str(i) for i in range(len(DATA_WALK))])
def test_the_parameter_walk_cases_are_refused(call, error, phrase, tmp_path) -> None:
    with pytest.raises(error) as err:
        call(tmp_path)
    assert phrase in str(err.value)


def test_file_sha1_of_a_folder_says_so(tmp_path) -> None:
    from helpers.course.sources import file_sha1

    with pytest.raises(FileNotFoundError, match="is a folder; expected a file"):
        file_sha1(tmp_path)
