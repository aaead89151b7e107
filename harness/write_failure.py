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
import re
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


class JobStopped(Exception):
    """A sweep job that runs in another process (joblib, submitit_local) stopped on a failed write.

    It carries the job's one line to the command, which prints it and exits WRITE_FAILED: an exit
    inside the job would reach the command as the launcher's chain of tracebacks."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def finish_with_resume(dir_key: str, folder: str | os.PathLike) -> str:
    """How an invocation stopped in `folder` (chosen by `dir_key`) is finished once there is room."""
    if dir_key == "hydra.sweep.dir":
        return f"finish with the same command and resume=true hydra.sweep.dir={folder}"
    return f"finish with resume=true {dir_key}={folder}"


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


_stopped: list[str] = []  # the lines of failures that stopped this process (stop() was called)
_job_of_another_process: list[bool] = []  # set in a job whose command waits in another process


def stop(failure: WriteFailed, folder: str | os.PathLike, then: str) -> NoReturn:
    """Print the one line on stderr and exit WRITE_FAILED (no traceback); in a job of another
    process, raise JobStopped for the command to do so."""
    line = message(failure, folder, then)
    if _job_of_another_process:
        _stopped.append(line)
        raise JobStopped(line) from None
    stop_with(line)


def stop_with(line: str) -> NoReturn:
    _stopped.append(line)
    sys.stderr.write(line + "\n")
    raise SystemExit(WRITE_FAILED) from None


def report_to_the_command() -> None:
    """This process runs one job for a command waiting elsewhere: failed writes raise JobStopped."""
    _job_of_another_process[:] = [True]


# An OS error a write can meet; any other escaping the launcher is a bug, and keeps its traceback.
WRITE_ERRNOS = frozenset(getattr(errno, name) for name in
                         ("ENOSPC", "EDQUOT", "EROFS", "EIO", "EFBIG", "EACCES", "EPERM") if hasattr(errno, name))
# The last line of a job's trace, as submitit reports a job that raised an OSError.
_TRACED_OS_ERROR = re.compile(r"^\w*(?:OSError|Error): \[Errno (\d+)\] ([^\n]*?)(?:: '([^'\n]+)')?$", re.M)


def line_for(error: BaseException, folder: str | os.PathLike, then: str) -> str | None:
    """The one line for a failed write that escaped into Hydra's launcher (Hydra's own .hydra/ and
    multirun.yaml files, or a job in another process), or None when `error` is no failed write."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, JobStopped):
            return error.line
        if isinstance(error, WriteFailed):
            return message(error, folder, then)
        if isinstance(error, OSError) and error.errno in WRITE_ERRNOS:
            return message(WriteFailed(error.filename or Path(folder) / ".hydra", error), folder, then)
        traced = _traced_os_error(str(error)) if type(error).__name__ == "FailedJobError" else None
        if traced is not None:
            return message(WriteFailed(traced.filename or Path(folder) / ".hydra", traced), folder, then)
        error = error.__cause__ or error.__context__
    return None


def _traced_os_error(trace: str) -> OSError | None:
    """The write error at the end of a job's trace text (submitit's FailedJobError), if it is one."""
    found = _TRACED_OS_ERROR.findall(trace)
    if not found:
        return None
    code, text, filename = found[-1]
    if int(code) not in WRITE_ERRNOS:
        return None
    return OSError(int(code), text, filename or None)


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
