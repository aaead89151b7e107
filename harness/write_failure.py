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
from typing import Any, Callable, Iterator, NoReturn, Sequence

WRITE_FAILED = 4  # exit status; beside 1 runs failed, 2 bad input, 3 rerun differs, 130 interrupted
FREE_SPACE = "; free space, then "  # begins how a failed write's line says to finish; what else it says goes before


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
    return f"error: could not write {shown} in {folder}: {describe(failure.error)}{kept}{FREE_SPACE}{then}"


_stopped: list[str] = []  # the lines of failures that stopped this process (stop() was called)
_ALSO_SAID: list[Callable[[], str]] = []  # what the command's line of a failed write also says (also_said)
_job_of_another_process: list[bool] = []  # set in a job whose command waits in another process
COMMAND_PID = "MLP_BENCH_COMMAND_PID"  # environment: the process of the command, inherited by its workers
# A sweep stopped while joblib's workers run leaves a semaphore behind, and Python's resource tracker
# (a process of its own, writing to the same stderr) reports it at exit, after the one error line.
QUIET_RESOURCE_TRACKER = "ignore:resource_tracker:UserWarning:multiprocessing.resource_tracker"


def quiet_resource_tracker() -> None:
    """Keep the resource tracker's leak warning off stderr (in the environment it starts with)."""
    current = os.environ.get("PYTHONWARNINGS", "")
    if QUIET_RESOURCE_TRACKER not in current.split(","):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [current, QUIET_RESOURCE_TRACKER]))


def stop(failure: WriteFailed, folder: str | os.PathLike, then: str) -> NoReturn:
    """Print the one line on stderr and exit WRITE_FAILED (no traceback); in a job of another
    process, raise JobStopped for the command to do so (the worker itself goes on)."""
    line = message(failure, folder, then)
    if reports_to_the_command():
        raise JobStopped(line) from None
    stop_with(line)


def stop_with(line: str, also: Sequence[str] = ()) -> NoReturn:
    """Print `line` and exit WRITE_FAILED. A refused write wins over what else ended the command, so
    its line says that too, before how to finish: `also`, then what the command adds (also_said)."""
    parts = [*also, *filter(None, (said() for said in _ALSO_SAID))]
    if parts:
        head, found, then = line.rpartition(FREE_SPACE)
        line = f"{head}; {'; '.join(parts)}{found}{then}" if found else "; ".join([line, *parts])
    _stopped.append(line)
    sys.stderr.write(line + "\n")
    raise SystemExit(WRITE_FAILED) from None


@contextmanager
def also_said(part: Callable[[], str]) -> Iterator[None]:
    """While the command runs, the one line of a write that stops it also says part() (when not empty):
    the failed runs the exit 4 would otherwise leave unnamed (harness.__main__.ends_in_one_line)."""
    _ALSO_SAID.append(part)
    try:
        yield
    finally:
        _ALSO_SAID.remove(part)


def report_to_the_command() -> None:
    """A job of a worker launcher: where it runs in a worker process (not in the command's own,
    as joblib does with one job at a time), failed writes raise JobStopped for the command."""
    in_a_worker = os.environ.get(COMMAND_PID, str(os.getpid())) != str(os.getpid())
    _job_of_another_process[:] = [True] if in_a_worker else []


def reports_to_the_command() -> bool:
    """Whether this process runs a sweep's job for a command waiting in another process
    (report_to_the_command): its failed write and its refusal go back to the command, which says them."""
    return bool(_job_of_another_process)


def line_for(error: BaseException, folder: str | os.PathLike, then: str) -> str | None:
    """The one line for a failed write that escaped into Hydra's launcher, or None when `error`
    is no failed write (it then keeps its traceback). A failed write is a JobStopped from a worker's
    job, a WriteFailed, or an OSError raised inside one of Hydra's own writes (the .hydra/ files,
    multirun.yaml), found in its traceback or, from a worker, in the trace text it sent back."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, JobStopped):
            return error.line
        if isinstance(error, WriteFailed):
            return message(error, folder, then)
        if isinstance(error, OSError):
            path = _hydra_write_in_frames(error.__traceback__)
            if path is not None:
                return message(WriteFailed(error.filename or path, error), folder, then)
        remote = _remote_trace(error)
        if remote is not None:
            failure = _hydra_write_in_trace(remote)
            if failure is not None:
                return message(failure, folder, then)
        error = error.__cause__
    return None


# Hydra's own writes: (module, function) of the frame that writes, and its locals naming the file.
_HYDRA_WRITERS = {("hydra.core.utils", "_save_config"): lambda v: Path(str(v["output_dir"])) / str(v["filename"]),
                  ("omegaconf.omegaconf", "save"): lambda v: Path(os.fspath(v["f"]))}


def _hydra_write_in_frames(tb: Any) -> Path | None:
    """The file a Hydra write was writing when the traceback `tb` was raised inside it, or None."""
    path = None
    while tb is not None:
        frame = tb.tb_frame
        writer = _HYDRA_WRITERS.get((frame.f_globals.get("__name__", ""), frame.f_code.co_name))
        if writer is not None:
            try:
                path = writer(frame.f_locals)
            except (KeyError, TypeError):  # a file object, not a path: the folder is all we know
                path = None
        tb = tb.tb_next
    return path


def _remote_trace(error: BaseException) -> str | None:
    """The trace text a worker sent back with its failure: submitit's FailedJobError message, or
    joblib's _RemoteTraceback (the cause of the re-raised exception)."""
    if type(error).__name__ in ("FailedJobError", "_RemoteTraceback"):
        return str(error)
    return None


_FRAME = re.compile(r'^\s*File "[^"]*?(hydra/core/utils|omegaconf/omegaconf)\.py", line \d+, in (\w+)$')
_SAVE_CALL = re.compile(r'_save_config\([^,]+,\s*"([^"]+)"')
_OS_ERROR = re.compile(r"^\w+: \[Errno (\d+)\] ([^\n]*?)(?:: '([^'\n]+)')?$")


def _hydra_write_in_trace(trace: str) -> WriteFailed | None:
    """The failed Hydra write at the end of a worker's trace text, or None when its last exception
    is no OSError raised inside one of Hydra's writes."""
    block = trace[trace.rfind("Traceback (most recent call last):"):].splitlines()[1:]
    frames: list[str] = []
    saved: list[str] = []
    for line in block:
        frame = _FRAME.match(line)
        if frame:
            frames.append(frame.group(2))
        elif line.startswith(" "):
            saved += _SAVE_CALL.findall(line)
        else:  # the exception line ends the traceback
            error = _OS_ERROR.match(line)
            if error is None or not frames or frames[-1] not in ("_save_config", "save"):
                return None
            code, text, filename = error.groups()
            shown = filename or (f"a job's .hydra/{saved[-1]}" if saved else "a job's .hydra/ files")
            return WriteFailed(shown, OSError(int(code), text, filename))
    return None


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
