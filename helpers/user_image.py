r"""A user's own image, read safely and explained (notebooks 08 and 09).

:func:`read_user_image` reads a student's own picture with PIL, refusing what it cannot use with
an :class:`ImageInputError` whose message says why and what to do, and bounding memory for
huge photos (JPEG decoding at 1/2, 1/4 or 1/8 scale, ``Image.draft``; PIL's decompression-bomb
limit). :func:`show_user_image` prints that message instead of a traceback;
:func:`upload_widget` offers an upload box in a live kernel.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor, nn

from . import viz
from .data import CLASSES, IMAGENET_MEAN, IMAGENET_STD, eval_transform
from .explore import DISCLAIMER, Explanation, explain_top_classes, map_panel

__all__ = ["ImageInputError", "UserImage", "read_user_image", "show_user_image", "upload_widget"]


class ImageInputError(ValueError):
    """An image that cannot be explained; the message says why and what to do instead."""


@dataclass(frozen=True)
class UserImage:
    """A user's image as the model sees it, with what was done to it on the way."""

    tensor: Tensor  #: (3, S, S), prepared for the network (by default like the test images)
    name: str
    original_size: tuple[int, int]  #: (width, height) of the file
    decoded_size: tuple[int, int]  #: (width, height) actually decoded (smaller: JPEG draft)
    notes: tuple[str, ...] = ()  #: conversions made (grayscale, 16-bit, downscaled, ...)
    mean: tuple[float, ...] = IMAGENET_MEAN  #: the normalisation ``tensor`` went through
    std: tuple[float, ...] = IMAGENET_STD

    @property
    def display(self) -> Tensor:
        """The picture as the network sees it, in [0, 1]: ``tensor * std + mean``."""
        mean = torch.tensor(self.mean, dtype=self.tensor.dtype).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=self.tensor.dtype).view(-1, 1, 1)
        return (self.tensor * std + mean).clamp(0, 1)


MIN_SIDE = 32
MAX_FILE_BYTES = 200 * 2**20
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_GRAY = ("1", "L", "LA", "La", "F", *_SIXTEEN_BIT)


def _read_bytes(source: Any) -> tuple[bytes, str]:
    """The file's bytes and a display name (never a full path: outputs stay machine-free)."""
    if isinstance(source, Mapping) and "content" in source:  # an ipywidgets FileUpload entry
        return bytes(source["content"]), str(source.get("name", "upload"))
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), ""
    if isinstance(source, str | Path):
        path = Path(source).expanduser()
        if not path.is_file():
            what = "a folder" if path.is_dir() else "not found"
            raise ImageInputError(f"{path.name}: {what}; give the path of an image file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageInputError(
                f"{path.name}: the file is {size / 2**20:.0f} MB, over the "
                f"{MAX_FILE_BYTES / 2**20:.0f} MB this notebook reads; save a smaller copy")
        return path.read_bytes(), path.name
    if hasattr(source, "read"):
        return source.read(), Path(str(getattr(source, "name", ""))).name
    raise ImageInputError(
        f"cannot read an image from a {type(source).__name__}: give a file path, bytes "
        "or the FileUpload widget's value")


def _reduced_size(size: tuple[int, int], image_size: int) -> tuple[int, int]:
    """``size`` scaled so that its short side is ``2 * image_size``, when it is over 4 times
    ``image_size``; else unchanged (smaller images go through the eval transform as they are)."""
    if min(size) <= 4 * image_size:
        return size
    scale = 2 * image_size / min(size)
    return math.ceil(size[0] * scale), math.ceil(size[1] * scale)


def _to_rgb(img: Image.Image, notes: list[str]) -> Image.Image:
    """RGB, 8 bits: 16-bit and float images scaled (not clipped), alpha laid over white."""
    if img.mode in _SIXTEEN_BIT or img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        if img.mode == "F":
            low, high = float(np.nanmin(arr)), float(np.nanmax(arr))
            arr = (arr - low) / (high - low or 1.0) * 255
            notes.append("floating-point image: stretched to 0-255")
        elif img.mode != "I" or arr.max() > 255:
            arr = arr / 257.0  # 0..65535 -> 0..255 (converting directly would clip at 255)
            notes.append("16-bit image: scaled to 8 bits")
        img = Image.fromarray(np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8), "L")
    if img.mode in _GRAY:
        notes.append("grayscale image: copied to R, G and B; the model was trained on colour "
                     "images, so its answer means even less")
    if img.mode in ("RGBA", "LA", "La", "PA", "RGBa") or (img.mode == "P" and
                                                          "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
        notes.append("transparent parts laid over white")
    return img.convert("RGB")


def _normalisation(preprocess: Callable[[Image.Image], Tensor]) -> tuple[tuple, tuple]:
    """``(mean, std)`` of the ``Normalize`` steps of a torchvision ``Compose`` (composed into
    one: :math:`((x - m_1)/s_1 - m_2)/s_2`); ``(0, 1)`` when it has none."""
    mean, std = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for step in getattr(preprocess, "transforms", []):
        if isinstance(step, T.Normalize):
            m = torch.as_tensor(step.mean, dtype=torch.float64).expand(3)
            s = torch.as_tensor(step.std, dtype=torch.float64).expand(3)
            mean, std = mean + m * std, std * s
    return tuple(mean.tolist()), tuple(std.tolist())


def read_user_image(source: Any, image_size: int,
                    preprocess: Callable[[Image.Image], Tensor] | None = None) -> UserImage:
    """Read a user's image and prepare it exactly like the test images, or for another network.

    ``source``: a file path, the bytes of a file, a file object or a FileUpload entry.
    Steps: PIL opens the file lazily; images over PIL's decompression-bomb limit
    (``Image.MAX_IMAGE_PIXELS``) or under :data:`MIN_SIDE` px are refused. An image whose short
    side is over ``4 * image_size`` is reduced to a short side of ``2 * image_size``: a JPEG
    while decoding, at 1/2, 1/4 or 1/8 scale (``Image.draft``: a 50-megapixel photo never takes
    its 150 MB), then any image with ``thumbnail``. EXIF rotation applied; 16-bit scaled to 8 bits,
    grayscale copied to three channels, transparency laid over white; finally
    ``eval_transform(image_size)`` (resize, centre crop, ImageNet's mean and std: the series'
    own ResNet), or ``preprocess`` when given: the network's own preprocessing (a PIL image to
    a tensor), e.g. ``imagenet_model().preprocess``, whose EfficientNet-Lite0 expects
    :math:`(x - 0.498) / 0.502`, not ImageNet's mean and std. ``display`` inverts whichever
    ``Normalize`` step was used.

    Raises :class:`ImageInputError` (a ``ValueError``) with a message for a file that is not an
    image, truncated or damaged, too small or too large.
    """
    if preprocess is not None and not callable(preprocess):
        raise TypeError(f"preprocess={preprocess!r}: give the network's preprocessing, a "
                        "function from a PIL image to a tensor (e.g. net.preprocess of "
                        "imagenet_model()), or None for the series' own model.")
    data, name = _read_bytes(source)
    prefix = f"{name}: " if name else ""  # every message starts with the file's name, if any
    if not data:
        raise ImageInputError(f"{prefix}the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageInputError(
            f"{prefix}too many pixels for a safe read ({err}); save a copy of at most "
            f"{Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels") from None
    except UnidentifiedImageError:
        raise ImageInputError(
            f"{prefix}not an image PIL can read (JPEG, PNG, TIFF, BMP, WebP, ...); "
            "check that you picked a picture file") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as err:
        raise ImageInputError(
            f"{prefix}the file is truncated or damaged ({err}); save or download it again"
        ) from None
    original = img.size
    notes: list[str] = []
    if min(original) < MIN_SIDE:
        raise ImageInputError(
            f"{prefix}{original[0]}x{original[1]} px is too small to explain; the model needs "
            f"at least {MIN_SIDE} px on each side (ideally {image_size} or more)")
    if getattr(img, "n_frames", 1) > 1:
        notes.append(f"{img.n_frames} frames: the first one is used")
    try:
        if img.format == "JPEG":
            img.draft("RGB", _reduced_size(original, image_size))
        img.load()
        img = ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as err:
        raise ImageInputError(
            f"{prefix}the file is truncated or damaged ({err}); save or download it again"
        ) from None
    decoded = img.size
    if decoded != original:
        notes.append(f"decoded at reduced scale: {original[0]}x{original[1]} -> "
                     f"{decoded[0]}x{decoded[1]} px")
    img = _to_rgb(img, notes)
    target = _reduced_size(img.size, image_size)
    if target != img.size:
        img.thumbnail(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if preprocess is None:
        return UserImage(eval_transform(image_size)(img), name or "your image", original,
                         decoded, tuple(notes))
    mean, std = _normalisation(preprocess)
    return UserImage(preprocess(img), name or "your image", original, decoded, tuple(notes),
                     mean, std)


def _user_figure(user: UserImage, shown: list[Explanation]) -> plt.Figure:
    """The image, the red/blue display of the prediction, and the maps of the top classes."""
    first = shown[0]
    fig, axes = plt.subplots(1, 2 + len(shown), figsize=(2.6 * (2 + len(shown)), 3.1))
    axes[0].imshow(viz.to_display_image(first.image))
    axes[0].set_title(f"{user.name}\n(as the model sees it)", fontsize=9)
    viz.malignancy_display(first.image, first.prediction_map, first.prediction,
                           float(first.probs[first.prediction]), ax=axes[1])
    for ax, e in zip(axes[2:], shown, strict=True):
        map_panel(ax, e.image, e.heatmap,
               f"{CLASSES[e.target]} {100 * float(e.probs[e.target]):.0f}%: {e.method}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def show_user_image(source: Any, model: nn.Module, image_size: int, method: str = "Grad-CAM++",
                    layer: str = "layer4", k: int = 3) -> list[Explanation]:
    """Explain a user's image: prediction, red/blue overlay, maps of the top ``k`` classes,
    and the disclaimer. A bad file prints why (no traceback) and returns ``[]``."""
    try:
        user = read_user_image(source, image_size)
    except ImageInputError as err:
        print(f"Cannot use this image: {err}")
        return []
    shown = explain_top_classes(user.tensor, model, method, layer, k=k)
    for note in user.notes:
        print(f"Note: {note}.")
    top = ", ".join(f"{code} {100 * p:.0f}%" for code, p in shown[0].top(k))
    print(f"{user.name}: {top}")
    _user_figure(user, shown)
    plt.show()
    print(DISCLAIMER)
    return shown


def upload_widget(model: nn.Module, image_size: int, method: str = "Grad-CAM++",
                  layer: str = "layer4") -> Any:
    """A FileUpload box; each uploaded image is shown with :func:`show_user_image` below it."""
    import ipywidgets as w  # only here: the rest of the module works without ipywidgets

    upload = w.FileUpload(accept="image/*", multiple=False, description="your image")
    out = w.Output()

    def on_upload(change: dict) -> None:
        out.clear_output()
        with out:
            for entry in change["new"]:
                show_user_image(entry, model, image_size, method, layer)

    upload.observe(on_upload, names="value")
    box = w.VBox([upload, out])
    box.upload, box.output = upload, out
    return box
