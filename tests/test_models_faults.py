"""Messages that do not mislead (issue 36): a good checkpoint loaded with map_location='cuda'
on a machine without a GPU is not called damaged; a checkpoint path that is a folder is
refused before training, not after; a folder given as a checkpoint file says so."""

from __future__ import annotations

import pytest
import torch
from test_course import _no_training, _Trained, clean_env  # noqa: F401  (a fixture)

from helpers import models
from helpers.config import load_config
from helpers.models import build_model, checkpoint_path, load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("ckpt") / "good.pt"
    save_checkpoint(build_model("resnet18", pretrained=False), path, arch="resnet18")
    return path


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("where", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_a_gpu_says_so_and_how_to_load_on_the_cpu(good, where) -> None:
    with pytest.raises(RuntimeError) as info:
        load_checkpoint(good, map_location=where)
    said = str(info.value)
    assert "no GPU" in said and "map_location='cpu'" in said
    assert "damaged" not in said and "Delete" not in said
    assert good.is_file()


def test_a_device_that_does_not_exist_is_named(good) -> None:
    with pytest.raises(ValueError, match="map_location='gpu'"):
        load_checkpoint(good, map_location="gpu")


def test_a_folder_given_as_the_checkpoint_says_it_is_a_folder(tmp_path) -> None:
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_checkpoint(tmp_path)


def test_a_checkpoint_path_that_is_a_folder_is_refused_before_training(
        tmp_path, clean_env, monkeypatch) -> None:  # noqa: F811
    cfg = load_config(profile="smoke", num_workers=0, seed=0, output_dir=tmp_path / "out")
    checkpoint_path(cfg).mkdir(parents=True)  # a folder where the checkpoint goes
    monkeypatch.setattr(models, "prepare_metadata", _no_training)  # training's first step
    monkeypatch.setattr(models, "fit", _no_training)
    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        models.load_or_train(cfg, progress=False)
    assert not isinstance(info.value, _Trained)
    base = checkpoint_path(cfg)
    base.with_name(f"{base.stem}-shuffled-e1.pt").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        models.load_or_train_variant(cfg, {}, "shuffled", 1)
