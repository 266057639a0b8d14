"""helpers.config: profiles, environment variables, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.config import PROFILES, RunConfig, load_config


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


def test_seed_env_var_and_override(monkeypatch) -> None:
    assert load_config().seed == 0
    monkeypatch.setenv("TUTORIAL_SEED", "2")
    assert load_config().seed == 2 and load_config(seed=5).seed == 5


def test_seed_env_var_must_be_an_integer(monkeypatch) -> None:
    monkeypatch.setenv("TUTORIAL_SEED", "one")
    with pytest.raises(ValueError, match="TUTORIAL_SEED='one' is not an integer"):
        load_config()
