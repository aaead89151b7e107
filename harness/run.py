"""One invocation of an experiment: validate, record the environment, run the sweep, report.

`run(cfg)` is the Hydra task function's only call. It works in the Hydra run directory
(`hydra.runtime.output_dir`), writing there `config.yaml`, `environment.json`, `records/*.json`
and `runs.csv`. Files are created only after the whole config has been validated.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from harness import folder_lock
from harness.atomic_write import atomic_write_text
from harness.records import CONFIG_FILE, ENVIRONMENT_FILE, HYDRA_DIRNAME, UnreadableRecord, is_run_folder
from harness.write_failure import (WriteFailed, finish_with_resume, quiet_log_file_failures, report_to_the_command,
                                   stop, writing)

from .precheck import BadInput, refuse
from .run_settings import machine_settings
from .sweep import Outcome, run_plan
from .folders import check_output_dir
from .validate import job_plan

log = logging.getLogger(__name__)


# Launchers whose jobs run in worker processes and hand their outcome (or exception) back to the
# waiting command; the SLURM launcher ends failed jobs itself (harness.slurm_launcher).
WORKER_LAUNCHERS = frozenset({"joblib", "submitit_local"})
# The launcher that runs a sweep's jobs one after another in the launching process: there the
# matmul rate after the runs is measured once, at the sweep's end, for every job (a second
# measurement after each of an ablation's 33 short jobs took 77 s of make bench).
IN_PROCESS_LAUNCHER = "basic"
# environment.json files of this process's sweep jobs that ran and wait for that measurement
# (harness.callbacks.measure_after_sweep): the exact files, so a resumed job's stamped file is
# found and a job that ran nothing, or another process's, never gets it
WAITING_FOR_AFTER: list[Path] = []


# Per sweep folder (resolved), the failed runs (JOB/FILE) of its jobs that ran in this process: a sweep
# job returns normally after recording them (Hydra would raise only the first failing job's exception
# and hide any later job's), and that sweep's end (finish_command) takes them, naming them when the
# records cannot be counted; another sweep of the same process never sees them.
FAILED_IN_JOBS: dict[str, list[str]] = {}


def _hydra_context() -> tuple[Path, str, bool, list[str]]:
    """The run directory, the launcher's name, whether this is a multirun job, and the job's
    own overrides (under a launcher, sys.argv is the launcher's worker, not the user's command)."""
    from hydra.core.hydra_config import HydraConfig
    hydra = HydraConfig.get()
    launcher = hydra.runtime.choices.get("hydra/launcher") or "basic"
    return (Path(hydra.runtime.output_dir), str(launcher), str(hydra.mode).endswith("MULTIRUN"),
            list(hydra.overrides.task))


def run(cfg: DictConfig) -> None:
    """The Hydra task: run the experiment in cfg into the Hydra run directory.

    A multirun job does not rebuild the report itself (parallel jobs would rebuild it N times at
    once); it merges the sweep's tables, and the sweep callback (harness.callbacks) builds the
    report once after the last job."""
    run_dir, launcher, multirun, overrides = _hydra_context()
    quiet_log_file_failures()
    if multirun and launcher in WORKER_LAUNCHERS:
        report_to_the_command()
    try:
        _run_job(cfg, run_dir, launcher, multirun, overrides)
    except Exception as error:
        keep_job_frames(error)
        raise


def keep_job_frames(error: Exception) -> None:
    """A job's real error (a bug) raised in a worker process goes back to the command pickled, without its
    frames: the command's traceback would show only its own. The job's traceback is added to it as a note,
    printed with it. The carriers (a refused write: JobStopped, a refusal: JobRefused) have their own line."""
    import traceback

    from .precheck import JobRefused
    from .write_failure import JobStopped, reports_to_the_command
    if reports_to_the_command() and not isinstance(error, (JobStopped, JobRefused)):
        error.add_note("The job's traceback, in its worker process (most recent call last):\n"
                       + "".join(traceback.format_tb(error.__traceback__)).rstrip())


def _run_job(cfg: DictConfig, run_dir: Path, launcher: str, multirun: bool, overrides: list[str]) -> None:
    """run's job, once Hydra's context is read (run_dir, launcher, multirun, overrides)."""
    from hydra.core.hydra_config import HydraConfig

    from .environment import command_line
    sweep_dir = Path(HydraConfig.get().sweep.dir) if multirun else None
    then = finish_with_resume("hydra.sweep.dir", sweep_dir) if sweep_dir else finish_with_resume("hydra.run.dir",
                                                                                                 run_dir)
    outcome = run_config(cfg, run_dir, launcher=launcher, command=command_line("harness", overrides),
                         cleanup_on_reject=True, report=cfg.report and not multirun,
                         dir_key="hydra.sweep.dir" if multirun else "hydra.run.dir", then=then,
                         after_at_sweep_end=multirun and launcher == IN_PROCESS_LAUNCHER, sweep_job=multirun)
    if sweep_dir:
        merge_into_sweep(sweep_dir, then, bool(cfg.report))
        end_sweep_job(outcome, run_dir, sweep_dir)
    finish(outcome, run_dir, multirun, then)


def end_sweep_job(outcome: Outcome, run_dir: Path, sweep_dir: Path) -> None:
    """A sweep job's failed runs are kept for the command's end (FAILED_IN_JOBS); after Ctrl-C a job
    in the command's own process (the basic launcher) raises KeyboardInterrupt for the command to
    end the whole sweep in one line, last (harness.__main__.ends_in_one_line), as under every launcher."""
    from . import callbacks
    from .write_failure import COMMAND_PID
    job = os.path.relpath(run_dir.resolve(), sweep_dir.resolve())
    FAILED_IN_JOBS.setdefault(str(sweep_dir.resolve()), []).extend(f"{job}/{name}" for name in outcome.failed)
    if outcome.interrupted and os.environ.get(COMMAND_PID) == str(os.getpid()):
        callbacks.note_not_done(sweep_dir, outcome.not_done)
        raise KeyboardInterrupt


def merge_into_sweep(sweep_dir: Path, then: str, report: bool = True) -> None:
    """Refresh SWEEP_DIR/runs.csv and summary.csv with this job's records; only a write the OS
    refuses (disk full) stops the job, with the one line of harness.write_failure. `report`: the
    sweep's report=, which the rebuild command a warning gives keeps."""
    from .callbacks import rebuild_command
    from .sweep_merge import merge_sweep, unreadable_said
    try:
        merge_sweep(sweep_dir)
    except WriteFailed as failure:
        stop(failure, sweep_dir, then)
    except UnreadableRecord as unreadable:  # another job's (run_config refuses its own): the sweep's words
        log.warning(unreadable_said(unreadable, sweep_dir, experiment=None, merged=False,
                                    command="sweep tables not refreshed",
                                    then=f"rebuild with {rebuild_command(sweep_dir, report)}"))
    except Exception as ex:  # the job's own records are safe; the callback merges again at the end
        log.warning(f"sweep tables not refreshed ({type(ex).__name__}: {ex})")


def finish(outcome: Outcome, run_dir: Path, multirun: bool, then: str | None = None, summary: str | None = None,
           failed_said: list[str] | None = None) -> None:
    """Summarize; exit 130 after Ctrl-C, 1 when runs failed (a sweep's job returns: the command's
    end decides, from every job's records: finish_command).

    After Ctrl-C one line says what was left undone (outcome.not_done) and how to finish: `then`
    (default: resume=true into run_dir); a sweep's job gives the sweep's, as its own folder with
    hydra.run.dir would start the whole sweep again. `summary` replaces the count of this
    invocation's runs, and `failed_said` the naming of its failed runs (finish_command's: a
    folder's records, recorded_runs_said)."""
    summary = summary or (f"{len(outcome.done)} runs finished ({len(outcome.failed)} failed, "
                          f"{len(outcome.diverged)} diverged), {len(outcome.skipped)} kept from before, in {run_dir}")
    log.info(summary)
    if outcome.interrupted:
        said = "; ".join([summary, *outcome.not_done, then or finish_with_resume("hydra.run.dir", run_dir)])
        sys.stderr.write(f"interrupted: {said}\n")
        raise SystemExit(130)
    if outcome.failed and not multirun:
        said = "; ".join([*(failed_said or [failed_runs_said(outcome.failed)]), *outcome.not_done])
        sys.stderr.write(f"error: {said}\n")
        raise SystemExit(1)


def failed_runs_said(failed: list[str], where: str = "") -> str:
    """How every line that ends a command names failed runs (`where` follows "failed", e.g. " in DIR")."""
    return f"{len(failed)} run(s) failed{where}: {', '.join(failed)} (errors in their records)"


def uncounted_said(folder: Path, why: str) -> str:
    """How every line that ends a command says that the records in `folder` could not be counted
    (`why`: count_records')."""
    return f"the records in {folder} could not be counted ({why})"


def recorded_runs_said(folder: Path, failed: list[str], uncounted: str) -> list[str]:
    """What a line that ends a command says of the runs recorded in `folder` (count_records' failed
    runs and why the records could not be counted): the failed runs, named, and that the records could
    not be counted; [] when neither. The one wording of the command's end (finish_command), of a
    refused write's line (failed_runs_part) and of the SLURM launcher's early end."""
    return ([failed_runs_said(failed, f" in {folder}")] if failed else []) + (
        [uncounted_said(folder, uncounted)] if uncounted else [])


def failed_runs_part(folder: Path, dir_key: str) -> str:
    """What the line of a refused write, which wins (exit 4), says of the runs recorded in the command's
    `folder` (a sweep's: every job's, and the failed runs its jobs in this process saw, FAILED_IN_JOBS):
    recorded_runs_said, in one part, or "" when no run failed and the records could be counted
    (harness.write_failure.also_said)."""
    _, failed, _, uncounted = _command_records(folder, dir_key)
    return "; ".join(recorded_runs_said(folder, failed, uncounted))


def finish_command(folder: Path, dir_key: str, *, interrupted: bool, not_done: list[str], report: bool = True) -> None:
    """The command's end: after Ctrl-C (130), or a sweep any of whose jobs recorded failed runs (1),
    finish's one line counting the records in `folder` (a sweep's: every job's, named JOB/FILE);
    otherwise it returns. A failed run a job of this process recorded (FAILED_IN_JOBS) always ends
    in exit 1, even when the records cannot be counted; records that cannot be counted at all end
    in exit 1 too, as nothing then shows that no run failed; the command that tables them keeps
    `report` (the sweep's report=)."""
    names, failed, diverged, uncounted = _command_records(folder, dir_key)
    if not (interrupted or failed or uncounted):
        return
    if uncounted and not (interrupted or failed):
        from .callbacks import rebuild_command
        sys.stderr.write(f"error: {uncounted_said(folder, uncounted)}, so whether runs failed is not known; "
                         f"{rebuild_command(folder, report)} tables them once they can be read\n")
        raise SystemExit(1)
    summary = uncounted_said(folder, uncounted) if uncounted else (
        f"{len(names)} runs recorded ({len(failed)} failed, {len(diverged)} diverged) in {folder}")
    outcome = Outcome(done=names, failed=failed, diverged=diverged, interrupted=interrupted,
                      not_done=not_done)
    finish(outcome, folder, multirun=False, then=finish_with_resume(dir_key, folder), summary=summary,
           failed_said=recorded_runs_said(folder, failed, uncounted))


def _command_records(folder: Path, dir_key: str) -> tuple[list[str], list[str], list[str], str]:
    """count_records of the command's `folder`, a sweep's with the failed runs its jobs in this process
    saw (FAILED_IN_JOBS, taken: the line that says them is the only one to)."""
    sweep = dir_key == "hydra.sweep.dir"
    known = FAILED_IN_JOBS.pop(str(folder.resolve()), []) if sweep else []
    return count_records(folder, sweep=sweep, known=known)


def count_records(folder: Path, *, sweep: bool,
                  known: tuple[str, ...] | list[str] = ()) -> tuple[list[str], list[str], list[str], str]:
    """The records in `folder` (a sweep's: every job's, named JOB/FILE) as (names, failed, diverged,
    why they could not be counted or ""); `known` failed runs (a job's, FAILED_IN_JOBS) are among
    the failed even when the records cannot be read. The one count of the command's end and of the
    SLURM launcher's early end."""
    from .records import read_records, record_name
    from .sweep_merge import sweep_runs
    try:
        rows = sweep_runs(folder).to_dict("records") if sweep else read_records(folder)
        uncounted = ""
    except UnreadableRecord as unreadable:  # the file, not resume's fix: the line's own fix follows
        rows, uncounted = [], unreadable.problem
    except Exception as ex:  # the line must come whatever the folder holds
        rows, uncounted = [], f"{type(ex).__name__}: {ex}"
    names = [f"{row['job']}/{record_name(row)}" if sweep else record_name(row) for row in rows]
    by_status = {s: [n for n, row in zip(names, rows) if row["status"] == s] for s in ("failed", "diverged")}
    failed = by_status["failed"] + [name for name in known if name not in by_status["failed"]]
    return names, failed, by_status["diverged"], uncounted


def run_config(cfg: DictConfig, run_dir: Path, *, launcher: str, command: str,
               cleanup_on_reject: bool = False, report: bool | None = None, dir_key: str = "hydra.run.dir",
               then: str | None = None, after_at_sweep_end: bool = False, sweep_job: bool = False,
               **environment_extra: Any) -> Outcome:
    """Validate cfg, lock run_dir, then write the config and environment and run every pending run
    into it, holding the folder's writer lock (harness.folder_lock) until the report is written.

    `report` (default: cfg.report) says whether to rebuild the report afterwards; `dir_key` is the
    setting that chose run_dir, named in the fix of a refused folder; `then` is how to finish
    after a failed write (default: resume=true into run_dir), said in its one-line error;
    `after_at_sweep_end` leaves the rate after the runs to the sweep's end (harness.callbacks);
    `sweep_job` says run_dir is a job of the sweep folder above it, not a run inside another's sweep."""
    then = then or finish_with_resume(dir_key, run_dir)
    plan = _checked(lambda: job_plan(cfg), run_dir, cleanup=cleanup_on_reject)
    plan.warn_left_out()
    _checked(lambda: check_output_dir(run_dir, resume=cfg.resume, cfg=cfg, dir_key=dir_key, sweep_job=sweep_job),
             run_dir, cleanup=cleanup_on_reject)
    try:
        with folder_lock.hold(run_dir, dir_key=dir_key):
            # again under the lock: another writer may have filled the folder since the first check
            _checked(lambda: check_output_dir(run_dir, resume=cfg.resume, cfg=cfg, dir_key=dir_key,
                                              sweep_job=sweep_job), run_dir, cleanup=False)
            return _run_locked(cfg, plan, run_dir, launcher, command, report, environment_extra,
                               after_at_sweep_end)
    except folder_lock.FolderBusy as busy:  # the folder is the other writer's: leave it untouched
        refuse(busy)
    except UnreadableRecord as unreadable:  # met by the runs.csv rebuild (any name), after the runs before it
        refuse(BadInput(_unreadable_in_rebuild(unreadable.among(plan.planned_runs()), resume=cfg.resume,
                                               then=then)))
    except WriteFailed as failure:
        stop(failure, run_dir, then)


def _unreadable_in_rebuild(unreadable: UnreadableRecord, *, resume: bool, then: str) -> str:
    """The line for a record the runs.csv rebuild after a run cannot read (harness.records.read_records reads every
    file of records/; the records of the runs before it are kept). Resuming, resume's own line, the command's
    check's (`unreadable` knows the planned runs: UnreadableRecord.among): the command run again resumes. A new
    run's folder (a new sweep's job's) holds records by then, so the command run again would be refused ('already
    holds records'): `then`, how to finish it with resume=true."""
    return str(unreadable) if resume else unreadable.said("runs.csv not rebuilt", then)


def _checked(check: Any, run_dir: Path, *, cleanup: bool) -> Any:
    """check()'s result; a ValueError (bad input) becomes one line and exit 2, after removing
    what Hydra created for the rejected job when `cleanup`."""
    try:
        return check()
    except ValueError as ex:
        if cleanup:
            remove_if_empty(run_dir)
        refuse(ex)


def _run_locked(cfg: DictConfig, plan: Any, run_dir: Path, launcher: str, command: str, report: bool | None,
                environment_extra: dict[str, Any], after_at_sweep_end: bool = False) -> Outcome:
    """Everything run_config does once the folder is checked and locked."""
    from . import environment
    resolved = OmegaConf.to_container(cfg, resolve=True)
    env = environment.capture(resolved, command, **environment_extra)
    plan.settings.update(machine_settings(env))  # every record carries the rate its fit is measured against
    env_path = write_run_files(run_dir, OmegaConf.to_yaml(cfg, resolve=True),
                               json.dumps(env, indent=1, default=str), resume=cfg.resume)
    if env["git"]["warning"]:
        log.warning(env["git"]["warning"])
    outcome = run_plan(plan, run_dir, resume=cfg.resume, quiet=cfg.quiet, epoch_bar=cfg.epoch_bar, launcher=launcher,
                       warmup=cfg.warmup)
    return _after_the_runs(cfg, outcome, run_dir, env, env_path, cfg.report if report is None else report,
                           after_at_sweep_end)


def _after_the_runs(cfg: DictConfig, outcome: Outcome, run_dir: Path, env: dict[str, Any], env_path: Path,
                    report: bool, after_at_sweep_end: bool) -> Outcome:
    """The matmul rate again, now the runs are over (or left to the sweep's end), then the report.
    Ctrl-C here marks the outcome interrupted, saying what was left undone and how to do it (the
    records are on disk): finish ends it in its one line and exit 130."""
    try:
        if outcome.done:
            from .machine import after_measurements, skip_reason, with_after
            if not after_at_sweep_end:
                atomic_write_text(env_path, json.dumps(with_after(env, after_measurements(cfg.measure_rate)),
                                                       indent=1, default=str))
            elif not skip_reason(cfg.measure_rate):
                WAITING_FOR_AFTER.append(env_path)
    except KeyboardInterrupt:
        outcome.interrupted = True
        from .machine import RATE_NOT_MEASURED
        outcome.not_done += [RATE_NOT_MEASURED, *([_report_not_rebuilt(run_dir)] if report else [])]
        return outcome
    if report:
        try:
            update_report(run_dir)
        except KeyboardInterrupt:
            outcome.interrupted = True
            outcome.not_done.append(_report_not_rebuilt(run_dir))
    return outcome


def _unreadable_in_report(unreadable: UnreadableRecord, run_dir: Path) -> str:
    """The warning for a record the report after the runs cannot read (it gathers every run of the results
    folder the run belongs to: batches.report_root), with the command that builds that report again."""
    from harness.reporting.batches import report_root
    from harness.reporting.build import REPORT_DIRNAME, unreadable_record_said
    root = report_root(run_dir)
    return unreadable_record_said(unreadable, root / REPORT_DIRNAME, command="report not updated",
                                  again=f"build the report again with python -m harness.report {root}")


def _report_not_rebuilt(run_dir: Path) -> str:
    """What Ctrl-C left undone of update_report, and the command that rebuilds the same page: the
    one of the results folder the run belongs to (batches.report_root), not one inside the run."""
    from harness.reporting.batches import report_root
    return f"the report was not rebuilt (python -m harness.report {report_root(run_dir)} rebuilds it)"


def write_run_files(run_dir: Path, config_text: str, environment_text: str, *, resume: bool) -> Path:
    """Write config.yaml and environment.json into run_dir.

    Without resume the folder holds no records (check_output_dir refused it otherwise), so a
    config.yaml or environment.json already there was left by a run killed before its first record;
    this run's files replace them (atomically), or a later resume or rerun would repeat the old
    settings. With resume the first invocation's files stay (resume checked that the settings
    match); this process's environment goes to environment-<time>-<pid>.json beside them.
    Returns the file this process's environment went to."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        stale = [name for name in (CONFIG_FILE, ENVIRONMENT_FILE) if (run_dir / name).exists()]
        if stale:
            log.warning(f"{' and '.join(stale)} in {run_dir} came from a run that wrote no records; replaced")
        atomic_write_text(run_dir / CONFIG_FILE, config_text)
        atomic_write_text(run_dir / ENVIRONMENT_FILE, environment_text)
        return run_dir / ENVIRONMENT_FILE
    create_new(run_dir / CONFIG_FILE, config_text)
    if create_new(run_dir / ENVIRONMENT_FILE, environment_text):
        return run_dir / ENVIRONMENT_FILE
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")  # another process got there first
    path = run_dir / f"environment-{stamp}-{os.getpid()}.json"
    atomic_write_text(path, environment_text)
    return path


def create_new(path: Path, text: str) -> bool:
    """Write `path` complete, only if it does not exist yet (atomic even against other processes:
    the text goes to a temporary file that is then hard-linked into place). False if it existed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with writing(path):
            tmp.write_text(text, encoding="utf-8")
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def remove_if_empty(run_dir: Path) -> None:
    """Undo what Hydra created for a rejected job (.hydra/ and the log) when nothing else is there."""
    if not run_dir.is_dir() or is_run_folder(run_dir) or (run_dir / CONFIG_FILE).exists():
        return
    if folder_lock.held_elsewhere(run_dir):  # another run has just started there and wrote nothing yet
        return
    allowed = {HYDRA_DIRNAME, "run.log", folder_lock.LOCK_FILE} | {p.name for p in run_dir.glob("*.log")}
    if all(p.name in allowed for p in run_dir.iterdir()):
        shutil.rmtree(run_dir, ignore_errors=True)


def update_report(run_dir: Path) -> None:
    """Refresh the report if the reporting package offers it; a report failure never loses records."""
    try:
        from harness.reporting import update_report as update
    except ImportError:
        return
    try:
        update(run_dir)
    except WriteFailed:  # the OS refused a write: stop like any other write (run_config says so)
        raise
    except UnreadableRecord as unreadable:  # the report's words, not resume's: the run's records are on disk
        log.warning(_unreadable_in_report(unreadable, run_dir))
    except Exception as ex:  # the records are already on disk; the report can be rebuilt later
        log.warning(f"report not updated ({type(ex).__name__}: {ex}); rebuild with python -m harness.report")
