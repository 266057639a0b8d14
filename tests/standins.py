"""Stand-ins for training, shared by the tests of load_or_train (tests/test_models.py and
tests/course/): a ``fit`` (or ``prepare_metadata``) that raises :class:`Trained` instead of
training, and the untrained network a run's settings build."""

from __future__ import annotations

from torch import nn

from helpers.models import build_model


class Trained(Exception):
    """Raised by a stand-in for fit: load_or_train decided to train."""


def no_training(*args, **kwargs):
    raise Trained


def tiny_for(cfg) -> nn.Module:
    return build_model(cfg.arch, pretrained=False, dilated_layer4=cfg.dilated_layer4)
