"""Bad inputs for helpers.demo (issue 26): each is refused before any image is drawn, with a
message that names the argument, what it got and the fix; a damaged cached set says to delete
that folder, never where to download HAM10000."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.course import prepare as datasets
from helpers.demo import sets as demo

SMALL = dict(n_images=21, image_size=32)


@pytest.mark.parametrize(("kwargs", "error", "phrase"), [
    (dict(image_size=64.5), TypeError, r"image_size must be an int, got 64\.5"),
    (dict(image_size=0), ValueError, "image_size must be >= 16, got 0"),
    (dict(n_images="21"), TypeError, r"n_images must be an int, got '21' \(str\)"),
    (dict(n_images=True), TypeError, "n_images must be an int"),
    (dict(n_images=5), ValueError, "n_images must be >= 21, got 5"),
    (dict(seed=0.5), TypeError, "seed must be an int"),
])
def test_make_demo_dataset_refuses_bad_arguments_first(tmp_path: Path, kwargs, error,
                                                       phrase) -> None:
    with pytest.raises(error, match=phrase):
        demo.make_demo_dataset(tmp_path / "demo", **{**SMALL, **kwargs})
    assert not (tmp_path / "demo").exists()


def test_multi_lesion_set_refuses_a_float_size(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="image_size must be an int"):
        demo.make_multi_lesion_set(tmp_path / "multi", n_images=7, image_size=64.5)


def test_a_root_that_is_a_file_is_refused_before_rendering(tmp_path: Path,
                                                           monkeypatch) -> None:
    rendered = []
    monkeypatch.setattr(demo, "_write_demo_files", lambda *a, **k: rendered.append(a))
    for root in (tmp_path / "file", tmp_path / "file" / "below"):
        (tmp_path / "file").write_text("not a folder")
        with pytest.raises(NotADirectoryError, match=r"is a file, not a folder.*another path"):
            demo.make_demo_dataset(root, **SMALL)
    assert rendered == []


def test_a_set_missing_an_image_is_not_returned_as_complete(tmp_path: Path) -> None:
    root = demo.make_demo_dataset(tmp_path / "demo", **SMALL)
    assert demo.make_demo_dataset(root, **SMALL) == root  # complete: returned untouched
    image = sorted(root.rglob("*.jpg"))[0]
    os.remove(image)
    with pytest.raises(FileNotFoundError, match=rf"damaged: 1 of \d+ images.*{image.stem}.*"
                                                r"Delete that folder") as info:
        demo.make_demo_dataset(root, **SMALL)
    assert "Dataverse" not in str(info.value)


def test_a_damaged_multi_lesion_set_says_delete_not_download(tmp_path: Path) -> None:
    from helpers import load_config
    cfg = load_config(profile="smoke", cache_dir=str(tmp_path), dataset="demo")
    root = demo.make_multi_lesion_set(demo.multi_lesion_dir(cfg, 7), 7, cfg.image_size, cfg.seed)
    (root / "HAM10000_metadata.csv").write_text("image_id,lesion_id\n")  # columns lost
    with pytest.raises((FileNotFoundError, ValueError), match="Delete that folder") as info:
        datasets.prepare_multi_lesion_metadata(cfg, 7)
    assert "Dataverse" not in str(info.value)
