"""Do the notebooks' claims about trained models hold for every seed and thread count?

Another CPU's floating-point kernels train another model from the same seed. This benchmark
disturbs the arithmetic the same way on one machine: it executes the notebooks that train
models or measure them (02: the demo model; 03: its Grad-CAM++ weights; 06: the sanity checks,
and the biased and clean models of the shortcut test) under
``TUTORIAL_SEED`` = 0, 1, 2 and 1 or 2 threads (``OMP_NUM_THREADS``), each run in a folder of
its own (its own checkpoints), reads the findings the notebooks recorded (``helpers.findings``,
``<run>/outputs/findings/NN.jsonl``), checks ``helpers.course.claims.EXPECTED`` against each run
and prints each expectation's minimum, median and maximum beside its bound, with the worst-case
margin (a verdict: whether it held in every run).
It also prints the demo model's test balanced accuracy and confusion matrix per run.

    python benchmarks/bench_robustness.py                          # 6 runs of notebooks 02, 03, 06
    python benchmarks/bench_robustness.py --seeds 0 --threads 2 --notebooks 06
    (a run's folder keeps its checkpoints: running only 06 again reuses 02's model there)
    python benchmarks/bench_robustness.py --report outputs/robustness   # only print the tables

About 20 minutes a run (notebooks 02, 03, 06) on a 2-core CPU with 2 threads; ``--jobs 2`` runs
two at once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.config import default_cache_dir  # noqa: E402
from helpers.course.claims import FINDINGS_ENV, expected_findings, read_record  # noqa: E402
from helpers.data import CLASSES  # noqa: E402
from helpers.models import load_checkpoint  # noqa: E402


def run_dir(out: Path, seed: int, threads: int) -> Path:
    return out / f"seed{seed}-threads{threads}"


def execute(notebooks: list[Path], folder: Path, seed: int, threads: int) -> float:
    """Run ``notebooks`` in order in ``folder`` (copies; outputs/ inside it); return seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    # TUTORIAL_HOME gives each run its own outputs/ (checkpoints): without it a run folder
    # inside the project (the default --out) saves to the project's outputs/, where the runs
    # and any notebook executed meanwhile overwrite each other's models. The demo set's cache
    # stays shared (it does not depend on the seed).
    env = {**os.environ, "TUTORIAL_SEED": str(seed), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "TUTORIAL_PROFILE": "demo", "MPLBACKEND": "Agg",
           "TUTORIAL_HOME": str(folder.resolve()),
           "TUTORIAL_CACHE": str(default_cache_dir()),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("HAM10000_DIR", None)
    env.pop(FINDINGS_ENV, None)  # each run records under its own outputs/findings
    start = time.perf_counter()
    for notebook in notebooks:
        copy = folder / notebook.name  # its outputs/ lands in folder (TUTORIAL_HOME)
        shutil.copy(notebook, copy)
        done = subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
             "--allow-errors", "--ExecutePreprocessor.timeout=3600", "--output", copy.name,
             str(copy)], cwd=folder, env=env, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
    return time.perf_counter() - start


def claims_table(folders: list[Path]) -> pd.DataFrame:
    """One row per claim: bound, min / median / max over the runs, and the worst-case margin."""
    rows = [{**entry, "run": folder.name}
            for folder in folders
            for log in sorted((folder / "outputs" / "findings").glob("[0-9][0-9].jsonl"))
            for entry in expected_findings(log.stem, read_record(log.stem, log.parent))]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    out = []
    for name, group in frame.groupby("name", sort=False):
        op, bound = group["op"].iloc[0], group["bound"].iloc[0]
        if op == "is":  # a verdict: only whether it held
            out.append({"claim": name, "bound": f"one of {bound}", "runs": len(group),
                        "holds in all": bool(group["holds"].all())})
            continue
        values = pd.to_numeric(group["value"], errors="coerce")
        worst = values.min() if op.startswith(">") else values.max()
        out.append({"claim": name, "bound": f"{op} {bound:g}", "runs": len(values),
                    "min": values.min(), "median": values.median(), "max": values.max(),
                    "margin": (worst - bound) if op.startswith(">") else (bound - worst),
                    "holds in all": bool(group["holds"].all())})
    return pd.DataFrame(out)


def demo_models(folders: list[Path]) -> None:
    """The demo model of each run: balanced accuracy, malignant sensitivity, confusion matrix."""
    for folder in folders:
        paths = sorted((folder / "outputs" / "checkpoints").glob("demo-*.pt"))
        paths = [p for p in paths if p.stem.count("-") == 2]  # not the biased model's file
        if not paths:
            continue
        _, meta = load_checkpoint(paths[0])
        m = meta["metrics"]
        print(f"\n{folder.name}: balanced accuracy {m['balanced_accuracy']:.3f}, macro-F1 "
              f"{m['macro_f1']:.3f}, malignant sensitivity {m['malignant_sensitivity']:.3f} / "
              f"specificity {m['malignant_specificity']:.3f}")
        confusion = pd.DataFrame(np.asarray(m["confusion"]), index=CLASSES, columns=CLASSES)
        print(confusion.to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--notebooks", nargs="+", default=["02", "03", "06"])
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "robustness")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--report", type=Path, help="only print the tables of a finished --out")
    args = parser.parse_args()
    if args.report:
        folders = sorted(p for p in args.report.iterdir()
                         if any((p / "outputs" / "findings").glob("*.jsonl")))
    else:
        snapshot = args.out / "notebooks"  # frozen now: edits during the runs don't leak in
        snapshot.mkdir(parents=True, exist_ok=True)
        notebooks = [Path(shutil.copy(next((ROOT / "notebooks").glob(f"{n}_*.ipynb")), snapshot))
                     for n in args.notebooks]
        configs = [(s, t) for t in args.threads for s in args.seeds]
        folders = [run_dir(args.out, s, t) for s, t in configs]
        with ThreadPoolExecutor(args.jobs) as pool:
            times = list(pool.map(lambda c: execute(notebooks, run_dir(args.out, *c), *c),
                                  configs))
        for (s, t), sec in zip(configs, times, strict=True):
            print(f"seed {s}, {t} thread(s): {sec / 60:.1f} min")
    table = claims_table(folders)
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(table.round(3).to_string(index=False))
    demo_models(folders)
    if not table.empty:
        path = (args.report or args.out) / "claims_table.json"
        path.write_text(json.dumps(table.to_dict(orient="records"), indent=1))


if __name__ == "__main__":
    main()
