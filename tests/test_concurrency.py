"""Two runtimes that share one course folder and start the same training at once (issue 24):
one trains, the other waits for its lock and loads the checkpoint; nothing is corrupted."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers.course import filelock

ROOT = Path(__file__).resolve().parents[1]

RUNTIME = textwrap.dedent("""
    import sys
    from pathlib import Path
    from helpers import models, train
    from helpers.config import load_config

    log = Path(sys.argv[1])
    real_fit = train.fit

    def counted_fit(*args, **kwargs):
        with log.open("a") as f:
            f.write("fit\\n")
        return real_fit(*args, **kwargs)

    models.fit = counted_fit
    cfg = load_config(profile="smoke", num_workers=0, seed=0)
    _, meta = models.load_or_train(cfg, progress=False)
    print("score", meta["metrics"]["balanced_accuracy"])
""")


def test_two_processes_train_once(tmp_path) -> None:
    env = {**os.environ, "TUTORIAL_HOME": str(tmp_path / "course"), "PYTHONPATH": str(ROOT),
           "OMP_NUM_THREADS": "1"}
    for name in ("HAM10000_DIR", "TUTORIAL_PROFILE", "TUTORIAL_CACHE",
                 "TUTORIAL_CHECKPOINT_URL", "TUTORIAL_CHECKPOINT_SHA256"):
        env.pop(name, None)
    log = tmp_path / "fits.log"
    script = tmp_path / "runtime.py"
    script.write_text(RUNTIME)
    procs = []
    for k in range(2):
        work = tmp_path / f"runtime{k}"
        work.mkdir()
        procs.append(subprocess.Popen([sys.executable, str(script), str(log)], cwd=work, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert log.read_text().count("fit") == 1, outs  # one trained, the other loaded
    scores = {line for out in outs for line in out.splitlines() if line.startswith("score")}
    assert len(scores) == 1, outs  # both got the same model
    checkpoints = tmp_path / "course" / "outputs" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["smoke-resnet18-64.pt"]  # no lock


def test_a_stale_lock_is_taken_over(tmp_path, capsys) -> None:
    target = tmp_path / "model.pt"
    lock = tmp_path / "model.pt.lock"
    lock.write_text("pid 1 on gone")
    old = time.time() - 3600
    os.utime(lock, (old, old))
    with filelock.exclusive(target, stale_seconds=60) as waited:
        assert not waited and lock.is_file()
    assert "Taking over" in capsys.readouterr().out and not lock.exists()


def test_a_held_lock_is_waited_for(tmp_path, capsys) -> None:
    target = tmp_path / "model.pt"
    with filelock.exclusive(target):
        with pytest.raises(subprocess.TimeoutExpired):
            subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]);"
                            "from pathlib import Path; from helpers.course import filelock;"
                            "filelock.exclusive(Path(sys.argv[2]), poll_seconds=0.1)"
                            ".__enter__()", str(ROOT), str(target)], timeout=3)
