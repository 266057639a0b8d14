"""A user's photo explained by a network goes through that network's own preprocessing
(notebook 07: EfficientNet-Lite0 expects (x - 0.498) / 0.502, not ImageNet's mean and std);
the series' own model keeps the ResNet path (issue 36)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from helpers import imagenet
from helpers.data import eval_transform
from helpers.user_image import read_user_image


@pytest.fixture(scope="module")
def lite() -> imagenet.ImageNetModel:
    return imagenet.imagenet_model(prefer="efficientnet_lite0", verbose=False)


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(path)
    return path


def test_the_networks_own_preprocessing_is_used(lite, photo) -> None:
    user = read_user_image(photo, 224, preprocess=lite.preprocess)
    with Image.open(photo) as img:
        expected = lite.preprocess(img.convert("RGB"))
        seen = torchvision.transforms.Compose(lite.preprocess.transforms[:-1])(img.convert("RGB"))
    # display inverts the network's (x - 0.498) / 0.502: the picture in [0, 1] as it sees it
    assert torch.allclose(user.tensor, expected, atol=1e-6)
    assert torch.allclose(user.display, seen, atol=1e-5)


def test_without_a_preprocessing_the_series_resnet_path_is_kept(photo) -> None:
    user = read_user_image(photo, 224)
    with Image.open(photo) as img:
        expected = eval_transform(224)(img.convert("RGB"))
    assert torch.allclose(user.tensor, expected, atol=1e-6)


def test_a_preprocessing_that_is_not_callable_is_named(photo) -> None:
    with pytest.raises(TypeError, match="preprocess"):
        read_user_image(photo, 224, preprocess="imagenet")
