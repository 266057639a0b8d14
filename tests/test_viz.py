"""helpers.viz: the seed's red/blue display, overlays that fit the photo, and the GIF
writer (Agg backend, no window); bad inputs are refused by name and a failed write
leaves the old file as it was."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from messages import says
from PIL import Image

from helpers import viz
from helpers.data import CLASSES, MALIGNANT

plt.switch_backend("Agg")


def grey_image_and_blob(size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """A mid-grey image and a heatmap that is 1 in a central square and 0 elsewhere."""
    image = np.full((size, size, 3), 0.5, dtype=np.float32)
    heat = np.zeros((size, size), dtype=np.float32)
    heat[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1.0
    return image, heat


@pytest.mark.parametrize("code", CLASSES)
def test_display_is_red_for_malignant_and_blue_for_benign(code):
    image, heat = grey_image_and_blob()
    ax = viz.malignancy_display(image, heat, code, 0.9, true_class="nv")
    drawn = np.asarray(ax.images[0].get_array(), dtype=float)
    hot = drawn[heat > 0.5].mean(axis=0)  # mean (R, G, B) where the map is high
    assert np.allclose(drawn[heat == 0], image[heat == 0])  # cold: the image shows through
    red, _, blue = hot
    if code in MALIGNANT:
        assert red > blue + 0.1, hot
        assert "MALIGNANT" in ax.get_title()
    else:
        assert blue > red + 0.1, hot
        assert "benign" in ax.get_title()
    assert code in ax.get_title() and "90%" in ax.get_title() and "true: nv" in ax.get_title()
    plt.close(ax.figure)


def test_display_takes_class_indices_and_flags_wrong_predictions():
    image, heat = grey_image_and_blob()
    ax = viz.malignancy_display(image, heat, CLASSES.index("mel"), 0.5, CLASSES.index("nv"))
    assert ax.get_title().startswith("mel 50%") and "(wrong)" in ax.get_title()
    plt.close(ax.figure)
    assert viz.lesion_cmap("bcc") == "Reds" and viz.lesion_cmap(CLASSES.index("df")) == "Blues"
    with pytest.raises(ValueError, match="Unknown class"):
        viz.lesion_cmap("melanoma")


def test_gif_round_trip_has_every_frame_at_one_size(tmp_path):
    image, heat = grey_image_and_blob()
    images = [image * (0.6 + 0.1 * i) for i in range(3)]  # distinct, so Pillow keeps 3 frames
    panels = viz.prediction_panels(images, [heat] * 3, ["mel", "nv", "bcc"], [0.8, 0.7, 0.6],
                                   trues=["mel", "mel", "bcc"])
    assert len({p.shape for p in panels}) == 1 and panels[0].dtype == np.uint8
    path = viz.save_gif(panels, tmp_path / "sub" / "panels.gif", duration_ms=100)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3
        assert gif.size == (panels[0].shape[1], panels[0].shape[0])


def test_gif_pads_frames_of_different_sizes(tmp_path):
    frames = [np.zeros((10, 20, 3), np.uint8), np.full((16, 12, 3), 200, np.uint8)]
    path = viz.save_gif(frames, tmp_path / "mixed.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 2 and gif.size == (20, 16)


def test_gif_refuses_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "a.gif"
    frames = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)]
    viz.save_gif(frames, path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        viz.save_gif(frames[:1], path)
    assert path.read_bytes() == before
    viz.save_gif(frames[:1], path, overwrite=True)
    with Image.open(path) as gif:
        assert gif.n_frames == 1
    with pytest.raises(ValueError, match="frame"):
        viz.save_gif([], tmp_path / "empty.gif")


def test_contours_outline_the_hot_region_and_leave_the_colours_alone():
    image, heat = grey_image_and_blob()
    plain = viz.malignancy_display(image, heat, "mel", 0.9)
    lined = viz.malignancy_display(image, heat, "mel", 0.9, contours=(0.5,))
    assert not plain.collections and lined.collections  # the contour lines, only when asked
    assert np.array_equal(plain.images[0].get_array(), lined.images[0].get_array())
    for ax in (plain, lined):
        plt.close(ax.figure)


def test_a_titled_panel_is_taller_and_keeps_one_size_per_title():
    image, heat = grey_image_and_blob()
    untitled = viz.prediction_panel(image, heat, "nv", 0.7)
    titled = [viz.prediction_panel(image * s, heat, "nv", 0.7, title="(demo data)")
              for s in (0.8, 1.0)]
    assert titled[0].shape == titled[1].shape and titled[0].shape[0] > untitled.shape[0]
    assert not np.array_equal(titled[1][:20], untitled[:20])  # the title is drawn at the top


# --------------------------------------------------------------------------- overlays: fit, values


def _photo_and_square_map() -> tuple[np.ndarray, np.ndarray]:
    """A 40x30 (WxH) grey photo; the square map of its centre crop (columns 5-34) is hot at the
    crop's columns 10-15, i.e. the photo's columns 15-20."""
    photo = np.full((30, 40, 3), 0.5, np.float32)
    heat = np.zeros((30, 30), np.float32)
    heat[:, 10:16] = 1.0
    return photo, heat


def _hot_columns(rgb: np.ndarray) -> list[int]:
    red = rgb[..., 0] - rgb[..., 2]  # jet: hot is red, cold is blue
    return np.flatnonzero(red.mean(axis=0) > 0.2).tolist()


def test_fit_crop_draws_the_heat_over_what_the_model_saw() -> None:
    photo, heat = _photo_and_square_map()
    rgb, fitted = viz.fit_to_image(photo, heat, fit="crop")
    assert rgb.shape == (30, 30, 3)
    cols = _hot_columns(viz.overlay(rgb, fitted, alpha=1.0))
    assert cols and min(cols) >= 9 and max(cols) <= 16  # crop columns 10-15 (+- bilinear edge)
    # the crop is the photo's centre: crop column c is photo column c + 5
    assert np.flatnonzero(fitted.max(axis=0) > 0.5).min() + 5 >= 14


def test_fit_stretch_spreads_the_map_over_the_whole_photo_silently() -> None:
    import warnings

    photo = np.full((30, 40, 3), 0.5, np.float32)
    heat = np.zeros((30, 30), np.float32)
    heat[:, 15:21] = 1.0  # squashed photo: map column m is photo column m * 40 / 30
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cols = _hot_columns(viz.overlay(photo, heat, alpha=1.0, fit="stretch"))
    assert min(cols) >= 19 and max(cols) <= 29  # 15*4/3 = 20 .. 21*4/3 = 28


def test_same_aspect_resizes_without_a_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert viz.overlay(np.zeros((64, 48, 3)), np.zeros((32, 24))).shape == (64, 48, 3)


def test_a_uint8_heatmap_is_read_as_0_to_255() -> None:
    img = np.zeros((8, 8, 3), np.float32)
    as_uint8 = viz.overlay(img, np.full((8, 8), 128, np.uint8))
    as_float = viz.overlay(img, np.full((8, 8), 128 / 255, np.float32))
    np.testing.assert_allclose(as_uint8, as_float, atol=1e-6)


def test_malignancy_display_takes_numpy_and_tensor_classes() -> None:
    ax = viz.malignancy_display(np.zeros((8, 8, 3)), np.zeros((8, 8)), np.int64(4),
                                torch.tensor(0.5))
    assert ax.get_title().startswith("mel 50%")
    import matplotlib.pyplot as plt

    plt.close("all")


# ---------------------------------------------------------------------- save_gif: frames, paths


def test_a_chw_tensor_frame_keeps_its_size(tmp_path) -> None:
    path = viz.save_gif([torch.zeros(3, 8, 12)], tmp_path / "a.gif")
    with Image.open(path) as gif:
        assert gif.size == (12, 8)


# --- bad inputs ----------------------------------------------------------------------------------


# --------------------------------------------------------------------------- save_gif


def _frames(colour: int) -> list[np.ndarray]:
    return [np.full((8, 8, 3), colour, np.uint8), np.full((8, 8, 3), 255 - colour, np.uint8)]


def _fails_midway(self, fp, *args, **kwargs):
    Path(fp).write_bytes(b"GIF89a")  # six bytes, then the disk is full
    raise OSError(28, "No space left on device")


def _interrupted(self, fp, *args, **kwargs):
    Path(fp).write_bytes(b"GIF8")
    raise KeyboardInterrupt


@pytest.mark.parametrize("fault", [_fails_midway, _interrupted], ids=["disk-full", "interrupt"])
def test_a_failed_overwrite_keeps_the_old_gif(fault, tmp_path, monkeypatch,
                                              disk_snapshot) -> None:
    path = viz.save_gif(_frames(0), tmp_path / "a.gif")
    before = disk_snapshot(tmp_path)
    monkeypatch.setattr(Image.Image, "save", fault)
    with pytest.raises((OSError, KeyboardInterrupt)):
        viz.save_gif(_frames(200), path, overwrite=True)
    assert disk_snapshot(tmp_path) == before  # the old GIF, and no temporary file left
    monkeypatch.undo()
    with Image.open(path) as gif:
        assert gif.n_frames == 2


def test_overwrite_replaces_and_refusal_keeps(tmp_path, disk_snapshot) -> None:
    path = viz.save_gif(_frames(0), tmp_path / "a.gif")
    before = disk_snapshot(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        viz.save_gif(_frames(200), path)
    assert disk_snapshot(tmp_path) == before
    viz.save_gif(_frames(200)[:1], path, overwrite=True)
    with Image.open(path) as gif:
        assert gif.n_frames == 1 and gif.convert("RGB").getpixel((0, 0))[0] > 150
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]


def test_a_different_aspect_without_fit_warns_and_names_both_choices() -> None:
    photo, heat = _photo_and_square_map()
    with pytest.warns(UserWarning, match=r"40x30.*fit='crop'"):
        out = viz.overlay(photo, heat)
    assert out.shape == (30, 40, 3)
    with pytest.warns(UserWarning, match="fit='crop'"):
        viz.overlay(np.zeros((64, 48, 3)), np.zeros((48, 64)))  # a transposed map


@pytest.mark.parametrize("call, error, phrase", [
    (lambda: viz.overlay(np.zeros((8, 8, 3)), np.full((8, 8), np.nan)), ValueError, "NaN"),
    (lambda: viz.overlay(np.zeros((8, 8, 3)), np.full((8, 8), 7.0)), ValueError, "normalize_maps"),
    (lambda: viz.overlay(np.zeros((8, 8, 3)), np.zeros((8, 8)), alpha=2), ValueError, r"\[0, 1\]"),
    (lambda: viz.overlay(np.zeros((8, 8, 3)), np.zeros((8, 8)), fit="pad"), ValueError, "'crop'"),
    (lambda: viz.overlay(np.zeros((8, 8, 3)), np.zeros(8)), ValueError, "shape"),
    (lambda: viz.malignancy_display(np.zeros((8, 8, 3)), np.zeros((8, 8)), "mel", 87),
     ValueError, r"0\.87.*87"),
    (lambda: viz.malignancy_display(np.zeros((8, 8, 3)), np.zeros((8, 8)), -1, 0.5),
     ValueError, "0..6"),
    (lambda: viz.malignancy_display(np.zeros((8, 8, 3)), np.zeros((8, 8)), 4.7, 0.5),
     ValueError, "not a float"),
], ids=["nan", "raw-map", "alpha-2", "fit", "1-d", "prob-87", "class--1", "class-4.7"])
def test_overlay_and_display_refuse(call, error, phrase) -> None:
    with pytest.raises(error, match=phrase):
        call()


@pytest.mark.parametrize("frames, name, error, phrase", [
    ([np.full((8, 8, 3), 200.0)], "a.gif", ValueError, "astype"),
    ([np.full((8, 8, 3), np.nan)], "a.gif", ValueError, "NaN"),
    ([np.zeros((8, 8, 5))], "a.gif", ValueError, "shape"),
    ([np.zeros((8, 8, 3), np.uint8)], "x.png", ValueError, "x.gif"),
], ids=["float-200", "nan", "5-channels", "png-name"])
def test_save_gif_refuses(frames, name, error, phrase, tmp_path) -> None:
    with pytest.raises(error, match=phrase):
        viz.save_gif(frames, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_save_gif_to_a_folder_or_under_a_file_names_the_target(tmp_path) -> None:
    folder = tmp_path / "out.gif"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"out\.gif.*folder"):
        viz.save_gif(_frames(0), folder)
    (tmp_path / "f").write_text("x")
    with pytest.raises(OSError, match=r"f.*not a folder") as err:
        viz.save_gif(_frames(0), tmp_path / "f" / "a.gif")
    assert ".tmp" not in str(err.value)


# ------------------------------------------------------------------ the parameter walk: viz

_IMG, _HM = np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.float32)


WALK = [  # call, error type, patterns the message must hold
    (lambda: viz.to_display_image(np.zeros((8, 8, 5))), ValueError,
     [r"image", r"\(8, 8, 5\)", r"\(H, W, 3\)"]),
    (lambda: viz.to_display_image(np.full((8, 8, 3), np.nan)), ValueError, [r"image", r"NaN"]),
    (lambda: viz.to_display_image("img.jpg"), TypeError, [r"img\.jpg", r"open_image"]),
    (lambda: viz.overlay(_IMG, _HM, cmap="nope"), ValueError, [r"cmap='nope'", r"colormap"]),
    (lambda: viz.cam_grid([_IMG, _IMG], {"a": [_HM]}), ValueError,
     [r"\bmaps?\b", r"\b2 images"]),
    (lambda: viz.plot_confusion_matrix(np.zeros((3, 4))), ValueError,
     [r"\bcm\b", r"\(3, 4\)", r"\(7, 7\)"]),
    (lambda: viz.plot_roc_curves(np.zeros((4, 7)), np.zeros(3)), ValueError,
     [r"probs", r"labels", r"\(4, 7\)", r"\(3,\)"]),
    (lambda: viz.save_figure(None, "a", "."), TypeError, [r"\bfig\b", r"Figure"]),
    (lambda: viz.plot_class_samples(pd.DataFrame({"dx": [], "path": []}), per_class=0),
     ValueError, [r"per_class=0\b", r">= ?1|positive"]),
    (lambda: viz.plot_learning_curves(None), TypeError, [r"history", r"\bfit\b"]),
    (lambda: viz.plot_learning_curves(pd.DataFrame({"a": [1]})), ValueError,
     [r"history", r"val_loss"]),
    (lambda: viz.prediction_panel(_IMG, _HM, "mel", 0.5, size=0), ValueError,
     [r"\bsize=0\b", r"> ?0|positive"]),
]


@pytest.mark.parametrize("call, error, patterns", WALK, ids=[str(i) for i in range(len(WALK))])
def test_the_parameter_walk_cases_are_refused(call, error, patterns) -> None:
    import matplotlib.pyplot as plt

    with pytest.raises(error) as err:
        call()
    says(err.value, *patterns)
    plt.close("all")


@pytest.mark.parametrize("kwargs, phrase", [
    ({"duration_ms": 0}, "duration_ms=0"), ({"loop": -1}, "loop=-1")])
def test_save_gif_refuses_bad_timing(kwargs, phrase, tmp_path) -> None:
    with pytest.raises(ValueError, match=phrase):
        viz.save_gif(_frames(0), tmp_path / "a.gif", **kwargs)


def test_save_figure_under_a_file_names_the_file(tmp_path) -> None:
    import matplotlib.pyplot as plt

    (tmp_path / "out").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"out.*not a folder"):
        viz.save_figure(plt.figure(), "a", tmp_path / "out")
    plt.close("all")
    with pytest.raises(ValueError, match="dpi=0"):
        viz.save_figure(plt.figure(), "a", tmp_path, dpi=0)
    plt.close("all")


def _skin(width: int = 60, height: int = 45) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_plot_transforms_shows_the_photo_the_evaluation_view_and_seeded_draws() -> None:
    before = torch.random.get_rng_state()
    fig = viz.plot_transforms(_skin(), 32, n=5, seed=3, cols=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 8 and len(shown) == 7  # one empty slot in the second row
    assert shown[0].images[0].get_array().shape == (45, 60, 3)  # as loaded
    assert all(ax.images[0].get_array().shape == (32, 32, 3) for ax in shown[1:])
    assert "60 x 45" in shown[0].get_title()
    assert torch.equal(torch.random.get_rng_state(), before)  # the global state is untouched
    again = viz.plot_transforms(_skin(), 32, n=5, seed=3, cols=4)
    other = viz.plot_transforms(_skin(), 32, n=5, seed=4, cols=4)
    pixels = [[np.asarray(ax.images[0].get_array()) for ax in f.axes if ax.images]
              for f in (fig, again, other)]
    assert all(np.array_equal(a, b) for a, b in zip(pixels[0], pixels[1], strict=True))
    assert not np.array_equal(pixels[0][2], pixels[2][2])  # another seed, other draws
    assert not np.array_equal(pixels[0][2], pixels[0][3])  # two draws differ
    plt.close("all")


def test_plot_transforms_refuses_a_path() -> None:
    with pytest.raises(TypeError, match="PIL image"):
        viz.plot_transforms("lesion.jpg", 32)  # type: ignore[arg-type]
