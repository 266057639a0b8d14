r"""Baselines: heatmaps that ignore the model, the yardsticks of every explanation score.

A uniform map, a random map, a centred Gaussian (lesions tend to sit in the middle of a
dermoscopic photo), Sobel edges of the image (a saliency map of the image alone) and the lesion
mask itself (the best any map can do on the localisation scores): :func:`baseline_maps`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .metrics import check_maps


def uniform_maps(batch: int, height: int, width: int) -> Tensor:
    """All-ones maps ``(B, H, W)``: no preference anywhere.

    Its explanation map is the image itself (Average Drop 0); its energy share on a mask is the
    mask's area fraction, the chance level of the energy pointing game. Its maximum is the first
    pixel (row-major ``argmax``), so it never wins the pointing game.
    """
    return torch.ones(batch, height, width)


def random_maps(batch: int, height: int, width: int, seed: int = 0) -> Tensor:
    """Uniform noise in [0, 1), ``(B, H, W)``, seeded (the global random state is untouched).

    Its peak falls on a mask with probability equal to the mask's area fraction: the chance
    level of the pointing game.
    """
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, height, width, generator=generator)


def centre_gaussian_maps(batch: int, height: int, width: int, sigma: float = 0.25) -> Tensor:
    r"""A Gaussian bump at the image centre, the same for every image, ``(B, H, W)``.

    .. math:: G(x, y) = \exp\!\left(-\frac{x^2 + y^2}{2 \sigma^2}\right)

    with :math:`x, y \in [-1, 1]` the pixel centres relative to the half-width and half-height.
    The baseline for data whose objects sit near the centre ("centre bias"): a method must beat
    it to show that it looks at *this* image.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    y = (torch.arange(height, dtype=torch.float64) + 0.5) / height * 2 - 1
    x = (torch.arange(width, dtype=torch.float64) + 0.5) / width * 2 - 1
    bump = torch.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2)).float()
    return bump.expand(batch, height, width).clone()


def edge_maps(images: Tensor) -> Tensor:
    r"""Sobel gradient magnitude of each image's grey level, min-max scaled to [0, 1].

    .. math:: E = \sqrt{(S_x * I)^2 + (S_y * I)^2},\quad
              S_x = \begin{pmatrix}-1&0&1\\-2&0&2\\-1&0&1\end{pmatrix},\ S_y = S_x^\top

    :math:`I` is the mean over the channels (replicate padding). A saliency map that ignores
    the model: borders, hairs and ink light up, whatever the class.
    """
    if images.dim() != 4:
        raise ValueError(f"images must be (B, C, H, W), got shape {tuple(images.shape)}")
    grey = images.detach().float().cpu().mean(dim=1, keepdim=True)
    sx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernels = torch.stack([sx, sx.T]).unsqueeze(1)
    grad = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernels)
    magnitude = grad.pow(2).sum(dim=1).sqrt()
    low = magnitude.flatten(1).amin(dim=1)[:, None, None]
    span = magnitude.flatten(1).amax(dim=1)[:, None, None] - low
    return torch.where(span > 0, (magnitude - low) / span.clamp_min(1e-12), 0.0)


def baseline_maps(images: Tensor, masks: Tensor | None = None, seed: int = 0,
                  sigma: float = 0.25) -> dict[str, Tensor]:
    """The model-free baselines for ``images`` ``(B, C, H, W)``: ``{name: (B, H, W)}``.

    ``uniform``, ``random`` (seeded), ``centre Gaussian`` (``sigma``), ``edges (Sobel)`` and,
    with ``masks``, ``lesion mask`` (the mask itself as a map: the upper reference of the
    localisation metrics, not an explanation).
    """
    batch, _, height, width = images.shape
    out = {
        "uniform": uniform_maps(batch, height, width),
        "random": random_maps(batch, height, width, seed),
        "centre Gaussian": centre_gaussian_maps(batch, height, width, sigma),
        "edges (Sobel)": edge_maps(images),
    }
    if masks is not None:
        out["lesion mask"] = (check_maps(torch.as_tensor(masks), "masks") > 0).float().cpu()
    return out
