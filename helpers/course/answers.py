"""Reading a student's answer in any form, and the feedback a check gives on it.

The framework of :mod:`helpers.exercises`: :class:`Feedback` (``ok``, ``message``, ``hint``;
shown as Markdown in JupyterLab and Colab, as text under ``print``, truthy when correct),
:func:`correct` and :func:`wrong` to make one, :func:`as_numbers` / :func:`as_number` /
:func:`as_label` to read an answer tolerantly (a Python or NumPy number, a tensor, a list, a
Series, a dict's values, or a string such as ``"0.35"``, ``"35 %"`` or ``"1,954"``), and the
decorator :func:`exercise_check`, which turns anything a check raises into a "could not read"
feedback, so that a check never raises on a wrong answer.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Feedback", "correct", "wrong", "as_numbers", "as_number", "as_label",
           "exercise_check", "unreadable"]


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``ok``, what is right or off (``message``), a ``hint``."""

    ok: bool
    message: str
    hint: str = ""
    exercise: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def _head(self) -> str:
        mark = "Correct" if self.ok else "Not yet"
        return f"{mark} ({self.exercise})" if self.exercise else mark

    def __str__(self) -> str:
        text = f"{self._head()}: {self.message}"
        return f"{text}\nHint: {self.hint}" if self.hint else text

    def _repr_markdown_(self) -> str:
        icon = "✅" if self.ok else "❌"
        text = f"{icon} **{self._head()}**: {self.message}"
        return f"{text}\n\n*Hint:* {self.hint}" if self.hint else text


def correct(message: str) -> Feedback:
    """A right answer, with a sentence on what it shows."""
    return Feedback(True, message)


def wrong(message: str, hint: str = "") -> Feedback:
    """An answer that is off: what is off (``message``) and where to look (``hint``)."""
    return Feedback(False, message, hint)


_NUMBER = re.compile(r"[-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*%?")


def _from_string(text: str) -> list[float]:
    out = []
    for token in _NUMBER.findall(text):
        token = token.strip()
        percent = token.endswith("%")
        token = token.rstrip("%").strip().replace(",", "").replace("_", "")
        value = float(token)
        out.append(value / 100 if percent else value)
    return out


def as_numbers(value: Any) -> np.ndarray | None:
    """``value`` as a flat float array, or ``None`` when it holds no numbers.

    Reads numbers, NumPy arrays, tensors (anything with ``.detach()``/``.numpy()``), lists,
    tuples, pandas objects, dict values and strings (``"35 %"`` is 0.35, ``"1,954"`` is 1954).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        found = _from_string(value)
        return np.asarray(found, dtype=float) if found else None
    if isinstance(value, Mapping):
        value = list(value.values())
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    if hasattr(value, "to_numpy"):  # pandas
        value = value.to_numpy()
    if isinstance(value, (list, tuple)):
        parts = [as_numbers(v) for v in value]
        if any(p is None for p in parts):
            return None
        return np.concatenate([p for p in parts if p is not None]) if parts else None
    try:
        array = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    return array if array.size else None


def as_number(value: Any) -> float | None:
    """``value`` as one float (a one-element list or tensor is fine), else ``None``."""
    array = as_numbers(value)
    if array is None or array.size != 1:
        return None
    return float(array[0])


def as_label(value: Any) -> str:
    """``value`` as a lower-case label without spaces, dashes or underscores ("Grad-CAM++" ->
    "gradcam++"); a one-element list, Series or Index gives its element."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    return re.sub(r"[\s\-_]+", "", str(value)).lower()


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


STRICT_ENV = "HELPERS_STRICT_CHECKS"  #: "1": a check that says wrong raises (the test run only)


def exercise_check(name: str, *, timed: bool = False
                   ) -> Callable[[Callable[..., Feedback]], Callable[..., Feedback]]:
    """Decorator: label the feedback with ``name`` and turn any exception into feedback.

    Under ``HELPERS_STRICT_CHECKS=1``, which the tests set for the notebooks' kernels and which
    no student's session has, a check whose feedback is "wrong" raises AssertionError: the
    notebooks' solution cells end with their check, so a solution that stops matching its
    check fails the test run. ``timed=True`` marks a check of measured times, which never
    raises (a busy machine changes times; tests assert no times).
    """

    def wrap(check: Callable[..., Feedback]) -> Callable[..., Feedback]:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> Feedback:
            try:
                result = check(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - a check must never raise at a student
                first = _describe(args[0]) if args else "nothing"
                result = wrong(
                    f"could not read the answer ({first}): {type(error).__name__}: {error}",
                    "pass the value your solution computes; see the check's docstring "
                    f"(`help({check.__name__})`) for the form it expects.",
                )
            feedback = Feedback(result.ok, result.message, result.hint, name)
            if not feedback.ok and not timed and os.environ.get(STRICT_ENV) == "1":
                raise AssertionError(f"{STRICT_ENV}: the solution of {name} no longer passes its "
                                     f"check: {feedback.message} {feedback.hint}")
            return feedback

        return run

    return wrap


def unreadable(value: Any, expected: str) -> Feedback:
    return wrong(f"got {_describe(value)}, expected {expected}.",
                 "pass the number(s) your code printed, e.g. a float, a list or a tensor.")
