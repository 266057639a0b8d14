"""Figures: overlays, CAM grids, the malignant-red / benign-blue display, GIFs, training plots.

Nothing here computes a number that a test relies on: it only draws what other modules computed.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

# --- CAM overlays and grids (owned by the CAM engine work) -------------------------------------


def to_display_image(image) -> np.ndarray:
    """An ``(H, W, 3)`` float array in [0, 1] from a PIL image, an array or a tensor.

    Arrays may be ``HxW``, ``HxWx3`` or ``3xHxW`` (uint8 or float); tensors ``3xHxW`` or
    ``1x3xHxW``. Float data outside [0, 1] (a normalised tensor) is min-max rescaled for display.
    """
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    if hasattr(image, "detach"):  # a torch tensor, without importing torch here
        image = image.detach().cpu().numpy()
    arr = np.asarray(image)
    arr = arr[0] if arr.ndim == 4 else arr
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = arr.transpose(1, 2, 0)  # CHW -> HWC
    if arr.ndim == 2 or arr.shape[-1] == 1:
        arr = np.repeat(arr.reshape(arr.shape[0], arr.shape[1], 1), 3, axis=2)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32)
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > 1:
        arr = (arr - low) / (high - low) if high > low else np.zeros_like(arr)
    return arr


def _heatmap_2d(heatmap, size: tuple[int, int] | None = None) -> np.ndarray:
    """One ``(H, W)`` float map (the first of a batch), resized bilinearly to ``size=(H, W)``."""
    if hasattr(heatmap, "detach"):
        heatmap = heatmap.detach().cpu().numpy()
    arr = np.asarray(heatmap, dtype=np.float32)
    while arr.ndim > 2:
        arr = arr[0]
    if size is not None and arr.shape != tuple(size):
        resized = Image.fromarray(arr).resize((size[1], size[0]), Image.Resampling.BILINEAR)
        arr = np.asarray(resized, dtype=np.float32)
    return arr


def overlay(image, heatmap, cmap: str = "jet", alpha: float = 0.5) -> np.ndarray:
    """The image with the coloured heatmap blended on top: ``(H, W, 3)`` floats in [0, 1].

    ``heatmap`` (values in [0, 1]) is resized to the image when their sizes differ.
    """
    rgb = to_display_image(image)
    heat = np.clip(_heatmap_2d(heatmap, rgb.shape[:2]), 0.0, 1.0)
    colour = plt.get_cmap(cmap)(heat)[..., :3]
    return np.clip((1 - alpha) * rgb + alpha * colour, 0.0, 1.0)


def show_cam(image, heatmap, *, title: str | None = None, cmap: str = "jet", alpha: float = 0.5,
             figsize: tuple[float, float] = (9.0, 3.2)) -> plt.Figure:
    """Image, heatmap and overlay side by side (what ``cam.visualize(image, heatmap)`` draws)."""
    rgb = to_display_image(image)
    fig, axes = plt.subplots(1, 3, figsize=figsize)
    panels = [(rgb, "image"), (_heatmap_2d(heatmap, rgb.shape[:2]), "heatmap"),
              (overlay(rgb, heatmap, cmap=cmap, alpha=alpha), "overlay")]
    for ax, (data, label) in zip(axes, panels, strict=True):
        ax.imshow(data, cmap=cmap if data.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(label, fontsize=10)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def cam_grid(images, maps_by_method: dict, *, titles=None, cmap: str = "jet", alpha: float = 0.5,
             cell: float = 2.2) -> plt.Figure:
    """Rows: images; columns: the original, then one overlay per method.

    ``images`` is a sequence (or a batch tensor) of images; ``maps_by_method`` maps a method's
    name to its heatmaps, one per image (e.g. a ``(B, H, W)`` tensor). ``titles`` label the rows.
    """
    images = list(images)
    fig, axes = plt.subplots(len(images), 1 + len(maps_by_method),
                             figsize=(cell * (1 + len(maps_by_method)), cell * len(images)),
                             squeeze=False)
    for row, image in enumerate(images):
        axes[row, 0].imshow(to_display_image(image))
        axes[row, 0].set_ylabel(titles[row] if titles else "", fontsize=9)
        for col, (name, maps) in enumerate(maps_by_method.items(), start=1):
            axes[row, col].imshow(overlay(image, maps[row], cmap=cmap, alpha=alpha))
            if row == 0:
                axes[row, col].set_title(name, fontsize=10)
        if row == 0:
            axes[row, 0].set_title("image", fontsize=10)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


# --- training and evaluation plots (owned by the fine-tuning work) -----------------------------
