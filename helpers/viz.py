"""Figures: overlays, CAM grids, the malignant-red / benign-blue display, GIFs, training plots.

Nothing here computes a number that a test relies on: it only draws what other modules computed.
"""

from __future__ import annotations

# --- CAM overlays and grids (owned by the CAM engine work) -------------------------------------

# --- training and evaluation plots (owned by the fine-tuning work) -----------------------------
