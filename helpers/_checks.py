"""Checks at the boundary: small validators that every public function shares, and at the end
the guards of a CAM's input, model and output (:mod:`helpers.cam`).

Each one takes the value and the argument's name, returns the value in the form the caller
needs, and otherwise raises an error that names the argument, says what was given and what was
expected, and (with ``hint``) what to do. No other module of ``helpers`` is imported, so every
module may use these; torch is imported only inside the tensor checks, so :mod:`helpers.config`
stays light.
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor, nn

__all__ = [
    "integer",
    "positive_number",
    "share",
    "one_of",
    "folder",
    "writable_file",
    "finite",
    "probabilities",
    "TutorialWarning",
    "warn",
]


class TutorialWarning(UserWarning):
    """A warning of this package: probably a mistake, but it might be meant (a photo whose
    aspect ratio differs from the map's, an image tensor in 0-255)."""


#: which (message, line) pairs have warned already: each prints once, as Python's default does
_WARNED: dict = {}


def warn(message: str, depth: int = 1) -> None:
    """Issue ``message`` as a :class:`TutorialWarning` located by module name and line
    (``helpers.viz:132: TutorialWarning: ...``), not by a file path of the student's machine
    that says nothing to a student. Python's own formatting and filters apply unchanged
    (``warnings.filterwarnings("ignore", category=TutorialWarning)`` silences it)."""
    caller = inspect.currentframe()
    for _ in range(depth):  # depth 1: the helpers function that warns; 2: the one calling it
        caller = caller.f_back
    where = caller.f_globals.get("__name__", "helpers")
    warnings.warn_explicit(message, TutorialWarning, where, caller.f_lineno, module=where,
                           registry=_WARNED)


def _then(hint: str) -> str:
    return f" {hint}" if hint else ""


def flag(value: Any, name: str, *, hint: str = "") -> bool:
    """``value`` when it is a bool (True or False; not "yes", not 1)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name}={value!r}: expected True or False.{_then(hint)}")
    return value


def integer(value: Any, name: str, *, minimum: int | None = 1, hint: str = "") -> int:
    """``value`` as an ``int`` (Python or NumPy integers; not bool, not 3.0) and ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r}: expected a whole number (int).{_then(hint)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value!r}: expected a whole number >= {minimum}.{_then(hint)}")
    return int(value)


def positive_number(value: Any, name: str, *, hint: str = "") -> float:
    """``value`` as a finite ``float > 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r}: expected a positive number.{_then(hint)}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r}: expected a finite number > 0.{_then(hint)}")
    return float(value)


def share(value: Any, name: str, *, hint: str = "") -> float:
    """``value`` as a ``float`` strictly between 0 and 1 (a share of something)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r}: expected a share between 0 and 1.{_then(hint)}")
    if not 0 < value < 1:
        raise ValueError(f"{name}={value!r}: expected a share strictly between 0 and 1."
                         f"{_then(hint)}")
    return float(value)


def one_of(value: Any, name: str, choices: Collection[str], *, hint: str = "") -> str:
    """``value`` when it is one of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(choices)}.{_then(hint)}")
    return value


def folder(path: str | Path, name: str, *, hint: str = "") -> Path:
    """``path`` (``~`` expanded) when it is an existing folder; a file or nothing is an error."""
    path = Path(path).expanduser()
    if path.is_file():
        raise NotADirectoryError(
            f"{name} {path} is a file; expected a folder.{_then(hint)}")
    if not path.is_dir():
        raise FileNotFoundError(f"{name} {path} does not exist.{_then(hint)}")
    return path


def writable_file(path: str | Path, name: str, *, hint: str = "") -> Path:
    """``path`` (``~`` expanded) when a file may be written there: it is not a folder and no
    folder above it is a file (the folders that do not exist yet may be created)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(
            f"{name} {path} is a folder; expected a file name, e.g. {path / 'file'}."
            f"{_then(hint)}")
    for parent in path.parents:
        if parent.is_file():
            raise NotADirectoryError(
                f"{name} {path} cannot be written: {parent} is a file, not a folder. Choose "
                f"another folder, or move that file away.{_then(hint)}")
        if parent.is_dir():
            break
    return path


def unit_range(values: Any, name: str, *, hint: str = "") -> Any:
    """``values`` (a NumPy array of numbers) as float32 when every value is finite and in
    [0, 1] (within 1e-3: rounding); else ValueError giving the range found and ``hint``."""
    import numpy as np

    arr = np.asarray(values)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected numbers, got dtype {arr.dtype}.{_then(hint)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or inf; expected values in [0, 1].{_then(hint)}")
    if arr.size and (arr.min() < -1e-3 or arr.max() > 1 + 1e-3):
        raise ValueError(f"{name} values lie in [{arr.min():.3g}, {arr.max():.3g}]; expected "
                         f"[0, 1].{_then(hint)}")
    return arr.astype(np.float32)


def finite(tensor: Tensor, name: str, *, hint: str = "") -> Tensor:
    """``tensor`` when every value is finite; else ValueError naming the images (first dim)."""
    import torch

    bad = ~torch.isfinite(tensor.detach())
    if bad.any():
        where = bad.flatten(1).any(dim=1) if bad.dim() > 1 else bad
        images = torch.nonzero(where).flatten().tolist()
        shown = ", ".join(map(str, images[:5])) + (", ..." if len(images) > 5 else "")
        raise ValueError(
            f"{name} holds NaN or inf ({int(bad.sum())} values; index {shown} along its first "
            f"dimension).{_then(hint)}"
        )
    return tensor


def probabilities(values: Any, name: str, *, hint: str = "") -> Tensor:
    """``values``, one probability per image, as a 1-D float64 CPU tensor in [0, 1].

    A matrix such as ``(B, 7)`` softmax outputs is refused: pick the target class's column.
    """
    import torch

    try:
        p = torch.as_tensor(values, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name}: expected one probability per image, got "
                        f"{type(values).__name__}.{_then(hint)}") from err
    if p.dim() == 0:
        p = p.reshape(1)
    if p.dim() != 1:
        raise ValueError(
            f"{name} has shape {tuple(p.shape)}; expected one probability per image, shape (B,). "
            "For a (B, classes) matrix take the target class's column, e.g. "
            "probs.gather(1, idx[:, None])[:, 0], or use class_probabilities(model, x, idx)."
        )
    finite(p, name, hint=hint or "Probabilities must be finite; were logits passed?")
    if ((p < -1e-6) | (p > 1 + 1e-6)).any():  # float32 softmax may round past 1 by an ulp
        raise ValueError(
            f"{name} has values outside [0, 1] (min {p.min().item():.3g}, max "
            f"{p.max().item():.3g}): expected probabilities, e.g. logits.softmax(dim=1), "
            f"not logits.{_then(hint)}"
        )
    return p


# --- a CAM's input, model and output (helpers.cam) ---------------------------------------------

#: a CAM's input: a normalised image (ImageNet mean/std) lies in about [-2.2, 2.7]; far beyond
#: it is raw pixels
NORMALISED_MAX = 10.0


def classifier(model: Any) -> nn.Module:
    """``model`` when it is a torch ``nn.Module`` (the classifier a CAM explains)."""
    from torch import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch nn.Module (the classifier), got "
                        f"{type(model).__name__}; e.g. helpers.models.build_model('resnet50') "
                        "or a loaded checkpoint's model.")
    return model


def layer_names_hint(model: nn.Module, limit: int = 8) -> str:
    """The model's top-level layer names and a few deeper ones, for an unknown layer name."""
    top = [name for name, _ in model.named_children()]
    deeper = [name for name, _ in model.named_modules() if name.count(".") == 1][-limit:]
    hint = f"top-level layers: {', '.join(top) or '(none)'}"
    return hint + (f"; deeper ones look like: {', '.join(deeper)}" if deeper else "")


def image_batch(x: Any) -> Tensor:
    """A CAM's input ``x`` as a finite float batch ``(B, C, H, W)`` (an image ``(C, H, W)``
    gains ``B = 1``).

    Values beyond :data:`NORMALISED_MAX` in size (0-255 pixels, no ``ToTensor``/``Normalize``)
    warn: the map of such an input looks ordinary but is not the one of the normalised image.
    """
    from torch import Tensor

    if not isinstance(x, Tensor):
        raise TypeError(f"expected the input as a torch.Tensor (B, C, H, W), got "
                        f"{type(x).__name__}; eval_transform(size)(image)[None] makes one")
    if not x.is_floating_point():
        raise TypeError(f"expected a float input, got {x.dtype}: normalise the image first, e.g. "
                        "with helpers.data.eval_transform")
    x = x.unsqueeze(0) if x.dim() == 3 else x
    finite(x, "the input", hint=(
        "A CAM of such an input would be meaningless: find where the NaN/inf came from "
        "(a broken image, a division by zero in preprocessing)."))
    peak = float(x.detach().abs().amax()) if x.numel() else 0.0
    if peak > NORMALISED_MAX:
        warn(
            f"the input's values reach {peak:.4g}; a normalised image lies in about [-2.2, 2.7]. "
            "Were ToTensor and Normalize skipped (pixels in 0-255)? The map of such an input "
            "looks ordinary but is wrong: make the input with helpers.data.eval_transform.",
            depth=2)  # located at the CAM method that was called
    if x.dim() != 4:
        raise ValueError(f"expected an image batch (B, C, H, W), got shape {tuple(x.shape)}")
    return x


def model_failed(x: Tensor, err: RuntimeError) -> RuntimeError:
    """The error to raise when the model cannot run on a CAM's input ``x``."""
    return RuntimeError(
        f"the model could not run on the input of shape {tuple(x.shape)} ({err}). "
        "Check the channels (3 for RGB: image.convert('RGB')), the size and the device "
        "(x.to(next(model.parameters()).device)); helpers.data.eval_transform makes a "
        "fitting input.")


def logits(out: Any) -> Tensor:
    """The model's output when it is finite logits ``(B, num_classes)``; else a clear error."""
    from torch import Tensor

    if not isinstance(out, Tensor):
        if isinstance(getattr(out, "logits", None), Tensor):
            pick = "self.model(x).logits`"
        elif isinstance(out, dict):
            keys = [k for k in out if isinstance(out[k], Tensor)] or list(out)
            key = next((k for k in ("logits", "out") if k in out), keys[0] if keys else "...")
            pick = f"self.model(x)[{key!r}]` (the dict's keys: {', '.join(map(repr, out))})"
        else:
            pick = "self.model(x)[0]`"
        hint = f"wrap it in a small nn.Module whose forward returns `{pick}"
        raise TypeError(f"the model returned a {type(out).__name__}, but a CAM needs a tensor "
                        f"of logits (B, num_classes); {hint}")
    if out.dim() != 2:
        raise ValueError(f"the model's output has shape {tuple(out.shape)}; a CAM needs logits "
                         "(B, num_classes) from a classifier")
    finite(out, "the model's output (logits)", hint=(
        "The input was finite, so the model itself produces NaN/inf: its weights are damaged "
        "or training diverged; reload or retrain it."))
    return out


def feature_map(captured: list[Tensor]) -> Tensor:
    """The target layer's output of the forward pass, when it is a ``(B, K, h, w)`` map."""
    if not captured:
        raise RuntimeError("the target layer was not used in the model's forward pass")
    if captured[-1].dim() != 4:
        raise ValueError(
            f"the target layer's output has shape {tuple(captured[-1].shape)}; "
            "a CAM needs a (B, K, h, w) feature map: pick a convolutional layer"
        )
    return captured[-1]


def no_inference_params(model: nn.Module, method: str, uses_gradients: bool) -> None:
    """A gradient method needs a model whose parameters were not made in inference mode."""
    inference_params = [n for n, p in model.named_parameters() if p.is_inference()]
    if inference_params and uses_gradients:
        raise RuntimeError(
            f"{method} needs gradients, but the model's parameters (e.g. "
            f"{inference_params[0]}) were made inside torch.inference_mode(), which records "
            "no gradients for them. Build or load the model outside inference_mode (use "
            "torch.no_grad() where you want to save memory).")
