"""A lock file, so that two runtimes sharing one course folder (two notebooks open at once, a
class on one teacher's Drive) do not train the same model at the same time.

``with exclusive(path):`` creates ``<path>.lock`` with ``O_CREAT | O_EXCL`` (atomic: of two
processes, exactly one succeeds) and removes it on exit. A process that finds the lock waits,
saying so once, until it is released. The lock records ``pid <n> on <host>``: a lock whose
process, on this host, no longer exists (a kernel restarted during training, an out-of-memory
kill) is taken over at once; a lock from another host (a class sharing one Drive) cannot be
checked and is taken over only when older than ``stale_seconds`` (that runtime disconnected).
The caller then checks whether the other process left what it needed, before doing the work
itself. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

#: a lock older than this is left over from a process that died (a full training takes less)
STALE_SECONDS = 6 * 3600.0
POLL_SECONDS = 2.0
HOLDER = re.compile(r"pid (\d+) on (\S+)")


def holder_is_gone(text: str) -> int | None:
    """The pid named by a lock's ``text`` when that process ran on this host and no longer
    exists; None when it still runs, ran elsewhere, or the text names no process (a lock being
    written right now is empty)."""
    found = HOLDER.fullmatch(text.strip())
    if found is None or found[2] != socket.gethostname() or os.name != "posix":
        return None
    pid = int(found[1])
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return pid
    except OSError:  # exists, owned by another user
        return None
    return None


@contextlib.contextmanager
def exclusive(path: Path, stale_seconds: float | None = None,
              poll_seconds: float | None = None) -> Iterator[bool]:
    """Hold ``<path>.lock`` for the ``with`` block; yields True when another process held it
    first (so the caller should look again for its result), False when it was free."""
    stale = STALE_SECONDS if stale_seconds is None else stale_seconds
    poll = POLL_SECONDS if poll_seconds is None else poll_seconds
    lock = path.with_name(path.name + ".lock")
    made = [p for p in (lock.parent, *lock.parent.parents) if not p.exists()]
    lock.parent.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                age = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                continue  # released between the two calls: try again
            if lock.is_dir():
                raise IsADirectoryError(f"The lock {lock} is a folder, not a lock file: delete "
                                        "that folder (no runtime made it), then run the cell "
                                        "again.") from None
            try:
                text = lock.read_text(errors="replace")
            except FileNotFoundError:
                continue
            gone = holder_is_gone(text)
            if gone is not None:
                print(f"Taking over {lock.name}: process {gone} on this host, which held it, "
                      "no longer runs (its kernel was restarted or killed).")
                lock.unlink(missing_ok=True)
                continue
            if age > stale:
                print(f"Taking over {lock.name}: it is {age / 3600:.1f} h old, left by a "
                      "process that stopped.")
                lock.unlink(missing_ok=True)
                continue
            if not waited:
                holder = text.strip() or "another process"
                print(f"Another runtime ({holder}) is making {path.name} in the same folder; "
                      f"waiting for it (its lock: {lock}; delete it if no runtime is running).")
            waited = True
            time.sleep(poll)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"pid {os.getpid()} on {socket.gethostname()}")
        break
    try:
        yield waited
    finally:
        lock.unlink(missing_ok=True)
        for folder in made:  # made for the lock only (the work failed): gone again
            with contextlib.suppress(OSError):
                folder.rmdir()
