"""Training and evaluation: ``train_one_epoch``, ``fit``, ``predict``, ``evaluate``.

Also the three chores every module that runs the model shares: :func:`eval_mode` (a block in
eval mode, each submodule's own flag restored after), :func:`model_device` and
:func:`predict_probs` (softmax probabilities of a batch of images, fed in chunks).

One recipe for every profile (only sizes differ): AdamW, a one-cycle (or cosine) learning-rate
schedule, label smoothing, and a class-weighted loss for HAM10000's imbalance (nevi are about
two thirds of the images). On CUDA it adds mixed precision and channels-last memory layout;
on the CPU it is seeded so that the same config gives the same numbers twice.

Every metric comes from scikit-learn; nothing here is computed by hand, and nothing is plotted.
"""

from __future__ import annotations

import copy
import random
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    recall_score,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize
from sklearn.utils.class_weight import compute_class_weight
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import _checks as checks
from .config import MIN_IMAGE_SIZE, RunConfig, check_device
from .data import CLASSES, MALIGNANT

MALIGNANT_LABELS = tuple(i for i, code in enumerate(CLASSES) if code in MALIGNANT)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Every submodule of ``model`` in eval mode inside the block; afterwards (also after an
    error) each one gets its own train/eval flag back, not just the top module's."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def model_device(model: nn.Module, fallback: str | torch.device = "cpu") -> torch.device:
    """The device of the model's first parameter (or buffer); ``fallback`` when it has none."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device(fallback)


@torch.no_grad()
def predict_probs(model: nn.Module, images: torch.Tensor | Iterable[torch.Tensor], *,
                  batch_size: int = 64, device: str | torch.device | None = None) -> torch.Tensor:
    """Softmax probabilities ``(N, num_classes)``, float32 on the CPU, for ``images``.

    ``images``: a tensor ``(N, C, H, W)``, fed ``batch_size`` at a time, or an iterable of such
    batches. Runs on ``device`` (default: the model's; the input's for a model without
    parameters) under :func:`eval_mode`, without gradients.
    """
    fallback = images.device if isinstance(images, torch.Tensor) else "cpu"
    device = model_device(model, fallback) if device is None else torch.device(device)
    if isinstance(images, torch.Tensor):
        batch_size = checks.integer(batch_size, "batch_size", hint="Images per forward pass, "
                                    "e.g. 64.")
        images = images.split(batch_size)
    with eval_mode(model):
        probs = [model(batch.to(device)).float().softmax(dim=1).cpu() for batch in images]
    if not probs:
        raise ValueError("images: no batch of images came (an empty loader?); give a tensor "
                         "(N, C, H, W) or a loader with at least one batch.")
    return torch.cat(probs)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so a run can be repeated exactly."""
    seed = checks.integer(seed, "seed", minimum=0, hint="Use a whole number such as 0.")
    if seed >= 2**32:
        raise ValueError(f"seed={seed}: expected a whole number below 2**32 (NumPy's limit).")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator that libraries use
    torch.manual_seed(seed)  # also seeds every CUDA device


def _batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)`` from a batch that may also carry masks."""
    return batch[0], batch[1]


def dataset_labels(dataset: Any) -> np.ndarray:
    """The integer labels of a dataset without decoding its images (when it can tell)."""
    if hasattr(dataset, "df") and "label" in dataset.df:  # helpers.data.LesionDataset
        return dataset.df["label"].to_numpy()
    if hasattr(dataset, "tensors"):  # TensorDataset
        return dataset.tensors[1].numpy()
    if hasattr(dataset, "dataset") and hasattr(dataset, "indices"):  # Subset
        return dataset_labels(dataset.dataset)[np.asarray(dataset.indices)]
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(f"dataset: expected a torch Dataset of (image, label) pairs, got "
                        f"{type(dataset).__name__}.")
    if len(dataset) and not isinstance(dataset[0], (tuple, list)):
        raise TypeError(f"dataset: expected items (image, label, ...), but item 0 is a "
                        f"{type(dataset[0]).__name__}; for a list of labels use np.asarray(it).")
    return np.array([int(dataset[i][1]) for i in range(len(dataset))])


def class_weights(labels: np.ndarray, num_classes: int = len(CLASSES)) -> torch.Tensor:
    r"""Inverse-frequency weights (scikit-learn's ``"balanced"``); absent classes get 1.

    .. math:: w_c = \frac{N}{K \, n_c}

    over the ``K`` classes present, ``N`` labels, ``n_c`` of class ``c``."""
    num_classes = checks.integer(num_classes, "num_classes")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels: expected a non-empty 1-D array of integer class indices, got "
                         f"shape {labels.shape} of {labels.dtype}; pass dataset_labels(dataset).")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels lie in {labels.min()}..{labels.max()}; expected class indices "
                         f"0..{num_classes - 1} (num_classes={num_classes}).")
    weights = np.ones(num_classes)
    present = np.unique(labels)
    weights[present] = compute_class_weight("balanced", classes=present, y=labels)
    return torch.tensor(weights, dtype=torch.float32)


def shrink(images: torch.Tensor, size: int) -> torch.Tensor:
    """A batch ``(B, C, H, W)`` resized to ``size`` x ``size`` (bilinear, antialiased)."""
    size = checks.integer(size, "size")
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        raise TypeError(f"images: expected a float tensor (B, C, H, W), got "
                        f"{type(images).__name__} {tuple(getattr(images, 'shape', ()))}.")
    return nn.functional.interpolate(images, size=(size, size), mode="bilinear",
                                     antialias=True, align_corners=False)


def _make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, lr: float, epochs: int, steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, epochs=epochs, steps_per_epoch=steps, pct_start=0.25
        )
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps)
    raise ValueError(f"Unknown schedule {schedule!r}; use 'onecycle' or 'cosine'.")


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    criterion: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    scaler: torch.amp.GradScaler | None = None,
    device: str = "cpu",
    size: int | None = None,
    progress: bool = False,
    desc: str = "epoch",
) -> dict[str, float]:
    """One pass of mini-batch gradient descent over ``loader`` (notebook 02 writes it by hand).

    For each batch :math:`(x, y)`: the forward pass :math:`z = f_\\theta(x)`, the loss
    :math:`L = \\mathrm{criterion}(z, y)`, the backward pass :math:`\\nabla_\\theta L`, and one
    step of ``optimizer`` (then of ``scheduler``, which changes the learning rate per batch).
    ``size`` shrinks the batches first (:func:`shrink`, progressive resizing); ``scaler`` is
    mixed precision's loss scaling on CUDA (``torch.amp.GradScaler``; None: plain
    ``loss.backward()``). A loss that is not finite stops training with FloatingPointError.

    Returns ``{"loss": mean loss per image, "accuracy": share of images whose top class is the
    label, "size": the side in px the model was trained on}``.
    """
    cuda = torch.device(device).type == "cuda"
    model.train()
    total_loss, correct, seen, side = 0.0, 0, 0, 0
    for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
        images, labels = _batch(batch)
        images, labels = images.to(device), labels.to(device)
        if size is not None:
            images = shrink(images, size)
        if cuda:
            images = images.to(memory_format=torch.channels_last)
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=cuda):
            logits = model(images)
            loss = criterion(logits, labels)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"The training loss became {loss.item()}: training diverged. Lower the learning "
                f"rate (the optimizer's is {optimizer.param_groups[0]['lr']:g} at this step), and "
                "check that the images are finite.")
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
        seen += len(labels)
        side = int(images.shape[-1])
    if not seen:
        raise ValueError("loader gave no batch: give a DataLoader over at least one image.")
    return {"loss": total_loss / seen, "accuracy": correct / seen, "size": side}


def fit(
    model: nn.Module,
    loaders: Mapping[str, DataLoader],
    cfg: RunConfig | None = None,
    *,
    epochs: int | None = None,
    lr: float | None = None,
    weight_decay: float = 1e-4,
    label_smoothing: float = 0.1,
    schedule: str = "onecycle",
    balance_classes: bool = True,
    device: str | None = None,
    seed: int | None = None,
    low_res: tuple[int, int] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Train ``model`` on ``loaders["train"]``, validating on ``loaders["val"]`` each epoch.

    Settings come from ``cfg`` (epochs, lr, device, seed); explicit arguments win. The loss is
    cross-entropy with label smoothing, weighted by inverse class frequency when
    ``balance_classes``. At the end the model holds the weights of the epoch with the best
    validation balanced accuracy (``history.attrs["best_epoch"]``).

    ``low_res=(size, n)``, by default ``(cfg.low_res_size, cfg.low_res_epochs)``, is progressive
    resizing (Howard and Gugger, *Deep Learning for Coders*, 2020, ch. 7): the first ``n``
    epochs train on the batches shrunk to ``size`` px (bilinear, antialiased), which costs about
    ``(size / image_size)**2`` of a full-size step, and the rest at full size, so that the model
    ends at the size it is used at. Each epoch is validated at the size it trained on (the
    ``train_size`` column), so the learning curve compares like with like; the best epoch is
    chosen among the full-size epochs only, since the model is used at full size.

    Returns the history: one row per epoch with ``train_loss``, ``train_accuracy``,
    ``val_loss``, ``val_accuracy``, ``val_balanced_accuracy``, ``lr``, ``train_size`` (px) and
    ``seconds``.
    """
    epochs = checks.integer(epochs if epochs is not None else (cfg.epochs if cfg else 5),
                            "epochs")
    lr = checks.positive_number(lr if lr is not None else (cfg.lr if cfg else 1e-3), "lr")
    device = check_device(str(device or (cfg.device if cfg else "cpu")))
    seed = seed if seed is not None else (cfg.seed if cfg else 0)
    low_size, low_epochs = low_res if low_res is not None else (
        (cfg.low_res_size, cfg.low_res_epochs) if cfg else (0, 0))
    if low_epochs:
        checks.integer(low_size, "low_res size", minimum=MIN_IMAGE_SIZE)
        if low_epochs >= epochs:
            raise ValueError(
                f"{low_epochs} low-resolution epochs (progressive resizing, low_res or "
                f"cfg.low_res_epochs) leave none of the {epochs} epochs at full size: the model "
                "would end at a size it is not used at. Give more epochs, or low_res=(size, 0) "
                "to train at full size throughout.")
    missing = [name for name in ("train", "val") if name not in loaders]
    if missing:
        raise ValueError(f"loaders lacks {missing}: give a dict with 'train' and 'val' "
                         "DataLoaders, e.g. make_loaders(lesion_split(df), cfg).")
    cuda = torch.device(device).type == "cuda"
    seed_everything(seed)

    train_loader, val_loader = loaders["train"], loaders["val"]
    weight = class_weights(dataset_labels(train_loader.dataset)) if balance_classes else None
    criterion = nn.CrossEntropyLoss(
        weight=None if weight is None else weight.to(device), label_smoothing=label_smoothing
    )
    model.to(device)
    if cuda:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = _make_scheduler(optimizer, schedule, lr, epochs, len(train_loader))
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)

    rows, best_score, best_state, best_epoch = [], -1.0, None, None
    for epoch in tqdm(range(1, epochs + 1), desc="epochs", disable=not progress):
        start = time.perf_counter()
        try:
            trained = train_one_epoch(
                model, train_loader, criterion, optimizer, scheduler=scheduler, scaler=scaler,
                device=device, size=low_size if epoch <= low_epochs else None,
                progress=progress, desc=f"epoch {epoch}")
        except FloatingPointError as err:
            raise FloatingPointError(f"Epoch {epoch}: {err} fit's lr={lr}: try lr={lr / 10:g}."
                                     ) from None
        low = epoch <= low_epochs
        probs, val_labels = predict(model, val_loader, device=device,
                                    size=low_size if low else None)
        val_loss = log_loss(val_labels, probs, labels=range(probs.shape[1]))
        val_pred = probs.argmax(1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a class absent from a tiny validation split
            val_bacc = balanced_accuracy_score(val_labels, val_pred)
        rows.append(dict(
            epoch=epoch,
            train_loss=trained["loss"],
            train_accuracy=trained["accuracy"],
            val_loss=val_loss,
            val_accuracy=accuracy_score(val_labels, val_pred),
            val_balanced_accuracy=val_bacc,
            lr=optimizer.param_groups[0]["lr"],
            train_size=trained["size"],
            seconds=time.perf_counter() - start,
        ))
        if not low and val_bacc > best_score:
            best_score = val_bacc
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
            best_epoch = epoch
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history = pd.DataFrame(rows).set_index("epoch")
    history.attrs["best_epoch"] = best_epoch
    return history


def predict(
    model: nn.Module, loader: DataLoader, device: str | None = None, size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities ``(N, num_classes)`` and true labels ``(N,)`` for a whole loader.

    :func:`predict_probs` over the loader's batches (eval mode, each submodule's flag restored
    afterwards). With ``size``, each batch is first shrunk to ``size`` x ``size`` px as
    :func:`shrink` does in training (``fit`` validates its low-resolution epochs this way).
    """
    device = torch.device(device) if device is not None else model_device(model)
    labels = []

    def batches() -> Iterator[torch.Tensor]:
        for batch in loader:
            images, targets = _batch(batch)
            labels.append(targets.numpy())
            images = images.to(device)
            yield images if size is None else shrink(images, size)

    probs = predict_probs(model, batches(), device=device)
    return probs.numpy(), np.concatenate(labels)


def _check_predictions(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """``probs`` ``(N, 7)`` finite in [0, 1] and ``labels`` ``(N,)`` class indices, as arrays."""
    probs, labels = np.asarray(probs, dtype=float), np.asarray(labels)
    if probs.ndim != 2 or probs.shape[1] != len(CLASSES) or len(probs) == 0:
        raise ValueError(f"probs has shape {probs.shape}; expected (N, {len(CLASSES)}) softmax "
                         "probabilities, one row per image (what predict returns).")
    if not np.isfinite(probs).all() or probs.min() < -1e-6 or probs.max() > 1 + 1e-6:
        raise ValueError("probs must be finite probabilities in [0, 1]; apply softmax to logits "
                         "(predict does).")
    if labels.shape != (len(probs),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {len(probs)} integer class indices (one per row of "
                         f"probs), got shape {labels.shape} of {labels.dtype}.")
    if ((labels < 0) | (labels >= len(CLASSES))).any():
        raise ValueError(f"labels must lie in 0..{len(CLASSES) - 1} (indices into CLASSES).")
    return probs, labels


def evaluate(probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Classification metrics for 7-class probabilities, all from scikit-learn.

    ``accuracy``, ``balanced_accuracy`` (mean recall over the classes present), ``macro_f1`` and
    ``weighted_f1`` (over the classes present in labels or predictions), ``roc_auc`` (macro
    one-vs-rest over the classes that have both positives and negatives in ``labels``; NaN if
    none), ``confusion`` (7x7, rows = true class), ``per_class`` (precision, recall, F1,
    support per class code), and ``malignant_sensitivity`` / ``malignant_specificity``: the
    prediction read as malignant (akiec, bcc, mel) or benign, compared with the truth.
    """
    probs, labels = _check_predictions(probs, labels)
    preds = probs.argmax(axis=1)
    every = list(range(len(CLASSES)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes missing from small splits
        bacc = balanced_accuracy_score(labels, preds)
    onehot = label_binarize(labels, classes=every)
    scorable = [k for k in every if 0 < onehot[:, k].sum() < len(labels)]
    roc_auc = (
        float(roc_auc_score(onehot[:, scorable], probs[:, scorable], average="macro"))
        if scorable else float("nan")
    )
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, preds, labels=every, zero_division=0
    )
    true_malignant = np.isin(labels, MALIGNANT_LABELS)
    pred_malignant = np.isin(preds, MALIGNANT_LABELS)
    return {
        "accuracy": float(accuracy_score(labels, preds)),
        "balanced_accuracy": float(bacc),
        "macro_f1": float(f1_score(labels, preds, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(labels, preds, average="weighted", zero_division=0)),
        "roc_auc": roc_auc,
        "confusion": confusion_matrix(labels, preds, labels=every),
        "per_class": pd.DataFrame(
            {"precision": precision, "recall": recall, "f1": f1, "support": support},
            index=pd.Index(CLASSES, name="class"),
        ),
        "malignant_sensitivity": float(
            recall_score(true_malignant, pred_malignant, zero_division=np.nan)
        ),
        "malignant_specificity": float(
            recall_score(true_malignant, pred_malignant, pos_label=False, zero_division=np.nan)
        ),
    }
