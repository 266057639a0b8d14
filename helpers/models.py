"""Models and checkpoints: ``build_model``, ``save_checkpoint``, ``load_checkpoint``,
``load_or_train`` (notebook 02's model) and ``load_or_train_variant`` (one trained on other data).

A checkpoint is a plain dictionary (the state dict plus metadata made only of numbers, strings,
lists and dicts), written atomically and read with ``torch.load(..., weights_only=True)``, so
loading one can never run code. ``load_or_train(cfg)`` gives every notebook the model for its
profile: it reuses the checkpoint notebook 02 saved, or trains one on the spot.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import pickle
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torchvision
from torch import nn

from . import _checks as checks
from . import config
from .config import RunConfig, load_config, project_root
from .course import filelock
from .course.prepare import prepare_metadata
from .course.resized import data_fingerprint  # noqa: F401  (re-exported)
from .data import (
    CLASSES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    lesion_split,
    make_loaders,
    write_file_atomically,
)
from .demo.sets import demo_marker
from .imagenet import ImageNetModel, imagenet_model  # noqa: F401  (re-exported)
from .train import evaluate, fit, predict, seed_everything

# torchvision's weights API: the ImageNet weights each architecture uses when pretrained.
WEIGHTS = {
    "resnet18": "ResNet18_Weights.IMAGENET1K_V1",
    "resnet34": "ResNet34_Weights.IMAGENET1K_V1",
    "resnet50": "ResNet50_Weights.IMAGENET1K_V2",
}
ARCHS = config.ARCHS  # the names load_config accepts; WEIGHTS has one entry for each

# What a checkpoint must agree on with the config to be reused by load_or_train: these
# settings, and the identity of the data (DATA_KEY: source and content fingerprint).
CONFIG_KEYS = (
    "profile", "dataset", "arch", "pretrained", "image_size", "n_demo_images", "epochs",
    "low_res_size", "low_res_epochs", "batch_size", "lr", "seed", "dilated_layer4",
)
DATA_KEY = "data"

# The first bytes of the files torch.load may meet: torch.save's zip archive, a git-lfs pointer.
_ZIP_MAGIC = b"PK\x03\x04"
_LFS_POINTER = b"version https://git-lfs"


class PretrainedWeightsUnavailable(RuntimeError):
    """The ImageNet weights could not be downloaded (and are not in the torch hub cache)."""


def dilate_layer4(model: nn.Module) -> nn.Module:
    """``model`` (a torchvision ResNet, changed in place) with ``layer4`` at stride 1 and the 3x3
    convolutions after its strided one dilated by 2 (the "atrous" trick of DeepLab, Chen et al.
    2017, output stride 16 instead of 32).

    ``layer4`` then keeps ``layer3``'s grid, input/16 instead of input/32 (7x7 at 112 px, as
    an undilated ResNet has at 224 px), and its receptive field; the weights keep their shapes,
    so any state dict of the undilated model loads. Works for BasicBlock (ResNet-18/34) and
    Bottleneck (ResNet-50) stages alike.
    """
    dilated = False
    for block in model.layer4:
        for conv in [m for m in block.modules() if isinstance(m, nn.Conv2d)]:
            if conv.kernel_size == (1, 1):  # a 1x1 projection (the shortcut's included)
                conv.stride = (1, 1)
            elif conv.stride != (1, 1):
                conv.stride, dilated = (1, 1), True
            elif dilated:
                conv.dilation, conv.padding = (2, 2), (2, 2)
    return model


def build_model(arch: str = "resnet50", num_classes: int = len(CLASSES),
                pretrained: bool = False, dilated_layer4: bool = False) -> nn.Module:
    """A torchvision ResNet with a fresh ``fc`` head for ``num_classes``.

    ``pretrained=True`` starts from ImageNet weights (``ResNet50_Weights.IMAGENET1K_V2`` for
    ResNet-50, ``ResNet18_Weights.IMAGENET1K_V1`` for ResNet-18); everything but the head keeps
    them. The last convolutional stage, ``model.layer4``, is the layer the CAM notebooks explain:
    an ``S`` px input gives it an ``S/32`` grid, or ``S/16`` with ``dilated_layer4=True``
    (:func:`dilate_layer4`).
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
    return dilate_layer4(model) if dilated_layer4 else model


def _plain(value: Any, where: str = "meta") -> Any:
    """``value`` as plain Python types (what ``torch.load(weights_only=True)`` accepts).

    Recursive: NumPy and pandas scalars become ``bool``/``int``/``float``/``str`` (also the
    subclasses ``np.float64`` and ``np.str_``), arrays, tensors and tuples lists, Series and
    DataFrames dicts of columns (the index a column), times ISO strings, durations seconds,
    ``Path`` a string, ``NaT``/``NA`` None. Anything else raises TypeError naming ``where``.
    """
    if value is None or type(value) in (bool, int, float, str):
        return value
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(np.datetime_as_string(value))
    if isinstance(value, np.timedelta64):
        return None if np.isnat(value) else float(value / np.timedelta64(1, "s"))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):  # pd.Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, dt.timedelta):  # pd.Timedelta too
        return value.total_seconds()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.generic):  # np.float64, np.int64, np.str_, ...
        return _plain(value.item(), where)
    for kind in (int, float, str):  # subclasses (IntEnum, ...) as the plain type
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _plain(value[()], where)
        if value.dtype.kind in "mMO":  # times and objects: element by element
            return [_plain(v, where) for v in value]
        return _plain(value.tolist(), where)
    if isinstance(value, torch.Tensor):
        return _plain(value.detach().cpu().tolist(), where)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, pd.Series):
        value = value.to_frame()
    if isinstance(value, pd.DataFrame):  # the index becomes a column
        return _plain(value.reset_index().to_dict(orient="list"), where)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(items)]
    raise TypeError(f"Cannot store {type(value).__name__} in checkpoint metadata ({where}); "
                    "use numbers, strings, lists, dicts, arrays or DataFrames.")


def _check_loadable(meta: dict[str, Any]) -> None:
    """Refuse ``meta`` unless ``torch.load(weights_only=True)`` reads it back (before writing)."""
    buffer = io.BytesIO()
    torch.save(meta, buffer)
    buffer.seek(0)
    try:
        torch.load(buffer, weights_only=True)
    except pickle.UnpicklingError as err:
        raise TypeError(f"Checkpoint metadata would not load back ({err}); the file was not "
                        "written. Store numbers, strings, lists and dicts.") from err


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
    _check_loadable(meta)  # never replace a good checkpoint with one load_checkpoint refuses
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    write_file_atomically(path, lambda tmp: torch.save({"state_dict": state, "meta": meta}, tmp))
    return meta


def load_checkpoint(path: str | Path, arch: str | None = None,
                    map_location: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The model and metadata saved by :func:`save_checkpoint`, in ``eval`` mode.

    Raises ``FileNotFoundError`` for a missing file, ``IsADirectoryError`` for a folder,
    ``RuntimeError`` for a ``map_location`` on a GPU this machine does not have (the file is
    not blamed), and ``ValueError`` for a ``map_location`` that names no device, a file that
    is no checkpoint (a git-lfs pointer, a truncated download, random bytes), that holds
    pickled Python objects (refused: loading them could run code), for a checkpoint of another
    class list, or of another ``arch`` than the one asked for; each message says what to do.
    """
    path = Path(path)
    _check_map_location(map_location)
    if path.is_dir():
        raise IsADirectoryError(f"path {path} is a folder; expected a checkpoint file (.pt), "
                                f"e.g. one of {sorted(p.name for p in path.glob('*.pt'))[:3]}.")
    if not path.is_file():
        raise FileNotFoundError(
            f"No checkpoint at {path}. Run notebook 02 or call "
            "helpers.models.load_or_train(cfg) to train and save one."
        )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - every way a file can fail to be a checkpoint
        raise ValueError(_unreadable(path, err)) from err
    if not (isinstance(payload, dict) and {"state_dict", "meta"} <= set(payload)
            and isinstance(payload["meta"], dict)):
        raise ValueError(f"{path} is not a checkpoint written by helpers.models.save_checkpoint "
                         f"(no state_dict and meta). {_DELETE_IT}")
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
    if meta.get("arch") not in WEIGHTS:
        raise ValueError(f"{path} names the architecture {meta.get('arch')!r}, which this code "
                         f"cannot build ({', '.join(ARCHS)}). {_DELETE_IT}")
    model = build_model(meta["arch"], num_classes=len(CLASSES), pretrained=False,
                        dilated_layer4=bool(meta.get("dilated_layer4", False)))
    state = _without_data_parallel_prefix(payload["state_dict"], path)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{path}: its weights do not fit a {meta['arch']} ({err}). "
                         f"{_DELETE_IT}") from err
    return model.eval(), meta


def _check_map_location(where: Any) -> None:
    """Refuse, before the file is read, a ``map_location`` that names no device or a GPU that
    this machine lacks (torch would blame the file); a dict or function passes as it is."""
    if not isinstance(where, str | torch.device):
        return
    try:
        device = torch.device(where)
    except (RuntimeError, ValueError) as err:
        raise ValueError(f"map_location={where!r} names no device ({err}); give 'cpu', 'cuda' "
                         "or 'mps'.") from None
    kinds = {"cuda": torch.cuda.is_available,
             "mps": lambda: getattr(torch.backends, "mps", None) is not None
             and torch.backends.mps.is_available()}
    if device.type in kinds and not kinds[device.type]():
        shown = str(where) if isinstance(where, str) else str(device)
        raise RuntimeError(
            f"map_location={shown!r}: this machine has no GPU of that kind "
            f"(torch.{device.type} is not available); the checkpoint itself is fine. Load it "
            "on the CPU with map_location='cpu' (the default) and move the model with "
            ".to(device) where a GPU exists.")


def _without_data_parallel_prefix(state: Mapping[str, Any], path: Path) -> Mapping[str, Any]:
    """``state`` with the ``module.`` prefix that ``nn.DataParallel`` (and DDP) put before
    every key removed, saying so; any other state dict unchanged."""
    keys = list(state)
    if not keys or not all(isinstance(k, str) and k.startswith("module.") for k in keys):
        return state
    print(f"{_shown(path)} was saved from a DataParallel model (its keys start with "
          "'module.'); loading it without that prefix. Save model.module next time.")
    return {k[len("module."):]: v for k, v in state.items()}


_DELETE_IT = ("Delete the file: load_or_train(cfg) (or notebook 02) then trains and saves a new "
              "one.")


def _unreadable(path: Path, err: Exception) -> str:
    """Why torch.load could not read ``path``, from the file's first bytes, and what to do."""
    with path.open("rb") as f:
        head = f.read(64)
    if head.startswith(_LFS_POINTER):
        return (f"{path} is a git-lfs pointer, not the checkpoint itself: run `git lfs pull` in "
                f"the repository to fetch the file, or delete it and retrain. {_DELETE_IT}")
    if head.startswith(_ZIP_MAGIC) and "Weights only load failed" in str(err):
        return (f"Refusing to load {path}: it holds pickled Python objects, not just weights and "
                "plain metadata, and unpickling could run arbitrary code. Save checkpoints with "
                "helpers.models.save_checkpoint (an older version of it could store NumPy "
                f"numbers this way). {_DELETE_IT}")
    what = "an empty file" if not head else (
        "a damaged or truncated checkpoint" if head.startswith(_ZIP_MAGIC)
        else "not a checkpoint (a git-lfs pointer? an HTML error page? an unfinished download?)")
    return f"{path} is {what}: torch.load says {type(err).__name__}: {str(err)[:200]}. {_DELETE_IT}"


def checkpoint_path(cfg: RunConfig) -> Path:
    """Where a profile's model lives: ``outputs/checkpoints/<profile>-<arch>-<size>.pt``."""
    return cfg.output_dir / "checkpoints" / f"{cfg.profile}-{cfg.arch}-{cfg.image_size}.pt"


def data_identity(cfg: RunConfig) -> dict[str, Any]:
    """Which data ``cfg`` trains on: ``source`` (the dataset) and ``fingerprint`` (content).

    The demo set's fingerprint is its generator's record (same record, same bytes), so it is
    known before the set is written; real data's is :func:`data_fingerprint` (metadata, image
    ids and file sizes; None when there is no data yet). The folder is not part of it: a
    checkpoint stays valid for another copy of the same data, and two checkpoints of
    different data never share an identity.
    """
    if cfg.dataset == "demo":
        record = json.dumps(demo_marker(cfg.n_demo_images, cfg.image_size, cfg.seed),
                            sort_keys=True).encode()
        fingerprint: str | None = hashlib.sha1(record).hexdigest()
    else:
        fingerprint = None if cfg.data_dir is None else data_fingerprint(Path(cfg.data_dir))
    return {"source": cfg.dataset, "fingerprint": fingerprint}


def checkpoint_meta(cfg: RunConfig, **extra: Any) -> dict[str, Any]:
    """The metadata a profile's checkpoint carries: its config (see ``CONFIG_KEYS``, and under
    ``DATA_KEY`` the :func:`data_identity`) + extras."""
    settings = {key: getattr(cfg, key) for key in CONFIG_KEYS}
    settings[DATA_KEY] = data_identity(cfg)
    return dict(arch=cfg.arch, image_size=cfg.image_size, profile=cfg.profile,
                dilated_layer4=cfg.dilated_layer4, config=settings, **extra)


def _shown(path: Path) -> str:
    """``path`` relative to the project when it is inside it (no machine paths in outputs)."""
    try:
        return str(path.resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def _config_mismatch(cfg: RunConfig, meta: Mapping[str, Any]) -> list[str]:
    """What differs between ``cfg`` and the checkpoint's ``meta``, in words (empty: it fits)."""
    stored = meta.get("config", {})
    wanted = _plain(checkpoint_meta(cfg)["config"])
    differs = [key for key in CONFIG_KEYS if stored.get(key) != wanted[key]]
    old, new = stored.get(DATA_KEY) or {}, wanted[DATA_KEY]
    if any(old.get(k) != new[k] for k in new):  # an older checkpoint's "folder" is ignored
        parts = [f"{k} {old.get(k)!r} -> {new[k]!r}" for k in new if old.get(k) != new[k]]
        differs.append(f"data ({'; '.join(parts)})")
    return differs


def _fetch_published(cfg: RunConfig, path: Path,
                     progress: bool) -> tuple[nn.Module, dict[str, Any]] | None:
    """The published course checkpoint (:func:`helpers.publish.published`), downloaded and
    checked (SHA-256, then :func:`load_checkpoint` with ``weights_only``, then the run's settings)
    and kept at ``path``; None, saying why, when there is none or it does not fit. A refused
    file leaves nothing behind."""
    from .course import publish

    where = publish.published("CHECKPOINT", cfg.profile)
    if where is None:
        return None
    url, sha = where
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    print(f"Fetching the published course checkpoint {url} ...")
    tmp = None
    try:
        tmp = publish.download_verified(url, sha, path, progress=progress)
        model, meta = load_checkpoint(tmp, arch=cfg.arch)
        differs = _config_mismatch(cfg, meta)
        if differs:
            raise publish.DownloadError(
                f"{url} was trained with other settings or data: {', '.join(differs)}")
        os.replace(tmp, path)
    except (publish.DownloadError, ValueError) as err:
        print(f"Not using the published checkpoint: {str(err).replace(str(tmp), url)}. "
              "Training instead.")
        return None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        for folder in made:  # folders made for the download only: gone again
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    print(f"Loaded the published checkpoint, SHA-256 checked, into {_shown(path)}.")
    return model.to(cfg.device), meta


def _test_score(meta: Mapping[str, Any]) -> str:
    """"test balanced accuracy 0.xyz", or that the checkpoint records none (saved without
    ``metrics``, e.g. by hand with :func:`save_checkpoint`)."""
    score = (meta.get("metrics") or {}).get("balanced_accuracy")
    if not isinstance(score, (int, float)):
        return "it records no test metrics: evaluate it with helpers.train.evaluate"
    return f"test balanced accuracy {score:.3f}"


def load_or_train(cfg: RunConfig | None = None,
                  progress: bool = True) -> tuple[nn.Module, dict[str, Any]]:
    """The trained model for ``cfg`` and its metadata (metrics, history, config).

    Loads ``checkpoint_path(cfg)`` when it exists and was made with the same settings and
    the same data (:func:`data_identity`: source and content, wherever the data sits);
    otherwise trains the model as notebook 02 does (saying so, and why, and how long it
    took), evaluates it on the test split, saves the checkpoint and returns it. With no
    checkpoint it first tries the published one (:mod:`helpers.publish`). Two processes that
    start the same training at once (one course folder, two runtimes): one trains, under a
    lock file (:mod:`helpers.filelock`), the other waits and loads its checkpoint.
    """
    cfg = cfg or load_config()
    path = _writable_checkpoint(checkpoint_path(cfg))  # refused now, not after an hour
    if path.is_file():
        found = _matching(cfg, path, say_why=True)
        if found is not None:
            return found
    else:
        fetched = _fetch_published(cfg, path, progress)
        if fetched is not None:
            return fetched
    with filelock.exclusive(path) as waited:  # one runtime trains, the others wait and load
        if waited and path.is_file():
            found = _matching(cfg, path, say_why=False)
            if found is not None:
                return found
        return _train_and_save(cfg, path, progress)


def _writable_checkpoint(path: Path) -> Path:
    """``path`` when a checkpoint can be saved there; refused before any training (a folder
    of that name, a file where a folder should be), naming the path and the fix."""
    return checks.writable_file(path, "the checkpoint path", hint=(
        "Move or rename what is there, or give load_config(output_dir=...) another folder."))


def _matching(cfg: RunConfig, path: Path,
              say_why: bool) -> tuple[nn.Module, dict[str, Any]] | None:
    """The checkpoint at ``path`` when it fits ``cfg`` (saying so), else None."""
    model, meta = load_checkpoint(path, arch=cfg.arch)
    differs = _config_mismatch(cfg, meta)
    if not differs:
        print(f"Loaded {_shown(path)} ({_test_score(meta)}).")
        return model.to(cfg.device), meta
    if say_why:
        print(f"{_shown(path)} was trained with other settings or data ({', '.join(differs)}); "
              "retraining.")
    return None


def _train_and_save(cfg: RunConfig, path: Path,
                    progress: bool) -> tuple[nn.Module, dict[str, Any]]:
    """Notebook 02's training for ``cfg``, evaluated on the test split, saved at ``path``."""
    sizes = (f"the first {cfg.low_res_epochs} at {cfg.low_res_size} px, then {cfg.image_size} px"
             if cfg.low_res_epochs else f"{cfg.image_size} px")
    print(f"Training {cfg.arch} ({cfg.profile} profile, {cfg.epochs} epochs, {sizes}) on "
          f"{cfg.device}; the checkpoint will be saved to {_shown(path)}.")
    start = time.perf_counter()
    splits = lesion_split(prepare_metadata(cfg), seed=cfg.seed)
    loaders = make_loaders(splits, cfg)
    seed_everything(cfg.seed)
    model = build_model(cfg.arch, len(CLASSES), cfg.pretrained, cfg.dilated_layer4)
    history = fit(model, loaders, cfg, progress=progress)
    metrics = evaluate(*predict(model, loaders["test"], device=cfg.device))
    seconds = time.perf_counter() - start
    meta = save_checkpoint(model, path, **checkpoint_meta(
        cfg, metrics=metrics, history=history, train_seconds=seconds))
    print(f"Trained in {seconds / 60:.1f} min; test balanced accuracy "
          f"{metrics['balanced_accuracy']:.3f}; saved {_shown(path)}.")
    return model.eval(), meta


def weights_digest(model: nn.Module) -> str:
    """SHA-1 of ``model``'s state dict (names, shapes, dtypes and values): two models with the
    same digest compute the same function."""
    digest = hashlib.sha1()
    for name, tensor in model.state_dict().items():
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(value.shape)}:{value.dtype}".encode())
        digest.update(value.numpy().tobytes() if value.dtype != torch.bfloat16
                      else value.float().numpy().tobytes())
    return digest.hexdigest()


def _freeze_all_but(net: nn.Module, prefixes: tuple[str, ...]) -> None:
    """Let only the parameters whose names start with one of ``prefixes`` train (all, if none).

    The frozen layers still run forward, but backpropagation stops above them, which is what
    saves the time; their batch-norm statistics still follow the data in training mode.
    """
    names = [name for name, _ in net.named_parameters()]
    unknown = [p for p in prefixes if not any(name.startswith(p) for name in names)]
    if unknown:
        raise ValueError(
            f"train_only names no parameter of this model: {unknown}. Give prefixes of "
            "parameter names, such as 'layer4.' or 'fc.'; this model's top-level layers are "
            f"{', '.join(name for name, _ in net.named_children())}.")
    for name, param in net.named_parameters():
        param.requires_grad_(not prefixes or name.startswith(tuple(prefixes)))


def load_or_train_variant(cfg: RunConfig, splits: Mapping[str, pd.DataFrame], tag: str,
                          epochs: int, *, start: nn.Module | None = None,
                          lr: float | None = None, balance_classes: bool = True,
                          progress: bool = True, train_only: tuple[str, ...] = (),
                          **meta: Any) -> nn.Module:
    """A model trained with notebook 02's recipe on other data (``splits``: shuffled labels, an
    artefact, ...), in eval mode; cached beside :func:`checkpoint_path` as
    ``<profile>-<arch>-<size>-<tag>-e<epochs>.pt`` and reused when its metadata match.

    ``start``: fine-tune a copy of this model (its own weights are left alone) instead of
    training a fresh one; its :func:`weights_digest` goes into the metadata, so a checkpoint
    fine-tuned from another model is not reused. ``lr``: the peak learning rate (default
    ``cfg.lr``). ``balance_classes``: :func:`~helpers.train.fit`'s class-weighted loss (False:
    plain cross-entropy). ``train_only``: prefixes of the parameter names that train (e.g.
    ``("layer4.", "fc.")``); the others stay frozen, which roughly halves the cost of a
    fine-tuning step. ``meta``: what else tells this variant apart (e.g.
    ``artefact=spec.as_dict()``); it must match for the cached file to be reused. Every epoch
    trains at ``cfg.image_size`` (no progressive resizing: these runs are short).
    """
    run_cfg = dataclasses.replace(cfg, epochs=epochs, lr=lr if lr is not None else cfg.lr,
                                  low_res_epochs=0)
    base = checkpoint_path(cfg)
    path = _writable_checkpoint(base.with_name(f"{base.stem}-{tag}-e{epochs}.pt"))
    # every setting that tells variants apart is recorded, also at its default, so that a
    # checkpoint made with a setting is never reused for a request without it
    extra = {"variant": tag, **meta, "balance_classes": balance_classes,
             "fine_tuned_from": None if start is None else weights_digest(start),
             "train_only": list(train_only)}
    wanted = _plain(checkpoint_meta(run_cfg, **extra))
    if path.is_file():
        net, found = load_checkpoint(path, arch=run_cfg.arch)
        if all(found.get(key) == value for key, value in wanted.items()):
            print(f"Loaded {_shown(path)}.")
            return net.to(run_cfg.device).eval()
    how = "Fine-tuning a copy of the given model" if start is not None else "Training"
    span = f"{epochs} epoch{'s' * (epochs != 1)}"
    print(f"{how} on the {tag} data ({span}); saving to {_shown(path)} ...")
    seed_everything(run_cfg.seed)
    if start is not None:
        net = copy.deepcopy(start).train()
    else:
        net = build_model(run_cfg.arch, len(CLASSES), run_cfg.pretrained,
                          run_cfg.dilated_layer4)
    _freeze_all_but(net, train_only)
    history = fit(net, make_loaders(splits, run_cfg), run_cfg, balance_classes=balance_classes,
                  progress=progress)
    net.requires_grad_(True)  # frozen for training only: CAMs at any layer need gradients
    save_checkpoint(net, path, **wanted, history=history)
    return net.to(run_cfg.device).eval()


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.models publish PATH [URL]``: check that ``PATH`` is a checkpoint
    this code loads, then print the lines to paste into ``helpers/config.py``."""
    import sys

    from .course.publish import publish_lines

    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3) or args[0] != "publish":
        print("usage: python -m helpers.models publish PATH [URL]\n  prints CHECKPOINT_URL and "
              "CHECKPOINT_SHA256 for helpers/config.py (URL: default, a release asset of "
              "REPOSITORY at RELEASE)", file=sys.stderr)
        return 2
    _, meta = load_checkpoint(args[1])
    print(f"# {args[1]}: {meta.get('arch')}, {meta.get('profile')} profile, "
          f"{meta.get('image_size')} px. Upload it as a release asset, then paste into "
          "helpers/config.py:")
    print(publish_lines(args[1], args[2] if len(args) == 3 else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
