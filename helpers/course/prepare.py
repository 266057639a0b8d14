"""The data sets a run uses, ready to read: written once into the cache if missing, then read.

The data flows one way: :mod:`helpers.demo` writes a HAM10000-style folder, :mod:`helpers.data`
reads it; the ``prepare_*`` functions here, to the right of both, ask for the folder and return
its metadata table (with ``path``, ``label`` and the mask columns). A damaged cached set is
refused with a message that says to delete that folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..config import RunConfig
from ..data import HOW_TO_GET, load_metadata
from ..demo.sets import (
    ArtefactSpec,
    artefact_dataset_dir,
    demo_dataset_dir,
    make_demo_dataset,
    make_multi_lesion_set,
    multi_lesion_dir,
)
from .resized import resized_copy

__all__ = ["prepare_metadata", "prepare_artefact_metadata", "prepare_multi_lesion_metadata"]


def prepare_artefact_metadata(cfg: RunConfig, spec: ArtefactSpec,
                              lesion_ids: Iterable[str] | None = None,
                              part: str = "") -> pd.DataFrame:
    """The metadata of ``cfg``'s demo set with an artefact (generated once into the cache).

    Same rows and lesion pixels as :func:`prepare_metadata` on the demo set, plus the columns
    ``artefact`` (0/1) and ``artefact_mask_path``. ``lesion_ids`` with a ``part`` name: only
    those lesions (e.g. ``splits["test"]["lesion_id"]``, ``part="test"``). Always synthetic:
    the real images cannot be given an artefact that is known pixel for pixel.
    """
    if lesion_ids is not None and not part:
        raise ValueError("Name the subset (part='test') so that its cache folder is its own.")
    clean = make_demo_dataset(demo_dataset_dir(cfg), cfg.n_demo_images, cfg.image_size,
                              cfg.seed)  # usually cached already; its images are reused
    root = make_demo_dataset(artefact_dataset_dir(cfg, spec, part), cfg.n_demo_images,
                             cfg.image_size, cfg.seed, artefact=spec, lesion_ids=lesion_ids,
                             base=clean)
    return _load_demo(root)


def _load_demo(root: Path) -> pd.DataFrame:
    """:func:`load_metadata` of a cached demo set; if it is damaged (a file missing or wrong),
    the error says to delete the folder, not where to download HAM10000."""
    try:
        return load_metadata(root)
    except (FileNotFoundError, ValueError) as err:
        reason = str(err).replace(HOW_TO_GET, "").strip()
        raise type(err)(f"The cached demo set {root} is damaged ({reason}). Delete that folder: "
                        "the next run writes it again.") from err


def prepare_metadata(cfg: RunConfig) -> pd.DataFrame:
    """The metadata (with ``path``, ``label``, ``mask_path``) of the data ``cfg`` names.

    ``demo``: generates the demo set once into the cache. ``ham10000``: reads ``cfg.data_dir``
    through its resized copy at ``cfg.image_size`` in the cache (:func:`helpers.resized.
    resized_copy`: made on first use, then reused by every later run with the same cache), so
    ``path`` points at the small images and a run reads each original once.
    """
    if cfg.dataset == "demo":
        root = make_demo_dataset(demo_dataset_dir(cfg), cfg.n_demo_images, cfg.image_size,
                                 cfg.seed)
        return _load_demo(root)
    if cfg.dataset == "ham10000":
        if cfg.data_dir is None:
            raise FileNotFoundError(
                "dataset='ham10000' needs data_dir (set HAM10000_DIR or load_config(data_dir=...))."
                f" {HOW_TO_GET}"
            )
        return load_metadata(resized_copy(cfg.data_dir, cfg.image_size, cfg.cache_dir))
    if cfg.dataset == "dermamnist":
        raise NotImplementedError(
            "DermaMNIST has no metadata table (no lesion ids); load its arrays with "
            "helpers.data.load_dermamnist(npz_path) and wrap them in DermaMNISTDataset."
        )
    raise ValueError(f"Unknown dataset {cfg.dataset!r}.")


def prepare_multi_lesion_metadata(cfg: RunConfig, n_images: int = 70) -> pd.DataFrame:
    """The metadata of the multi-lesion test set for ``cfg`` (generated once into the cache):
    ``path``, ``label``, ``mask_path`` (both lesions), ``lesion1_mask_path``,
    ``lesion2_mask_path`` and ``evidence_path``, at ``cfg.image_size`` with ``cfg.seed``.

    Always synthetic, whatever ``cfg.dataset``: real images with two lesions and their masks
    do not exist in HAM10000. See :func:`make_multi_lesion_set`.
    """
    return _load_demo(make_multi_lesion_set(multi_lesion_dir(cfg, n_images), n_images,
                                            cfg.image_size, cfg.seed))
