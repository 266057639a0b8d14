"""Rehearse the full profile at real scale on a look-alike of Kaggle's HAM10000 download.

No machine here has the real images or a GPU, so this writes a stand-in with the real shape:

- 10,015 JPEGs at 600x450 (about 250 KB each, like the real ones: 97 distinct noisy pictures,
  reused, since encoding 10,015 is slow here) named by the real image ids, in
  ``HAM10000_images_part_1/`` and ``_part_2/`` and again in the lower-case copies
  ``ham10000_images_part_1/`` and ``_part_2/`` (Kaggle ships every image twice);
- the real ``HAM10000_metadata.csv`` (packaged in ``helpers/resources``);
- the four ``hmnist_*.csv`` pixel tables at their real shapes (random pixels);

as a folder (what kagglehub leaves; the lower-case copies are hard links there) and as a zip
(the archive a student downloads; every copy stored, so its size is the real one's, 5.2 GB).

Then it takes the student's path: ``use_data("ham10000-zip", zip_path=...)``, ``load_config()``
(which must pick the ``full`` profile), ``load_metadata``, ``prepare_metadata`` (the resized
copy), ``lesion_split``, ``make_loaders`` and a fixed number of ResNet-50 training steps at 224
px through :func:`helpers.train.fit`. ImageNet weights cannot be downloaded here, so the model
is built without them (same architecture, same cost per step). Each stage prints its time, the
peak resident memory of this process (``VmHWM``, reset per stage) and the disk in use. At the
end it estimates one full epoch on this CPU and checks that ``fit`` used neither
``torch.autocast`` nor ``channels_last`` on the CPU (both are for CUDA only).

    python benchmarks/rehearse_full.py --n-images 300 --steps 3      # a quick try (~2 min)
    nice python benchmarks/rehearse_full.py                           # all 10,015 images

``--class`` plays a class in Colab instead (issue 24), each runtime a fresh process with its own
working folder (no ``data/`` there): runtime 1 runs notebook 02's steps (``use_data`` with a
course folder, ``load_or_train``, a first Grad-CAM++ heatmap) into course folder 1; runtime 2
runs notebook 03's steps against the same course folder (it must train nothing); runtime 3
starts with an empty course folder and fetches the published checkpoint and resized-image cache
from a loopback HTTP server. Only runtime 1 has the data (the zip); runtimes 2 and 3 get a zip
path that does not exist, so they pass only if the resized copy in the course folder
(:mod:`helpers.course.resized`) is all they need.
For each it prints the wall time from the settings cell to the first heatmap, whether it
trained, its peak memory (``wait4``'s rusage of the child) and the course folder's disk. The
training settings are scaled down with ``--class-settings`` (JSON, default ResNet-18 at 64 px,
1 epoch): a full ResNet-50 training does not fit this CPU.

    nice python benchmarks/rehearse_full.py --class --n-images 300
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import math
import os
import resource
import shutil
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image

from helpers import train as train_module
from helpers.config import load_config
from helpers.course.colab import use_data
from helpers.course.prepare import prepare_metadata
from helpers.data import (
    IMAGE_FOLDERS,
    METADATA_FILE,
    lesion_split,
    load_metadata,
    make_loaders,
    packaged_metadata,
)
from helpers.models import build_model

N_IMAGES = 10_015
WIDTH, HEIGHT = 600, 450
PART_1_LAST_ID = 29305  # the real archive's part 1 ends at ISIC_0029305
HMNIST = {"hmnist_28_28_RGB.csv": 28 * 28 * 3, "hmnist_28_28_L.csv": 28 * 28,
          "hmnist_8_8_RGB.csv": 8 * 8 * 3, "hmnist_8_8_L.csv": 8 * 8}
GB = 1e9


# --------------------------------------------------------------------------- measuring


def reset_peak_rss() -> None:
    """Reset this process's peak resident set size (Linux: ``clear_refs`` 5 resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    """Peak resident memory of this process since the last reset, in MB."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_bytes(folder: Path) -> int:
    """Bytes on disk under ``folder`` (allocated blocks; hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            st = os.lstat(os.path.join(root, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


class Stages:
    """Runs named stages and keeps a row per stage: seconds, peak RSS, disk in use after it."""

    def __init__(self, work: Path) -> None:
        self.work, self.rows = work, []

    def run(self, name: str, step: Callable[[], Any]) -> Any:
        reset_peak_rss()
        start, cpu = time.perf_counter(), time.process_time()
        result = step()
        seconds = time.perf_counter() - start
        row = {"stage": name, "seconds": seconds, "CPU s": time.process_time() - cpu,
               "peak RSS (MB)": peak_rss_mb(), "disk in use (GB)": disk_bytes(self.work) / GB,
               "load avg": os.getloadavg()[0]}
        self.rows.append(row)
        print(f"  {name}: {seconds:.1f} s ({row['CPU s']:.1f} CPU s), peak RSS "
              f"{row['peak RSS (MB)']:.0f} MB, disk {row['disk in use (GB)']:.2f} GB, load "
              f"{row['load avg']:.1f}", flush=True)
        return result

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows).set_index("stage")


# --------------------------------------------------------------------------- the look-alike


def pick_rows(meta: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """About ``n`` rows of the real metadata, whole lesions, every class with >= 6 lesions."""
    if n >= len(meta):
        return meta
    rng = np.random.default_rng(seed)
    share = n / len(meta)
    keep: list[str] = []
    for _dx, lesions in meta.groupby("dx")["lesion_id"].unique().items():
        lesions = rng.permutation(np.sort(lesions))
        keep.extend(lesions[: max(6, round(share * len(lesions)))])
    return meta[meta["lesion_id"].isin(keep)].reset_index(drop=True)


def part_folder(image_id: str) -> str:
    """The image folder the real archive puts ``image_id`` in."""
    return IMAGE_FOLDERS[0] if int(image_id.split("_")[1]) <= PART_1_LAST_ID else IMAGE_FOLDERS[1]


def _noise_pool(seed: int, k: int = 8) -> list[np.ndarray]:
    """A few noise fields a little larger than an image; each image crops one at an offset."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 18, (HEIGHT + 32, WIDTH + 32, 3)).astype(np.float32) for _ in range(k)]


_YY, _XX = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)


def write_jpeg(path: Path | io.BytesIO, k: int, pool: list[np.ndarray]) -> None:
    """A 600x450 JPEG of about 250 KB: skin-coloured gradient, a dark lesion, sensor-like noise."""
    yy, xx = _YY, _XX
    rng = np.random.default_rng(k)
    skin = rng.uniform([170, 120, 100], [230, 170, 150])
    base = skin - 40 * (yy / HEIGHT)[..., None] + 20 * (xx / WIDTH)[..., None]
    cy, cx, radius = rng.uniform(150, 300), rng.uniform(200, 400), rng.uniform(60, 160)
    base = np.where((np.hypot(yy - cy, xx - cx) < radius)[..., None], base * 0.45, base)
    dy, dx = rng.integers(0, 32, 2)
    noise = pool[k % len(pool)][dy:dy + HEIGHT, dx:dx + WIDTH]
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG", quality=98)


def write_hmnist(folder: Path, n: int, labels: np.ndarray, seed: int = 0) -> None:
    """The four ``hmnist_*.csv`` tables at their real shapes: pixel columns, then ``label``."""
    rng = np.random.default_rng(seed)
    for name, width in HMNIST.items():
        pixels = rng.integers(0, 256, (n, width), dtype=np.uint8).astype(np.int64)
        table = pd.DataFrame(pixels, columns=[f"pixel{i:04d}" for i in range(width)])
        table["label"] = labels
        table.to_csv(folder / name, index=False)


def jpeg_pool(n: int = 97, seed: int = 0) -> list[bytes]:
    """``n`` distinct encoded JPEGs; the look-alike reuses them (encoding 10,015 is slow here)."""
    noise = _noise_pool(seed)
    pool = []
    for k in range(n):
        buffer = io.BytesIO()
        write_jpeg(buffer, k, noise)
        pool.append(buffer.getvalue())
    return pool


def write_lookalike_folder(folder: Path, rows: pd.DataFrame) -> None:
    """What kagglehub leaves behind, at the real sizes (lower-case copies as hard links)."""
    for name in IMAGE_FOLDERS:
        (folder / name).mkdir(parents=True)
        (folder / name.lower()).mkdir()
    rows.drop(columns=["path", "label"], errors="ignore").to_csv(folder / METADATA_FILE,
                                                                  index=False)
    write_hmnist(folder, len(rows), rows["dx"].astype("category").cat.codes.to_numpy())
    pool = jpeg_pool()
    for k, image_id in enumerate(rows["image_id"]):
        part = part_folder(image_id)
        upper = folder / part / f"{image_id}.jpg"
        upper.write_bytes(pool[k % len(pool)])
        os.link(upper, folder / part.lower() / upper.name)


def zip_folder(folder: Path, archive: Path) -> None:
    """The folder as Kaggle's zip: every member at the top, each copy stored in full (JPEGs
    stored, as deflate cannot shrink them; the CSVs deflated)."""
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                method = zipfile.ZIP_STORED if path.suffix == ".jpg" else zipfile.ZIP_DEFLATED
                z.write(path, path.relative_to(folder).as_posix(), compress_type=method)


# --------------------------------------------------------------------------- training


class FirstBatches:
    """The first ``n`` batches of a loader, stamping the time at each batch and at the end."""

    def __init__(self, loader: torch.utils.data.DataLoader, n: int) -> None:
        self.loader, self.n, self.dataset = loader, min(n, len(loader)), loader.dataset
        self.stamps: list[float] = []
        self.cpu: list[float] = []

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[Any]:
        for _, batch in zip(range(self.n), self.loader, strict=False):
            self.stamps.append(time.perf_counter())
            self.cpu.append(time.process_time())
            yield batch
        self.stamps.append(time.perf_counter())
        self.cpu.append(time.process_time())

    def seconds_per_batch(self, cpu: bool = False) -> float:
        """Median wall (or this process's CPU) time between batches, leaving out the first
        (warm-up) when there are more."""
        gaps = np.diff(self.cpu if cpu else self.stamps).tolist()
        return statistics.median(gaps[1:] if len(gaps) > 2 else gaps)


class CudaOnlySpy:
    """Records every ``torch.autocast`` that ``fit`` opens and the memory format it trains on."""

    def __init__(self) -> None:
        self.autocasts: list[tuple[str, bool]] = []
        self.channels_last_inputs = 0
        self.batches = 0

    @contextlib.contextmanager
    def watching(self, model: torch.nn.Module) -> Iterator[None]:
        real = torch.autocast
        spy = self

        class Autocast(real):  # type: ignore[misc, valid-type]
            def __init__(self, device_type: str, *args: Any, **kwargs: Any) -> None:
                super().__init__(device_type, *args, **kwargs)
                asked = kwargs.get("enabled", args[1] if len(args) > 1 else True)  # dtype, enabled
                spy.autocasts.append((device_type, bool(asked)))

        def pre_hook(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            if module.training:
                spy.batches += 1
                spy.channels_last_inputs += int(
                    inputs[0].is_contiguous(memory_format=torch.channels_last)
                    and not inputs[0].is_contiguous())

        handle = model.register_forward_pre_hook(pre_hook)
        torch.autocast = Autocast  # type: ignore[misc]
        try:
            yield
        finally:
            torch.autocast = real  # type: ignore[misc]
            handle.remove()

    def report(self, model: torch.nn.Module) -> str:
        enabled = sum(on for _, on in self.autocasts)
        weight = model.conv1.weight
        weight_cl = weight.is_contiguous(memory_format=torch.channels_last) and not \
            weight.is_contiguous()
        ok = enabled == 0 and self.channels_last_inputs == 0 and not weight_cl
        return (f"{'OK' if ok else 'FAIL'}: on the CPU fit opened torch.autocast "
                f"{len(self.autocasts)} times, enabled {enabled} times; channels_last inputs "
                f"{self.channels_last_inputs} of {self.batches} training batches; conv1 weight "
                f"channels_last: {weight_cl}")


def train_steps(cfg: Any, loaders: dict[str, Any], steps: int,
                val_batches: int) -> tuple[FirstBatches, FirstBatches, str]:
    """A short ``fit`` (one epoch of ``steps`` batches) of the full profile's model, on CPU."""
    model = build_model(cfg.arch, pretrained=False)  # ImageNet weights cannot be fetched here
    train = FirstBatches(loaders["train"], steps)
    val = FirstBatches(loaders["val"], val_batches)
    spy = CudaOnlySpy()
    with spy.watching(model):
        train_module.fit(model, {"train": train, "val": val}, cfg, epochs=1, progress=False)
    return train, val, spy.report(model)


# --------------------------------------------------------------------------- main


RUNTIME = """
import json, sys, time
start = time.perf_counter()
spec = json.loads(sys.argv[1])
from helpers.course.colab import use_data
use_data("ham10000-zip", folder=spec["data"], zip_path=spec["zip"],
         course_folder=spec["course"])  # the settings cell
import torch
from helpers import models
from helpers.cam import GradCAMPlusPlus
from helpers.config import load_config
from helpers.data import eval_transform, lesion_split, open_image
from helpers.course.prepare import prepare_metadata
from helpers.course.resized import copy_size
calls = []
real_fit = models.fit
models.fit = lambda *a, **k: calls.append(1) or real_fit(*a, **k)
cfg = load_config(**spec["settings"])
model, meta = models.load_or_train(cfg, progress=False)
test = lesion_split(prepare_metadata(cfg), seed=cfg.seed)["test"]
x = eval_transform(cfg.image_size)(open_image(test["path"].iloc[0])).unsqueeze(0)
heatmap = GradCAMPlusPlus(model.cpu())(x)
print("RESULT", json.dumps({"seconds": time.perf_counter() - start, "trained": bool(calls),
                            "data": "resized copy" if copy_size(cfg.data_dir) else "original",
                            "heatmap": list(heatmap.shape)}))
"""

DEFAULT_CLASS_SETTINGS = dict(arch="resnet18", image_size=64, epochs=1, batch_size=16,
                              pretrained=False, num_workers=0)


def run_runtime(work: Path, name: str, spec: dict[str, Any],
                env: dict[str, str]) -> dict[str, Any]:
    """One Colab runtime: a fresh process in its own empty working folder; its result, peak
    memory (MB, from wait4) and exit status."""
    import json
    import subprocess
    import sys

    cwd = work / name
    cwd.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", RUNTIME, json.dumps(spec)], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{out[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    result["peak memory (MB)"] = usage.ru_maxrss / 1024
    print(f"--- {name}\n" + "\n".join(out.splitlines()[-12:]), flush=True)
    return result


def serve(folder: Path) -> tuple[str, Callable[[], None]]:
    """A loopback HTTP server for ``folder`` (the teacher's release); its URL and a stop."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}", httpd.shutdown


def play_class(work: Path, rows: pd.DataFrame, settings: dict[str, Any]) -> pd.DataFrame:
    """Runtimes 1-3 of a class (see the module docstring); a table row per runtime."""
    from helpers.course.publish import pack_folder, sha256_of

    download, archive = work / "kaggle-download", work / "skin-cancer-mnist-ham10000.zip"
    write_lookalike_folder(download, rows)
    zip_folder(download, archive)
    shutil.rmtree(download)
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("TUTORIAL_") or k == "HAM10000_DIR")}
    spec = {"data": str(work / "drive-data"), "zip": str(archive), "settings": settings}
    # runtimes 2 and 3 have no data: a zip that is not there, a data folder of their own
    no_data = {"data": "data", "zip": str(work / "no-such.zip"), "settings": settings}
    rows_out = []
    for name, given in [("runtime 1 (notebook 02)", spec), ("runtime 2 (notebook 03)", no_data)]:
        result = run_runtime(work, name.split(" (")[0].replace(" ", ""),
                             {**given, "course": str(work / "course")}, env)
        rows_out.append({"runtime": name, **result,
                         "course folder (MB)": disk_bytes(work / "course") / 1e6})
    release = work / "release"
    release.mkdir()
    checkpoint = next((work / "course" / "outputs" / "checkpoints").glob("*.pt"))
    shutil.copy(checkpoint, release / checkpoint.name)
    pack_folder(work / "course" / "cache", release / "cache.tar")
    url, stop = serve(release)
    try:
        env3 = {**env, "TUTORIAL_CHECKPOINT_URL": f"{url}/{checkpoint.name}",
                "TUTORIAL_CHECKPOINT_SHA256": sha256_of(checkpoint),
                "TUTORIAL_CACHE_URL": f"{url}/cache.tar",
                "TUTORIAL_CACHE_SHA256": sha256_of(release / "cache.tar")}
        result = run_runtime(work, "runtime3", {**no_data, "course": str(work / "course3")},
                             env3)
    finally:
        stop()
    rows_out.append({"runtime": "runtime 3 (published)", **result,
                     "course folder (MB)": disk_bytes(work / "course3") / 1e6})
    return pd.DataFrame(rows_out).drop(columns=["heatmap"]).set_index("runtime")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=N_IMAGES,
                        help="how many images (whole lesions, every class; default all 10,015)")
    parser.add_argument("--steps", type=int, default=4, help="training steps (batches)")
    parser.add_argument("--val-batches", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="where to write (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the files written")
    parser.add_argument("--class", dest="play", action="store_true",
                        help="play a class in Colab: three runtimes, one course folder")
    parser.add_argument("--class-settings", default="",
                        help=f"JSON load_config overrides (default {DEFAULT_CLASS_SETTINGS})")
    args = parser.parse_args()
    if args.play:
        import json

        settings = {**DEFAULT_CLASS_SETTINGS, **json.loads(args.class_settings or "{}")}
        work = Path(args.workdir or tempfile.mkdtemp(prefix="rehearse-class-")).absolute()
        work.mkdir(parents=True, exist_ok=True)
        try:
            table = play_class(work, pick_rows(packaged_metadata(), args.n_images), settings)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        print(f"\n{args.n_images} look-alike images; settings {settings}")
        print(table.round(1).to_string())
        return

    work = Path(args.workdir or tempfile.mkdtemp(prefix="rehearse-full-")).absolute()
    work.mkdir(parents=True, exist_ok=True)
    os.environ["TUTORIAL_CACHE"] = str(work / "cache")
    for name in ("HAM10000_DIR", "TUTORIAL_PROFILE"):
        os.environ.pop(name, None)
    rows = pick_rows(packaged_metadata(), args.n_images)
    print(f"Rehearsing the full profile on {len(rows)} look-alike images in {work} "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs)", flush=True)
    stages = Stages(work)
    try:
        download = work / "kaggle-download"
        archive = work / "skin-cancer-mnist-ham10000.zip"
        stages.run("write look-alike folder", lambda: write_lookalike_folder(download, rows))
        stages.run("zip it like Kaggle", lambda: zip_folder(download, archive))
        print(f"  zip: {archive.stat().st_size / GB:.2f} GB; folder: "
              f"{disk_bytes(download) / GB:.2f} GB on disk", flush=True)
        root = stages.run("use_data('ham10000-zip')",
                          lambda: use_data("ham10000-zip", folder=work / "data",
                                           zip_path=archive))
        cfg = stages.run("load_config()", load_config)
        assert cfg.profile == "full" and cfg.data_dir == root, cfg.describe()
        print(f"  {cfg.describe()}", flush=True)
        stages.run("load_metadata", lambda: load_metadata(cfg.data_dir))
        meta = stages.run("prepare_metadata: the resized copy (224 px)",
                          lambda: prepare_metadata(cfg))
        splits = stages.run("lesion_split", lambda: lesion_split(meta, seed=cfg.seed))
        loaders = stages.run("make_loaders", lambda: make_loaders(splits, cfg))
        train, val, check = stages.run(
            f"fit: {args.steps} ResNet-50 steps (batch {cfg.batch_size})",
            lambda: train_steps(cfg, loaders, args.steps, args.val_batches))
    finally:
        table = stages.table()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    train.loader = val.loader = None  # type: ignore[assignment]
    loaders.clear()
    gc.collect()  # the DataLoader workers exit, so their peak memory is counted below
    workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    sizes = {name: len(part) for name, part in splits.items()}
    train_steps_per_epoch = math.ceil(sizes["train"] / cfg.batch_size)
    val_batches = math.ceil(sizes["val"] / cfg.batch_size)
    step_s, val_s = train.seconds_per_batch(), val.seconds_per_batch()
    epoch_s = train_steps_per_epoch * step_s + val_batches * val_s
    threads = torch.get_num_threads()
    step_cpu, val_cpu = train.seconds_per_batch(cpu=True), val.seconds_per_batch(cpu=True)
    idle_s = (train_steps_per_epoch * step_cpu + val_batches * val_cpu) / threads

    print()
    print(table.round({"seconds": 1, "CPU s": 1, "peak RSS (MB)": 0, "disk in use (GB)": 2,
                       "load avg": 1}).to_string())
    print(f"\nsplits: {sizes}; a DataLoader worker peaked at {workers_mb:.0f} MB RSS")
    print(f"one training step (batch {cfg.batch_size}, 224 px): {step_s:.1f} s; one validation "
          f"batch: {val_s:.1f} s")
    print(f"estimated full epoch on this CPU: {train_steps_per_epoch} steps x {step_s:.1f} s + "
          f"{val_batches} validation batches x {val_s:.1f} s = {epoch_s / 60:.0f} min "
          f"({cfg.epochs} epochs: {cfg.epochs * epoch_s / 3600:.1f} h), with the load above")
    print(f"the same from CPU time (a step takes {step_cpu:.0f} CPU s; {threads} threads on an "
          f"idle machine): {idle_s / 60:.0f} min per epoch ({cfg.epochs * idle_s / 3600:.1f} h)")
    print(check)
    if not check.startswith("OK"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
