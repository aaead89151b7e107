"""`python -m harness +experiment=NAME [overrides]`: check the command, then run it with Hydra.

Overrides: runs=N | seeds=[0,1] | seed=3, impls=[mlp,keras], backend=numpy|cupy, dtype=float32|float64,
sampling=shuffle|article|sequential, model.<key>=... (learning_rate=, batch_size=, epochs= are
shortcuts for model.<key>), data.root=PATH, quiet=true, resume=true, report=false, hydra.run.dir=PATH.
Sweeps with -m (e.g. -m seed='range(20)' learning_rate=0.001,0.01): one folder per job, and
SWEEP_DIR/runs.csv, summary.csv and the report at the end (harness.callbacks). Launchers:
hydra/launcher=joblib (parallel here: accuracy sweeps only, timings share the CPU),
submitit_local (harness.local_launcher), slurm (conf/hydra/launcher/slurm.yaml).
The whole command is validated first (`harness.precheck`): a bad one exits 2 with one line on
stderr and writes nothing; so does one into a folder another run is writing (`harness.folder_lock`).
A write the system refuses (disk full) exits 4 with one line (`harness.write_failure`), ahead of
any failed runs, which that line names; runs that failed exit 1, and Ctrl-C 130, each with one
line, printed last (`harness.run.finish`, `harness.run.finish_command`).
Output: results/<experiment>/<timestamp>/ (see `harness.run`).
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import ContextManager, Iterator, NoReturn

import hydra
from omegaconf import DictConfig

import harness.config  # noqa: F401  (registers the typed schema in Hydra's ConfigStore)
from harness.precheck import Refused, main_guard, refuse


def use_own_launchers() -> None:
    """hydra/launcher=submitit_local is harness.local_launcher's, where hydra-submitit-launcher (the
    `cluster` extra) is installed (hydra/launcher=slurm names its class in conf/hydra/launcher/slurm.yaml)."""
    try:
        from harness.local_launcher import use_for_submitit_local
    except ImportError:
        return
    use_for_submitit_local()


use_own_launchers()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra's task function: one call."""
    from harness.run import run
    run(cfg)


def hold_output(folder: tuple[str, Path] | None, argv: list[str]) -> ContextManager[object]:
    """Lock the run (or sweep) folder before Hydra writes its .hydra/ files and log into it, and
    pin it in `argv` (a `${now:...}` folder name would be read again, maybe a second later).
    A folder held by another run: one line, exit 2, nothing written there."""
    stack = ExitStack()
    if folder is None:
        return stack
    from harness import folder_lock
    from harness.write_failure import WriteFailed, stop
    key, path = folder
    quoted = str(path).replace("\\", "\\\\").replace("'", "\\'")
    argv[:] = [a for a in argv if not a.lstrip("+").startswith(f"{key}=")] + [f"{key}='{quoted}'"]
    try:
        stack.enter_context(folder_lock.hold(path, dir_key=key))
    except folder_lock.FolderBusy as busy:
        refuse(busy)
    except WriteFailed as failure:
        stop(failure, path, "run the command again")
    return stack


@contextmanager
def ends_in_one_line(folder: tuple[str, Path] | None) -> Iterator[None]:
    """However the command ends, the end-of-sweep merge and report Hydra skipped (Ctrl-C, a job's
    error) run here, while the sweep folder is still locked (harness.callbacks.finish_armed). Ctrl-C
    that reached the command (a run under the basic launcher, a worker launcher's wait, the end of the
    sweep, Hydra's own steps) then ends in harness.run's one line, printed last: exit 130 saying how
    to finish, and what the end of the sweep left undone (a write it could not make among them).
    A sweep's failed runs are no exception: the sweep callback ends in their line (exit 1). Otherwise
    a write the end of the sweep could not make ends the command (callbacks.say_held: its line, exit
    4, after a job's error's traceback, naming a job's refusal); the line of any refused write that ends
    it names the failed runs recorded in the folder, or says they could not be counted
    (harness.run.failed_runs_part). A job's refusal (bad input it finds, exit 2: harness.precheck.Refused)
    is held for this end: its line, printed last, unless such a write wins. Ctrl-C in the end's own step
    wins over a job's refusal or error as over a refused write: the interrupted line names them
    (callbacks.job_error_said), exit 130. Whichever of these lines ends the command also names the other
    jobs' crashes that did not go up (failed_beside: the basic launcher's earlier jobs), after their tracebacks."""
    if folder is None:
        yield
        return
    from harness import callbacks
    from harness.precheck import refusals_said_at_the_end
    from harness.run import failed_runs_part, finish_command
    from harness.write_failure import also_said
    key, path = folder
    interrupted, said_before, error, beside = False, False, None, []
    # a refused write's line names the failed runs and the crashes of the jobs before it (said at once under the
    # basic launcher); a job's refusal is said here, last, or named by that line
    with also_said(lambda: crashes_before_said(path)), also_said(lambda: failed_runs_part(path, key)), \
            refusals_said_at_the_end():
        try:
            yield
        except KeyboardInterrupt as interrupt:
            interrupted, beside = True, failed_beside(path, interrupt)
        except (Refused, Exception) as raised:  # a job's bad input (exit 2) or real error: said once the end is known
            error, beside = raised, failed_beside(path, raised)
        except BaseException:  # an end whose line is said (SystemExit): it goes on up after the end's step
            said_before = True
            raise
        finally:
            try:
                callbacks.finish_armed()
            except KeyboardInterrupt:
                interrupted = True
            if said_before or not interrupted:  # no interrupted line follows: a held write failure ends it now
                callbacks.say_held(path, error, beside)
    if interrupted:
        said = [said for end in (error, *beside) for said in callbacks.job_error_said(end)]
        finish_command(path, key, interrupted=True, not_done=[*said, *callbacks.not_done(path)])
    if error is not None:  # a real error with nothing held: its traceback, then the other jobs' errors, exit 1
        callbacks.raise_with_the_others(error, beside)


@contextmanager
def failed_writes_in_one_line(folder: tuple[str, Path] | None) -> Iterator[None]:
    """A write that failed where the harness does not catch it (Hydra's own .hydra/ files and
    multirun.yaml, or a sweep job in a worker process) ends in the one line of harness.write_failure
    and exit 4 too, not in Hydra's traceback. Hydra hands its exceptions up for that
    (HYDRA_FULL_ERROR); a worker's job's refusal (harness.precheck.JobRefused) goes on up as the
    command's own (Refused, for ends_in_one_line); any other error goes on up, with its traceback
    (failed runs raise nothing). Hydra raises the first failed job's alone, in job order, though a
    worker launcher ran them all (failed_beside): a refused write of any job wins, by the rule of the
    sweep's end (harness.callbacks.write_wins), and its line names the other jobs' refused writes, refusals and
    errors; else a refusal of any job wins, as under the basic launcher: the first one goes on up as the command's
    own, carrying the other jobs' ends (LaunchRefused), which its line names."""
    if folder is None:
        yield
        return
    from harness.callbacks import refused_writes, write_wins
    from harness.precheck import JobRefused
    from harness.write_failure import COMMAND_PID, finish_with_resume
    key, path = folder
    saved = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    os.environ[COMMAND_PID] = str(os.getpid())  # a job in a worker process tells itself apart by it
    stderr = sys.stderr
    sys.stderr = held = _HoldJobErrorLine(stderr)
    try:
        yield
    except Exception as error:
        ends = [error, *failed_beside(path, error)]
        written, others = refused_writes(ends, path, finish_with_resume(key, path))  # a refused write wins, any job's
        refused = next((end for end in ends if isinstance(end, JobRefused)), None)  # else a refusal, whichever job's
        if not written and refused is None:
            held.release()
            raise
        held.pending = ""  # the failed write's line, or the refusal's, says which job's folder
        sys.stderr = stderr
        if not written:  # a worker's job refused: the command's end says it as it says its own
            raise LaunchRefused(refused.reason, [end for end in ends if end is not refused]) from None
        write_wins(written[0], others, written[1:])
    finally:
        held.release()
        sys.stderr = stderr
        os.environ.pop(COMMAND_PID, None)
        if saved is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved


class LaunchRefused(Refused):
    """A worker's job's refusal, which ends the command (failed_writes_in_one_line), with the launch's other failed
    jobs' ends (`beside`), which its line names: the sweeper raised the first failed job's alone."""

    def __init__(self, reason: str, beside: list[BaseException]) -> None:
        super().__init__(reason)
        self.beside = beside


def failed_beside(sweep_dir: Path, error: BaseException) -> list[BaseException]:
    """The exceptions of the launch's other failed jobs than `error`'s, in job order. Those a LaunchRefused carries;
    else the errors of the jobs that ran in this process (callbacks.failed_here: the basic launcher's and joblib's
    one job at a time, whose later job's end, Ctrl-C or a refusal, goes up from inside the launch), then those of
    Hydra's list of the launch's JobReturns that `error` went up through (_returned_with): a worker launcher's
    jobs ran elsewhere, and Hydra's sweeper, holding that list, raises the first failed one's alone."""
    from harness.callbacks import failed_here
    if isinstance(error, LaunchRefused):
        return list(error.beside)
    found: list[BaseException] = []
    for other in [*failed_here(sweep_dir), *_returned_with(error)]:
        if other is not error and not any(other is seen for seen in found):
            found.append(other)
    return found


def _returned_with(error: BaseException) -> list[BaseException]:
    """The failed jobs' exceptions (callbacks.job_error) of Hydra's list of a launch's JobReturns in the innermost
    frame `error` went up through that holds one (the sweeper's, after a worker launch); [] where none does."""
    from hydra.core.utils import JobReturn

    from harness.callbacks import job_error
    for frame, _ in reversed(list(traceback.walk_tb(error.__traceback__))):
        for value in list(frame.f_locals.values()):
            if isinstance(value, list) and value and all(isinstance(r, JobReturn) for r in value):
                return [failed for r in value if (failed := job_error(r)) is not None]
    return []


def crashes_before_said(sweep_dir: Path) -> str:
    """What the line of a refused write that ends the command at once (write_failure.stop_with, in a job that runs in
    the command's process) says of the jobs that crashed before it (callbacks.failed_here), each one's traceback
    printed first (callbacks.job_error_said); those the line names already (callbacks.write_wins) are left out."""
    from harness.callbacks import failed_here, job_error_said, traced
    return "; ".join(said for crash in failed_here(sweep_dir) if not traced(crash) for said in job_error_said(crash))


class _HoldJobErrorLine:
    """stderr, except that Hydra's "Error executing job with overrides: [...]" (written just before
    it raises a failed job's exception) waits for the next write: a failed write's one line
    replaces it, anything else lets it through. It never closes or detaches the real stderr, which
    the command's one line still needs: close() (and a `with` block's end) only lets the held line through."""

    PREFIX = "Error executing job with overrides:"

    def __init__(self, stream: object) -> None:
        self.stream, self.pending = stream, ""

    def write(self, text: str) -> int:
        if text.startswith(self.PREFIX):
            self.pending += text
            return len(text)
        self.release()
        return self.stream.write(text)  # type: ignore[attr-defined]

    def release(self) -> None:
        pending, self.pending = self.pending, ""
        if pending:
            self.stream.write(pending)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Let the held line through and flush; the real stream stays open for the command's end."""
        self.release()
        self.stream.flush()  # type: ignore[attr-defined]

    def detach(self) -> NoReturn:
        raise io.UnsupportedOperation("stderr is held by the command for its one line; it cannot be detached")

    def __enter__(self) -> _HoldJobErrorLine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


if __name__ == "__main__":
    from harness.write_failure import quiet_resource_tracker
    quiet_resource_tracker()
    folder = main_guard(sys.argv[1:])
    with hold_output(folder, sys.argv), ends_in_one_line(folder), failed_writes_in_one_line(folder):
        main()
