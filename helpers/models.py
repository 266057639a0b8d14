"""Models and checkpoints: ``build_model``, ``save_checkpoint``, ``load_checkpoint``,
``load_or_train``.

A checkpoint is a plain dictionary (the state dict plus metadata made only of numbers, strings,
lists and dicts), written atomically and read with ``torch.load(..., weights_only=True)``, so
loading one can never run code. ``load_or_train(cfg)`` gives every notebook the model for its
profile: it reuses the checkpoint notebook 02 saved, or trains one on the spot.
"""

from __future__ import annotations

import os
import pickle
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torchvision
from torch import nn

from .config import RunConfig, load_config, project_root
from .data import CLASSES, IMAGENET_MEAN, IMAGENET_STD, lesion_split, make_loaders
from .demo import prepare_metadata
from .train import evaluate, fit, predict, seed_everything

# torchvision's weights API: the ImageNet weights each architecture uses when pretrained.
WEIGHTS = {
    "resnet18": "ResNet18_Weights.IMAGENET1K_V1",
    "resnet34": "ResNet34_Weights.IMAGENET1K_V1",
    "resnet50": "ResNet50_Weights.IMAGENET1K_V2",
}
ARCHS = tuple(WEIGHTS)

# What a checkpoint must agree on with the config to be reused by load_or_train.
CONFIG_KEYS = (
    "profile", "dataset", "arch", "pretrained", "image_size", "n_demo_images", "epochs",
    "batch_size", "lr", "seed",
)


class PretrainedWeightsUnavailable(RuntimeError):
    """The ImageNet weights could not be downloaded (and are not in the torch hub cache)."""


def build_model(arch: str = "resnet50", num_classes: int = len(CLASSES),
                pretrained: bool = False) -> nn.Module:
    """A torchvision ResNet with a fresh ``fc`` head for ``num_classes``.

    ``pretrained=True`` starts from ImageNet weights (``ResNet50_Weights.IMAGENET1K_V2`` for
    ResNet-50, ``ResNet18_Weights.IMAGENET1K_V1`` for ResNet-18); everything but the head keeps
    them. The last convolutional stage, ``model.layer4``, is the layer the CAM notebooks explain.
    """
    if arch not in WEIGHTS:
        raise ValueError(f"Unknown arch {arch!r}. Supported: {', '.join(ARCHS)}.")
    weights = torchvision.models.get_weight(WEIGHTS[arch]) if pretrained else None
    try:
        model = torchvision.models.get_model(arch, weights=weights)
    except (OSError, RuntimeError) as err:  # URLError is an OSError
        assert weights is not None
        filename = os.path.basename(weights.url)
        folder = Path(torch.hub.get_dir()) / "checkpoints"
        raise PretrainedWeightsUnavailable(
            f"Could not download the ImageNet weights for {arch} ({weights.url}): {err}\n"
            f"Either download that file on a machine with internet access and put it at "
            f"{folder / filename} (the folder is TORCH_HOME/hub/checkpoints; set TORCH_HOME to "
            f"move it), or run without ImageNet weights: build_model({arch!r}, "
            f"pretrained=False), e.g. with the demo profile (TUTORIAL_PROFILE=demo)."
        ) from err
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


def _plain(value: Any) -> Any:
    """``value`` as plain Python types (what ``torch.load(weights_only=True)`` accepts)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, pd.DataFrame):
        return _plain(value.reset_index().to_dict(orient="list"))  # the index becomes a column
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    raise TypeError(f"Cannot store {type(value).__name__} in checkpoint metadata; "
                    "use numbers, strings, lists, dicts, arrays or DataFrames.")


def save_checkpoint(model: nn.Module, path: str | Path, **meta: Any) -> dict[str, Any]:
    """Write ``model``'s weights and ``meta`` to ``path`` atomically; return the stored meta.

    ``meta`` must include ``arch``; ``classes`` and ``normalization`` (ImageNet mean/std)
    default to this package's. Typical extras: ``image_size``, ``profile``, ``metrics``,
    ``history``. Arrays become lists and DataFrames dicts of columns, their index a column:
    ``pd.DataFrame(meta["history"]).set_index("epoch")`` reads a history back.
    """
    if "arch" not in meta:
        raise ValueError("save_checkpoint needs arch=..., e.g. arch='resnet50'.")
    meta.setdefault("classes", CLASSES)
    meta.setdefault("normalization", {"mean": IMAGENET_MEAN, "std": IMAGENET_STD})
    meta = _plain(meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        torch.save({"state_dict": state, "meta": meta}, tmp)
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return meta


def load_checkpoint(path: str | Path, arch: str | None = None,
                    map_location: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The model and metadata saved by :func:`save_checkpoint`, in ``eval`` mode.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that holds
    pickled Python objects (refused: loading them could run code), for a checkpoint of another
    class list, or of another ``arch`` than the one asked for.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No checkpoint at {path}. Run notebook 02 or call "
            "helpers.models.load_or_train(cfg) to train and save one."
        )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"Refusing to load {path}: it holds pickled Python objects, not just weights and "
            "plain metadata, and unpickling could run arbitrary code. Save checkpoints with "
            "helpers.models.save_checkpoint."
        ) from err
    if not (isinstance(payload, dict) and {"state_dict", "meta"} <= set(payload)):
        raise ValueError(f"{path} is not a checkpoint written by helpers.models.save_checkpoint.")
    meta = payload["meta"]
    if tuple(meta.get("classes", ())) != CLASSES:
        raise ValueError(
            f"{path} was trained for the classes {meta.get('classes')}, but this code uses "
            f"{list(CLASSES)}; delete it or retrain."
        )
    if arch is not None and meta.get("arch") != arch:
        raise ValueError(
            f"{path} holds a {meta.get('arch')} model, not the {arch} asked for; "
            "delete it or retrain."
        )
    model = build_model(meta["arch"], num_classes=len(CLASSES), pretrained=False)
    model.load_state_dict(payload["state_dict"])
    return model.eval(), meta


def checkpoint_path(cfg: RunConfig) -> Path:
    """Where a profile's model lives: ``outputs/checkpoints/<profile>-<arch>-<size>.pt``."""
    return cfg.output_dir / "checkpoints" / f"{cfg.profile}-{cfg.arch}-{cfg.image_size}.pt"


def checkpoint_meta(cfg: RunConfig, **extra: Any) -> dict[str, Any]:
    """The metadata a profile's checkpoint carries: its config (see ``CONFIG_KEYS``) + extras."""
    return dict(arch=cfg.arch, image_size=cfg.image_size, profile=cfg.profile,
                config={key: getattr(cfg, key) for key in CONFIG_KEYS}, **extra)


def _shown(path: Path) -> str:
    """``path`` relative to the project when it is inside it (no machine paths in outputs)."""
    try:
        return str(path.resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def _config_mismatch(cfg: RunConfig, meta: Mapping[str, Any]) -> list[str]:
    stored = meta.get("config", {})
    return [key for key in CONFIG_KEYS if stored.get(key) != _plain(getattr(cfg, key))]


def load_or_train(cfg: RunConfig | None = None,
                  progress: bool = True) -> tuple[nn.Module, dict[str, Any]]:
    """The trained model for ``cfg`` and its metadata (metrics, history, config).

    Loads ``checkpoint_path(cfg)`` when it exists and was made with the same settings;
    otherwise trains the model as notebook 02 does (saying so, and how long it took),
    evaluates it on the test split, saves the checkpoint and returns it.
    """
    cfg = cfg or load_config()
    path = checkpoint_path(cfg)
    if path.is_file():
        model, meta = load_checkpoint(path, arch=cfg.arch)
        differs = _config_mismatch(cfg, meta)
        if not differs:
            print(f"Loaded {_shown(path)} (test balanced accuracy "
                  f"{meta['metrics']['balanced_accuracy']:.3f}).")
            return model.to(cfg.device), meta
        print(f"{_shown(path)} was trained with other settings ({', '.join(differs)}); retraining.")
    print(f"Training {cfg.arch} ({cfg.profile} profile, {cfg.epochs} epochs, "
          f"{cfg.image_size} px) on {cfg.device}; the checkpoint will be saved to {_shown(path)}.")
    start = time.perf_counter()
    splits = lesion_split(prepare_metadata(cfg), seed=cfg.seed)
    loaders = make_loaders(splits, cfg)
    seed_everything(cfg.seed)
    model = build_model(cfg.arch, len(CLASSES), pretrained=cfg.pretrained)
    history = fit(model, loaders, cfg, progress=progress)
    metrics = evaluate(*predict(model, loaders["test"], device=cfg.device))
    seconds = time.perf_counter() - start
    meta = save_checkpoint(model, path, **checkpoint_meta(
        cfg, metrics=metrics, history=history, train_seconds=seconds))
    print(f"Trained in {seconds / 60:.1f} min; test balanced accuracy "
          f"{metrics['balanced_accuracy']:.3f}; saved {_shown(path)}.")
    return model.eval(), meta
