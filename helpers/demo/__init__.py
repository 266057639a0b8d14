"""The synthetic stand-in for HAM10000: :mod:`~helpers.demo.sets` writes the demo data sets (rows
drawn from the real metadata, pixels drawn by :mod:`~helpers.demo.render`), in the HAM10000
layout that :mod:`helpers.data` reads. Nothing here is a lesson: it is what the lessons run on
when the real images are not at hand.
"""

from .sets import (
    LOOK_ALIKES,
    ArtefactSpec,
    artefact_dataset_dir,
    artefact_flags,
    balanced_accuracy_ceiling,
    demo_dataset_dir,
    demo_looks,
    make_demo_dataset,
    make_multi_lesion_set,
    multi_lesion_dir,
)

__all__ = ["LOOK_ALIKES", "ArtefactSpec", "artefact_dataset_dir", "artefact_flags",
           "balanced_accuracy_ceiling", "demo_dataset_dir", "demo_looks", "make_demo_dataset",
           "make_multi_lesion_set", "multi_lesion_dir"]
