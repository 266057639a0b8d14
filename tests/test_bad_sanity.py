"""Bad inputs for helpers.sanity (issue 26): a block name that would randomise the whole model,
or none, is refused with a message that names the model's blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers import sanity


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("layer1", nn.Conv2d(3, 4, 3))
    net.add_module("fc", nn.Linear(4, 2))
    return net


@pytest.mark.parametrize("blocks", ["", [], ["fc", ""], [None]])
def test_randomized_copy_refuses_an_empty_block_name(blocks) -> None:
    net = _net()
    with pytest.raises(ValueError, match=r"whole model.*\['layer1', 'fc'\]"):
        sanity.randomized_copy(net, blocks)


def test_randomized_copy_names_the_blocks_when_one_is_missing() -> None:
    with pytest.raises(AttributeError, match=r"no submodule 'layer9'.*\['layer1', 'fc'\]"):
        sanity.randomized_copy(_net(), ["fc", "layer9"])


def test_cascade_refuses_an_empty_name_before_copying() -> None:
    with pytest.raises(ValueError, match="empty"):
        list(sanity.cascade_randomizations(_net(), order=("fc", "")))
