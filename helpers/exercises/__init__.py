"""Exercise checks: a student passes an answer, a check says whether it is right. One module a
notebook (:mod:`.notebook_01` ... :mod:`.notebook_08`), what they share in :mod:`.guards`.

One ``check_NN_name`` function per exercise with a computable answer (``NN`` is the notebook).
Every check returns a :class:`Feedback`: ``ok`` (bool), a ``message`` that says what is right or
what is off, and a ``hint`` towards the fix. A check never prints the solution and never raises:
an answer it cannot read (a string where a number belongs, ``None``, a tensor of the wrong
shape) gets a :class:`Feedback` that says what form was expected.

The object shows itself as Markdown in JupyterLab and Colab when it is the last line of a cell
(``_repr_markdown_``), as plain text under ``print`` (``__str__``), and is truthy when correct,
so ``assert check_01_site(answer)`` works in a test.

Answers are read tolerantly by :func:`as_numbers` / :func:`as_number`: a Python or NumPy number,
a 0-d or n-d tensor (PyTorch, detached and moved to the CPU), a list or tuple, a pandas Series or
DataFrame column, a dict's values, or a string such as ``"0.35"``, ``"35 %"`` or ``"1,954"``.

To write a new check: decorate a function in its notebook's module with
:func:`~helpers.course.answers.exercise_check`; inside, read the answer with
:func:`~helpers.course.answers.as_number` (``None`` when it cannot be read) and return
:func:`~helpers.course.answers.correct` or :func:`~helpers.course.answers.wrong` (the framework
lives in :mod:`helpers.course.answers`; its names are re-exported here). Anything that raises
inside the function becomes a "could not read" feedback.

The checks follow the notebooks' order, 01 to 09. NaN and inf are never a right answer,
and one map or table passed for the two a comparison needs is never a comparison.
"""

from ..course.answers import (
    Feedback,
    as_label,
    as_number,
    as_numbers,
    correct,
    exercise_check,
    wrong,
)
from .notebook_01 import (
    check_01_age_medians,
    check_01_leakage,
    check_01_metadata_features,
    check_01_site,
)
from .notebook_02 import check_02_image_split, check_02_threshold, check_02_unweighted
from .notebook_03 import (
    blog_and_paper_correlations,
    check_03_layer3_correlation,
    check_03_logit_scale,
    check_03_other_implementation,
    check_03_second_derivative,
)
from .notebook_04 import check_04_layercam_is_positive_cam, check_04_score_cam_top_k
from .notebook_05 import check_05_average_drop_all_ones, check_05_layer3_ranking
from .notebook_06 import (
    check_06_choice,
    check_06_fair_ink,
    check_06_ruler,
    check_06_score_cam,
    check_06_ssim_floors,
)
from .notebook_07 import check_07_ig_steps, check_07_occlusion_passes, check_07_randomisation
from .notebook_08 import check_08_alpha_positions, check_08_smaller_copy
from .notebook_09 import (
    check_09_contrast_overlap,
    check_09_contrastive_is_cam,
    check_09_exact_score_cam,
)

__all__ = [
    "Feedback",
    "as_number",
    "as_numbers",
    "as_label",
    "correct",
    "wrong",
    "exercise_check",
    "check_01_site",
    "check_01_leakage",
    "check_01_age_medians",
    "check_01_metadata_features",
    "check_02_unweighted",
    "check_02_image_split",
    "check_02_threshold",
    "check_03_other_implementation",
    "check_03_second_derivative",
    "check_03_layer3_correlation",
    "check_03_logit_scale",
    "blog_and_paper_correlations",
    "check_04_layercam_is_positive_cam",
    "check_04_score_cam_top_k",
    "check_05_average_drop_all_ones",
    "check_05_layer3_ranking",
    "check_06_ruler",
    "check_06_score_cam",
    "check_06_ssim_floors",
    "check_06_fair_ink",
    "check_06_choice",
    "check_09_contrast_overlap",
    "check_09_contrastive_is_cam",
    "check_09_exact_score_cam",
    "check_08_smaller_copy",
    "check_08_alpha_positions",
    "check_07_ig_steps",
    "check_07_randomisation",
    "check_07_occlusion_passes",
]
