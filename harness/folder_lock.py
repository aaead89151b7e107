"""One writer per run folder: an exclusive OS lock held for a whole invocation.

Two invocations started into one folder would both pass the "folder already holds records"
check before either wrote anything, then mix their records under one config.yaml. The lock is
taken before that check and held until the invocation has written its last file (report
included); a second writer is refused at once, naming the holder. It is an `fcntl.flock` on
LOCK_FILE inside the folder: the kernel releases it when the process ends, however it ends, so
a killed run never blocks its folder (the file stays, the lock does not). Each job of a sweep
locks only its own folder, so parallel launchers keep running side by side.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from harness.write_failure import writing

LOCK_FILE = ".writer.lock"


class FolderBusy(ValueError):
    """Another process holds the folder's lock (a ValueError: the command's input is refused)."""


_held: set[Path] = set()  # folders this process holds: holding one again is a no-op


@contextmanager
def hold(folder: str | os.PathLike, *, dir_key: str = "hydra.run.dir") -> Iterator[None]:
    """Hold `folder`'s writer lock for the block (creating the folder); FolderBusy when another
    process holds it. `dir_key` is the setting that chose the folder, named in the refusal.
    Re-entrant within a process (the entry point locks the folder before Hydra writes into it,
    the task function then locks it again)."""
    folder = Path(folder)
    key = folder.resolve()
    if key in _held:
        yield
        return
    path = folder / LOCK_FILE
    with writing(path):
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)  # less the umask
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"output folder {key} is being written by another run "
                             f"({holder(fd)}); wait for it to end, or choose another {dir_key}") from None
        with writing(path):
            _write_holder(fd)
        _held.add(key)
        try:
            yield
        finally:
            _held.discard(key)
    finally:
        os.close(fd)  # closing the only descriptor releases the lock


def held_elsewhere(folder: str | os.PathLike) -> bool:
    """Whether another process holds `folder`'s lock (so the folder is not ours to remove)."""
    if Path(folder).resolve() in _held:
        return False
    try:
        fd = os.open(Path(folder) / LOCK_FILE, os.O_RDONLY)
    except OSError:  # no lock file: nobody ever locked the folder
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _write_holder(fd: int) -> None:
    """Who holds the lock, for the message a refused writer prints."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started})
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def holder(fd: int, wait: float = 1.0) -> str:
    """'process 123 on host, started 2026-01-01T00:00:00+00:00' from the lock file; the holder
    writes it just after locking, so an empty file is read again for up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            info = json.loads(os.pread(fd, 4096, 0).decode() or "null")
        except ValueError:
            info = None
        if isinstance(info, dict):
            return f"process {info.get('pid')} on {info.get('host')}, started {info.get('started')}"
        if time.monotonic() > deadline:
            return "a process that has not said who it is"
        time.sleep(0.05)
