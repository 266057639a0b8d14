r"""Calibration: does a predicted probability of 0.8 come true 80 % of the time?

Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern Neural Networks", ICML 2017
(arXiv 1706.04599): modern networks are over-confident; the *expected calibration error*
(their eq. 3) measures it, the *reliability diagram* shows it, and *temperature scaling*
(their sec. 4.2), one scalar :math:`T` fitted on the validation split, often fixes most of it
without changing a single prediction (dividing all logits by :math:`T > 0` keeps their order).

Inputs are what :func:`helpers.train.predict` returns: probabilities ``(N, K)`` and labels
``(N,)``. Logits are recovered as :math:`\log p` (softmax is shift-invariant, so this loses
nothing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch


def _checked(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels)
    if probs.ndim != 2 or labels.shape != (probs.shape[0],):
        raise ValueError(f"probs must be (N, K) and labels (N,); got {probs.shape} and "
                         f"{labels.shape}")
    if not np.isfinite(probs).all() or (probs < 0).any() or (probs > 1).any():
        raise ValueError("probs must be probabilities in [0, 1] (softmax outputs), not logits")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 \
            or labels.max() >= probs.shape[1]:
        raise ValueError(f"labels must be integers in [0, {probs.shape[1] - 1}]")
    return probs, labels


def reliability_table(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Confidence against accuracy in ``n_bins`` equal-width bins of the top probability.

    One row per non-empty bin: ``low``, ``high`` (its edges; the first bin includes 0),
    ``count``, ``confidence`` (mean top probability) and ``accuracy`` (share of correct
    top-1 predictions). The data of a reliability diagram (Guo et al. 2017, fig. 1).
    """
    probs, labels = _checked(probs, labels)
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    rows = [
        {"low": edges[b], "high": edges[b + 1], "count": int((which == b).sum()),
         "confidence": confidence[which == b].mean(), "accuracy": correct[which == b].mean()}
        for b in range(n_bins) if (which == b).any()
    ]
    return pd.DataFrame(rows)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> float:
    r"""ECE (Guo et al. 2017, eq. 3): the bins' gap between accuracy and confidence, weighted.

    .. math:: \text{ECE} = \sum_{m=1}^{M} \frac{|B_m|}{n}\,
              \bigl|\operatorname{acc}(B_m) - \operatorname{conf}(B_m)\bigr|

    over :math:`M` = ``n_bins`` equal-width bins of the top-class probability (bins are
    ``(low, high]``). 0 is perfect calibration.
    """
    table = reliability_table(probs, labels, n_bins)
    gaps = (table["accuracy"] - table["confidence"]).abs()
    return float((table["count"] * gaps).sum() / table["count"].sum())


def scale_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    r"""Probabilities after temperature scaling: :math:`\operatorname{softmax}(\log p / T)`."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    r"""The temperature :math:`T > 0` that minimises the negative log-likelihood of ``labels``.

    .. math:: T^* = \arg\min_{T>0} -\frac1n \sum_i
              \log \operatorname{softmax}\!\left(\frac{\log p_i}{T}\right)_{y_i}

    (Guo et al. 2017, sec. 4.2), fitted on held-out data (the validation split, never the
    test split), by L-BFGS on :math:`\log T`. :math:`T > 1` softens over-confident outputs.
    """
    probs, labels = _checked(probs, labels)
    logits = torch.as_tensor(np.log(np.clip(probs, 1e-12, 1.0)))
    target = torch.as_tensor(labels, dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), target)
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return float(log_t.exp().item())
