"""Run configuration: one frozen dataclass that every notebook prints first.

Three profiles share one recipe and differ only in size:

========  ==========================================  ==========================================
profile   data                                        model
========  ==========================================  ==========================================
smoke     a tiny demo set (a few dozen images)        ResNet-18, small input, 1 epoch (tests)
demo      a demo set drawn from the real metadata,    ResNet-18 (dilated layer4: 7x7 at 112 px)
          synthetic pixels, lesion masks              trained from scratch on 2 CPU cores
full      real HAM10000 (``HAM10000_DIR``) or         ResNet-50, ImageNet weights, 224 px
          DermaMNIST                                  (Colab GPU)
========  ==========================================  ==========================================

With no settings the profile is ``full`` when real data is found and ``demo`` otherwise.
Environment variables: ``TUTORIAL_PROFILE`` (profile), ``TUTORIAL_SEED`` (the seed of the split,
the demo set and training; 0 when unset), ``HAM10000_DIR`` (real data folder), ``TUTORIAL_CACHE``
(where the demo set and resized images are cached), ``TUTORIAL_HOME`` (the course folder: when
set, the cache, ``outputs/`` and the checkpoints live under it, so that a later runtime reuses
them; ``helpers.course.colab.use_data(..., course_folder=...)`` sets it).

The repository and release settings below are the lines a fork or a teacher edits: after a
change, ``python -m helpers.course.colab notebooks`` (``make badges``) rewrites every notebook's
badge and set-up cell from them; ``tests/test_notebooks.py`` checks that they agree.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import _checks as checks

PROFILES = ("smoke", "demo", "full")
DATASETS = ("demo", "ham10000", "dermamnist")
#: the architectures helpers.models can build (names only: config imports no torch models)
ARCHS = ("resnet18", "resnet34", "resnet50")
#: below this many pixels a ResNet's layer4 (1/32 of the input) has a single position
MIN_IMAGE_SIZE = 32

# --------------------------------------------------------------------------- repository, release
# Read at call time by helpers.course.colab (badges, the set-up cell) and helpers.course.publish.

REPOSITORY = "ham10000-xai/gradcam-plus-plus-ham10000"  # GitHub owner/name: the line a fork edits
RELEASE = "v0.1.0"  # the tag Colab installs `helpers` from, so a lesson never changes under you
PACKAGE = "gradcam-ham10000-helpers"  # the distribution's name (pyproject.toml)
# The course checkpoint a teacher published (a release asset of RELEASE, say) and its SHA-256:
# students' notebooks fetch it instead of training. `python -m helpers.models publish PATH` prints
# the two lines to paste. None: nothing published (the full profile trains). The environment
# variables TUTORIAL_CHECKPOINT_URL and TUTORIAL_CHECKPOINT_SHA256 override them (any profile).
CHECKPOINT_URL: str | None = None
CHECKPOINT_SHA256: str | None = None
# The resized-image cache, published the same way (an archive of the cache folder; HAM10000 is
# CC BY-NC 4.0: shared with its attribution, for non-commercial use). TUTORIAL_CACHE_URL and
# TUTORIAL_CACHE_SHA256 override them.
CACHE_URL: str | None = None
CACHE_SHA256: str | None = None
# Where the set-up cell installs helpers from: any pip source (a git URL with its tag, a wheel's
# address). None means the release above: git+https://github.com/<REPOSITORY>@<RELEASE>.
INSTALL_SOURCE: str | None = None

# What differs between profiles; everything else is shared (see RunConfig's defaults).
_PROFILE_SETTINGS: dict[str, dict[str, object]] = {
    "smoke": dict(
        dataset="demo", n_demo_images=64, image_size=64, arch="resnet18", dilated_layer4=True,
        pretrained=False, epochs=1, batch_size=16, lr=3e-3,
    ),
    "demo": dict(
        dataset="demo", n_demo_images=1500, image_size=112, arch="resnet18", dilated_layer4=True,
        pretrained=False, epochs=8, low_res_size=64, low_res_epochs=6, batch_size=32, lr=3e-3,
    ),
    "full": dict(
        dataset="ham10000", n_demo_images=0, image_size=224, arch="resnet50",
        pretrained=True, epochs=12, batch_size=64, lr=1e-3,
    ),
}


def project_root(start: Path | None = None) -> Path:
    """The repository folder (the first parent holding ``pyproject.toml``), else the cwd."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "helpers").is_dir():
            return folder
    return here


def tutorial_home() -> Path | None:
    """The course folder ``TUTORIAL_HOME`` (None when unset): it holds ``cache/`` and
    ``outputs/`` (figures, checkpoints), so that every runtime of a class shares them."""
    text = os.environ.get("TUTORIAL_HOME", "").strip()
    return Path(text).expanduser() if text else None


def default_cache_dir() -> Path:
    """``TUTORIAL_CACHE`` if set, else ``<TUTORIAL_HOME>/cache`` if that is set, else
    ``~/.cache/gradcam-ham10000`` (XDG_CACHE_HOME honoured)."""
    if os.environ.get("TUTORIAL_CACHE"):
        return Path(os.environ["TUTORIAL_CACHE"]).expanduser()
    home = tutorial_home()
    if home is not None:
        return home / "cache"
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser()
    return base / "gradcam-ham10000"


def default_output_dir() -> Path:
    """``<TUTORIAL_HOME>/outputs`` when the course folder is set, else ``<project>/outputs``."""
    home = tutorial_home()
    return (home if home is not None else project_root()) / "outputs"


def find_real_data() -> Path | None:
    """Where real HAM10000 lives: ``HAM10000_DIR``, else ``<project>/data/HAM10000``, else None."""
    if os.environ.get("HAM10000_DIR"):
        return Path(os.environ["HAM10000_DIR"]).expanduser()
    candidate = project_root() / "data" / "HAM10000"
    return candidate if candidate.is_dir() else None


def default_seed() -> int:
    """``TUTORIAL_SEED`` as an int (0 when unset); a value that is not an integer is an error."""
    text = os.environ.get("TUTORIAL_SEED", "").strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f"TUTORIAL_SEED={text!r} is not an integer; set it to 0, 1, 2, ... or unset it."
        ) from None


def default_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu`` (imports torch lazily)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class RunConfig:
    """Everything a notebook needs to know about the run. Build it with :func:`load_config`."""

    profile: str = "demo"
    dataset: str = "demo"
    data_dir: Path | None = None
    cache_dir: Path = dataclasses.field(default_factory=default_cache_dir)
    output_dir: Path = dataclasses.field(default_factory=default_output_dir)
    n_demo_images: int = 1500
    image_size: int = 128
    arch: str = "resnet18"
    pretrained: bool = False
    #: ``layer4`` at stride 1, dilated (:func:`helpers.models.dilate_layer4`): its grid is
    #: 1/16 of the input instead of 1/32, 7x7 at 112 px as at 224 px without
    dilated_layer4: bool = False
    epochs: int = 8
    #: progressive resizing: the first ``low_res_epochs`` train on ``low_res_size`` px images
    low_res_size: int = 96
    low_res_epochs: int = 0
    batch_size: int = 32
    lr: float = 3e-3
    num_workers: int = 2
    device: str = "cpu"
    seed: int = 0

    def describe(self) -> str:
        """One line for a notebook's first output: profile, data, model, device."""
        if self.dataset == "demo":
            data = f"demo set: {self.n_demo_images} synthetic images drawn from the real metadata"
        else:
            data = f"{self.dataset} at {self.data_dir}"
        weights = "ImageNet weights" if self.pretrained else "from scratch"
        grid = self.image_size // self.layer4_stride
        dilated = " dilated" if self.dilated_layer4 else ""
        return (
            f"profile={self.profile} | data: {data} | model: {self.arch} ({weights}), "
            f"{self.image_size} px ({grid}x{grid}{dilated} layer4), {self.epochs} epochs | "
            f"device: {self.device}"
        )

    @property
    def layer4_stride(self) -> int:
        """How many input pixels one ``layer4`` cell spans: 32, or 16 with ``dilated_layer4``."""
        return 16 if self.dilated_layer4 else 32


def _field_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(RunConfig))


def load_config(**overrides: object) -> RunConfig:
    """The config for this run: profile defaults, then environment, then ``overrides``.

    Profile: ``overrides['profile']``, else ``TUTORIAL_PROFILE``, else ``full`` when real data
    is found (``HAM10000_DIR`` or ``data/HAM10000``) and ``demo`` otherwise. Every setting is
    checked here (``arch`` in :data:`ARCHS`, ``image_size >= 32``, positive ``epochs``,
    ``batch_size`` and ``lr``, a device this machine has, ...): a wrong one raises an error that
    names it, instead of failing later far from the cause.

    >>> load_config(profile="smoke").epochs
    1
    """
    unknown = sorted(set(overrides) - set(_field_names()))
    if unknown:
        raise TypeError(
            f"Unknown setting(s) {unknown}. Valid settings: {', '.join(_field_names())}."
        )
    real = find_real_data()
    given = overrides.pop("profile", None)  # None: as if not given
    profile = given if given is not None else (
        os.environ.get("TUTORIAL_PROFILE") or ("full" if real is not None else "demo"))
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}. Valid profiles: {', '.join(PROFILES)}"
                         " (or leave it out: the profile then follows the data found).")
    settings: dict[str, object] = {"profile": str(profile), **_PROFILE_SETTINGS[str(profile)]}
    if profile == "full":
        settings["data_dir"] = real
    settings["device"] = default_device()
    settings["seed"] = default_seed()
    settings.update(overrides)
    if settings["dataset"] not in DATASETS:
        raise ValueError(
            f"Unknown dataset {settings['dataset']!r}. Valid datasets: {', '.join(DATASETS)}."
        )
    for key in ("data_dir", "cache_dir", "output_dir"):
        if settings.get(key) is not None:
            settings[key] = Path(settings[key]).expanduser()  # type: ignore[arg-type]
    cfg = RunConfig(**settings)  # type: ignore[arg-type]
    _check_settings(cfg)
    return cfg


_DEVICE = re.compile(r"cpu|mps|cuda(:\d+)?")


def check_device(device: object) -> str:
    """``device`` when it names a device this machine has: cpu, cuda, cuda:N or mps."""
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise ValueError(f"device={device!r}: expected 'cpu', 'cuda', 'cuda:N' or 'mps' "
                         "(leave it out to use the GPU when there is one).")
    if device == "cpu":
        return device
    import torch  # lazily: only for a GPU request

    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        number = int(device.partition(":")[2] or 0)
        if number >= count:
            raise ValueError(
                f"device={device!r}, but this machine has {count} CUDA GPU(s). Use device='cpu'"
                " (or leave it out); on Colab pick a GPU under Runtime > Change runtime type.")
    elif not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r}, but MPS (Apple GPU) is not available here; "
                         "use device='cpu'.")
    return device


def _check_settings(cfg: RunConfig) -> None:
    """Refuse settings that would fail later, far from here; name the setting and the fix."""
    checks.one_of(cfg.arch, "arch", ARCHS)
    checks.integer(cfg.image_size, "image_size", minimum=MIN_IMAGE_SIZE,
                   hint=f"A ResNet's layer4 has 1/32 of the input's size; {MIN_IMAGE_SIZE} px "
                        "gives a 1x1 map, 224 px (the full profile) a 7x7 one.")
    checks.integer(cfg.epochs, "epochs")
    checks.integer(cfg.low_res_size, "low_res_size", minimum=MIN_IMAGE_SIZE)
    checks.integer(cfg.low_res_epochs, "low_res_epochs", minimum=0)
    if cfg.low_res_epochs and (cfg.low_res_epochs >= cfg.epochs
                               or cfg.low_res_size > cfg.image_size):
        raise ValueError(
            f"low_res_epochs={cfg.low_res_epochs} at low_res_size={cfg.low_res_size} px: the "
            f"low-resolution epochs must be fewer than epochs={cfg.epochs} and their size at "
            f"most image_size={cfg.image_size}, so that the last epochs train at the size the "
            "model is used at. Set low_res_epochs=0 to train at image_size throughout.")
    checks.integer(cfg.batch_size, "batch_size")
    checks.integer(cfg.n_demo_images, "n_demo_images", minimum=0)
    checks.integer(cfg.num_workers, "num_workers", minimum=0,
                   hint="0 loads images in the main process.")
    checks.integer(cfg.seed, "seed", minimum=0)
    checks.positive_number(cfg.lr, "lr", hint="Typical: 1e-3 (fine-tuning) to 3e-3.")
    for flag in ("pretrained", "dilated_layer4"):
        if not isinstance(getattr(cfg, flag), bool):
            raise TypeError(f"{flag}={getattr(cfg, flag)!r}: expected True or False.")
    check_device(cfg.device)
