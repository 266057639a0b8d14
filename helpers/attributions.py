r"""Beyond CAM: gradients, Integrated Gradients, SmoothGrad, occlusion, LIME and KernelSHAP.

The other families of saliency methods, computed by Captum (Kokhlikyan et al. 2020; the two
plain gradients directly with ``torch.autograd.grad``, Captum being their oracle in the tests)
and handed back in :mod:`helpers.cam`'s map contract, so that every measurement of the series
(deletion, insertion, pointing, energy, the randomisation cascade) takes them unchanged:

>>> ig = IntegratedGradients(model, steps=16, baseline="black")
>>> heatmap = ig(input_tensor, class_idx=None)    # (B, H, W) in [0, 1]; None: the prediction
>>> raw = ig.attribute(input_tensor, class_idx)   # (B, C, H, W), signed, in the input's units

**From attribution to map.** A CAM is one non-negative number per cell of a coarse grid; these
methods give a signed number per pixel and colour channel (or per superpixel). One rule turns
every attribution :math:`a \in \mathbb{R}^{C \times H \times W}` into a map
(:func:`attribution_map`): the absolute value summed over the colour channels,
:math:`m_{ij} = \sum_c |a_{cij}|` (evidence for and against the class both count as
"the model uses this pixel"); with ``grid=(h, w)`` the map is then **average-pooled to that
grid and upsampled bilinearly** (``align_corners=False``), exactly as a CAM of an ``h x w``
layer is. Pooling keeps each cell's attribution mass (the energy share of a mask changes only at
cell borders) and takes the peak of a cell's mass, not of one pixel, so the pointing game stops
being decided by pixel noise; on CAM's own grid a difference between methods is a difference in
*where* they put the mass, not in resolution. ``grid=None`` keeps the pixel map (for figures).
Each map is min-max normalised per image to [0, 1] (a constant map becomes 0), as a CAM is.

**Contract**, the same as :class:`helpers.cam.BaseCAM`: ``method(x, class_idx)`` returns a
detached float tensor ``(B, H, W)`` at the input's size on its device; the model runs in eval
mode and its train/eval flags are restored, also when the call raises; gradients are taken
with respect to the input only (``torch.autograd.grad``, in Captum too), so no parameter gets
a ``.grad``. ``class_idx``: None (the predicted class: one extra forward pass, none for
:class:`Saliency` and :class:`GradientXInput`, which read it off their own), an int, or one int
per image.

**Cost.** ``passes`` is the number of images a method pushes through the network per explained
image (``backward``: each with a backward pass to the input). Perturbation methods batch their
perturbed inputs, ``batch_size`` at a time (Captum's ``perturbations_per_eval``), so a map
costs about ``passes`` times one batched forward pass (``benchmarks/bench_attributions.py``).

**Baselines** (the reference image :math:`x'` of IG, occlusion, LIME and KernelSHAP):
:func:`baseline_images` makes a black image, a blurred copy, the skin colour around the lesion,
or the data set's mean colour (zero after normalisation).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import _checks as checks
from .cam import flat_maps, normalize_maps, resolve_class_idx
from .data import IMAGENET_MEAN, IMAGENET_STD
from .train import eval_mode

__all__ = [
    "BASELINES",
    "baseline_images",
    "attribution_map",
    "superpixels",
    "Attribution",
    "Saliency",
    "GradientXInput",
    "IntegratedGradients",
    "SmoothGrad",
    "Occlusion",
    "Lime",
    "KernelShap",
    "METHODS",
]

#: the reference images :func:`baseline_images` can make
BASELINES = ("black", "blur", "skin", "mean")

Grid = int | tuple[int, int] | None


# --- baselines and the map rule -----------------------------------------------------------------


def _stats(values: Sequence[float], x: Tensor) -> Tensor:
    return torch.as_tensor(values, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)


def baseline_images(x: Tensor, kind: str = "black", *, mean: Sequence[float] = IMAGENET_MEAN,
                    std: Sequence[float] = IMAGENET_STD, sigma: float | None = None,
                    frame: float = 0.125) -> Tensor:
    r"""The reference image :math:`x'` of each input, in the input's normalised units.

    ``x``: a normalised batch ``(B, C, H, W)`` (``(pixel - mean) / std``). ``kind``:

    * ``"black"``: pixel value 0 in every channel, :math:`x' = -\mu/\sigma` (Sundararajan et
      al. 2017 use the black image);
    * ``"blur"``: a Gaussian blur of the image, standard deviation ``sigma`` pixels (default
      ``5 * H / 224``: the blurred canvas the insertion metric starts from, Petsiuk et al. 2018);
      it keeps the colours and removes the structures;
    * ``"skin"``: each image's mean colour over a frame of width ``frame * H`` along its border,
      where a dermoscopic photograph shows the skin around the lesion;
    * ``"mean"``: zero, the normalisation's mean colour (a grey; Zeiler & Fergus occlude with
      grey squares).
    """
    checks.one_of(kind, "kind", BASELINES)
    if x.dim() != 4:
        raise ValueError(f"x must be a (B, C, H, W) batch, got shape {tuple(x.shape)}")
    if kind == "mean":
        return torch.zeros_like(x)
    if kind == "black":
        return ((0.0 - _stats(mean, x)) / _stats(std, x)).expand_as(x).clone()
    height, width = x.shape[-2:]
    if kind == "blur":
        from torchvision.transforms.functional import gaussian_blur

        s = 5.0 * height / 224 if sigma is None else checks.positive_number(sigma, "sigma")
        size = min(2 * int(round(2 * s)) + 1, 2 * ((min(height, width) - 1) // 2) + 1)
        return gaussian_blur(x, [size, size], [s, s])
    width_px = max(1, int(round(checks.share(frame, "frame") * height)))
    border = torch.ones(height, width, dtype=torch.bool, device=x.device)
    border[width_px:-width_px, width_px:-width_px] = False
    colour = x[..., border].mean(dim=-1)  # (B, C)
    return colour[..., None, None].expand_as(x).clone()


def attribution_map(attribution: Tensor, grid: Grid = None) -> Tensor:
    r"""One map per image from attributions ``(B, C, H, W)``: ``(B, H, W)`` in [0, 1].

    .. math:: m_{ij} = \sum_c |a_{cij}|, \qquad
              \tilde m = \mathrm{Up}\big(\mathrm{AvgPool}_{h \times w}(m)\big)

    then min-max per image (:func:`helpers.cam.normalize_maps`). ``grid=None`` skips the
    pooling (the pixel map); ``grid=(h, w)`` (or an int for a square grid) pools to that grid
    and upsamples bilinearly (``align_corners=False``), as a CAM of an ``h x w`` layer is. A map
    that is constant on its grid becomes all zero.
    """
    if attribution.dim() != 4:
        raise ValueError(f"attribution must be (B, C, H, W), got {tuple(attribution.shape)}")
    pixels = attribution.detach().abs().sum(dim=1).float()
    if grid is None:
        return normalize_maps(pixels)
    pooled = F.adaptive_avg_pool2d(pixels[:, None], grid)
    up = F.interpolate(pooled, size=pixels.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    return torch.where(flat_maps(pooled[:, 0]).view(-1, 1, 1), 0.0, normalize_maps(up))


def superpixels(x: Tensor, segments: int = 25, compactness: float = 10.0, *,
                mean: Sequence[float] = IMAGENET_MEAN,
                std: Sequence[float] = IMAGENET_STD) -> Tensor:
    """SLIC superpixels (Achanta et al. 2012, scikit-image) of each image: ``(B, H, W)`` labels.

    ``x`` is normalised; it is mapped back to RGB in [0, 1] first. Labels run from 0; SLIC
    returns about ``segments`` regions (fewer where the image is flat; where it finds only one,
    a square grid of about ``segments`` cells is used). ``compactness`` trades colour against
    distance in Lab space (10: scikit-image's default, regions of even size).
    """
    try:
        from skimage.segmentation import slic
    except ImportError as err:  # scikit-image comes with Colab and the dev extra
        raise ImportError("superpixels needs scikit-image: pip install scikit-image") from err
    checks.integer(segments, "segments", minimum=2)
    rgb = (x.detach() * _stats(std, x) + _stats(mean, x)).clamp(0, 1)
    height, width = x.shape[-2:]
    side = max(2, round(segments**0.5))  # a square grid where SLIC finds a single region
    squares = (torch.arange(height)[:, None] * side // height * side
               + torch.arange(width)[None, :] * side // width)
    labels = []
    for image in rgb:
        found = torch.from_numpy(slic(image.permute(1, 2, 0).cpu().double().numpy(),
                                      n_segments=segments, compactness=compactness,
                                      start_label=0, channel_axis=-1).astype("int64"))
        labels.append(found if int(found.max()) >= 1 else squares)
    return torch.stack(labels).to(x.device)


# --- the base class ---------------------------------------------------------------------------


class Attribution:
    """What the methods share: targets, eval mode, chunking and the map rule.

    Args:
        model: a classifier returning logits ``(B, num_classes)``.
        grid: the map's grid (:func:`attribution_map`); None keeps the pixel map.
        batch_size: images per forward pass (perturbed inputs, IG's path points, noisy copies).
    """

    #: whether each pass is a forward and a backward pass (False: forward passes only)
    uses_gradients = True

    def __init__(self, model: nn.Module, *, grid: Grid = None, batch_size: int = 64) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a torch nn.Module (the classifier), got "
                            f"{type(model).__name__}")
        self.model = model
        self.grid = grid
        self.batch_size = checks.integer(batch_size, "batch_size")
        self.last_class_idx: Tensor | None = None

    @property
    def passes(self) -> int:
        """Images pushed through the network per explained image (besides finding the class)."""
        return 1

    def settings(self) -> dict[str, Any]:
        """The method's settings, for a table."""
        return {}

    def _attribute(self, x: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    @contextmanager
    def _eval(self) -> Iterator[None]:
        with eval_mode(self.model), (torch.enable_grad() if self.uses_gradients
                                     else torch.no_grad()):
            yield

    def attribute(self, x: Tensor, class_idx: Any = None) -> Tensor:
        """Raw attributions ``(B, C, H, W)``: signed, in the input's units, detached."""
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 4:
            raise TypeError(f"x must be a float tensor (B, C, H, W), got "
                            f"{getattr(x, 'shape', type(x).__name__)}; "
                            "helpers.data.eval_transform(size)(image)[None] makes one")
        checks.finite(x, "the input")
        if torch.is_inference_mode_enabled() or x.is_inference():
            with torch.inference_mode(False):
                return self.attribute(x.clone(), class_idx)
        with self._eval():
            try:
                out, target = self._explain(x.detach(), class_idx)
                out = out.detach()
            except (IndexError, RuntimeError) as err:
                if class_idx is None or "index" not in str(err).lower():
                    raise
                raise ValueError(f"class_idx={class_idx!r} is out of range for this model's "
                                 "output: give class indices from 0 to its number of classes "
                                 "- 1") from err
        checks.finite(out, "the attributions")
        self.last_class_idx = target
        return out

    def _explain(self, x: Tensor, class_idx: Any) -> tuple[Tensor, Tensor]:
        """Attributions and the classes they explain; None costs one extra forward pass here
        (the prediction), before the method's own passes."""
        if class_idx is None:
            with torch.no_grad():
                logits = torch.cat([self.model(part) for part in x.split(self.batch_size)])
            target = resolve_class_idx(None, logits)
        else:
            target = _given_classes(class_idx, x)
        return self._attribute(x, target), target

    def __call__(self, x: Tensor, class_idx: Any = None) -> Tensor:
        """Maps ``(B, H, W)`` in [0, 1] at the input's size (:func:`attribution_map`)."""
        return attribution_map(self.attribute(x, class_idx), self.grid)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({shown})"


def _given_classes(class_idx: Any, x: Tensor) -> Tensor:
    """``class_idx`` (an int or one per image) as one class per image of ``x``, its type and
    length checked; its range is the model's, checked when the model's output is indexed."""
    unbounded = torch.zeros((), device=x.device).expand(x.shape[0], 2**31 - 1)
    return resolve_class_idx(class_idx, unbounded)


def _per_chunk(method: Any, x: Tensor, target: Tensor, size: int, **kwargs: Any) -> Tensor:
    """Captum ``method.attribute`` on ``x`` in chunks of ``size`` images (each a leaf that
    requires grad: the gradient is taken with respect to it, never the parameters)."""
    return torch.cat([method.attribute(xs.clone().requires_grad_(True), target=ts, **kwargs)
                      for xs, ts in zip(x.split(size), target.split(size), strict=True)])


# --- gradients ----------------------------------------------------------------------------------


class _InputGradient(Attribution):
    r"""The class score's gradient with respect to the input, :math:`\partial S_c / \partial x`,
    from one forward and one backward pass per image: ``torch.autograd.grad`` of the summed
    target scores of a chunk (the images of an eval-mode network do not interact, so each image
    gets its own gradient), and with ``class_idx=None`` the class is the argmax of that same
    forward pass, so the prediction costs nothing extra. Captum's ``Saliency`` and
    ``InputXGradient`` compute the same numbers (``tests/test_attributions_captum.py``) but need
    the class before their forward pass, i.e. one more forward pass for the prediction."""

    def _times_input(self, x: Tensor, grad: Tensor) -> Tensor:
        return grad

    def _explain(self, x: Tensor, class_idx: Any) -> tuple[Tensor, Tensor]:
        given = None if class_idx is None else _given_classes(class_idx, x).split(self.batch_size)
        grads, targets = [], []
        for k, part in enumerate(x.split(self.batch_size)):
            leaf = part.clone().requires_grad_(True)
            logits = self.model(leaf)
            target = resolve_class_idx(None if given is None else given[k], logits)
            score = logits.gather(1, target[:, None]).sum()
            grads.append(self._times_input(part, torch.autograd.grad(score, leaf)[0]))
            targets.append(target)
        return torch.cat(grads), torch.cat(targets)


class Saliency(_InputGradient):
    r"""The vanilla gradient (Simonyan, Vedaldi & Zisserman 2014, arXiv 1312.6034, sec. 3.1).

    The class score is linearised around the image, :math:`S_c(I) \approx w^\top I + b`
    (their eq. 2), with :math:`w = \partial S_c / \partial I |_{I_0}` (eq. 3); the map is the
    magnitude of :math:`w`. They take the maximum over colour channels; here, as for every
    method, :math:`\sum_c |w_c|` (:func:`attribution_map`). One forward and one backward pass.
    """


class GradientXInput(_InputGradient):
    r"""Gradient x Input (Shrikumar et al. 2016, arXiv 1605.01713; Ancona et al. 2018, Table 1).

    .. math:: a_i = x_i \, \frac{\partial S_c}{\partial x_i}

    For a linear score :math:`S_c = w^\top x + b` this is exactly each input's share
    :math:`w_i x_i` of :math:`S_c - b`: the first-order Taylor term against the zero input (here
    the normalisation's mean colour). One forward and one backward pass.
    """

    def _times_input(self, x: Tensor, grad: Tensor) -> Tensor:
        return x * grad


class IntegratedGradients(Attribution):
    r"""Integrated Gradients (Sundararajan, Taly & Yan 2017, arXiv 1703.01365).

    .. math:: \mathrm{IG}_i(x) = (x_i - x'_i) \int_0^1
              \frac{\partial F(x' + \alpha (x - x'))}{\partial x_i} \, d\alpha

    (their eq. 1), with :math:`x'` the baseline (:func:`baseline_images`). **Completeness**
    (their Proposition 1): :math:`\sum_i \mathrm{IG}_i(x) = F(x) - F(x')`. The integral is a
    quadrature over ``steps`` points (sec. 5 uses the Riemann sum; ``method`` is Captum's
    ``"riemann_right"``, ``"riemann_trapezoid"`` or ``"gausslegendre"``); each call leaves
    ``last_delta``, the completeness error :math:`\sum_i \mathrm{IG}_i - (F(x) - F(x'))` per
    image, which the authors ask to keep within 5 % of :math:`|F(x) - F(x')|` by adding steps.
    ``steps`` forward and backward passes per image (and two forward passes for the delta).
    """

    def __init__(self, model: nn.Module, *, steps: int = 16, baseline: str = "black",
                 method: str = "gausslegendre", mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.steps = checks.integer(steps, "steps")
        self.baseline = checks.one_of(baseline, "baseline", BASELINES)
        self.method = checks.one_of(method, "method",
                                    ("riemann_right", "riemann_trapezoid", "gausslegendre"))
        self.mean, self.std = mean, std
        self.last_delta: Tensor | None = None

    @property
    def passes(self) -> int:
        return self.steps

    def settings(self) -> dict[str, Any]:
        return {"steps": self.steps, "baseline": self.baseline, "method": self.method}

    def _attribute(self, x: Tensor, target: Tensor) -> Tensor:
        from captum.attr import IntegratedGradients as CaptumIG

        ig = CaptumIG(self.model)
        base = baseline_images(x, self.baseline, mean=self.mean, std=self.std)
        per_call = max(1, self.batch_size // self.steps)
        parts, deltas = [], []
        for xs, bs, ts in zip(x.split(per_call), base.split(per_call), target.split(per_call),
                              strict=True):
            a, d = ig.attribute(xs, baselines=bs, target=ts, n_steps=self.steps,
                                method=self.method, internal_batch_size=self.batch_size,
                                return_convergence_delta=True)
            parts.append(a)
            deltas.append(d.detach())
        self.last_delta = torch.cat(deltas)
        return torch.cat(parts)


class SmoothGrad(Attribution):
    r"""SmoothGrad (Smilkov et al. 2017, arXiv 1706.03825, sec. 3), via Captum's ``NoiseTunnel``.

    .. math:: \hat M_c(x) = \frac1n \sum_{k=1}^{n}
              \frac{\partial S_c}{\partial x}\Big|_{x + \epsilon_k},
              \qquad \epsilon_k \sim \mathcal N(0, \sigma^2)

    ``samples`` = :math:`n` noisy copies; ``noise`` = :math:`\sigma / (x_{max} - x_{min})`, the
    noise level as a share of the input's range (the range of a normalised pixel,
    :math:`1/\mathrm{std}`, averaged over the channels); the authors find 10-20 % works well.
    ``samples`` forward and backward passes per image.
    """

    def __init__(self, model: nn.Module, *, samples: int = 16, noise: float = 0.15,
                 std: Sequence[float] = IMAGENET_STD, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.samples = checks.integer(samples, "samples")
        self.noise = checks.share(noise, "noise")
        self.sigma = self.noise * float(torch.tensor(std, dtype=torch.float64).reciprocal().mean())
        self.seed = seed

    @property
    def passes(self) -> int:
        return self.samples

    def settings(self) -> dict[str, Any]:
        return {"samples": self.samples, "noise": self.noise}

    def _attribute(self, x: Tensor, target: Tensor) -> Tensor:
        from captum.attr import NoiseTunnel
        from captum.attr import Saliency as CaptumSaliency

        tunnel = NoiseTunnel(CaptumSaliency(self.model))
        per_call = max(1, self.batch_size // self.samples)
        with torch.random.fork_rng(devices=[x.device] if x.is_cuda else []):
            torch.manual_seed(self.seed)
            return _per_chunk(tunnel, x, target, per_call, nt_type="smoothgrad",
                              nt_samples=self.samples, nt_samples_batch_size=self.samples,
                              stdevs=self.sigma, abs=False)


# --- perturbations ------------------------------------------------------------------------------


class Occlusion(Attribution):
    r"""Occlusion (Zeiler & Fergus 2014, arXiv 1311.2901, sec. 4.2), via Captum.

    A ``window`` x ``window`` patch, moved by ``stride`` pixels, is replaced by the baseline
    :math:`x'`; each pixel gets the mean drop of the class score over the windows that cover it,

    .. math:: a_{ij} = \frac{1}{|W_{ij}|} \sum_{w \in W_{ij}} \big(S_c(x) - S_c(x_{w \to x'})\big).

    ``((H - window) / stride + 1)^2`` perturbed images plus the image itself, forward only,
    ``batch_size`` at a time.
    """

    uses_gradients = False

    def __init__(self, model: nn.Module, *, window: int = 16, stride: int | None = None,
                 baseline: str = "mean", size: int = 112, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.window = checks.integer(window, "window")
        self.stride = self.window if stride is None else checks.integer(stride, "stride")
        self.baseline = checks.one_of(baseline, "baseline", BASELINES)
        self.size = checks.integer(size, "size", hint="the input's height and width in pixels")
        self.mean, self.std = mean, std

    @property
    def passes(self) -> int:
        per_side = (self.size - self.window) // self.stride + 1
        return per_side * per_side + 1

    def settings(self) -> dict[str, Any]:
        return {"window": self.window, "stride": self.stride, "baseline": self.baseline}

    def _attribute(self, x: Tensor, target: Tensor) -> Tensor:
        from captum.attr import Occlusion as CaptumOcclusion

        base = baseline_images(x, self.baseline, mean=self.mean, std=self.std)
        occlusion = CaptumOcclusion(self.model)
        parts = [occlusion.attribute(x[i:i + 1], sliding_window_shapes=(x.shape[1], self.window,
                                                                        self.window),
                                     strides=(x.shape[1], self.stride, self.stride),
                                     baselines=base[i:i + 1], target=target[i:i + 1],
                                     perturbations_per_eval=self.batch_size)
                 for i in range(x.shape[0])]
        return torch.cat(parts)


class _Surrogate(Attribution):
    """LIME and KernelSHAP: a weighted linear model over SLIC superpixels, one image at a time."""

    uses_gradients = False

    def __init__(self, model: nn.Module, *, samples: int = 64, segments: int = 25,
                 baseline: str = "mean", seed: int = 0, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.samples = checks.integer(samples, "samples")
        self.segments = checks.integer(segments, "segments", minimum=2)
        self.baseline = checks.one_of(baseline, "baseline", BASELINES)
        self.seed = seed
        self.mean, self.std = mean, std
        self.last_segments: Tensor | None = None

    @property
    def passes(self) -> int:
        return self.samples

    def settings(self) -> dict[str, Any]:
        return {"samples": self.samples, "segments": self.segments, "baseline": self.baseline}

    def _explainer(self) -> Any:
        raise NotImplementedError

    def _attribute(self, x: Tensor, target: Tensor) -> Tensor:
        segments = superpixels(x, self.segments, mean=self.mean, std=self.std)
        base = baseline_images(x, self.baseline, mean=self.mean, std=self.std)
        explainer = self._explainer()
        parts = []
        with torch.random.fork_rng(devices=[x.device] if x.is_cuda else []):
            torch.manual_seed(self.seed)
            for i in range(x.shape[0]):
                parts.append(explainer.attribute(
                    x[i:i + 1], baselines=base[i:i + 1], target=target[i:i + 1],
                    feature_mask=segments[i][None, None], n_samples=self.samples,
                    perturbations_per_eval=self.batch_size))
        self.last_segments = segments
        return torch.cat(parts)


def lime_kernel(width: float = 0.25) -> Any:
    r"""LIME's similarity kernel on the interpretable vector :math:`z' \in \{0, 1\}^M`.

    :math:`\pi_x(z) = \exp(-D(x, z)^2 / \sigma^2)` (Ribeiro et al. 2016, sec. 3.4) with
    :math:`D` the cosine distance between :math:`z'` and the all-ones vector of the unperturbed
    image, :math:`D = 1 - \sqrt{|z'| / M}`, and :math:`\sigma` = ``width`` (0.25, the width of
    the authors' image explainer).
    """

    def similarity(original: Tensor, perturbed: Tensor, interpretable: Tensor,
                   **kwargs: Any) -> Tensor:
        kept = interpretable.float().sum() / interpretable.numel()
        distance = 1 - kept.sqrt()
        return torch.exp(-(distance**2) / width**2)

    return similarity


class Lime(_Surrogate):
    r"""LIME (Ribeiro, Singh & Guestrin 2016, arXiv 1602.04938) over SLIC superpixels.

    Draw ``samples`` binary vectors :math:`z' \in \{0,1\}^M` (each superpixel kept with
    probability 1/2; an off superpixel shows the baseline), score each perturbed image, and fit
    the linear surrogate :math:`g(z') = w^\top z' + b` that minimises

    .. math:: \mathcal L(f, g, \pi_x) = \sum_{z'} \pi_x(z) \big(f(z) - g(z')\big)^2
              + \lambda \lVert w \rVert^2

    (their eqs. 1-2, with ridge regularisation :math:`\lambda = 1` for :math:`\Omega(g)`, as in
    the authors' code); the kernel :math:`\pi_x` is :func:`lime_kernel`. A superpixel's
    attribution is its coefficient :math:`w_k`. ``samples`` forward passes per image.
    """

    def _explainer(self) -> Any:
        from captum._utils.models.linear_model import SkLearnRidge
        from captum.attr import Lime as CaptumLime

        return CaptumLime(self.model, interpretable_model=SkLearnRidge(alpha=1.0),
                          similarity_func=lime_kernel())


class KernelShap(_Surrogate):
    r"""KernelSHAP (Lundberg & Lee 2017, arXiv 1705.07874) over SLIC superpixels, via Captum.

    The same weighted linear fit as LIME with :math:`\Omega = 0` and the Shapley kernel

    .. math:: \pi_{x}(z') = \frac{M - 1}{\binom{M}{|z'|} \, |z'| \, (M - |z'|)}

    (their Theorem 2): the coefficients then estimate the superpixels' Shapley values, which
    add up to :math:`f(x) - f(x')` (their eq. 1 and Property 1). Captum draws the coalitions
    with probability proportional to the kernel and fits them unweighted. ``samples`` forward
    passes per image.
    """

    def _explainer(self) -> Any:
        from captum.attr import KernelShap as CaptumKernelShap

        return CaptumKernelShap(self.model)


#: the methods by their names in the notebook's tables
METHODS: dict[str, type[Attribution]] = {
    "Gradient": Saliency,
    "Gradient x Input": GradientXInput,
    "Integrated Gradients": IntegratedGradients,
    "SmoothGrad": SmoothGrad,
    "Occlusion": Occlusion,
    "LIME": Lime,
    "KernelSHAP": KernelShap,
}
