"""helpers.user_image: reading a user's image, with every bad input the notebook promises
a message for, and a 50-megapixel photo decoded small with bounded memory."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from helpers import imagenet, user_image
from helpers.data import CLASSES, eval_transform
from helpers.user_image import ImageInputError, read_user_image

SIZE = 64


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=len(CLASSES)).eval()


# --- a user's image: good ones -------------------------------------------------------------------


def _encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _photo(width: int = 200, height: int = 150) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def test_a_good_image_is_prepared_like_the_test_images(tmp_path):
    img = _photo()
    path = tmp_path / "mole.png"
    img.save(path)
    user = read_user_image(path, SIZE)
    torch.testing.assert_close(user.tensor, eval_transform(SIZE)(img))
    assert user.name == "mole.png" and user.original_size == (200, 150) and user.notes == ()
    upload = {"name": "up.png", "content": memoryview(path.read_bytes())}  # a FileUpload entry
    assert torch.equal(read_user_image(upload, SIZE).tensor, user.tensor)
    assert read_user_image(io.BytesIO(path.read_bytes()), SIZE).tensor.shape == (3, SIZE, SIZE)


def test_grayscale_png_becomes_three_equal_channels():
    gray = Image.fromarray(np.full((80, 80), 100, dtype=np.uint8), "L")
    user = read_user_image(_encode(gray, "PNG"), SIZE)
    shown = user.display
    assert torch.equal(shown[0], shown[1]) and torch.equal(shown[1], shown[2])
    assert shown.mean().item() == pytest.approx(100 / 255, abs=0.01)
    assert any("grayscale" in note for note in user.notes)


def test_16_bit_grayscale_png_is_scaled_not_clipped():
    mid = Image.fromarray(np.full((80, 80), 32768, dtype=np.uint16))  # mode I;16: half of 65535
    user = read_user_image(_encode(mid, "PNG"), SIZE)
    assert user.display.mean().item() == pytest.approx(0.5, abs=0.01)  # clipping gives 1.0
    assert any("16-bit" in note for note in user.notes)


def _png_rgb16(pixels: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG, written by hand (PIL cannot write one)."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def test_16_bit_rgb_png_keeps_its_colours():
    pixels = np.zeros((64, 64, 3), dtype=np.uint16)
    pixels[..., 0] = 65535  # red at full scale, green at a quarter
    pixels[..., 1] = 16384
    shown = read_user_image(_png_rgb16(pixels), SIZE).display
    assert shown[0].mean().item() == pytest.approx(1.0, abs=0.01)
    assert shown[1].mean().item() == pytest.approx(0.25, abs=0.01)
    assert shown[2].max().item() == pytest.approx(0.0, abs=0.01)


def test_transparent_png_is_laid_over_white():
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    user = read_user_image(_encode(rgba, "PNG"), SIZE)
    assert user.display.min().item() > 0.99 and any("white" in n for n in user.notes)


def test_smallest_accepted_size():
    assert read_user_image(_encode(_photo(32, 32), "PNG"), SIZE).tensor.shape == (3, SIZE, SIZE)


def test_show_user_image_prints_the_message_not_a_traceback(model, capsys):
    assert user_image.show_user_image(b"not an image", model, SIZE) == []
    assert "Cannot use this image: not an image PIL can read" in capsys.readouterr().out


def test_show_user_image_explains_the_top_classes(model, capsys):
    import matplotlib.pyplot as plt

    shown = user_image.show_user_image(_encode(_photo(), "JPEG"), model, SIZE, "Grad-CAM")
    plt.close("all")
    assert [e.target for e in shown] == shown[0].probs.argsort(descending=True)[:3].tolist()
    assert "not a medical device" in capsys.readouterr().out


# --- a 50-megapixel photo: decoded small, memory bounded -----------------------------------------

BIG = (8660, 5774)  # 50 megapixels; 150 MB as 8-bit RGB


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "photo.jpg"
    Image.new("RGB", BIG, (180, 120, 100)).save(path, quality=80)
    return path


def test_50_megapixel_jpeg_is_decoded_at_reduced_scale(big_jpeg):
    user = read_user_image(big_jpeg, 128)
    assert user.original_size == BIG
    assert user.decoded_size[0] <= BIG[0] // 8 + 1  # Image.draft: 1/8 scale keeps >= 256 px
    assert min(user.decoded_size) >= 2 * 128 and user.tensor.shape == (3, 128, 128)
    assert any("reduced scale" in note for note in user.notes)


@pytest.fixture(scope="module")
def fresh_process(big_jpeg) -> dict[str, str]:
    """In a new Python: is ipywidgets imported with helpers.explore, and how much does the peak
    memory grow while reading the 50-megapixel photo? (One process for both: imports are slow.)"""
    code = (
        "import resource, sys\n"
        "from helpers.user_image import read_user_image\n"
        "print('ipywidgets', 'ipywidgets' in sys.modules)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "read_user_image(sys.argv[1], 128)\n"
        "print('grown_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(big_jpeg)], capture_output=True,
                         text=True, check=True)
    return dict(line.split() for line in out.stdout.splitlines())


def test_50_megapixel_jpeg_memory_is_bounded(fresh_process):
    grown_mb = int(fresh_process["grown_kb"]) / 1024  # ru_maxrss is in kB on Linux
    assert grown_mb < 40, f"peak memory grew by {grown_mb:.0f} MB (a full decode is 150 MB)"


def test_module_does_not_import_ipywidgets(fresh_process):
    assert fresh_process["ipywidgets"] == "False"


# --- bad inputs ----------------------------------------------------------------------------------


BAD_INPUTS = {
    "not an image": (b"Name,Diagnosis\nmole,nevus\n", "not an image"),
    "empty file": (b"", "empty"),
    "too small": (_encode(_photo(31, 300), "PNG"), "too small"),
    "truncated JPEG": (_encode(_photo(), "JPEG")[:1500], "truncated|damaged"),
    "JPEG cut in its header": (_encode(_photo(), "JPEG")[:600], "truncated|damaged"),
    "truncated PNG": (_encode(_photo(), "PNG")[:3000], "truncated|damaged"),
    "damaged PNG": (_encode(_photo(), "PNG")[:60] + b"\x00" * 500, "truncated|damaged"),
}


@pytest.mark.parametrize("data,message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_gets_a_clear_error(data, message):
    with pytest.raises(ImageInputError, match=message):
        read_user_image(data, SIZE)


def test_missing_file_and_folder_name_only_the_file(tmp_path):
    with pytest.raises(ImageInputError, match=r"nothing\.jpg.*not found") as err:
        read_user_image(tmp_path / "nothing.jpg", SIZE)
    assert str(tmp_path) not in str(err.value)  # no machine paths in the notebook's output
    with pytest.raises(ImageInputError, match="a folder"):
        read_user_image(tmp_path, SIZE)
    with pytest.raises(ImageInputError, match=r"\bint\b"):
        read_user_image(3, SIZE)


@pytest.mark.parametrize("side", [120, 150])  # over the limit: PIL warns; over twice: it raises
def test_decompression_bomb_limit_is_enforced(monkeypatch, side):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(ImageInputError, match="pixels"):
        read_user_image(_encode(_photo(side, side), "PNG"), SIZE)


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
