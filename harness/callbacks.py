"""Hydra callback that turns a multirun sweep into one merged table and one report.

Registered in conf/config.yaml (`hydra.callbacks.sweep_tables`), so every `python -m harness -m ...`
gets it, whatever the launcher (basic, joblib, submitit_local, slurm). It runs in the launching
process: `on_multirun_end` comes after the launcher has returned every job, so the merge sees them
all. Failed runs raise nothing, so Hydra calls it then too. Hydra skips `on_multirun_end` when a
job raised a real error (its sweeper re-raises it) or on Ctrl-C, so the command runs the step then
(`finish_armed`, from harness.__main__, while it still holds the sweep folder's lock), and it is
also registered to run at exit: a sweep whose job crashed still gets its table and report.
Hydra calls the callbacks' on_multirun_end in reverse order, and this one may exit (a refused
write, failed runs): a callback listed before it in conf/config.yaml would then be skipped.
"""

from __future__ import annotations

import atexit
import logging
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from harness.records import SHARED_CPU_LAUNCHERS, UnreadableRecord

log = logging.getLogger(__name__)
_HANDLED: set[str] = set()  # sweep folders whose end-of-sweep step has run (or must not run)
_ARMED: list[DictConfig] = []  # the sweeps this process started: their step is owed if Hydra skips it
_NOT_DONE: dict[str, list[str]] = {}  # per sweep folder: the steps Ctrl-C stopped, and how to redo them
_FAILED_HERE: dict[str, list[BaseException]] = {}  # per sweep folder this process started: its jobs' errors, in job
# order, of the jobs that ran in this process (SweepTables.on_job_end: the basic launcher, joblib one job at a time)
_TRACED: list[BaseException] = []  # the jobs' errors whose traceback job_error_said printed
_JOB_OF: list[tuple[BaseException, str]] = []  # the jobs' errors job_error read, each with its job ("job 1")
TABLES_NOT_WRITTEN = "the sweep's tables were not written"  # how a held write failure's step begins,
REPORT_NOT_WRITTEN = "the sweep's report was not written"  # or, once the tables are written, this (held_write)


def rebuild_command(sweep_dir: str | Path, report: bool = True) -> str:
    """The command that redoes a sweep's end-of-sweep step: its tables and (`report`, the sweep's report=) report."""
    return f"python -m harness.sweep_merge {sweep_dir}" + ("" if report else " --no-report")


def finish_once(config: DictConfig, exit_on_write_failure: bool = False,
                hold_write_failure: bool = False) -> str | None:
    """Merge the sweep's tables and build its report, once per sweep folder (the callback, its
    at-exit fallback, the command's end and the SLURM launcher's early end all call this). A write
    the OS refuses exits WRITE_FAILED from the callback; where a line of its own follows (Ctrl-C, the
    summary of a submitit launcher's jobs that did not finish: submitit_launch.returns) it is held for that line (`hold_write_failure`: not_done, say_held);
    at exit (the status already non-zero) it is only said, in its one line. A record the step cannot
    read is a warning in its words (unreadable_at_sweep_end), never held: see there; so is any other error.
    Returns that warning where it left the tables unwritten, for a line of the command's own that would
    otherwise say they are merged (that summary); None where they are written, where a
    refused write stopped them (said or held as above), or where the step is not this call's."""
    from harness.write_failure import FREE_SPACE, WriteFailed, message, stop, stopped
    sweep_dir = Path(str(config.hydra.sweep.dir))
    if str(sweep_dir.resolve()) in _HANDLED or stopped():
        return None
    _HANDLED.add(str(sweep_dir.resolve()))
    interrupted = _rate_after(sweep_dir)
    merged: list[bool] = []
    warned = ""
    report = bool(config.get("report", True))
    try:
        from harness.sweep_merge import finish_sweep
        if sweep_dir.is_dir():
            finish_sweep(sweep_dir, experiment=config.get("name"), report=report, merged=merged)
    except WriteFailed as failure:
        then = f"rebuild with {rebuild_command(sweep_dir, report)}"
        if exit_on_write_failure:
            stop(failure, sweep_dir, then)
        if hold_write_failure:
            note_not_done(sweep_dir, [f"{_write_not_made(failure, sweep_dir, bool(merged))}{FREE_SPACE}{then}"])
        else:
            sys.stderr.write(message(failure, sweep_dir, then) + "\n")
    except KeyboardInterrupt as interrupt:  # the command's line says so (not_done), then exits 130
        left = "the sweep's report was not built" if merged else "the sweep's tables and report were not finished"
        if not merged and not report:
            left = "the sweep's tables were not finished"
        if report or not merged:  # with no report asked, written tables leave nothing undone
            again = rebuild_command(sweep_dir, report)
            note_not_done(sweep_dir, [f"{left} ({again} rebuilds {'it' if merged else 'them'})"])
        interrupted = interrupt
    except Exception as ex:  # a warning, never held: the records are on disk, the tables can be rebuilt later
        warned = sweep_end_warning(ex, sweep_dir, experiment=config.get("name"), merged=bool(merged), report=report)
    if warned:
        log.warning(warned)
    if interrupted is not None:
        raise interrupted
    return warned if warned and not merged else None


def sweep_end_warning(ex: Exception, sweep_dir: Path, *, experiment: str | None, merged: bool,
                      report: bool = True) -> str:
    """The warning of a sweep's end whose tables or report failed otherwise than by a refused write (every
    sweep's end: finish_once's, a rerun's): a record it cannot read in its own words, else the error, and
    what it stopped: the tables, or, once they are written (`merged`), the report, saying where the tables are.
    Without a report asked (`report` false) a failure after the tables stopped no report, and the command that
    redoes the step builds none."""
    if isinstance(ex, UnreadableRecord):
        return unreadable_at_sweep_end(ex, sweep_dir, experiment=experiment, merged=merged, report=report)
    error = f"{type(ex).__name__}: {ex}"
    if merged and not report:
        return (f"sweep end failed after its tables were written ({error}); {_tables_written(sweep_dir)}; "
                f"redo the step with {rebuild_command(sweep_dir, report)}")
    if merged:
        return (f"sweep report not built ({error}); {_tables_written(sweep_dir)}; "
                f"rebuild it with {rebuild_command(sweep_dir)}")
    return f"sweep tables not written ({error}); rebuild with {rebuild_command(sweep_dir, report)}"


def _tables_written(sweep_dir: Path) -> str:
    """What a line about a sweep's report that failed says of its tables, written before it (finish_sweep)."""
    from harness.runs_table import RUNS_CSV
    from harness.sweep_merge import SUMMARY_CSV
    return f"the sweep's {RUNS_CSV} and {SUMMARY_CSV} are written in {sweep_dir}"


def _write_not_made(failure: Exception, sweep_dir: Path, merged: bool) -> str:
    """How a write the end-of-sweep step held (hold_write_failure) is said: the tables', or, once they are
    written (`merged`), the report's, with where the tables are."""
    if merged:
        return f"{REPORT_NOT_WRITTEN} ({failure}); {_tables_written(sweep_dir)}"
    return f"{TABLES_NOT_WRITTEN} ({failure})"


def held_write(step: str) -> bool:
    """Whether `step`, one of not_done's, is a write the end-of-sweep step held (exit WRITE_FAILED: say_held,
    harness.submitit_launch.returns), not Ctrl-C's note."""
    return step.startswith((TABLES_NOT_WRITTEN, REPORT_NOT_WRITTEN))


def unreadable_at_sweep_end(unreadable: UnreadableRecord, sweep_dir: Path, *, experiment: str | None,
                            merged: bool, report: bool = True) -> str:
    """The end-of-sweep step's warning for a record it cannot read (its tables', or, once they are written:
    `merged`, its report's), in its words: what it left undone, the file, the fix, and rebuild_command to run
    then (harness.sweep_merge.unreadable_said). A warning, as in a run's own report (harness.run.update_report),
    not the command's refusal (exit 2): the file was readable when the command's check and its job read it, the
    runs are recorded, and the tables and report are rebuilt from them. The command ends as it would: a line
    of its own that counts the sweep's records says they cannot be counted (harness.run.finish_command, exit 1),
    or, when only the report's record is unreadable, says nothing of it (exit 0 when no run failed)."""
    from harness.sweep_merge import unreadable_said
    return unreadable_said(unreadable, sweep_dir, experiment=experiment, merged=merged,
                           command="sweep report not built" if merged else "sweep tables not written",
                           then=f"rebuild with {rebuild_command(sweep_dir, report)}")


def finish_armed() -> None:
    """The end-of-sweep step of every sweep this process started, where Hydra skipped it (a job
    raised a real error, Ctrl-C): the command calls it while it still holds the sweep folder's lock; its at-exit
    registration is the fallback for an end that never reaches the command's handler."""
    for config in _ARMED:
        finish_once(config, hold_write_failure=True)


def note_not_done(sweep_dir: Path, steps: list[str]) -> None:
    """Keep what was left undone in `sweep_dir` (each with how to redo it) for the command's line."""
    _NOT_DONE.setdefault(str(Path(sweep_dir).resolve()), []).extend(steps)


def not_done(sweep_dir: Path) -> list[str]:
    """The steps left undone in `sweep_dir` (Ctrl-C, a write the end of the sweep could not make),
    each with how to redo it."""
    return list(_NOT_DONE.get(str(Path(sweep_dir).resolve()), []))


def take_not_done(sweep_dir: Path) -> list[str]:
    """not_done, taken out: the line that says them is the only one to (submitit_launch.returns' summary)."""
    return _NOT_DONE.pop(str(Path(sweep_dir).resolve()), [])


def say_held(sweep_dir: Path, error: BaseException | None = None, beside: Sequence[BaseException] = ()) -> None:
    """Where no line of the command follows (a job's error or refusal ends it), end on what was held for
    it. The held write failure of the end-of-sweep step wins: its one line comes last, names what else
    ended the command, and the exit is WRITE_FAILED (4). A job's real `error` keeps its traceback (a bug
    to report), printed first, and the line names it; a job's refusal (harness.precheck.Refused, bad
    input, exit 2), whose line was held too, is named by its reason. With no write held, the refusal's
    own line ends the command (exit 2); any other end in flight (a job's exit status) gives way to this.
    Either line names the launch's other failed jobs, `beside`, too (harness.__main__.failed_beside: a worker
    launch's; under the basic launcher, a job's crash before the job that refused), errors after their tracebacks."""
    from harness.precheck import Refused, say_refused
    held = [step for step in take_not_done(sweep_dir) if held_write(step)]
    if not held:
        if isinstance(error, Refused):
            say_refused("; ".join([error.reason, *(said for other in beside for said in job_error_said(other))]))
        return
    write_wins(f"error: {'; '.join(held)}", [error, *beside])


def write_wins(line: str, others: list[BaseException | None], other_writes: Sequence[str] = (), *,
               first: Sequence[str] = (), last: Sequence[str] = ()) -> NoReturn:
    """A refused write's `line` ends the command, exit WRITE_FAILED (4), over the other jobs' refused writes
    (`other_writes`, their own lines: another_write_said) and the jobs' refusals and real errors in `others`, which
    it names (job_error_said: an error's traceback first), between what the caller says `first` and `last`. The
    one rule of a held write (say_held), of a job's (harness.__main__.failed_writes_in_one_line) and of a finished
    job's in a submitit sweep's early end (harness.submitit_launch.returns)."""
    from harness.write_failure import stop_with
    stop_with(line, [*first, *map(another_write_said, other_writes),
                     *(said for other in others for said in job_error_said(other)), *last])


def another_write_said(line: str) -> str:
    """How the line of a refused write that wins names another job's (its line, less `error: ` and how to finish,
    which the winning line says once)."""
    from harness.write_failure import FREE_SPACE
    what, found, _ = line.removeprefix("error: ").rpartition(FREE_SPACE)
    return f"another job's write was refused ({what if found else line.removeprefix('error: ')})"


def job_error_said(error: BaseException | None) -> list[str]:
    """How a line that wins over a job's refusal or real error (a refused write's, exit 4: write_wins; Ctrl-C's,
    130: harness.__main__.ends_in_one_line; a later job's refusal, 2, over an earlier job's error: say_held) names
    it: the refusal by its reason (a worker's job's JobRefused too); the error by its kind and first line, after
    its traceback, printed here (a bug to report); [] for neither."""
    from harness.precheck import JobRefused, Refused
    if isinstance(error, (Refused, JobRefused)):
        return [f"a job was refused ({error.reason})"]
    if not isinstance(error, Exception):
        return []
    return [f"a job raised {_traced_kind_said(error)} (its traceback is above)"]


def _traced_kind_said(error: BaseException) -> str:
    """A job's error as a line names it, `KIND: first line`, once its traceback is printed (a bug to report)."""
    import traceback
    traceback.print_exception(type(error), error, error.__traceback__)
    _TRACED.append(error)
    return ": ".join([type(error).__name__, *str(error).strip().splitlines()[:1]])


def raise_with_the_others(error: BaseException, beside: Sequence[BaseException]) -> NoReturn:
    """A job's real `error`, with nothing held, ends the command, exit 1. Alone, it goes on up (Python's traceback).
    With other jobs' errors (`beside`, harness.__main__.failed_beside), none of which ranks above another, every
    traceback is printed, the first's first, then one line per other error, naming its job (job_named), last."""
    others = [other for other in beside if isinstance(other, Exception)]
    if not others:
        raise error
    import traceback
    traceback.print_exception(type(error), error, error.__traceback__)
    lines = [f"error: {job_named(other)} also raised {_traced_kind_said(other)} (its traceback is above)"
             for other in others]
    sys.stderr.write("".join(f"{line}\n" for line in lines))
    raise SystemExit(1)


def job_named(error: BaseException) -> str:
    """The job whose error job_error read (`job N`, Hydra's job number), or `another job` where its return held none."""
    return next((job for seen, job in _JOB_OF if seen is error), "another job")


def job_error(job_return: Any) -> BaseException | None:
    """The exception a FAILED Hydra JobReturn holds (None for any other value), read as _return_value: the
    return_value property raises it. The one reader of a job's end for SweepTables.on_job_end, the command's end
    (harness.__main__._returned_with) and the submitit launchers' summary (harness.submitit_launch.finished_ends);
    it keeps the job's number with the error, for a line that names it (job_named)."""
    from hydra.core.utils import JobReturn, JobStatus
    if not (isinstance(job_return, JobReturn) and job_return.status is JobStatus.FAILED):
        return None
    error = job_return._return_value
    number = OmegaConf.select(job_return.hydra_cfg, "hydra.job.num") if job_return.hydra_cfg is not None else None
    if number is not None and not any(seen is error for seen, _ in _JOB_OF):
        _JOB_OF.append((error, f"job {number}"))
    return error


def refused_writes(ends: Sequence[BaseException], folder: Path, then: str) -> tuple[list[str], list[BaseException]]:
    """Of jobs' ends, in job order, the refused writes' lines (harness.write_failure.line_for, finishing with `then`)
    and the other ends: what write_wins takes (the first line wins, naming the rest)."""
    from harness.write_failure import line_for
    lines = [line_for(end, folder, then) for end in ends]
    return [line for line in lines if line is not None], [end for end, its in zip(ends, lines) if its is None]


def traced(error: BaseException) -> bool:
    """Whether job_error_said printed `error`'s traceback and named it already (a line that names it once)."""
    return any(error is said for said in _TRACED)


def failed_here(sweep_dir: str | Path) -> list[BaseException]:
    """The errors, in job order, of the jobs of the sweep in `sweep_dir` that failed in this process (the basic
    launcher's; joblib's one job at a time): kept by SweepTables.on_job_end, where Hydra's run_job hands each
    job's return over, so a later job's end can name them ([] for a sweep this process did not start)."""
    return list(_FAILED_HERE.get(str(Path(sweep_dir).resolve()), []))


def measure_after_sweep(sweep_dir: Path) -> int:
    """The matmul rate after the runs, measured once for every job of this process's sweep that
    waits for it (harness.run.WAITING_FOR_AFTER: jobs that ran, under the in-process launcher) and
    added to each one's environment.json before the tables and the report read them; returns how
    many got it. Until then a job's file holds the rate measured before its runs, as any job's
    does when its process ends early."""
    import json

    from harness.atomic_write import atomic_write_text
    from harness.machine import after_measurements, with_after
    from harness.run import WAITING_FOR_AFTER
    root = sweep_dir.resolve()
    mine = [path for path in WAITING_FOR_AFTER if path.resolve().is_relative_to(root)]
    for path in mine:  # handed over once, whatever happens below
        WAITING_FOR_AFTER.remove(path)
    if not mine:
        return 0
    after, done = after_measurements(), 0
    for path in mine:
        try:
            environment = json.loads(path.read_text(encoding="utf-8"))
            atomic_write_text(path, json.dumps(with_after(environment, after), indent=1, default=str))
            done += 1
        except (OSError, ValueError) as ex:  # one bad file (moved, corrupted, disk full) spares the others
            log.warning(f"{path}: the matmul rate after the runs not added ({type(ex).__name__}: {ex})")
    return done


def _rate_after(sweep_dir: Path) -> KeyboardInterrupt | None:
    """measure_after_sweep, whose failure never costs the sweep its tables and report: an error is
    one warning (the rate measured before the runs stands); Ctrl-C is returned, to be raised once
    the tables are written."""
    try:
        measure_after_sweep(sweep_dir)
    except KeyboardInterrupt as interrupt:
        from harness.machine import RATE_NOT_MEASURED
        log.warning(f"interrupted: {RATE_NOT_MEASURED}")
        note_not_done(sweep_dir, [RATE_NOT_MEASURED])
        return interrupt
    except Exception as ex:
        log.warning(f"the matmul rate after the runs was not added ({type(ex).__name__}: {ex}); "
                    "the rate measured before them stands")
    return None


def skip_finish(sweep_dir: Path) -> None:
    """No end-of-sweep step for this sweep: a launch refused before any job ran (nothing may be
    half-written), or a SLURM array left running after Ctrl-C (its line says how to merge later)."""
    _HANDLED.add(str(Path(sweep_dir).resolve()))


class SweepTables(Callback):
    """Write SWEEP_DIR/runs.csv, SWEEP_DIR/summary.csv and (report=true) the report, once per sweep."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Warn about shared cores under a local parallel launcher; arm the at-exit fallback."""
        launcher = str(config.hydra.runtime.choices.get("hydra/launcher") or "basic")
        if launcher in SHARED_CPU_LAUNCHERS:
            log.warning(f"hydra/launcher={launcher} runs jobs side by side: use it for accuracy sweeps; "
                        "fit times share the CPU and the report marks them as not comparable")
        _ARMED.append(config)
        atexit.register(finish_once, config)
        _FAILED_HERE[str(Path(str(config.hydra.sweep.dir)).resolve())] = []

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        """Keep the error of a job of this process's sweep that failed (failed_here): Hydra's run_job calls this in
        the process that ran the job, and only its sweeper, after the launch, raises the first one."""
        kept, error = _FAILED_HERE.get(str(Path(str(config.hydra.sweep.dir)).resolve())), job_error(job_return)
        if kept is not None and error is not None:
            kept.append(error)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Every job has returned: merge and report (a write the OS refused exits WRITE_FAILED), then
        end in one line and exit 1 when any job recorded failed runs (harness.run.finish_command)."""
        from harness.run import finish_command
        finish_once(config, exit_on_write_failure=True)
        sweep_dir = Path(str(config.hydra.sweep.dir))
        finish_command(sweep_dir, "hydra.sweep.dir", interrupted=False, not_done=not_done(sweep_dir),
                       report=bool(config.get("report", True)))
