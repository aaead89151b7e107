"""A write that the operating system refused (disk full, quota, read-only folder, I/O error).

Such a failure says nothing about the runs: the records already on disk are complete, and the
ones not yet written have to be run again once there is room. So a failed write is never turned
into a `failed` record; it stops the invocation with one line (which file, in which folder, the
error, how to finish) and exit status WRITE_FAILED, like any other bad input.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NoReturn

WRITE_FAILED = 4  # exit status; beside 1 runs failed, 2 bad input, 3 rerun differs, 130 interrupted


class WriteFailed(Exception):
    """Writing `path` failed with the OSError `error`; raised by the harness's write helpers."""

    def __init__(self, path: str | os.PathLike, error: OSError, kept: str = "") -> None:
        self.path, self.error, self.kept = Path(path), error, kept  # kept: what stayed intact, said in the line
        super().__init__(f"could not write {self.path}: {describe(error)}")


def describe(error: OSError) -> str:
    """'No space left on device (ENOSPC)': the OS's words and the errno's name, to search for."""
    name = errno.errorcode.get(error.errno or 0)
    text = error.strerror or str(error) or type(error).__name__
    return f"{text} ({name})" if name else text


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turn an OSError raised while writing `path` into WriteFailed naming `path`."""
    try:
        yield
    except WriteFailed:
        raise
    except OSError as error:
        raise WriteFailed(path, error) from error


def message(failure: WriteFailed, folder: str | os.PathLike, then: str) -> str:
    """The one line a user reads: which file, in which folder, the error, what to do.

    `then` is how to finish once there is room (e.g. 'finish with resume=true hydra.run.dir=X')."""
    folder = Path(folder)
    try:
        shown = failure.path.resolve().relative_to(folder.resolve())
    except ValueError:
        shown = failure.path
    kept = f"; {failure.kept}" if failure.kept else ""
    return f"error: could not write {shown} in {folder}: {describe(failure.error)}{kept}; free space, then {then}"


_stopped: list[WriteFailed] = []  # failures that stopped this process (stop() was called)


def stop(failure: WriteFailed, folder: str | os.PathLike, then: str) -> NoReturn:
    """Print the one line on stderr and exit WRITE_FAILED (no traceback)."""
    _stopped.append(failure)
    sys.stderr.write(message(failure, folder, then) + "\n")
    raise SystemExit(WRITE_FAILED) from None


def stopped() -> bool:
    """Whether a failed write is stopping this process: clean-up at exit then writes nothing more
    (it would fail the same way and print a second line)."""
    return bool(_stopped)


def quiet_log_file_failures() -> None:
    """A log file that cannot be written (the same full disk) gets one warning line on stderr,
    not logging's traceback per message; the records, not the log, are the results."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handleError = _warn_once(handler)  # type: ignore[method-assign]


def _warn_once(handler: logging.FileHandler):  # noqa: ANN202  (a bound replacement for handleError)
    warned: list[bool] = []

    def handle_error(record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not warned:
            warned.append(True)
            reason = describe(error) if isinstance(error, OSError) else repr(error)
            sys.stderr.write(f"warning: log file {handler.baseFilename} not written: {reason}\n")
    return handle_error
