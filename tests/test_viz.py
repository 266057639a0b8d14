"""helpers.viz: the seed's red/blue display and the GIF writer (Agg backend, no window)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
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
    with pytest.raises(ValueError, match="at least one frame"):
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
