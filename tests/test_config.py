"""helpers.config: profiles, environment variables, and every bad setting refused where it
enters, naming the setting and what was expected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import config, models
from helpers.config import PROFILES, RunConfig, load_config
from helpers.models import (
    checkpoint_path,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("TUTORIAL_PROFILE", "TUTORIAL_SEED", "HAM10000_DIR", "TUTORIAL_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no data/HAM10000 here


def test_default_is_demo_without_real_data() -> None:
    cfg = load_config()
    assert cfg.profile == "demo" and cfg.dataset == "demo"


def test_default_is_full_when_ham10000_dir_is_set(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HAM10000_DIR", str(tmp_path))
    cfg = load_config()
    assert cfg.profile == "full" and cfg.dataset == "ham10000" and cfg.data_dir == tmp_path
    assert cfg.arch == "resnet50" and cfg.pretrained and cfg.image_size == 224


def test_default_is_full_when_project_has_data_folder(monkeypatch, tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "helpers").mkdir()
    (tmp_path / "data" / "HAM10000").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "data")
    cfg = load_config()
    assert cfg.profile == "full" and cfg.data_dir == tmp_path / "data" / "HAM10000"


def test_profile_env_var_wins_over_detection(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HAM10000_DIR", str(tmp_path))
    monkeypatch.setenv("TUTORIAL_PROFILE", "smoke")
    assert load_config().profile == "smoke"


def test_overrides_win_and_paths_become_paths(tmp_path) -> None:
    cfg = load_config(profile="smoke", epochs=3, cache_dir=str(tmp_path))
    assert cfg.epochs == 3 and cfg.cache_dir == tmp_path


def test_cache_env_var(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TUTORIAL_CACHE", str(tmp_path / "c"))
    assert load_config().cache_dir == tmp_path / "c"


def test_unknown_profile_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="smoke, demo, full"):
        load_config(profile="fast")


def test_unknown_setting_lists_valid_ones() -> None:
    with pytest.raises(TypeError, match="image_size"):
        load_config(img_size=64)


def test_unknown_dataset_is_refused() -> None:
    with pytest.raises(ValueError, match="dermamnist"):
        load_config(dataset="cifar")


def test_config_is_frozen_and_describes_itself() -> None:
    cfg = load_config(profile="smoke")
    with pytest.raises(AttributeError):
        cfg.epochs = 5  # type: ignore[misc]
    assert "profile=smoke" in cfg.describe() and "demo" in cfg.describe()


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_builds(profile: str) -> None:
    assert isinstance(load_config(profile=profile), RunConfig)


@pytest.mark.parametrize("profile", ["demo", "full"])
def test_the_lesson_profiles_explain_the_seeds_7x7_layer4_grid(profile: str) -> None:
    """Notebook 02 says both profiles explain a 7 x 7 ``layer4``, as the seed's ResNet-50 at 224
    px does (the demo: 112 px with a dilated ``layer4``)."""
    cfg = load_config(profile=profile)
    assert cfg.image_size // cfg.layer4_stride == 7


def test_seed_env_var_and_override(monkeypatch) -> None:
    assert load_config().seed == 0
    monkeypatch.setenv("TUTORIAL_SEED", "2")
    assert load_config().seed == 2 and load_config(seed=5).seed == 5


def test_seed_env_var_must_be_an_integer(monkeypatch) -> None:
    monkeypatch.setenv("TUTORIAL_SEED", "one")
    with pytest.raises(ValueError, match=r"TUTORIAL_SEED.*'one'"):
        load_config()


def test_tutorial_home_holds_the_cache_outputs_and_checkpoints(tmp_path, clean_env) -> None:
    clean_env.setenv("TUTORIAL_HOME", str(tmp_path / "course"))
    cfg = load_config(profile="smoke")
    assert cfg.cache_dir == tmp_path / "course" / "cache"
    assert cfg.output_dir == tmp_path / "course" / "outputs"
    assert checkpoint_path(cfg).is_relative_to(tmp_path / "course")
    clean_env.setenv("TUTORIAL_CACHE", str(tmp_path / "elsewhere"))  # the explicit cache wins
    assert load_config(profile="smoke").cache_dir == tmp_path / "elsewhere"


# --- bad inputs ----------------------------------------------------------------------------------
# One row per case: the overrides, the error type and a pattern of its message (the
# setting's name and the key fact), so the error names the cause instead of failing
# later, far from it.


GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0


BAD_SETTINGS = [  # overrides, error type, pattern of the message
    (dict(profile=""), ValueError, r"profile ''"),
    (dict(profile="Smoke"), ValueError, "smoke, demo, full"),
    (dict(image_size=0), ValueError, r"image_size=0.*>= 32"),
    (dict(image_size=-224), ValueError, "image_size=-224"),
    (dict(image_size=16), ValueError, r"1/32"),
    (dict(image_size="224"), TypeError, r"image_size='224'.*whole number"),
    (dict(image_size=224.0), TypeError, r"image_size=224\.0"),
    (dict(batch_size=0), ValueError, "batch_size=0"),
    (dict(batch_size=True), TypeError, "batch_size=True"),
    (dict(epochs=0), ValueError, "epochs=0"),
    (dict(epochs=2.5), TypeError, r"epochs=2\.5"),
    (dict(lr=0), ValueError, r"lr=0.*> 0"),
    (dict(lr=-1e-3), ValueError, r"lr=-0\.001"),
    (dict(lr=float("nan")), ValueError, "lr=nan"),
    (dict(lr="1e-3"), TypeError, "lr='1e-3'"),
    (dict(device="gpu"), ValueError, r"device='gpu'.*'cpu'"),
    (dict(device="CUDA"), ValueError, "device='CUDA'"),
    (dict(device=f"cuda:{GPUS}"), ValueError, rf"{GPUS} CUDA GPU"),
    (dict(arch="resnet5"), ValueError, r"arch='resnet5'.*resnet18"),
    (dict(arch="ResNet50"), ValueError, "arch='ResNet50'"),
    (dict(seed=-1), ValueError, "seed=-1"),
    (dict(num_workers=-1), ValueError, "num_workers=-1"),
    (dict(n_demo_images=-5), ValueError, "n_demo_images=-5"),
    (dict(pretrained="yes"), TypeError, r"pretrained='yes'.*True or False"),
    (dict(dataset="HAM10000"), ValueError, r"(?i)valid datasets"),
]


@pytest.mark.parametrize(("overrides", "error", "phrase"), BAD_SETTINGS,
                         ids=[next(iter(o)) + "=" + repr(next(iter(o.values())))
                              for o, _, _ in BAD_SETTINGS])
def test_bad_setting_is_named(overrides, error, phrase) -> None:
    with pytest.raises(error, match=phrase):
        load_config(profile="smoke", **overrides) if "profile" not in overrides else (
            load_config(**overrides))


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
    with pytest.raises(ValueError, match=r"profile.*'fast'"):
        load_config()
