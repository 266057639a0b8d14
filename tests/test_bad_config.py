"""Bad settings for helpers.config.load_config: one row per case, each refused where it enters.

Every row gives the overrides, the error type and a phrase of its message (the setting's name
and what was expected), so the error names the cause instead of failing later, far from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import config, models
from helpers.config import load_config


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("TUTORIAL_PROFILE", "TUTORIAL_SEED", "HAM10000_DIR", "TUTORIAL_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no data/HAM10000 here


GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0

BAD_SETTINGS = [  # overrides, error type, phrase in the message
    (dict(profile=""), ValueError, "Unknown profile ''"),
    (dict(profile="Smoke"), ValueError, "smoke, demo, full"),
    (dict(image_size=0), ValueError, "image_size=0: expected a whole number >= 32"),
    (dict(image_size=-224), ValueError, "image_size=-224"),
    (dict(image_size=16), ValueError, "1/32 of the input"),
    (dict(image_size="224"), TypeError, "image_size='224': expected a whole number"),
    (dict(image_size=224.0), TypeError, "image_size=224.0"),
    (dict(batch_size=0), ValueError, "batch_size=0"),
    (dict(batch_size=True), TypeError, "batch_size=True"),
    (dict(epochs=0), ValueError, "epochs=0"),
    (dict(epochs=2.5), TypeError, "epochs=2.5"),
    (dict(lr=0), ValueError, "lr=0: expected a finite number > 0"),
    (dict(lr=-1e-3), ValueError, "lr=-0.001"),
    (dict(lr=float("nan")), ValueError, "lr=nan"),
    (dict(lr="1e-3"), TypeError, "lr='1e-3'"),
    (dict(device="gpu"), ValueError, "device='gpu': expected 'cpu', 'cuda', 'cuda:N' or 'mps'"),
    (dict(device="CUDA"), ValueError, "device='CUDA'"),
    (dict(device=f"cuda:{GPUS}"), ValueError, f"this machine has {GPUS} CUDA GPU"),
    (dict(arch="resnet5"), ValueError, "arch='resnet5': expected one of resnet18, resnet34"),
    (dict(arch="ResNet50"), ValueError, "arch='ResNet50'"),
    (dict(seed=-1), ValueError, "seed=-1"),
    (dict(num_workers=-1), ValueError, "num_workers=-1"),
    (dict(n_demo_images=-5), ValueError, "n_demo_images=-5"),
    (dict(pretrained="yes"), TypeError, "pretrained='yes': expected True or False"),
    (dict(dataset="HAM10000"), ValueError, "Valid datasets"),
]


@pytest.mark.parametrize(("overrides", "error", "phrase"), BAD_SETTINGS,
                         ids=[next(iter(o)) + "=" + repr(next(iter(o.values())))
                              for o, _, _ in BAD_SETTINGS])
def test_bad_setting_is_named(overrides, error, phrase) -> None:
    with pytest.raises(error) as info:
        load_config(profile="smoke", **overrides) if "profile" not in overrides else (
            load_config(**overrides))
    assert phrase in str(info.value)


GOOD_SETTINGS = [  # overrides that are right, and what the config then holds
    (dict(profile=None), "profile", "demo"),  # None: as if not given
    (dict(image_size=32), "image_size", 32),
    (dict(epochs=np.int64(2)), "epochs", 2),
    (dict(lr=1), "lr", 1),
    (dict(device="cpu"), "device", "cpu"),
    (dict(arch="resnet34"), "arch", "resnet34"),
]


@pytest.mark.parametrize(("overrides", "key", "value"), GOOD_SETTINGS)
def test_good_setting_is_kept(overrides, key, value) -> None:
    base = {} if "profile" in overrides else {"profile": "smoke"}
    assert getattr(load_config(**base, **overrides), key) == value


def test_the_arch_names_in_config_are_the_ones_models_can_build() -> None:
    assert set(config.ARCHS) == set(models.WEIGHTS) == set(models.ARCHS)


def test_a_bad_profile_in_the_environment_is_named(monkeypatch) -> None:
    monkeypatch.setenv("TUTORIAL_PROFILE", "fast")
    with pytest.raises(ValueError, match="Unknown profile 'fast'"):
        load_config()
