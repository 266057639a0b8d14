"""A lock left by a process that died on this host (a kernel restarted during training, an
out-of-memory kill) is taken over at once, saying so; a lock from another host, or from a process
that still runs, is waited for as before (issue 36)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from helpers.course import filelock


class Waited(Exception):
    """Raised instead of sleeping: the lock was waited for."""


@pytest.fixture
def no_waiting(monkeypatch):
    def sleep(_seconds: float) -> None:
        raise Waited

    monkeypatch.setattr(filelock.time, "sleep", sleep)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid names no process now
    return proc.pid


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path, capsys,
                                                                     no_waiting) -> None:
    target = tmp_path / "model.pt"
    lock = tmp_path / "model.pt.lock"
    pid = dead_pid()
    lock.write_text(f"pid {pid} on {socket.gethostname()}")  # fresh: not stale by age
    with filelock.exclusive(target) as waited:
        assert not waited
        assert lock.read_text() == f"pid {os.getpid()} on {socket.gethostname()}"
    out = capsys.readouterr().out
    assert "Taking over" in out and f"process {pid}" in out and "no longer runs" in out
    assert not lock.exists()


def test_the_lock_records_pid_and_host(tmp_path) -> None:
    target = tmp_path / "model.pt"
    with filelock.exclusive(target):
        text = (tmp_path / "model.pt.lock").read_text()
    assert f"pid {os.getpid()}" in text and socket.gethostname() in text


def test_a_lock_of_a_dead_pid_on_another_host_is_waited_for(tmp_path, no_waiting) -> None:
    lock = tmp_path / "model.pt.lock"
    lock.write_text(f"pid {dead_pid()} on another-host-{socket.gethostname()}")
    with pytest.raises(Waited), filelock.exclusive(tmp_path / "model.pt"):
        pass
    assert lock.exists()


def test_a_lock_of_a_running_process_is_waited_for(tmp_path, no_waiting) -> None:
    lock = tmp_path / "model.pt.lock"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as proc:
        try:
            lock.write_text(f"pid {proc.pid} on {socket.gethostname()}")
            with pytest.raises(Waited), filelock.exclusive(tmp_path / "model.pt"):
                pass
        finally:
            proc.kill()
    assert lock.exists()


@pytest.mark.parametrize("text", ["", "pid", "pid x on host", "garbage\x00"])
def test_a_lock_that_names_no_process_is_waited_for(tmp_path, no_waiting, text) -> None:
    """An empty lock is one being written right now; an unreadable one is not guessed at."""
    lock = tmp_path / "model.pt.lock"
    lock.write_text(text)
    with pytest.raises(Waited), filelock.exclusive(tmp_path / "model.pt"):
        pass


def test_a_folder_in_the_locks_place_is_named(tmp_path, no_waiting) -> None:
    (tmp_path / "model.pt.lock").mkdir()
    with pytest.raises(IsADirectoryError, match=r"model.pt.lock is a folder.*[Dd]elete"), \
            filelock.exclusive(tmp_path / "model.pt"):
        pass
