r"""What notebook 09's explorer shows for one choice (image, method, layer, class), cached.

One choice is an image, a method (``"Grad-CAM++"``, ...), a layer (``"layer2"`` to ``"layer4"``)
and a target class (``"prediction"``, ``"runner-up"``, a class code or an index).
:func:`explain` returns an :class:`Explanation`, everything the explorer draws:

* the class probabilities (top 3 first) and the true label, when known;
* the map of the target class, and the map of the predicted class (the seed's red/blue display);
* the **contrastive map** "why the target rather than its strongest rival"
  (:class:`helpers.cam.ContrastiveGradCAM`, Grad-CAM of :math:`y^c - y^d`);
* per mask (lesion, evidence, ink, where the image has one): the pointing game (does the map's
  maximum lie inside? Zhang et al. 2016) and the energy share inside the mask
  (:math:`\sum_{ij \in M} L_{ij} / \sum_{ij} L_{ij}`, Wang et al. 2020, Score-CAM).

Maps are cached per (image, method, layer, class, model, Score-CAM's ``top_k``) in a
:class:`MapCache`, so going back to an earlier choice costs a dictionary lookup.
:class:`Explorer` holds a test set, its predictions and one cache; :func:`explorer_widget`
wires ipywidgets controls to it (ipywidgets is imported inside that function only: this module
works without it).

A student's own picture is read safely by :mod:`helpers.user_image`.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from . import _checks as checks
from . import cam as cams
from . import metrics, viz
from .agreement import TURNS, TurnAgreement
from .data import CLASSES, denormalize, mask_transform, open_mask
from .train import model_device, predict_probs

__all__ = [
    "LAYERS",
    "TARGETS",
    "DISCLAIMER",
    "Explanation",
    "MapCache",
    "Explorer",
    "explain",
    "explain_top_classes",
    "explanation_figure",
    "explanation_png",
    "explorer_widget",
    "masks_for",
    "make_cam",
    "model_key",
    "resolve_target",
    "time_interactions",
    "turn_figure",
]

LAYERS = ("layer2", "layer3", "layer4")
TARGETS = ("prediction", "runner-up")
CONTRASTIVE = "contrastive Grad-CAM"
#: Score-CAM in the explorer scores only the strongest channels (``ScoreCAM(top_k=...)``)
SCORE_CAM_TOP_K = 64
#: masks the explorer scores against, by the metadata column that holds their file
MASK_COLUMNS = {"lesion": "mask_path", "evidence": "evidence_path",
                "ink": "artefact_mask_path"}

DISCLAIMER = (
    "This is a teaching model, not a medical device. It was trained for a course on explanation "
    "methods, has not been tested for diagnosis, and its answer and its heatmap say nothing "
    "reliable about your skin. If a mole or spot worries you (it is new, changes, bleeds or "
    "itches, or looks unlike your others), show it to a doctor."
)

Target = str | int


# --- one choice, explained ----------------------------------------------------------------------


class MapCache:
    """A least-recently-used store of maps keyed by (image, method, layer, class, model, top_k).

    The model's part of the key is :func:`model_key`: one cache shared by two models, or kept
    while a model trains further, never returns a map the model in hand did not make.

    ``maxsize`` bounds memory: a 224-px map is 200 kB, so the default 1024 maps stay under
    about 200 MB. ``hits`` and ``misses`` count lookups.
    """

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = checks.integer(maxsize, "maxsize", minimum=0,
                                      hint="It is how many maps to keep (0 keeps none).")
        self._store: OrderedDict[tuple, Any] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: tuple, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """``(value, computed)``: the stored value, or ``compute()`` stored under ``key``."""
        if key in self._store:
            self._store.move_to_end(key)
            self.hits += 1
            return self._store[key], False
        self.misses += 1
        value = compute()
        self._store[key] = value
        while len(self._store) > self.maxsize:
            self._store.popitem(last=False)
        return value, True

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: tuple) -> bool:
        return key in self._store

    def forget(self, image_id: str) -> None:
        """Drop the maps of one image (its probabilities stay)."""
        for key in [k for k in self._store if k[0] == image_id and k[1] != "probabilities"]:
            del self._store[key]

    def clear(self) -> None:
        self._store.clear()
        self.hits = self.misses = 0


@dataclass(frozen=True)
class Explanation:
    """Everything the explorer draws for one choice (maps ``(H, W)`` in [0, 1], on the CPU)."""

    image: Tensor  #: (3, H, W) in [0, 1], for display
    probs: Tensor  #: (num_classes,) softmax probabilities
    method: str
    layer: str
    target: int  #: the class explained
    rival: int  #: the contrast class d of the contrastive map (the target's strongest rival)
    heatmap: Tensor  #: the map of ``target``
    prediction_map: Tensor  #: the map of the predicted class (the red/blue display)
    contrastive: Tensor  #: contrastive Grad-CAM, ``target`` rather than ``rival``
    true_label: int | None = None
    image_id: str = ""
    #: per mask name: {"pointing game": 0 or 1, "energy": share of the map's energy inside}
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0  #: wall-clock time of the call that made this
    computed: int = 0  #: maps computed by that call (0: all from the cache)

    @property
    def prediction(self) -> int:
        return int(self.probs.argmax())

    @property
    def correct(self) -> bool | None:
        return None if self.true_label is None else self.prediction == self.true_label

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable classes as ``(code, probability)``, most probable first."""
        values, indices = self.probs.topk(k)
        return [(CLASSES[int(i)], float(v)) for v, i in zip(values, indices, strict=True)]


def resolve_target(target: Target, probs: Tensor) -> int:
    """The class index meant by ``target``: ``"prediction"``, ``"runner-up"``, a code or an index.

    Raises ``ValueError`` naming the valid choices for anything else.
    """
    order = probs.argsort(descending=True)
    if isinstance(target, str):
        if target in TARGETS:
            return int(order[TARGETS.index(target)])
        if target in CLASSES:
            return CLASSES.index(target)
    else:
        try:
            return int(cams.resolve_class_idx(target, probs[None], name="target")[0])
        except ValueError:
            pass
    raise ValueError(
        f"target={target!r}: give 'prediction', 'runner-up', a class code "
        f"({', '.join(CLASSES)}) or an index 0..{len(probs) - 1}"
    )


def make_cam(model: nn.Module, method: str, layer: str, *, progress: bool = False,
             score_cam_top_k: int | None = SCORE_CAM_TOP_K) -> cams.BaseCAM:
    """The CAM object for ``method`` (a name of :data:`helpers.cam.METHODS`) at ``layer``.

    Score-CAM scores its masks 64 per forward pass, only the ``score_cam_top_k`` strongest
    channels (``None``: all), with a tqdm progress bar when ``progress``.
    """
    if method not in cams.METHODS:
        raise ValueError(f"method={method!r}: choose one of {', '.join(cams.METHODS)}")
    if method == "Score-CAM":
        return cams.ScoreCAM(model, layer, batch_size=64, top_k=score_cam_top_k, progress=progress)
    return cams.METHODS[method](model, layer)


def model_key(model: nn.Module, per_tensor: int = 64) -> tuple[int, str]:
    """The model's part of a cache key: ``(id(model), fingerprint)``.

    ``id`` tells apart two models alive at once (even with equal weights, their layers may
    differ); the fingerprint, a hash of ``per_tensor`` evenly spaced values of every floating
    parameter and buffer (batch-norm statistics change the output too), tells apart one model
    before and after further training (an optimiser step moves every sampled weight), or a new
    model that Python placed at a freed model's address. Sampling keeps it cheap (a few
    milliseconds for ResNet-50, against a full pass over 25 M weights); a change confined to
    unsampled weights (pruning a few) is not seen: call :meth:`MapCache.clear` after one.
    """
    parts = []
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point() or t.numel() == 0:
                continue
            flat = t.detach().reshape(-1)
            idx = torch.linspace(0, flat.numel() - 1, min(per_tensor, flat.numel()),
                                 device=flat.device).long()
            parts.append(flat[idx].double().cpu())
            parts.append(torch.tensor([float(flat.numel()), float(len(name))],
                                      dtype=torch.float64))
    data = torch.cat(parts).numpy().tobytes() if parts else b""
    return id(model), hashlib.sha1(data).hexdigest()[:16]  # noqa: S324 - a cache key


def _digest(x: Tensor) -> str:
    """A content key for an image tensor without an id (equal pixels, equal key)."""
    data = x.detach().cpu().contiguous().numpy().tobytes()
    return "sha1:" + hashlib.sha1(data).hexdigest()[:16]  # noqa: S324 - a cache key, not security


def explain(
    image: Tensor,
    model: nn.Module,
    method: str = "Grad-CAM++",
    layer: str = "layer4",
    target: Target = "prediction",
    *,
    true_label: int | None = None,
    masks: Mapping[str, Tensor] | None = None,
    image_id: str | None = None,
    cache: MapCache | None = None,
    progress: bool = False,
    score_cam_top_k: int | None = SCORE_CAM_TOP_K,
) -> Explanation:
    """Explain one normalised image ``(3, H, W)`` for one (method, layer, target) choice.

    Computes (or takes from ``cache``) the probabilities, the target's map, the predicted
    class's map and the contrastive map of the target against its strongest rival
    (:func:`helpers.cam.runner_up`). ``masks`` (name -> ``(H, W)`` in {0, 1}) are scored with the
    pointing game and the energy share of the target's map; an empty mask is skipped (the image
    has none). Cache keys use ``image_id``, or a hash of the pixels when it is ``None``.
    Errors of the method (CAM below ``layer4``, an unknown layer) raise ``ValueError``.
    """
    start = time.perf_counter()
    if image.dim() != 3:
        raise ValueError(f"expected one image (3, H, W), got shape {tuple(image.shape)}")
    cache = cache if cache is not None else MapCache()
    key = image_id if image_id is not None else _digest(image)
    x = image[None].to(model_device(model))
    made_by = model_key(model)
    computed = 0

    def probabilities() -> Tensor:
        return predict_probs(model, x)[0]

    def cam_map(name: str, cls: int, contrast: int | None = None) -> Tensor:
        nonlocal computed
        if contrast is None:
            method_cam = make_cam(model, name, layer, progress=progress,
                                  score_cam_top_k=score_cam_top_k)
        else:
            method_cam = cams.ContrastiveGradCAM(model, layer, contrast_idx=contrast)
        top_k = score_cam_top_k if name == "Score-CAM" else None
        value, fresh = cache.get((key, name, layer, cls if contrast is None else (cls, contrast),
                                  made_by, top_k),
                                 lambda: method_cam(x, cls)[0].cpu())
        computed += fresh
        return value

    probs, fresh = cache.get((key, "probabilities", made_by), probabilities)
    computed += fresh
    tgt = resolve_target(target, probs)
    rival = int(cams.runner_up(probs[None], torch.tensor([tgt]))[0])
    heatmap = cam_map(method, tgt)
    prediction_map = cam_map(method, int(probs.argmax()))
    contrastive = cam_map(CONTRASTIVE, tgt, contrast=rival)
    scores = {}
    for name, mask in (masks or {}).items():
        mask = torch.as_tensor(mask).cpu()
        if mask.any():
            scores[name] = {
                "pointing game": float(metrics.pointing_hits(heatmap[None], mask[None])[0]),
                "energy": float(metrics.energy_share(heatmap[None], mask[None])[0]),
            }
    return Explanation(
        image=denormalize(image.detach().cpu()), probs=probs, method=method, layer=layer,
        target=tgt, rival=rival, heatmap=heatmap, prediction_map=prediction_map,
        contrastive=contrastive, true_label=None if true_label is None else int(true_label),
        image_id=key, scores=scores, seconds=time.perf_counter() - start, computed=computed,
    )


def explain_top_classes(image: Tensor, model: nn.Module, method: str = "Grad-CAM++",
                        layer: str = "layer4", k: int = 3,
                        cache: MapCache | None = None, **kwargs: Any) -> list[Explanation]:
    """:func:`explain` for each of the ``k`` most probable classes, most probable first."""
    k = checks.integer(k, "k", hint="It is how many classes to explain, e.g. 3.")
    cache = cache if cache is not None else MapCache()
    first = explain(image, model, method, layer, "prediction", cache=cache, **kwargs)
    if k > len(first.probs):
        raise ValueError(f"k={k}: the model has only {len(first.probs)} classes; give "
                         f"k <= {len(first.probs)}.")
    codes = [code for code, _ in first.top(k)]
    return [first] + [explain(image, model, method, layer, code, cache=cache, **kwargs)
                      for code in codes[1:]]


# --- a test set to explore ----------------------------------------------------------------------


def masks_for(df: pd.DataFrame, image_size: int) -> dict[str, Tensor]:
    """The masks of ``df``'s images aligned with ``eval_transform(image_size)``, by name.

    One ``(N, S, S)`` tensor in {0, 1} per column of :data:`MASK_COLUMNS` that ``df`` has;
    images without that mask get zeros (and are not scored on it).
    """
    transform = mask_transform(image_size)
    if "path" not in df:
        raise ValueError("df lacks the path column; give the table load_metadata returns (or "
                         "a split of it), whose masks are checked against their images.")
    out = {}
    for name, column in MASK_COLUMNS.items():
        if column not in df:
            continue
        rows = []
        for path, image_path in zip(df[column], df["path"], strict=True):
            if isinstance(path, str) and path:
                rows.append(transform(open_mask(path, image_path)))
            else:
                rows.append(torch.zeros(image_size, image_size))
        out[name] = torch.stack(rows)
    return out


ORDERS = ("most confident first", "least confident first", "test-set order")


class Explorer:
    """A test set with its predictions and one :class:`MapCache`: the explorer's model.

    Args:
        model: the classifier (eval mode is set on every call).
        images: normalised inputs ``(N, 3, H, W)``.
        labels: true classes ``(N,)``.
        masks: name -> ``(N, H, W)`` masks (see :func:`masks_for`).
        ids: one name per image (the cache key); default ``"0"``, ``"1"``, ...
    """

    def __init__(self, model: nn.Module, images: Tensor, labels: Tensor | Sequence[int],
                 masks: Mapping[str, Tensor] | None = None, ids: Sequence[str] | None = None,
                 *, batch_size: int = 64, score_cam_top_k: int | None = SCORE_CAM_TOP_K) -> None:
        self.model = model.eval()
        self.images = images
        self.labels = torch.as_tensor(labels).long().cpu()
        self.masks = dict(masks or {})
        self.ids = [str(i) for i in (ids if ids is not None else range(len(images)))]
        if not (len(self.images) == len(self.labels) == len(self.ids)):
            raise ValueError(f"images, labels and ids differ in length: "
                             f"{len(self.images)}, {len(self.labels)}, {len(self.ids)}")
        twice = sorted({i for i in self.ids if self.ids.count(i) > 1})
        if twice:  # one id is one cache key: two images under it would share their maps
            raise ValueError(f"ids must name each image once (they key the map cache); "
                             f"{len(twice)} repeat, e.g. {twice[:3]}. Pass e.g. the image_id "
                             "column, or leave ids out for 0, 1, 2, ...")
        self.score_cam_top_k = score_cam_top_k
        self.cache = MapCache()
        self.probs = predict_probs(self.model, images, batch_size=batch_size)
        self.pred = self.probs.argmax(1)
        self.confidence = self.probs.max(1).values
        made_by = model_key(self.model)
        for i, probs in zip(self.ids, self.probs, strict=True):  # no forward pass per choice
            self.cache.get((i, "probabilities", made_by), lambda p=probs: p)

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, true_class: str | int | None = None, correct: bool | None = None,
               order: str = ORDERS[0]) -> list[int]:
        """Indices of the images of ``true_class`` (``None``: all) that the model got right
        (``correct=True``), wrong (``False``) or either (``None``), in ``order``
        (one of :data:`ORDERS`)."""
        keep = torch.ones(len(self), dtype=torch.bool)
        if true_class is not None:
            c = CLASSES.index(true_class) if isinstance(true_class, str) else int(true_class)
            keep &= self.labels == c
        if correct is not None:
            keep &= (self.pred == self.labels) == correct
        chosen = torch.nonzero(keep).flatten()
        if order not in ORDERS:
            raise ValueError(f"order={order!r}: choose one of {ORDERS}")
        if order != ORDERS[2]:
            ranks = self.confidence[chosen].argsort(descending=order == ORDERS[0], stable=True)
            chosen = chosen[ranks]
        return chosen.tolist()

    def explain(self, i: int, method: str = "Grad-CAM++", layer: str = "layer4",
                target: Target = "prediction", progress: bool = False) -> Explanation:
        """:func:`explain` for test image ``i`` with its label, masks and the shared cache."""
        return explain(
            self.images[i], self.model, method, layer, target, true_label=int(self.labels[i]),
            masks={name: m[i] for name, m in self.masks.items()}, image_id=self.ids[i],
            cache=self.cache, progress=progress, score_cam_top_k=self.score_cam_top_k,
        )


def time_interactions(explorer: Explorer, methods: Sequence[str], indices: Sequence[int],
                      layer: str = "layer4", target: Target = "prediction") -> pd.DataFrame:
    """Time one explorer interaction per method and image: cold (the image seen for the first
    time: its maps are dropped from the cache first) and warm (the same choice again). Returns one
    row per method: the median cold and warm milliseconds over ``indices``, and the maps
    computed cold. Drawing the picture is not included.
    """
    rows = []
    for method in methods:
        cold, warm, maps = [], [], []
        for i in indices:
            explorer.cache.forget(explorer.ids[i])
            first = explorer.explain(i, method, layer, target)
            again = explorer.explain(i, method, layer, target)
            if again.computed:
                raise RuntimeError(f"{method}: the second, identical call computed a map")
            cold.append(first.seconds)
            warm.append(again.seconds)
            maps.append(first.computed)
        rows.append({"method": method, "images": len(cold),
                     "cold ms": 1000 * float(np.median(cold)) if cold else float("nan"),
                     "warm ms": 1000 * float(np.median(warm)) if warm else float("nan"),
                     "maps computed (cold)": float(np.mean(maps)) if maps else float("nan")})
    return pd.DataFrame(rows).set_index("method")


# --- drawing --------------------------------------------------------------------------------


def map_panel(ax: Any, image: Tensor, heatmap: Tensor, title: str) -> None:
    ax.imshow(viz.overlay(image, heatmap))
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _method_label(method: str, top_k: int | None) -> str:
    return f"Score-CAM (top {top_k} channels)" if method == "Score-CAM" and top_k else method


def _draw(fig: Figure, e: Explanation, tag: str = "", score_cam_top_k: int | None = None) -> None:
    """Four panels: red/blue display, the target's map, the contrastive map, probabilities."""
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 1.15]})
    pred = e.prediction
    viz.malignancy_display(e.image, e.prediction_map, pred, float(e.probs[pred]), e.true_label,
                           ax=axes[0])
    axes[0].set_title("prediction: " + axes[0].get_title(), fontsize=9,
                      color=axes[0].title.get_color())
    code, rival = CLASSES[e.target], CLASSES[e.rival]
    map_panel(axes[1], e.image, e.heatmap,
           f"{_method_label(e.method, score_cam_top_k)}, {e.layer}\n"
           f"class {code} ({100 * float(e.probs[e.target]):.0f}%)")
    map_panel(axes[2], e.image, e.contrastive,
           f"why {code} rather than {rival}?\ncontrastive Grad-CAM, {e.layer}")
    if not e.contrastive.any():  # all of the layer's evidence favours the rival
        axes[2].text(0.5, 0.5, f"empty: nothing here\nfavours {code} over {rival}",
                     transform=axes[2].transAxes, ha="center", va="center", fontsize=9,
                     color="white", bbox={"facecolor": "black", "alpha": 0.5})
    ax = axes[3]
    top = e.top(3)[::-1]
    colours = ["#b2182b" if c in ("akiec", "bcc", "mel") else "#2166ac" for c, _ in top]
    ax.barh([c for c, _ in top], [p for _, p in top], color=colours)
    for row, (_, p) in enumerate(top):
        ax.text(min(p, 0.8) + 0.02, row, f"{100 * p:.0f}%", va="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_title("top 3 classes", fontsize=9)
    ax.tick_params(labelsize=8)
    lines = [f"true: {CLASSES[e.true_label]}" if e.true_label is not None else "true: unknown"]
    for name, s in e.scores.items():
        hit = "hit" if s["pointing game"] else "miss"
        lines.append(f"{name}: pointing {hit}, energy {s['energy']:.2f}")
    ax.text(0.0, -0.32, "\n".join(lines), transform=ax.transAxes, fontsize=8, va="top")
    fig.suptitle(f"{e.image_id}{tag}", fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.8, bottom=0.28, wspace=0.12)
    axes[3].set_position([0.78, 0.3, 0.2, 0.45])


def explanation_figure(e: Explanation, tag: str = "",
                       score_cam_top_k: int | None = SCORE_CAM_TOP_K) -> plt.Figure:
    """The explorer's picture of ``e`` as a pyplot figure (``plt.show()`` displays it)."""
    fig = plt.figure(figsize=(12, 3.6))
    _draw(fig, e, tag, score_cam_top_k)
    return fig


def explanation_png(e: Explanation, tag: str = "", score_cam_top_k: int | None = SCORE_CAM_TOP_K,
                    dpi: int = 80) -> bytes:
    """The same picture as PNG bytes, drawn off pyplot (safe inside a widget callback)."""
    fig = Figure(figsize=(12, 3.6), dpi=dpi)
    _draw(fig, e, tag, score_cam_top_k)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def turn_figure(image: Tensor, turns: Sequence[TurnAgreement], i: int = 0, method: str = "",
                tag: str = "") -> plt.Figure:
    """One image under turns (:func:`helpers.agreement.follows_turn`): its map, then for each
    transform the turned image's map turned back, titled with its Spearman correlation with the
    first. ``image``: image ``i`` for display, ``(3, H, W)`` in [0, 1]; ``turns``: results on
    the same images (the first one's ``original`` map is drawn)."""
    if not turns:
        raise ValueError("turns is empty: pass the results of agreement.follows_turn")
    fig, axes = plt.subplots(1, 1 + len(turns), figsize=(3.2 * (1 + len(turns)), 3.4))
    map_panel(axes[0], image, turns[0].original[i], f"{method} map{tag}")
    for ax, turn in zip(axes[1:], turns, strict=True):
        done = TURNS[turn.transform].done
        map_panel(ax, image, turn.turned_back[i], f"{done} image's map, {done} back\n"
                  f"Spearman {turn.rho[i]:.2f} (left in place {turn.rho_in_place[i]:.2f})")
    fig.tight_layout()
    return fig


# --- the widget ---------------------------------------------------------------------------------


def _describe(e: Explanation) -> str:
    done = (f"computed {e.computed} map(s)" if e.computed else "all from the cache")
    return (f"<b>{e.image_id}</b>: predicted {CLASSES[e.prediction]} "
            f"({100 * float(e.probs[e.prediction]):.0f}%), true "
            f"{CLASSES[e.true_label] if e.true_label is not None else '?'}; "
            f"{done} in {1000 * e.seconds:.0f} ms")


def explorer_widget(explorer: Explorer, methods: Sequence[str] | None = None,
                    layers: Sequence[str] = LAYERS, tag: str = "") -> Any:
    """An ipywidgets box: pick an image (class, right/wrong, order), target, method and layer.

    The picture is an ``ipywidgets.Image`` holding :func:`explanation_png`; the line above it
    says what was computed and how long it took; Score-CAM's progress bar and any message (CAM
    below ``layer4``) appear underneath. The box's ``controls`` attribute maps names to the
    controls, ``picture``, ``status`` and ``messages`` to the outputs (for tests and exercises).
    """
    import ipywidgets as w  # only here: the rest of the module works without ipywidgets

    methods = list(methods or cams.METHODS)
    wide = {"description_width": "initial"}
    controls = {
        "true class": w.Dropdown(options=["all", *CLASSES], value="all",
                                 description="true class", style=wide),
        "which": w.ToggleButtons(options=["all", "correct", "wrong"], value="all",
                                 description="predictions", style=wide),
        "order": w.Dropdown(options=list(ORDERS), value=ORDERS[0], description="order",
                            style=wide),
        "image": w.IntSlider(value=0, min=0, max=max(len(explorer) - 1, 0),
                             description="image #", continuous_update=False, style=wide),
        "target": w.Dropdown(options=[*TARGETS, *CLASSES], value="prediction",
                             description="explain class", style=wide),
        "method": w.Dropdown(options=methods, value="Grad-CAM++" if "Grad-CAM++" in methods
                             else methods[0], description="method", style=wide),
        "layer": w.ToggleButtons(options=list(layers), value=layers[-1],
                                 description="layer", style=wide),
    }
    picture = w.Image(format="png", layout=w.Layout(width="100%", max_width="960px"))
    status = w.HTML()
    messages = w.Output()
    state = {"indices": explorer.select()}

    def selection() -> list[int]:
        which = controls["which"].value
        cls = controls["true class"].value
        return explorer.select(None if cls == "all" else cls,
                               None if which == "all" else which == "correct",
                               controls["order"].value)

    def redraw(_: Any = None) -> None:
        messages.clear_output()
        indices = state["indices"]
        if not indices:
            status.value = "no test image matches this choice"
            return
        i = indices[min(controls["image"].value, len(indices) - 1)]
        with messages:
            try:
                e = explorer.explain(i, controls["method"].value, controls["layer"].value,
                                     controls["target"].value, progress=True)
            except ValueError as err:
                status.value = f"<span style='color:#b2182b'>{err}</span>"
                return
        picture.value = explanation_png(e, tag, explorer.score_cam_top_k)
        status.value = _describe(e)

    def refilter(_: Any = None) -> None:
        state["indices"] = selection()
        slider = controls["image"]
        slider.max = max(len(state["indices"]) - 1, 0)
        if slider.value != 0:
            slider.value = 0  # triggers redraw
        else:
            redraw()

    for name in ("true class", "which", "order"):
        controls[name].observe(refilter, names="value")
    for name in ("image", "target", "method", "layer"):
        controls[name].observe(redraw, names="value")
    box = w.VBox([
        w.HBox([controls["true class"], controls["which"], controls["order"]]),
        w.HBox([controls["image"], controls["target"]]),
        w.HBox([controls["method"], controls["layer"]]),
        status, picture, messages,
    ])
    box.controls, box.picture, box.status, box.messages = controls, picture, status, messages
    redraw()
    return box
