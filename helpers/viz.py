"""Figures: overlays, CAM grids, the malignant-red / benign-blue display, GIFs, training plots.

Nothing here computes a number that a test relies on: it only draws what other modules computed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from . import _checks as checks

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
    if isinstance(image, (str, Path)):
        raise TypeError(f"image={str(image)!r} is a path; open it first, e.g. "
                        "helpers.data.open_image(path).")
    arr = np.asarray(image)
    arr = arr[0] if arr.ndim == 4 else arr
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = arr.transpose(1, 2, 0)  # CHW -> HWC
    if arr.dtype.kind not in "fiub" or arr.ndim not in (2, 3) or (
            arr.ndim == 3 and arr.shape[-1] not in (1, 3)) or 0 in arr.shape:
        raise ValueError(f"image has shape {np.shape(image)} ({arr.dtype}); expected a PIL image, "
                         "(H, W), (H, W, 3), (3, H, W) or a batch (1, 3, H, W).")
    if arr.dtype != np.uint8 and not np.isfinite(arr).all():
        raise ValueError("image holds NaN or inf; check where it was made (a division by zero "
                         "in preprocessing?).")
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
    """One ``(H, W)`` float map (the first of a batch) in [0, 1], resized bilinearly to
    ``size=(H, W)``. A uint8 map is read as 0-255; NaN/inf and values outside [0, 1] are refused.
    """
    if hasattr(heatmap, "detach"):
        heatmap = heatmap.detach().cpu().numpy()
    arr = np.asarray(heatmap)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    while arr.ndim > 2:
        arr = arr[0]
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"heatmap has shape {np.shape(heatmap)}; expected one map (H, W) or a "
                         "batch (B, H, W) of a CAM.")
    arr = checks.unit_range(arr, "heatmap", hint=(
        "A CAM's map is finite and in [0, 1] (a uint8 map in 0-255 is also fine): pass the "
        "CAM's output, or helpers.cam.normalize_maps(raw) for a raw map."))
    if size is not None and arr.shape != tuple(size):
        resized = Image.fromarray(arr).resize((size[1], size[0]), Image.Resampling.BILINEAR)
        arr = np.asarray(resized, dtype=np.float32)
    return arr


def _alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not (
            0 <= alpha <= 1):
        raise ValueError(f"alpha={alpha!r}: expected a number in [0, 1] (0: the image only, "
                         "1: the heatmap only).")
    return float(alpha)


def _cmap(name: str):
    """The matplotlib colormap ``name``; an unknown name is refused with a few valid ones."""
    try:
        return plt.get_cmap(name)
    except ValueError as err:
        raise ValueError(f"cmap={name!r} is not a matplotlib colormap; try 'jet', 'viridis', "
                         "'Reds' or 'Blues' (plt.colormaps() lists all).") from err


def fit_to_image(rgb: np.ndarray, heatmap, fit: str | None = None) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """The image and the heatmap at one size: ``(rgb, heat)`` with ``heat`` of shape ``rgb[:2]``.

    With the same aspect ratio (within a pixel) the map is resized to the image. Otherwise:

    - ``fit="stretch"``: the map is stretched over the whole image: right when the model saw
      the photo squashed (``transforms.Resize((224, 224))``, as the seed does);
    - ``fit="crop"``: the image is cut to its centre crop of the map's aspect ratio, what the
      model saw after ``Resize(size)`` + ``CenterCrop(size)`` (:func:`helpers.data.eval_transform`),
      and the map drawn over that crop;
    - ``fit=None``: stretch, with a ``TutorialWarning`` (a ``UserWarning``) saying so.
    """
    if fit not in (None, "stretch", "crop"):
        raise ValueError(f"fit={fit!r}: expected None, 'stretch' or 'crop'.")
    heat = _heatmap_2d(heatmap)
    (h, w), (mh, mw) = rgb.shape[:2], heat.shape
    same_aspect = abs(w * mh / mw - h) <= 1 or abs(h * mw / mh - w) <= 1
    if not same_aspect and fit == "crop":
        if w * mh > h * mw:  # the photo is wider than the map: cut its sides
            cw = max(1, round(h * mw / mh))
            left = (w - cw) // 2
            rgb = rgb[:, left:left + cw]
        else:
            ch = max(1, round(w * mh / mw))
            top = (h - ch) // 2
            rgb = rgb[top:top + ch]
    elif not same_aspect and fit is None:
        shape = "square" if mh == mw else f"{mw}x{mh}"
        checks.warn(
            f"the heatmap is {shape} ({mw}x{mh}) and the image is {w}x{h} (width x height): the "
            "map is stretched over the image, which is right only if the model saw the photo "
            "squashed (transforms.Resize((224, 224)), as the seed does). After a centre crop "
            "(helpers.data.eval_transform) pass fit='crop' (the map is drawn over the photo's "
            "centre crop, what the model saw) or the cropped image; fit='stretch' silences this.")
    return rgb, _heatmap_2d(heat, rgb.shape[:2])


def overlay(image, heatmap, cmap: str = "jet", alpha: float = 0.5, *,
            fit: str | None = None) -> np.ndarray:
    """The image with the coloured heatmap blended on top: ``(H, W, 3)`` floats in [0, 1].

    ``heatmap`` (values in [0, 1], or uint8 0-255) is resized to the image when their sizes
    differ; for a different aspect ratio see ``fit`` in :func:`fit_to_image`.
    """
    alpha = _alpha(alpha)
    rgb, heat = fit_to_image(to_display_image(image), heatmap, fit)
    heat = np.clip(heat, 0.0, 1.0)
    colour = _cmap(cmap)(heat)[..., :3]
    return np.clip((1 - alpha) * rgb + alpha * colour, 0.0, 1.0)


def show_cam(image, heatmap, *, title: str | None = None, cmap: str = "jet", alpha: float = 0.5,
             figsize: tuple[float, float] = (9.0, 3.2), fit: str | None = None) -> plt.Figure:
    """Image, heatmap and overlay side by side (what ``cam.visualize(image, heatmap)`` draws).

    ``fit`` says how a map of another aspect ratio than the image is drawn (see
    :func:`fit_to_image`): ``"stretch"`` over the whole photo (right after
    ``Resize((224, 224))``, a squash), ``"crop"`` over the photo's centre crop (right after
    ``Resize`` + ``CenterCrop``); ``None`` stretches and warns.
    """
    rgb, heat = fit_to_image(to_display_image(image), heatmap, fit)
    fig, axes = plt.subplots(1, 3, figsize=figsize)
    panels = [(rgb, "image"), (heat, "heatmap"),
              (overlay(rgb, heat, cmap=cmap, alpha=alpha), "overlay")]
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
    lengths = {name: len(maps) for name, maps in maps_by_method.items()}
    if not images or any(n != len(images) for n in lengths.values()) or (
            titles is not None and len(titles) != len(images)):
        raise ValueError(f"cam_grid needs one map per image and method: {len(images)} images, "
                         f"maps per method {lengths}"
                         + ("" if titles is None else f", {len(titles)} titles") + ".")
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


def _history_frame(history) -> pd.DataFrame:
    """A history indexed by epoch, from ``fit``'s DataFrame or a checkpoint's dict of columns."""
    if history is None:
        raise TypeError("history is None; pass what helpers.train.fit returned (or a "
                        "checkpoint's meta['history']).")
    frame = pd.DataFrame(history)
    needed = ["train_loss", "val_loss", "val_balanced_accuracy"]
    missing = [c for c in needed if c not in frame.columns]
    if missing or frame.empty:
        raise ValueError(f"history lacks column(s) {missing or needed} (it has "
                         f"{list(frame.columns)}); pass what helpers.train.fit returned.")
    return frame.set_index("epoch") if "epoch" in frame.columns else frame


def plot_learning_curves(history, best_epoch: int | None = None) -> plt.Figure:
    """Loss and accuracy per epoch, train vs validation; the epoch whose weights were kept marked.

    ``history`` is what :func:`helpers.train.fit` returns (or ``meta["history"]`` of a
    checkpoint). The train loss is the weighted, label-smoothed training objective; the
    validation loss is plain cross-entropy, so compare their trends, not their levels.
    """
    frame = _history_frame(history)
    best = best_epoch or getattr(history, "attrs", {}).get("best_epoch") or int(
        frame["val_balanced_accuracy"].idxmax())
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_loss.plot(frame.index, frame["train_loss"], "o-", label="train (weighted, smoothed)")
    ax_loss.plot(frame.index, frame["val_loss"], "o-", label="validation (cross-entropy)")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    for column, label in (("train_accuracy", "train accuracy"),
                          ("val_accuracy", "validation accuracy"),
                          ("val_balanced_accuracy", "validation balanced accuracy")):
        ax_acc.plot(frame.index, frame[column], "o-", label=label)
    ax_acc.set(xlabel="epoch", ylim=(0, 1.02), title="Accuracy")
    for ax in (ax_loss, ax_acc):
        ax.axvline(best, color="grey", linestyle="--", linewidth=1)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    ax_acc.annotate("weights kept", (best, 0.05), xytext=(4, 0), textcoords="offset points",
                    fontsize=8, color="grey")
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm, normalize: bool = True, ax=None, classes=None,
                          title: str | None = None) -> plt.Axes:
    """A seaborn heatmap of a confusion matrix (rows: true class, columns: predicted).

    With ``normalize`` each row is divided by its total, so the diagonal shows each class's
    recall whatever its size; the row totals (support) are kept in the labels.
    """
    import seaborn as sns

    from .data import CLASSES

    classes = list(classes or CLASSES)
    cm = np.asarray(cm, dtype=float)
    if cm.shape != (len(classes), len(classes)) or not np.isfinite(cm).all() or (cm < 0).any():
        raise ValueError(f"cm has shape {cm.shape}; expected a ({len(classes)}, {len(classes)}) "
                         "matrix of counts >= 0 (rows: true class), e.g. evaluate(...)['cm'] "
                         "or sklearn's confusion_matrix(labels, preds); give classes= for "
                         "another set of classes.")
    support = cm.sum(axis=1)
    shown = np.divide(cm, support[:, None], out=np.zeros_like(cm),
                      where=support[:, None] > 0) if normalize else cm
    if ax is None:
        _, ax = plt.subplots(figsize=(6.2, 5.2))
    sns.heatmap(shown, annot=True, fmt=".2f" if normalize else ".0f", cmap="Blues",
                vmin=0, vmax=1 if normalize else None, square=True, cbar=True, ax=ax,
                xticklabels=classes,
                yticklabels=[f"{c} ({int(n)})" for c, n in zip(classes, support, strict=True)])
    ax.set(xlabel="predicted class", ylabel="true class (support)",
           title=title or ("Confusion matrix, rows normalised (recall on the diagonal)"
                           if normalize else "Confusion matrix (counts)"))
    ax.tick_params(axis="y", rotation=0)
    return ax


def plot_roc_curves(probs, labels, ax=None, classes=None) -> plt.Axes:
    """One-vs-rest ROC curve per class (classes absent from ``labels`` are skipped)."""
    from sklearn.metrics import auc, roc_curve

    from .data import CLASSES

    classes = list(classes or CLASSES)
    probs, labels = np.asarray(probs), np.asarray(labels)
    if probs.ndim != 2 or probs.shape[1] != len(classes) or labels.shape != probs.shape[:1]:
        raise ValueError(f"probs has shape {probs.shape} and labels {labels.shape}; expected "
                         f"probs (N, {len(classes)}) and one label per row, (N,): what "
                         "helpers.train.predict returns.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 5.2))
    for k, code in enumerate(classes):
        positives = labels == k
        if positives.all() or not positives.any():
            continue
        fpr, tpr, _ = roc_curve(positives, probs[:, k])
        ax.plot(fpr, tpr, label=f"{code} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    ax.set(xlabel="false positive rate (1 - specificity)", ylabel="true positive rate (recall)",
           title="One-vs-rest ROC curves", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return ax


def plot_misclassified(dataset, probs, labels, n: int = 12, cols: int = 6,
                       classes=None) -> plt.Figure:
    """The ``n`` most confident mistakes: image, true class, predicted class and probability.

    ``dataset`` is the evaluated dataset (``LesionDataset``: its ``load_image(i)`` gives the
    untransformed picture; otherwise the item's tensor is shown); ``probs``/``labels`` are what
    :func:`helpers.train.predict` returned for it, in the same order.
    """
    from .data import CLASSES

    classes = list(classes or CLASSES)
    probs, labels = np.asarray(probs), np.asarray(labels)
    preds = probs.argmax(axis=1)
    wrong = np.flatnonzero(preds != labels)
    wrong = wrong[np.argsort(-probs[wrong, preds[wrong]], kind="stable")][:n]
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.1 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong, strict=False):
        i = int(i)
        image = dataset.load_image(i) if hasattr(dataset, "load_image") else dataset[i][0]
        ax.imshow(to_display_image(image))
        ax.set_title(f"true {classes[labels[i]]}\npred {classes[preds[i]]} "
                     f"{100 * probs[i, preds[i]]:.0f}%", fontsize=8)
    if not len(wrong):
        axes[0, 0].set_title("no misclassified images", fontsize=9)
    fig.suptitle(f"Most confident mistakes ({len(np.flatnonzero(preds != labels))} in all)")
    fig.tight_layout()
    return fig


# --- data figures and chores (owned by the foundation work) ------------------------------------


def save_figure(fig: plt.Figure, name: str, output_dir: Path | str, dpi: int = 120) -> Path:
    """Save ``fig`` as ``<output_dir>/figures/<name>.png`` and return the path."""
    if not isinstance(fig, plt.Figure):
        raise TypeError(f"fig: expected a matplotlib Figure, got {type(fig).__name__} (an Axes "
                        "has it as ax.figure).")
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"name={name!r}: expected a plain file name without folder or suffix, "
                         "e.g. 'confusion'.")
    dpi = checks.integer(dpi, "dpi", hint="E.g. 120.")
    path = checks.writable_file(Path(output_dir) / "figures" / f"{name}.png", "the figure")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def plot_class_samples(
    df: pd.DataFrame, per_class: int = 4, seed: int = 0, title: str = "", classes=None
) -> plt.Figure:
    """A grid of sample images: one row per class (``dx``), ``per_class`` images per row."""
    from .data import CLASS_NAMES, CLASSES

    per_class = checks.integer(per_class, "per_class", hint="Images per class row, e.g. 4.")
    if not isinstance(df, pd.DataFrame) or not {"dx", "path"} <= set(df.columns):
        raise ValueError("df: expected the metadata table with dx and path columns "
                         "(load_metadata(root)).")
    classes = tuple(classes or CLASSES)
    fig, axes = plt.subplots(len(classes), per_class, figsize=(2.2 * per_class, 1.8 * len(classes)),
                             squeeze=False)
    for row, code in zip(axes, classes, strict=True):
        rows = df[df["dx"] == code]
        picks = rows.sample(min(per_class, len(rows)), random_state=seed)["path"].tolist()
        for ax, path in zip(row, picks + [None] * (per_class - len(picks)), strict=True):
            ax.axis("off")
            if path is not None:
                ax.imshow(np.asarray(Image.open(path).convert("RGB")))
        row[0].set_title(f"{code}: {CLASS_NAMES[code]}", loc="left", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_transforms(image: Image.Image, image_size: int, n: int = 6, seed: int = 0,
                    cols: int = 4) -> plt.Figure:
    """What the network receives: ``image`` as loaded, after :func:`helpers.data.eval_transform`,
    and after ``n`` draws of :func:`helpers.data.train_transform`, each tensor shown through
    :func:`helpers.data.denormalize`. The draws are seeded by ``seed`` and leave torch's global
    random state as it was."""
    import torch

    from .data import denormalize, eval_transform, train_transform

    if not isinstance(image, Image.Image):
        raise TypeError(f"image: expected a PIL image (helpers.data.open_image(path)), got "
                        f"{type(image).__name__}.")
    n = checks.integer(n, "n", minimum=0, hint="How many training draws to show, e.g. 6.")
    cols = checks.integer(cols, "cols", hint="Panels per row, e.g. 4.")
    augment = train_transform(image_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(checks.integer(seed, "seed", minimum=0))
        draws = [denormalize(augment(image)) for _ in range(n)]
    panels = [(image, f"as loaded, {image.width} x {image.height} px"),
              (denormalize(eval_transform(image_size)(image)), f"evaluation, {image_size} px"),
              *((draw, f"training draw {k + 1}") for k, draw in enumerate(draws))]
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 2.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (picture, title) in zip(axes.flat, panels, strict=False):
        ax.imshow(to_display_image(picture))
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


# --- the seed's display and GIF (owned by the method-comparison work) --------------------------

MALIGNANT_CMAP = "Reds"
BENIGN_CMAP = "Blues"
_MALIGNANT_COLOUR = "#b2182b"
_BENIGN_COLOUR = "#2166ac"


def _class_code(label) -> str:
    """A class code (``"mel"``) from a code or an index into ``CLASSES`` (int, numpy, tensor)."""
    from .data import CLASSES

    if isinstance(label, str):
        if label not in CLASSES:
            raise ValueError(f"Unknown class {label!r}; expected one of {CLASSES}.")
        return label
    if hasattr(label, "item") and np.size(label) == 1:  # a numpy scalar or a 1-element tensor
        label = label.item()
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not (
            0 <= label < len(CLASSES)):
        raise ValueError(f"class {label!r}: expected a class code {CLASSES} or an index "
                         f"0..{len(CLASSES) - 1} (an int, not a float).")
    return CLASSES[int(label)]


def lesion_cmap(pred_class) -> str:
    """The seed's colour rule: ``"Reds"`` for a malignant prediction (akiec, bcc, mel), else
    ``"Blues"``."""
    from .data import MALIGNANT

    return MALIGNANT_CMAP if _class_code(pred_class) in MALIGNANT else BENIGN_CMAP


def heat_overlay(image, heatmap, cmap: str, alpha: float = 0.7, *,
                 fit: str | None = None) -> np.ndarray:
    """Like :func:`overlay`, but the colour's opacity grows with the heat (``alpha * heat``):
    cold regions keep the original image, so a one-hue map ("Reds") stays readable on skin."""
    alpha = _alpha(alpha)
    rgb, heat = fit_to_image(to_display_image(image), heatmap, fit)
    heat = np.clip(heat, 0.0, 1.0)[..., None]
    colour = _cmap(cmap)(heat[..., 0])[..., :3]
    return np.clip((1 - alpha * heat) * rgb + alpha * heat * colour, 0.0, 1.0)


def malignancy_display(image, heatmap, pred_class, prob: float, true_class=None, ax=None, *,
                       alpha: float = 0.7, contours: tuple[float, ...] = ()) -> plt.Axes:
    """The seed's display: the heatmap over the image in red for a malignant prediction and in
    blue for a benign one, titled with the predicted class, its probability, malignant or benign,
    and the true class (when given). Draws on ``ax`` (a new figure without it); returns the axes.
    The colour shows the *prediction*; the true class in the title shows whether it was right.
    ``contours``: heat levels in (0, 1) drawn as black-and-white lines (e.g. ``(0.5, 0.8)``), which
    stay readable where a red map lies on a pink lesion.
    """
    from .data import MALIGNANT

    code = _class_code(pred_class)
    prob = float(prob.item() if hasattr(prob, "item") else prob)
    if not 0 <= prob <= 1:
        raise ValueError(f"prob={prob!r}: expected the predicted class's probability in [0, 1] "
                         "(the title prints it as a percentage): pass 0.87, not 87.")
    malignant = code in MALIGNANT
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.4))
    rgb = heat_overlay(image, heatmap, cmap=lesion_cmap(code), alpha=alpha)
    ax.imshow(rgb)
    if contours:
        heat = np.clip(_heatmap_2d(heatmap, rgb.shape[:2]), 0.0, 1.0)
        levels = sorted(contours)
        ax.contour(heat, levels=levels, colors="white", linewidths=2.2)
        ax.contour(heat, levels=levels, colors="black", linewidths=0.9)
    ax.set_xticks([])
    ax.set_yticks([])
    title = f"{code} {100 * float(prob):.0f}% · {'MALIGNANT' if malignant else 'benign'}"
    if true_class is not None:
        truth = _class_code(true_class)
        title += f"\ntrue: {truth}" + ("" if truth == code else "  (wrong)")
    ax.set_title(title, fontsize=9, color=_MALIGNANT_COLOUR if malignant else _BENIGN_COLOUR)
    return ax


def figure_to_array(fig: plt.Figure, close: bool = True) -> np.ndarray:
    """The figure rendered to an ``(H, W, 3)`` uint8 RGB array (closed afterwards by default)."""
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    if close:
        plt.close(fig)
    return rgb


def prediction_panel(image, heatmap, pred_class, prob: float, true_class=None, *,
                     size: float = 2.6, dpi: int = 80, title: str = "",
                     contours: tuple[float, ...] = ()) -> np.ndarray:
    """One GIF frame: the image beside its :func:`malignancy_display`, as an RGB array.

    Fixed figure size and dpi (no tight bounding box), so every panel has the same pixel size.
    ``title`` goes above both (e.g. "(demo data)"); ``contours`` as in :func:`malignancy_display`.
    """
    size, dpi = checks.positive_number(size, "size"), checks.integer(dpi, "dpi")
    fig, (left, right) = plt.subplots(1, 2, figsize=(2 * size, size + 0.5 + 0.3 * bool(title)),
                                      dpi=dpi)
    if title:
        fig.suptitle(title, fontsize=9, y=0.99)
    left.imshow(to_display_image(image))
    left.set_title("image", fontsize=9)
    left.set_xticks([])
    left.set_yticks([])
    malignancy_display(image, heatmap, pred_class, prob, true_class, ax=right, contours=contours)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.76 if title else 0.82,
                        wspace=0.05)
    return figure_to_array(fig)


def prediction_panels(images, heatmaps, preds, probs, trues=None, **kwargs) -> list[np.ndarray]:
    """:func:`prediction_panel` for each image: the frames of the seed's GIF."""
    images = list(images)
    trues = [None] * len(images) if trues is None else list(trues)
    columns = (images, list(heatmaps), list(preds), list(probs), trues)
    if len({len(c) for c in columns}) != 1:
        raise ValueError(f"images, heatmaps, preds, probs, trues differ in length: "
                         f"{[len(c) for c in columns]}")
    return [prediction_panel(*row, **kwargs) for row in zip(*columns, strict=True)]


def _frame_image(frame) -> Image.Image:
    if isinstance(frame, plt.Figure):
        frame = figure_to_array(frame)
    if isinstance(frame, Image.Image):
        return frame.convert("RGB")
    if hasattr(frame, "detach"):
        frame = frame.detach().cpu().numpy()
    arr = np.asarray(frame)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = arr.transpose(1, 2, 0)  # a CHW tensor -> HWC
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (1, 3, 4)):
        raise ValueError(f"a GIF frame has shape {np.shape(frame)}; expected (H, W, 3) RGB, "
                         "(3, H, W) or (H, W).")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8:
        arr = checks.unit_range(arr, "a float GIF frame", hint=(
            "A frame is uint8 0-255 or floats in [0, 1]: for 0-255 values pass "
            "arr.astype(np.uint8), for a normalised tensor helpers.viz.to_display_image(x)."))
        arr = (np.clip(arr, 0.0, 1.0) * 255).round().astype(np.uint8)
    return Image.fromarray(arr[..., :3] if arr.ndim == 3 else arr).convert("RGB")


def save_gif(frames, path: Path | str, duration_ms: int = 900, *, loop: int = 0,
             overwrite: bool = False) -> Path:
    """Write ``frames`` (RGB arrays, PIL images or matplotlib figures) as an animated GIF.

    Frames smaller than the largest are centred on a white canvas of its size, so all frames
    have one size. Parent folders are created; an existing file is kept (``FileExistsError``)
    unless ``overwrite=True``, and then replaced atomically (a failed write leaves it intact).
    ``loop=0`` repeats forever. Returns the path.
    """
    duration_ms = checks.integer(duration_ms, "duration_ms", hint="Milliseconds per frame.")
    loop = checks.integer(loop, "loop", minimum=0, hint="0 repeats forever.")
    path = Path(path).expanduser()
    if path.suffix.lower() != ".gif":
        raise ValueError(f"path {str(path)!r}: save_gif writes a GIF; give a name ending in "
                         f"'.gif' (e.g. {path.with_suffix('.gif').name!r}).")
    checks.writable_file(path, "path")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    images = [_frame_image(f) for f in frames]
    if not images:
        raise ValueError("save_gif needs at least one frame.")
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    same_size = []
    for im in images:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(im, ((width - im.width) // 2, (height - im.height) // 2))
        same_size.append(canvas)
    from .data import write_file_atomically

    return write_file_atomically(path, lambda tmp: same_size[0].save(
        tmp, format="GIF", save_all=True, append_images=same_size[1:], duration=duration_ms,
        loop=loop, optimize=False))


def plot_reliability(tables: dict[str, pd.DataFrame], ax=None) -> plt.Axes:
    """Reliability diagram: per bin, accuracy against mean confidence, one line per table.

    ``tables``: name -> :func:`helpers.calibration.reliability_table`. The dashed diagonal is
    perfect calibration; points below it are over-confident bins, above it under-confident.
    Marker area grows with the bin's share of images.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    for name, table in tables.items():
        share = table["count"] / table["count"].sum()
        ax.plot(table["confidence"], table["accuracy"], marker="o", label=name)
        ax.scatter(table["confidence"], table["accuracy"], s=400 * share, alpha=0.3)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (mean top probability in the bin)",
           ylabel="accuracy in the bin", title="Reliability diagram (test split)")
    ax.legend(loc="upper left", fontsize=8)
    return ax
