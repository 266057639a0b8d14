"""Shared helpers for the Grad-CAM++ / HAM10000 notebook series.

The lessons live here, one concept a module, in the direction data flows: ``config`` ->
``data`` (the HAM10000 layout: classes, metadata, splits, transforms, a table as tensors) ->
``models`` / ``train`` / ``calibration`` -> ``cam`` -> ``metrics`` (+ ``baselines``) /
``agreement`` / ``stats`` / ``sanity`` / ``timing`` -> ``viz`` -> ``explore`` -> ``user_image``;
``imagenet`` (a real pretrained network) and ``exercises`` (the notebooks' checks) beside them.

Two wings sit below: :mod:`helpers.demo` draws the synthetic stand-in for HAM10000, and
:mod:`helpers.course` runs the class (Colab set-up, data routes, the resized copy, publishing,
the training lock, the exercise-check framework). Neither imports a lesson module.
"""

from .config import RunConfig, load_config

__all__ = ["RunConfig", "load_config"]
__version__ = "0.1.0"
