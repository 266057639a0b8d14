r"""Class activation maps: CAM, Grad-CAM, Grad-CAM++, Score-CAM and three cheap relatives.

Every method shares one base class, :class:`BaseCAM`, which does the chores: it finds the target
layer, hooks it for exactly one call, picks the target classes, takes the gradient of the class
score with respect to the layer's activations, and post-processes the map. A method only says how
to weigh the activations :math:`A^k` (``weights``), in a few lines under its formula.

>>> cam = GradCAMPlusPlus(model, target_layer="layer4")  # a dotted name ("layer4.2") or a module
>>> heatmap = cam(input_tensor, class_idx=None)  # (B, H, W) in [0, 1]; None: the predicted class
>>> cam.visualize(image, heatmap)  # image, heatmap and overlay side by side

Notation (notebook 03's; a paper's own symbol in brackets where it differs): the target layer's
output :math:`A` is ``(B, K, h, w)``, channel :math:`A^k` has :math:`Z = h w` positions
:math:`(i, j)`; :math:`S^c` is the logit of class :math:`c` (the papers' :math:`y^c`),
:math:`g^{kc}_{ij} = \partial S^c / \partial A^k_{ij}` its gradient, :math:`w^c_k` the weight of
channel :math:`k` and :math:`L^c` the map.

The map of class :math:`c` is :math:`L^c = \mathrm{ReLU}(\sum_k w_k^c A^k)` at the layer's
resolution (or :math:`\mathrm{ReLU}(\sum_k W^c_k \odot A^k)` for the elementwise methods
LayerCAM and HiResCAM); ``cam(x)`` then upsamples it bilinearly (``align_corners=False``) to the
input's height and width and min-max normalises each image to [0, 1]; a map that is constant at
the layer's resolution (all zero, or a single position, e.g. layer4 of a 32-px input), up to float
rounding, becomes all zero. The result is a detached float tensor on the input's device; an
empty batch gives an empty ``(0, H, W)`` tensor.
Refused with an error that says what to do: an input with NaN or inf, a non-float input, a model
that returns anything but finite logits ``(B, num_classes)`` (a tuple, say), a ``class_idx``
that is not an int (``3.7`` is not rounded).

Contract kept by every call: the model runs in eval mode and its own train/eval flags are
restored afterwards; hooks are removed before the call returns, also when it raises; gradients
are taken with ``torch.autograd.grad`` with respect to the activations only, so no parameter gets
a ``.grad`` and back-propagation stops at the target layer (the input needs no ``requires_grad``);
a call inside ``torch.no_grad()`` or ``torch.inference_mode()`` works (autograd is switched
back on for the call; the model must not have been made inside inference mode). The forward
pass records no autograd graph below the layer, which saves time and memory. The activations
are the layer's own output: the hook hands a copy downstream, so a later in-place op
(``ReLU(inplace=True)``) cannot change them.

For teaching, :meth:`BaseCAM.compute_raw` returns the layer-resolution map before upsampling and
normalisation, and each call leaves ``last_activations``, ``last_gradients``, ``last_weights`` and
``last_class_idx`` on the object.

The file reads top down: the base class, the methods, the contrastive map, the shared pieces
(finding a layer, the target classes, normalisation), and last CAM's own guards; the guards of
the input, the model and its output are in :mod:`helpers._checks`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import _checks as checks
from .train import eval_mode

__all__ = [
    "BaseCAM",
    "CAM",
    "GradCAM",
    "GradCAMPlusPlus",
    "ScoreCAM",
    "LayerCAM",
    "XGradCAM",
    "HiResCAM",
    "ContrastiveGradCAM",
    "METHODS",
    "find_layer",
    "resolve_class_idx",
    "normalize_maps",
    "runner_up",
]

ClassIdx = int | Sequence[int] | Tensor | None


# --- the base class -----------------------------------------------------------------------------


class BaseCAM:
    r"""Everything the CAM methods share; a subclass implements :meth:`weights` only.

    Args:
        model: a classifier returning logits ``(B, num_classes)``.
        target_layer: the layer whose output :math:`A` (``(B, K, h, w)``) is explained, as a
            dotted name from ``model.named_modules()`` (``"layer4"``) or the module itself.
    """

    #: whether :meth:`weights` needs the gradients (False: the forward pass runs without a graph)
    uses_gradients: bool = True

    def __init__(self, model: nn.Module, target_layer: str | nn.Module = "layer4") -> None:
        self.model = checks.classifier(model)
        self.target_layer = find_layer(model, target_layer)
        self.last_activations: Tensor | None = None
        self.last_gradients: Tensor | None = None
        self.last_weights: Tensor | None = None
        self.last_class_idx: Tensor | None = None

    def weights(
        self,
        activations: Tensor,
        gradients: Tensor | None = None,
        inputs: Tensor | None = None,
        class_idx: Tensor | None = None,
    ) -> Tensor:
        r"""The method's weights: ``(B, K)`` per channel (:math:`w^c_k`), or ``(B, K, h, w)``
        per position.

        ``activations`` :math:`A` and ``gradients`` :math:`g = \partial S^c / \partial A` are
        ``(B, K, h, w)``; ``inputs`` and ``class_idx`` are there for the methods that need them.
        """
        raise NotImplementedError

    def class_score(self, logits: Tensor, class_idx: Tensor) -> Tensor:
        r"""The score :math:`S^c` of each image's target class, ``(B,)``, whose gradient the
        gradient methods take: the logit. :class:`ContrastiveGradCAM` overrides it."""
        return logits.gather(1, class_idx[:, None])[:, 0]

    def __call__(self, x: Tensor, class_idx: ClassIdx = None) -> Tensor:
        """Heatmaps ``(B, H, W)`` in [0, 1] at the input's size, on the input's device."""
        raw = self.compute_raw(x, class_idx)  # checks x
        up = F.interpolate(raw[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)
        maps = normalize_maps(up[:, 0])
        # constant at the layer's resolution (a 1x1 map too): zero, whatever upsampling made of it
        return torch.where(flat_maps(raw).view(-1, 1, 1), 0.0, maps)

    def compute_raw(self, x: Tensor, class_idx: ClassIdx = None) -> Tensor:
        r""":math:`\mathrm{ReLU}(\sum_k w^c_k A^k)` at the layer's resolution ``(B, h, w)``."""
        x = checks.image_batch(x)
        if torch.is_inference_mode_enabled() or x.is_inference():
            return self._outside_inference_mode(x, class_idx)
        with eval_mode(self.model):
            with torch.set_grad_enabled(self.uses_gradients):
                logits, acts = self._forward(x)
                cls = resolve_class_idx(class_idx, logits)
                grads = None
                if self.uses_gradients:
                    score = self.class_score(logits, cls).sum()  # images are independent
                    (grads,) = torch.autograd.grad(score, acts)
            acts = acts.detach()
            with torch.no_grad():
                w = self.weights(acts, grads, inputs=x, class_idx=cls)
                weighted = w[..., None, None] * acts if w.dim() == 2 else w * acts
                raw = F.relu(weighted.sum(dim=1)).float()
            checks.finite(raw, "the map", hint=(
                "The input and the logits were finite, so the layer's activations or gradients "
                "overflowed; check the model's weights."))
        self.last_activations, self.last_gradients = acts, grads
        self.last_weights, self.last_class_idx = w, cls
        return raw

    def _outside_inference_mode(self, x: Tensor, class_idx: ClassIdx) -> Tensor:
        """:meth:`compute_raw` for a call inside ``torch.inference_mode()`` (or on a tensor made
        there): autograd is switched back on for this call and ``x`` copied out of it."""
        checks.no_inference_params(self.model, type(self).__name__, self.uses_gradients)
        with torch.inference_mode(False):
            return self.compute_raw(x.clone(), class_idx)

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Logits and the layer's output :math:`A`, hooked for this forward pass only."""
        captured: list[Tensor] = []
        record_above = torch.is_grad_enabled()  # compute_raw: True for the gradient methods

        def hook(module: nn.Module, args: Any, output: Tensor) -> Tensor:
            # The forward pass runs under no_grad (below), so the layers before the target record
            # no graph: back-propagation stops at A, which saves time and memory. Here recording
            # is switched back on, so the layers after it build the graph from A to the logits;
            # leaving the no_grad block restores the caller's setting. A is kept as the graph's
            # leaf, the layers after get a copy (an in-place op there cannot change A).
            torch.set_grad_enabled(record_above)
            acts = output.detach().requires_grad_(record_above)
            captured.append(acts)
            return acts.clone()

        handle = self.target_layer.register_forward_hook(hook)
        try:
            with torch.no_grad():
                logits = self.model(x)
        except RuntimeError as err:
            raise checks.model_failed(x, err) from err
        finally:
            handle.remove()
        return checks.logits(logits), checks.feature_map(captured)

    def visualize(self, image: Any, heatmap: Tensor, **kwargs: Any) -> Any:
        """Show image, heatmap and overlay side by side (see :func:`helpers.viz.show_cam`).

        A map and an image of different aspect ratios (a 4:3 photo, the square map of the
        model's input): ``fit="stretch"`` stretches the map over the photo (right when the model
        saw it squashed, ``transforms.Resize((224, 224))``); ``fit="crop"`` draws it over the
        photo's centre crop (right after ``Resize`` + ``CenterCrop``, as
        :func:`helpers.data.eval_transform` does); without ``fit`` it stretches and warns.
        """
        from . import viz  # lazy: computing maps must not need matplotlib

        kwargs.setdefault("title", type(self).__name__)
        return viz.show_cam(image, heatmap, **kwargs)

    # Hooks live for one call only; the context manager is for symmetry with pytorch-grad-cam.
    def release(self) -> None:
        """Drop the tensors kept from the last call (no hooks outlive a call anyway)."""
        self.last_activations = self.last_gradients = self.last_weights = None

    def __enter__(self) -> BaseCAM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        names = {m: n for n, m in self.model.named_modules()}
        return f"{type(self).__name__}(target_layer={names.get(self.target_layer, '?')!r})"


# --- the methods: each adds only its weights ----------------------------------------------------


class CAM(BaseCAM):
    r"""CAM (Zhou et al. 2016, "Learning Deep Features for Discriminative Localization", Sec. 2).

    .. math:: M^c = \sum_k w^c_k A^k \quad [\text{the paper's } M_c(x, y) =
              \textstyle\sum_k w_k^c f_k(x, y)]

    :math:`w^c_k` is the weight of channel :math:`k` for class :math:`c` in the final linear layer
    that follows global average pooling. Forward pass only. It needs a GAP + linear head directly
    after the target layer (``fc`` of a ResNet, ``classifier`` of DenseNet, MobileNetV2 and
    EfficientNet); the model's last ``nn.Linear`` is taken as that head.

    Defined in notebook 03, section 1 ("CAM: the classifier's weights as a map").
    """

    uses_gradients = False

    def __init__(self, model: nn.Module, target_layer: str | nn.Module = "layer4") -> None:
        super().__init__(model, target_layer)
        self.fc = _last_linear(model)

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """As :meth:`BaseCAM._forward`, and checks that the head reads the target layer's global
        average (:func:`_check_cam_head`)."""
        head_inputs: list[Tensor] = []
        handle = self.fc.register_forward_pre_hook(
            lambda module, args: head_inputs.append(args[0].detach()))
        try:
            logits, acts = super()._forward(x)
        finally:
            handle.remove()
        _check_cam_head(self, acts, head_inputs[-1] if head_inputs else None)
        return logits, acts

    def weights(
        self,
        activations: Tensor,
        gradients: Tensor | None = None,
        inputs: Tensor | None = None,
        class_idx: Tensor | None = None,
    ) -> Tensor:
        return self.fc.weight[class_idx].to(activations.dtype)


class GradCAM(BaseCAM):
    r"""Grad-CAM (Selvaraju et al. 2017, arXiv 1610.02391, eq. 1-2).

    .. math:: w^c_k = \frac{1}{Z}\sum_i\sum_j g^{kc}_{ij}, \qquad
              L^c = \mathrm{ReLU}\Big(\sum_k w^c_k A^k\Big)

    [the paper's :math:`\alpha_k^c = \frac{1}{Z}\sum_i\sum_j \partial y^c / \partial A^k_{ij}`],
    with :math:`S^c` [:math:`y^c`] the class score before the softmax (the logit).

    Defined in notebook 03, section 2 ("Grad-CAM: weights are average gradients").
    """

    def weights(
        self,
        activations: Tensor,
        gradients: Tensor | None = None,
        inputs: Tensor | None = None,
        class_idx: Tensor | None = None,
    ) -> Tensor:
        return gradients.mean(dim=(2, 3))


class GradCAMPlusPlus(BaseCAM):
    r"""Grad-CAM++ (Chattopadhyay et al. 2018, arXiv 1710.11063: eq. 10 in its closed form eq. 19).

    With :math:`Y^c = \exp(S^c)` and :math:`g = g^{kc}_{ij}` the logit's gradient, eq. 10's
    higher derivatives become powers of :math:`g` (eq. 19):

    .. math:: \alpha^{kc}_{ij} = \frac{g_{ij}^2}{2 g_{ij}^2 + \sum_a\sum_b A^k_{ab}\, g_{ij}^3}
              \quad (0 \text{ where the denominator is } 0), \qquad
              w^c_k = \sum_i\sum_j \alpha^{kc}_{ij}\, \mathrm{ReLU}(g_{ij}), \qquad
              L^c = \mathrm{ReLU}\Big(\sum_k w^c_k A^k\Big)

    (The common factor :math:`\exp(S^c)` of :math:`\partial Y^c/\partial A = \exp(S^c)\, g` is
    dropped from the weights; it does not change the normalised map.)

    Derived in notebook 03, section 4 ("The derivation: eq. 10 and its closed form, eq. 19");
    section 5 builds it from scratch and checks it against this class.
    """

    def weights(
        self,
        activations: Tensor,
        gradients: Tensor | None = None,
        inputs: Tensor | None = None,
        class_idx: Tensor | None = None,
    ) -> Tensor:
        g2 = gradients.pow(2)
        g3 = g2 * gradients
        denom = 2 * g2 + activations.sum(dim=(2, 3), keepdim=True) * g3
        alpha = torch.where(denom != 0, g2 / torch.where(denom != 0, denom, 1), 0.0)
        return (alpha * F.relu(gradients)).sum(dim=(2, 3))


class ScoreCAM(BaseCAM):
    r"""Score-CAM (Wang et al. 2020, arXiv 1910.01279, Sec. 3 and the authors' code).

    .. math:: H^k = s(\mathrm{Up}(A^k)), \qquad
              w^c_k = \mathrm{softmax}\big(f(X \circ H^k)\big)_c, \qquad
              L^c = \mathrm{ReLU}\Big(\sum_k w^c_k A^k\Big)

    :math:`s` is min-max normalisation to [0, 1] and :math:`\mathrm{Up}` bilinear upsampling to
    the input size: each channel masks the input and is weighted by the target class's softmax
    probability on the masked image. Forward passes only: one per channel, ``batch_size`` at a
    time. Exact by default. A channel whose map is constant has a zero mask, so all such channels
    share one masked input, the all-zero image, scored once per call. (The authors' code skips
    them, i.e. gives them weight 0; the two agree for all-zero channels, the usual case after a
    ReLU.)

    Defined in notebook 04 ("Score-CAM, defined").

    Args:
        batch_size: masked images per forward pass.
        top_k: an approximation: score only the ``top_k`` channels with the largest spatial mean
            activation per image and give the others weight 0 (the benchmark measures its error).
        progress: show a tqdm progress bar.
    """

    uses_gradients = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module = "layer4",
        *,
        batch_size: int = 32,
        top_k: int | None = None,
        progress: bool = False,
    ) -> None:
        super().__init__(model, target_layer)
        self.batch_size, self.top_k, self.progress = _check_score_cam_args(
            batch_size, top_k, progress)

    def weights(
        self,
        activations: Tensor,
        gradients: Tensor | None = None,
        inputs: Tensor | None = None,
        class_idx: Tensor | None = None,
    ) -> Tensor:
        low, span = _channel_minmax(activations)
        constant = span.flatten(1) == 0  # (B, K): zero mask -> the all-zero image
        keep = ~constant
        if self.top_k is not None and self.top_k < activations.shape[1]:
            strongest = activations.mean(dim=(2, 3)).topk(self.top_k, dim=1).indices
            keep &= torch.zeros_like(keep).scatter_(1, strongest, True)
            constant &= torch.zeros_like(constant).scatter_(1, strongest, True)
        w = torch.zeros(activations.shape[:2], device=activations.device)
        if constant.any():
            zero_score = self._probs(torch.zeros_like(inputs[:1]))[0]
            w[constant] = zero_score[class_idx[constant.nonzero()[:, 0]]]
        jobs = [(b, k) for b, k in keep.nonzero().tolist()]
        steps = range(0, len(jobs), self.batch_size)
        if self.progress:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc="Score-CAM", unit="batch")
        for start in steps:
            b, k = torch.tensor(jobs[start : start + self.batch_size], device=inputs.device).T
            probs = self._probs(inputs[b] * self._masks(activations[b, k], inputs.shape[-2:]))
            w[b, k] = probs.gather(1, class_idx[b][:, None])[:, 0]
        return w

    @staticmethod
    def _masks(maps: Tensor, size: torch.Size) -> Tensor:
        """``(n, h, w)`` maps upsampled to ``size`` and min-max normalised: ``(n, 1, H, W)``."""
        up = F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)
        low, span = _channel_minmax(up)
        return torch.where(span > 0, (up - low) / span.clamp_min(torch.finfo(up.dtype).tiny), 0.0)

    def _probs(self, batch: Tensor) -> Tensor:
        return F.softmax(self.model(batch).float(), dim=1)


class LayerCAM(BaseCAM):
    r"""LayerCAM (Jiang et al. 2021, IEEE Trans. Image Processing): positive gradients per position.

    .. math:: \hat A^k_{ij} = \mathrm{ReLU}(g^{kc}_{ij})\, A^k_{ij}, \qquad
              L^c = \mathrm{ReLU}\Big(\sum_k \hat A^k\Big)

    Introduced in notebook 04 ("Why CAM equals Grad-CAM at `layer4` of a ResNet": there it is
    CAM with the negative weights dropped; exercise 1 checks it).
    """

    def weights(
        self,
        activations: Tensor,
        gradients: Tensor | None = None,
        inputs: Tensor | None = None,
        class_idx: Tensor | None = None,
    ) -> Tensor:
        return F.relu(gradients)


class XGradCAM(BaseCAM):
    r"""XGrad-CAM (Fu et al. 2020, BMVC, arXiv 2008.02312): activation-weighted gradients.

    .. math:: w^c_k = \sum_i\sum_j \frac{A^k_{ij}}{\sum_a\sum_b A^k_{ab}}\, g^{kc}_{ij}
              \quad (0 \text{ where } \textstyle\sum A^k = 0)

    [the paper writes :math:`\partial y^c / \partial A^k_{ij}` for :math:`g^{kc}_{ij}`].
    Introduced in notebook 04 ("Why CAM equals Grad-CAM at `layer4` of a ResNet").
    """

    def weights(
        self,
        activations: Tensor,
        gradients: Tensor | None = None,
        inputs: Tensor | None = None,
        class_idx: Tensor | None = None,
    ) -> Tensor:
        total = activations.sum(dim=(2, 3), keepdim=True)
        share = torch.where(total != 0, activations / torch.where(total != 0, total, 1), 0.0)
        return (share * gradients).sum(dim=(2, 3))


class HiResCAM(BaseCAM):
    r"""HiResCAM (Draelos & Carin 2020, arXiv 2011.08891): gradient times activation, elementwise.

    .. math:: L^c = \mathrm{ReLU}\Big(\sum_k g^{kc} \odot A^k\Big)

    [the paper's :math:`\partial y^c / \partial A^k` for :math:`g^{kc}`]. Introduced in
    notebook 04 ("Why CAM equals Grad-CAM at `layer4` of a ResNet"; `layer3`, where it differs).
    """

    def weights(
        self,
        activations: Tensor,
        gradients: Tensor | None = None,
        inputs: Tensor | None = None,
        class_idx: Tensor | None = None,
    ) -> Tensor:
        return gradients


#: every method by its display name, in the order notebooks show them
METHODS: dict[str, type[BaseCAM]] = {
    "CAM": CAM,
    "Grad-CAM": GradCAM,
    "Grad-CAM++": GradCAMPlusPlus,
    "Score-CAM": ScoreCAM,
    "LayerCAM": LayerCAM,
    "XGrad-CAM": XGradCAM,
    "HiResCAM": HiResCAM,
}


# --- contrastive maps: "why class c rather than class d" ----------------------------------------


class ContrastiveGradCAM(GradCAM):
    r"""Contrastive Grad-CAM: why class :math:`c` rather than class :math:`d`.

    Grad-CAM (eq. 1-2 of Selvaraju et al., arXiv 1610.02391) of the difference of two logits,
    :math:`S^c - S^d` (:meth:`class_score`):

    .. math:: w_k^{c \setminus d} = \frac{1}{Z}\sum_i\sum_j
              \frac{\partial (S^c - S^d)}{\partial A^k_{ij}} = w_k^c - w_k^d, \qquad
              L^{c \setminus d} = \mathrm{ReLU}\Big(\sum_k w_k^{c \setminus d} A^k\Big)

    The map shows where the evidence for :math:`c` outweighs the evidence for :math:`d`; what
    speaks for both classes cancels. It is not :math:`\mathrm{ReLU}(L^c - L^d)`: the ReLU acts
    once, on the difference. After a global-average-pool + linear head (a ResNet's ``layer4``)
    the weight is the difference of the two classes' rows of the linear layer, divided by
    :math:`Z`: the "foil" direction of Jacovi et al. 2021 (contrastive explanations, arXiv
    2103.01378). Prabhushankar et al. 2020 (ICIP, arXiv 2008.00178) build contrastive Grad-CAM
    maps ("why P, rather than Q?") from a loss between the two classes.

    Introduced in notebook 09 ("Why this class rather than that one? Contrastive maps").

    Args:
        contrast_idx: the class :math:`d`: an int for all images, one per image, or ``None``
            for the strongest rival of :math:`c` (:func:`runner_up`: the runner-up when
            :math:`c` is the prediction). A contrast equal to the target raises ``ValueError``.

    ``last_contrast_idx`` holds the classes :math:`d` of the last call.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module = "layer4",
        *,
        contrast_idx: ClassIdx = None,
    ) -> None:
        super().__init__(model, target_layer)
        self.contrast_idx = contrast_idx
        self.last_contrast_idx: Tensor | None = None

    def class_score(self, logits: Tensor, class_idx: Tensor) -> Tensor:
        r""":math:`S^c - S^d` per image, :math:`d` the contrast class."""
        if self.contrast_idx is None:
            contrast = runner_up(logits, class_idx)
        else:
            contrast = resolve_class_idx(self.contrast_idx, logits)
        _check_contrast(contrast, class_idx)
        self.last_contrast_idx = contrast
        return super().class_score(logits, class_idx) - super().class_score(logits, contrast)


def runner_up(logits: Tensor, class_idx: Tensor) -> Tensor:
    """Per image, the highest-scoring class other than ``class_idx``: ``(B,)`` long tensor.

    For the predicted class this is the runner-up; for any other class it is usually the
    prediction itself: the class ``class_idx`` has to beat.
    """
    others = logits.detach().clone()
    others.scatter_(1, class_idx.view(-1, 1), float("-inf"))
    return others.argmax(dim=1)


# --- shared pieces (pure functions, usable on their own) ---------------------------------------


def find_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """The submodule of ``model`` named by ``layer``: a dotted name or the module itself.

    Names are those of ``model.named_modules()`` (``"layer4"``, ``"layer4.2.conv3"``,
    ``"features.28"``); Python-style indices such as ``"layer4[-1]"`` work too.
    An unknown name raises ``ValueError`` listing the model's layer names.
    """
    if isinstance(layer, nn.Module):
        if any(m is layer for m in model.modules()):
            return layer
        raise ValueError(f"target layer {type(layer).__name__} is not a submodule of the model")
    modules = dict(model.named_modules())
    if layer in modules and layer != "":
        return modules[layer]
    module: Any = model
    try:
        for token in re.findall(r"[^.\[\]]+", layer):
            indexable = isinstance(module, nn.Sequential | nn.ModuleList)
            is_index = indexable and re.fullmatch(r"-?\d+", token)
            module = module[int(token)] if is_index else getattr(module, token)
        if isinstance(module, nn.Module) and module is not model:
            return module
    except (AttributeError, IndexError, TypeError):
        pass
    raise ValueError(f"model has no layer named {layer!r}; {checks.layer_names_hint(model)}")


def resolve_class_idx(class_idx: ClassIdx, logits: Tensor, *, name: str = "class_idx") -> Tensor:
    """Target class per image as a ``(B,)`` long tensor on the logits' device.

    ``logits``: the model's scores ``(B, num_classes)`` (logits or probabilities). ``None``:
    the predicted class (argmax); an int (or a one-element tensor): that class for every image;
    a sequence or tensor: one class per image. Floats (``3.7``), bools, strings and nested lists
    are refused, not rounded, and so are indices out of range or a wrong length: a
    ``ValueError`` says what was given and what is valid (``name`` is the argument's name).
    """
    batch, n_classes = logits.shape
    if class_idx is None:
        return logits.argmax(dim=1)
    usage = f"{name}={class_idx!r}: give None, an int or one int per image"
    if isinstance(class_idx, bool):
        raise ValueError(usage)
    try:
        idx = torch.as_tensor(class_idx, device=logits.device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(usage) from err
    if idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool or idx.dim() > 1:
        raise ValueError(usage)
    if idx.dim() == 0 or (isinstance(class_idx, Tensor) and idx.numel() == 1):
        idx = idx.reshape(()).expand(batch)
    elif len(idx) != batch:
        raise ValueError(
            f"{name} has {len(idx)} entries but the batch has {batch} images: "
            "give one int for all images or exactly one per image"
        )
    bad = (idx < 0) | (idx >= n_classes)
    if bad.any():
        raise ValueError(
            f"{name} {idx[bad].tolist()} out of range: the model has {n_classes} classes, "
            f"valid indices are 0..{n_classes - 1}"
        )
    return idx.long()


#: a map whose span is at most this share of its largest magnitude counts as constant: float
#: rounding (bilinear weights that sum to 1 only up to an ulp) must not be stretched to [0, 1]
FLAT_RTOL = 1e-5


def flat_maps(maps: Tensor) -> Tensor:
    """``(B,)`` bool: which maps of a ``(B, ...)`` tensor are constant up to :data:`FLAT_RTOL`."""
    flat = maps.flatten(1)
    high, low = flat.max(dim=1).values, flat.min(dim=1).values
    return (high - low) <= FLAT_RTOL * torch.maximum(high.abs(), low.abs())


def normalize_maps(maps: Tensor) -> Tensor:
    """Min-max normalise each map of a ``(B, H, W)`` tensor to [0, 1]; constant maps become 0.

    Constant means up to float rounding (:func:`flat_maps`): an all-zero map stays zero, and a
    map that rounding noise alone makes uneven becomes zero too, not noise stretched to [0, 1].
    """
    flat = maps.flatten(1)
    low = flat.min(dim=1).values.view(-1, 1, 1)
    span = (flat.max(dim=1).values.view(-1, 1, 1) - low)
    keep = (span > 0) & ~flat_maps(maps).view(-1, 1, 1)
    return torch.where(keep, (maps - low) / span.clamp_min(torch.finfo(maps.dtype).tiny), 0.0)


def _channel_minmax(maps: Tensor) -> tuple[Tensor, Tensor]:
    """Per-(image, channel) min and span of a ``(B, K, H, W)`` tensor, shaped ``(B, K, 1, 1)``."""
    flat = maps.flatten(2)
    low = flat.min(dim=2).values[..., None, None]
    return low, flat.max(dim=2).values[..., None, None] - low


# --- guards: each check says what is wrong and what to do ---------------------------------------

def _last_linear(model: nn.Module) -> nn.Linear:
    """CAM's head: the model's last ``nn.Linear``."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("CAM needs a global-average-pool + nn.Linear head; the model has none")
    return linears[-1]


def _check_cam_head(cam: CAM, acts: Tensor, head_input: Tensor | None) -> None:
    """CAM's head must read the target layer's global average (of its output, or of its ReLU, as
    DenseNet's head does): otherwise, e.g. for ``layer4.0`` of a ResNet, channels may match but
    ``fc.weight`` is not the layer's class weights."""
    names = {m: n for n, m in cam.model.named_modules()}
    if cam.fc.in_features != acts.shape[1]:
        raise ValueError(
            f"CAM needs a global-average-pool + linear head directly after the target layer: "
            f"the layer has {acts.shape[1]} channels but the last nn.Linear takes "
            f"{cam.fc.in_features} features; use GradCAM for this model or layer"
        )
    feats = head_input.flatten(1).float() if head_input is not None else None
    a = acts.detach().float()
    if feats is None or feats.shape != a.shape[:2] or a.numel() == 0:
        return  # an empty batch has nothing to compare
    tol = 1e-4 * (1 + float(a.abs().amax()))
    if not any(torch.allclose(feats, g.mean(dim=(2, 3)), rtol=1e-3, atol=tol)
               for g in (a, F.relu(a))):
        raise ValueError(
            f"CAM needs a global-average-pool + linear head directly after the target "
            f"layer: the last nn.Linear ({names.get(cam.fc, '?')}) does not read the "
            f"average of {names.get(cam.target_layer, 'the target layer')!r}'s output, "
            "so its weights are not that layer's class weights. Use the last block "
            "before the pooling (target_layer='layer4' for a ResNet), or GradCAM for "
            "this layer.")


def _check_score_cam_args(batch_size: Any, top_k: Any, progress: Any
                          ) -> tuple[int, int | None, bool]:
    batch_size = checks.integer(batch_size, "batch_size", hint=(
        "It is the number of masked images per forward pass, e.g. 32."))
    if top_k is not None:
        top_k = checks.integer(top_k, "top_k", hint=(
            "It is the number of channels scored per image (the others get weight 0); "
            "top_k=None scores them all."))
    progress = checks.flag(progress, "progress", hint="True shows a progress bar.")
    return batch_size, top_k, progress


def _check_contrast(contrast: Tensor, target: Tensor) -> None:
    if (contrast == target).any():
        raise ValueError(
            f"contrast class {contrast.tolist()} equals the target class {target.tolist()}: "
            "y^c - y^c is 0 and has no map; pick another contrast_idx (None: the runner-up)"
        )
