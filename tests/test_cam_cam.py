"""cam.py read like notebook 03, and each shared idea written once (issue 32), plus CAM on an
empty batch (issue 36): tiny models, CPU only."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import _checks, imagenet, stats
from helpers import cam as C
from helpers.train import eval_mode, model_device, predict, predict_probs

PACKAGE = Path(C.__file__).resolve().parent


def _gap_net(classes: int = 5) -> nn.Module:
    """conv -> ReLU -> GAP -> linear: CAM's head sits right after ``feat``."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Dropout(0.5),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, classes))


def _all_methods() -> list[tuple[str, type[C.BaseCAM]]]:
    return [*C.METHODS.items(), ("Contrastive", C.ContrastiveGradCAM)]


# --- issue 36: an empty batch --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), _all_methods(), ids=[n for n, _ in _all_methods()])
def test_an_empty_batch_gives_an_empty_map(name, method):
    model = _gap_net()
    maps = method(model, "1")(torch.zeros(0, 3, 12, 10))
    assert maps.shape == (0, 12, 10) and maps.dtype == torch.float32
    raw = method(model, "1").compute_raw(torch.zeros(0, 3, 12, 10), class_idx=2)
    assert raw.shape == (0, 12, 10)


def test_cam_still_refuses_a_head_that_does_not_read_the_layer_on_a_full_batch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 1),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    with pytest.raises(ValueError, match="does not read the average"):
        C.CAM(model, "1")(torch.randn(2, 3, 8, 8))  # 4 channels, but the head reads layer 3
    assert C.CAM(model, "1")(torch.zeros(0, 3, 8, 8)).shape == (0, 8, 8)  # nothing to compare
    assert C.CAM(model, "3")(torch.randn(2, 3, 8, 8)).shape == (2, 8, 8)


# --- ContrastiveGradCAM through the class_score hook ----------------------------------------------


def test_class_score_is_the_logit_and_the_contrast_subtracts_the_rival():
    logits = torch.tensor([[1.0, 4.0, 2.0], [0.5, -1.0, 3.0]])
    cls = torch.tensor([1, 0])
    base = C.GradCAM(_gap_net(3), "1")
    torch.testing.assert_close(base.class_score(logits, cls), torch.tensor([4.0, 0.5]))
    contrast = C.ContrastiveGradCAM(_gap_net(3), "1")  # d: the strongest rival of c
    torch.testing.assert_close(contrast.class_score(logits, cls), torch.tensor([2.0, -2.5]))
    assert contrast.last_contrast_idx.tolist() == [2, 2]
    fixed = C.ContrastiveGradCAM(_gap_net(3), "1", contrast_idx=0)
    torch.testing.assert_close(fixed.class_score(logits, torch.tensor([1, 2])),
                               torch.tensor([3.0, 2.5]))


def test_a_subclass_changes_the_score_through_the_hook_alone():
    class Negated(C.GradCAM):
        def class_score(self, logits, class_idx):
            return -super().class_score(logits, class_idx)

    model, x = _gap_net(), torch.randn(2, 3, 8, 8)
    plain, negated = C.GradCAM(model, "1"), Negated(model, "1")
    plain.compute_raw(x, 1)
    negated.compute_raw(x, 1)
    torch.testing.assert_close(negated.last_weights, -plain.last_weights)


def test_contrastive_calls_leave_no_state_between_calls():
    model, x = _gap_net(), torch.randn(3, 3, 8, 8)
    cam = C.ContrastiveGradCAM(model, "1")
    cam(x, class_idx=[0, 1, 2])
    again = cam(x)  # None: the predicted class, not the classes of the call before
    assert cam.last_class_idx.tolist() == model.eval()(x).argmax(1).tolist()
    torch.testing.assert_close(again, C.ContrastiveGradCAM(model, "1")(x))


# --- one class-index resolver ----------------------------------------------------------------


def test_resolve_class_idx_forms_and_refusals():
    logits = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0]])
    assert C.resolve_class_idx(None, logits).tolist() == [1, 0]
    assert C.resolve_class_idx(2, logits).tolist() == [2, 2]
    assert C.resolve_class_idx(torch.tensor([2]), logits).tolist() == [2, 2]
    assert C.resolve_class_idx([0, 2], logits).tolist() == [0, 2]
    for bad, phrase in [(3.7, "give None, an int"), (3, "out of range"), ([1, 1, 1], "3 entries"),
                        (True, "give None, an int")]:
        with pytest.raises(ValueError, match=phrase):
            C.resolve_class_idx(bad, logits, name="target")


# --- one eval-mode context, one batched prediction ----------------------------------------------


def test_eval_mode_restores_each_submodules_flag_also_after_an_error():
    model = _gap_net().train()
    model[2].eval()  # a mixed state: the top in train mode, the dropout in eval mode
    with pytest.raises(RuntimeError, match="inside"), eval_mode(model):
        assert not any(m.training for m in model.modules())
        raise RuntimeError("inside")
    assert model.training and not model[2].training and model[0].training


def test_predict_probs_batches_and_restores_the_mode():
    model = _gap_net().train()
    x = torch.randn(5, 3, 8, 8)
    probs = predict_probs(model, x, batch_size=2)
    assert model.training  # restored
    torch.testing.assert_close(probs, model.eval()(x).softmax(1).detach())
    assert probs.device.type == "cpu" and probs.dtype == torch.float32
    model.train()
    loader = DataLoader(TensorDataset(x, torch.tensor([0, 1, 2, 3, 4])), batch_size=3)
    loader_probs, labels = predict(model, loader)
    torch.testing.assert_close(torch.from_numpy(loader_probs), probs)
    assert labels.tolist() == [0, 1, 2, 3, 4] and model.training
    assert model_device(nn.ReLU(), "cpu") == torch.device("cpu")  # no parameters: the fallback
    with pytest.raises(ValueError, match="no batch"):
        predict_probs(model, [])


def test_only_train_sets_and_restores_the_mode():
    """The eval-mode idea lives in train.eval_mode; nowhere else is a flag saved and restored."""
    for path in PACKAGE.rglob("*.py"):
        if path.name == "train.py":
            continue
        text = path.read_text()
        assert "was_training" not in text and ".training = " not in text, path


# --- cam.py reads top down; no global state changed on import ---------------------------------


def test_cam_py_puts_the_methods_before_the_guards():
    tree = ast.parse((PACKAGE / "cam.py").read_text())
    lines = {node.name: node.lineno for node in tree.body
             if isinstance(node, ast.ClassDef | ast.FunctionDef)}
    first_guard = min(line for name, line in lines.items() if name.startswith("_"))
    assert lines["BaseCAM"] < lines["CAM"] < lines["ContrastiveGradCAM"] < first_guard
    assert lines["CAM"] < 250  # the student meets the first method early
    weights = [node for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef) and node.name == "weights"]
    assert len(weights) == 8 and all(
        node.returns is not None and all(a.annotation is not None for a in node.args.args[1:])
        for node in weights)


def test_importing_helpers_leaves_warnings_formatting_alone():
    code = ("import warnings; f = warnings.formatwarning; s = warnings.showwarning\n"
            "import helpers._checks, helpers.cam, helpers.viz, helpers.metrics\n"
            "assert warnings.formatwarning is f and warnings.showwarning is s")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_tutorial_warning_prints_without_a_path():
    code = ("import torch, torch.nn as nn\n"
            "from helpers.cam import GradCAM\n"
            "net = nn.Sequential(nn.Conv2d(3, 2, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),"
            " nn.Linear(2, 3))\n"
            "GradCAM(net, '0')(255 * torch.rand(1, 3, 4, 4))\n")
    err = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                         text=True, check=True).stderr
    assert "TutorialWarning: the input's values reach" in err
    assert str(PACKAGE) not in err and "helpers.cam:" in err


def test_a_tutorial_warning_is_caught_and_filtered_like_any_other():
    with pytest.warns(_checks.TutorialWarning, match="values reach"):
        C.GradCAM(_gap_net(), "1")(300 * torch.rand(1, 3, 8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=_checks.TutorialWarning)
        C.GradCAM(_gap_net(), "1")(300 * torch.rand(1, 3, 8, 8))


def test_balanced_accuracy_interval_lives_in_stats():
    assert "balanced_accuracy_interval" in stats.__all__
    assert "balanced_accuracy_interval" not in imagenet.__all__
    assert imagenet.balanced_accuracy_interval is stats.balanced_accuracy_interval  # notebook 02
