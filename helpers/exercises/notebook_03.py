"""The checks of notebook 03's exercises (Grad-CAM++ derived)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..course.answers import (
    Feedback,
    as_label,
    as_numbers,
    correct,
    exercise_check,
    unreadable,
    wrong,
)
from .guards import finite_answer, one_answer, passed_twice

# --- notebook 03 ------------------------------------------------------------------------------


@exercise_check("03, exercise 1")
def check_03_other_implementation(theirs: Any, reference: Any) -> Feedback:
    """Exercise 1: another implementation's Grad-CAM++ weights (``theirs``) against the
    autograd reference of eq. 19 (``reference``, ``w_eq10 / e_S``), on the same ``A_toy``: two
    arrays of one weight per channel. The check measures the largest difference relative to
    the largest reference weight."""
    twice = passed_twice(theirs, reference, "weight array")
    if twice is not None:
        return twice
    a, problem = finite_answer(theirs, "their weights, one per channel")
    if problem is not None:
        return problem
    b, problem = finite_answer(reference, "the reference weights, one per channel")
    if problem is not None:
        return problem
    if a.shape != b.shape:
        return wrong(f"{a.size} weights against {b.size}: compare the same channels.",
                     "compute both on `A_toy` for the same class.")
    largest = float(np.abs(b).max())
    if largest == 0:
        return wrong("the reference weights are all zero.",
                     "the reference is `w_eq10 / e_S` of section 4.")
    rel = float(np.abs(a - b).max()) / largest
    scale = float(a @ b) / float(b @ b)
    fit = float(np.abs(a - scale * b).max()) / largest
    if rel > 0.5 and fit < 0.05 * abs(scale) and abs(scale - 1) > 0.5:
        return wrong(f"the two are proportional (factor {scale:.3g}), not equal.",
                     "eq. 19 divides out exp(S): compare with `w_eq10 / e_S`, not `w_eq10`.")
    if rel < 1e-4:
        return correct(f"the two agree (difference {rel:.1e} of the largest weight): same "
                       "formula, eps negligible.")
    if rel > 0.5:
        return wrong(f"they differ by {rel:.0%} of the largest weight: more than an eps "
                     "explains.", "compare with `w_eq10 / e_S` (eq. 19 divides out exp(S)) "
                     "on the same `A_toy` and class.")
    return correct(f"they differ by {rel:.1%} of the largest weight: look for a constant added "
                   "to a denominator (eps) and see what scaling the head's weights does to it.")


@exercise_check("03, exercise 2")
def check_03_second_derivative(d2s_max: Any) -> Feedback:
    """Exercise 2: the largest absolute second derivative of ``S`` (not ``exp(S)``) w.r.t. ``A``."""
    value, problem = one_answer(d2s_max, "one number: the largest |second derivative|")
    if problem is not None:
        return problem
    if abs(value) < 1e-9:
        return correct("it is zero: S is linear in A here, so eq. 10 becomes 0/0.")
    return wrong(f"{value:.3g} is not zero.",
                 "differentiate S (the logit), not exp(S); then ask what a linear head's second "
                 "derivative is.")


def blog_and_paper_correlations(model: Any, images: Any, layer: str = "layer3") -> list[float]:
    """Per class, the correlation of the blog's Grad-CAM++ map and the paper's (eq. 19) at
    ``layer`` on ``images[:1]``: the blog applies one ReLU to the channel-summed gradient,
    :math:`\\sum_k \\alpha^{kc}_{ij}\\, \\mathrm{ReLU}(\\sum_{k'} g^{k'}_{ij})\\, A^k_{ij}`, the
    paper one per channel. ``nan`` where a map is constant (e.g. zero everywhere)."""
    import torch

    from helpers.cam import GradCAMPlusPlus

    method = GradCAMPlusPlus(model, layer)
    out = []
    for cls in range(model.fc.out_features):
        paper = method.compute_raw(images[:1], cls)
        acts, grads = method.last_activations, method.last_gradients
        alpha = torch.nan_to_num(grads**2 / (2 * grads**2 + acts.sum(dim=(2, 3), keepdim=True)
                                              * grads**3))
        blog = (alpha * torch.relu(grads.sum(dim=1, keepdim=True)) * acts).sum(dim=1)
        pair = torch.stack([blog.flatten(), paper.flatten()]).double()
        out.append(float(torch.corrcoef(pair)[0, 1]))
    return out


@exercise_check("03, exercise 3")
def check_03_layer3_correlation(correlations: Any, model: Any = None, images: Any = None
                                ) -> Feedback:
    """Exercise 3: the per-class correlations of the blog's and the paper's map at ``layer3``
    (a list, array or tensor; ``nan`` stands for a map that is zero everywhere). ``model`` and
    ``images``: section 6b's trained model and test images, from which the check recomputes
    them (:func:`blog_and_paper_correlations`)."""
    values = as_numbers(correlations)
    if values is None:
        return unreadable(correlations, "one correlation per class")
    if np.any(np.isinf(values)):
        return wrong("a correlation is never infinite.", "use `torch.corrcoef` on the "
                     "flattened maps.")
    finite = values[np.isfinite(values)]
    if np.any(np.abs(finite) > 1 + 1e-6):
        return wrong("a correlation lies in [-1, 1].",
                     "use `torch.corrcoef` on the flattened maps.")
    if finite.size == 0:
        return wrong("every correlation is nan: both maps are zero everywhere.",
                     "use `GradCAMPlusPlus(model, 'layer3')` on the trained model of section 6b.")
    if model is None or images is None:
        return wrong("the check needs the model and images to recompute the correlations.",
                     "call check_03_layer3_correlation(corr3, trained, images).")
    want = np.asarray(blog_and_paper_correlations(model, images), dtype=float)
    if want.size == values.size and np.allclose(values, want, atol=1e-3, equal_nan=True):
        return correct(f"median correlation {np.nanmedian(want):.2f}: at `layer3` the blog's "
                       "all-or-nothing ReLU and the paper's per-channel one part ways.")
    at4 = np.asarray(blog_and_paper_correlations(model, images, "layer4"), dtype=float)
    if at4.size == values.size and np.allclose(values, at4, atol=1e-3, equal_nan=True):
        return wrong("these are the correlations at `layer4`, where the two maps agree.",
                     "use `GradCAMPlusPlus(trained, 'layer3')`.")
    return wrong(f"{values.size} correlations that differ from the maps' at `layer3` "
                 f"({want.size} classes).", "one correlation per class, on `images[:1]`, "
                 "between the blog's map and `compute_raw`'s.")


@exercise_check("03, exercise 4")
def check_03_logit_scale(method: Any) -> Feedback:
    """Exercise 4: which method's energy shares change when the head's weights are rescaled
    (a name such as ``"Grad-CAM++"``, or a list of names)."""
    names = method if isinstance(method, (list, tuple, set)) else [method]
    labels = {as_label(m) for m in names}
    known = {"cam", "gradcam", "gradcam++", "gradcamplusplus", "gradcampp", "gpp"}
    if not labels or not labels <= known:
        return wrong(f"could not read {method!r} as method names.",
                     "name one or more of 'CAM', 'Grad-CAM', 'Grad-CAM++'.")
    plus = labels & {"gradcam++", "gradcamplusplus", "gradcampp", "gpp"}
    if plus and len(labels) == len(plus):
        return correct("only Grad-CAM++ changes: its weights depend on w times the mean "
                       "activation, not on w alone.")
    if plus:
        return wrong("one of those does not change.",
                     "scaling w scales the CAM and Grad-CAM maps; what does normalisation do?")
    return wrong("that one does not change.",
                 "which method's weight has w both above and below the fraction line?")
