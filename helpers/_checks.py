"""Checks at the boundary: small validators that every public function shares.

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
    from torch import Tensor

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


def warn(message: str) -> None:
    """Issue ``message`` as a :class:`TutorialWarning` located by module name and line
    (``helpers.viz:132: TutorialWarning: ...``), not by a file path of the student's machine
    that says nothing to a student. Python's own formatting and filters apply unchanged
    (``warnings.filterwarnings("ignore", category=TutorialWarning)`` silences it)."""
    caller = inspect.currentframe().f_back  # the helpers function that warns
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
