"""Shared helpers for the Grad-CAM++ / HAM10000 notebook series.

Modules, in the direction data flows: ``config`` -> ``ham10000`` (classes, layout, splits) ->
``lesions`` (the renderer) -> ``demo`` / ``sources`` (write a folder) -> ``data`` (reads it) ->
``resized`` (a small copy of real data, known by content) -> ``datasets`` (asks for a folder,
reads it) -> ``tensors`` -> ``models`` / ``train`` -> ``cam`` ->
``metrics`` -> ``agreement`` / ``baselines`` / ``timing`` / ``stats`` / ``sanity`` -> ``viz`` ->
``explore`` -> ``user_image``. A module imports only modules to its left (``viz``, ``explore``
and ``user_image`` any).
"""

from .config import RunConfig, load_config

__all__ = ["RunConfig", "load_config"]
__version__ = "0.1.0"
