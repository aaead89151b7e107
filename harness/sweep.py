"""Run every (seed, implementation) of a plan, writing each record as soon as the run ends.

A run that raises, or whose record cannot be serialized as returned, is recorded `failed` and the
sweep goes on (a write the OS refuses stops the invocation instead: harness.write_failure); a
non-finite loss is recorded `diverged` with its epoch; Ctrl-C stops after the runs already
finished (their records are on disk); with resume, runs whose record is already there (ok or
diverged) are skipped.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.records import (RECORD_FIELDS, RECORD_VERSION, RECORDS_DIRNAME, UnreadableRecord, new_record,
                             read_to_resume, record_name, run_named, write_record)
from harness.runs_table import write_runs_csv
from harness.precheck import refuse
from harness.write_failure import WriteFailed, writing
from experiments.models.implementation import Implementation
from experiments.models.spec import matmul_flops, samples_per_epoch

from .load import RunLoad
from .measure import first_divergence, measure_run
from .validate import Plan
from .warmup import wanted, warm_up

log = logging.getLogger(__name__)
LONG_RUN_FLOPS = 1e10


@dataclass
class Outcome:
    """What happened to the runs of one invocation."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)
    interrupted: bool = False
    not_done: list[str] = field(default_factory=list)  # after Ctrl-C: what was left undone, and how to do it


def now() -> str:
    """ISO UTC timestamp for records."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def base_record(plan: Plan, impl: Implementation, seed: int, ds: Any, launcher: str) -> dict[str, Any]:
    """Record fields known before a run: what runs, on what, with which hyperparameters."""
    spec = plan.spec
    sampling = impl.fixed_sampling or plan.sampling
    flops = matmul_flops(spec, ds.n_features, samples_per_epoch(len(ds.x_train), spec.batch_size, sampling))
    return new_record(
        experiment=plan.experiment, impl=impl.name, backend=impl.resolve_backend(plan.backend), dtype=plan.dtype,
        sampling=sampling, dataset=ds.name, variant=ds.variant, seed=seed, layers=spec.layers_label(ds.n_features),
        activations=spec.activations_label(), loss=spec.loss, optimizer=spec.optimizer,
        learning_rate=spec.learning_rate, batch_size=spec.batch_size, epochs=spec.epochs,
        initializer=spec.initializer, l1=spec.l1, l2=spec.l2, n_train=len(ds.x_train), n_test=len(ds.x_test),
        flops=flops, launcher=launcher, status="failed", settings=plan.settings, record_version=RECORD_VERSION)


def finished(run_dir: Path, record: dict[str, Any]) -> bool:
    """True when this run's record is on disk, a record every reader accepts (harness.records.read_record),
    of this very run (impl, backend, seed) and not failed, so resume skips it. A file there that is
    no such record would be left out of runs.csv and the report: it is moved aside (renamed
    `NAME.rejected-<time>`, so nothing written is lost) with one warning, and the run is run again.
    A file that cannot be read (EIO, EACCES, a link to nothing) may be a good record: it stays, and the
    command stops with one line naming it (exit 2), rather than run again what may be done. The command's
    check refuses such a file before any run (harness.folders.check_records_readable, by the same rule:
    harness.records.read_to_resume); this is the backstop for one that became unreadable since, or a job
    started without that check (under SLURM the check runs on the login node, the job on a compute node)."""
    path = run_dir / RECORDS_DIRNAME / record_name(record)
    try:
        stored = read_to_resume(path, run_named(record))
        if stored is None:
            return False
        other = [k for k in ("impl", "backend", "seed") if stored[k] != record[k]]
        if other:
            raise ValueError(f"it says {', '.join(f'{k} {stored[k]}' for k in other)}")
    except UnreadableRecord as unreadable:
        refuse(unreadable)
    except ValueError as problem:
        aside = path.with_name(f"{path.name}.rejected-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}")
        with writing(aside):
            path.rename(aside)
        reason = str(problem).removeprefix(f"{path}: ")
        log.warning(f"resume: {path} is not the record of {run_named(record)} ({reason}); moved to {aside.name}, "
                    "and the run is run again")
        return False
    return stored["status"] in ("ok", "diverged")


def run_one(plan: Plan, impl: Implementation, record: dict[str, Any], ds: Any, progress: bool) -> dict[str, Any]:
    """Train and evaluate one (implementation, seed); never raises except KeyboardInterrupt."""
    record["started_at"] = now()
    try:
        with RunLoad() as load:
            fields = measure_run(impl, plan.spec, ds, seed=record["seed"], dtype=plan.dtype,
                                 sampling=record["sampling"], backend=record["backend"], progress=progress,
                                 options=plan.options_for(impl))
        record.update(fields, **load.fields())
        if ds.name != "titanic":  # the article's "error" (actual - predicted survivors) is a Titanic figure
            record["article_error"] = None
        epoch = first_divergence(record.get("epoch_losses") or [])
        record["status"], record["diverged_epoch"] = ("diverged", epoch) if epoch else ("ok", None)
    except Exception as ex:  # a failing run is a result to record, not a reason to stop the sweep
        frame = traceback.extract_tb(ex.__traceback__)[-1] if ex.__traceback__ else None
        where = f" (at {Path(frame.filename).name}:{frame.lineno} in {frame.name})" if frame else ""
        record["status"], record["error"] = "failed", f"{type(ex).__name__}: {ex}{where}"
        log.debug("run failed", exc_info=True)
    record["finished_at"] = now()
    return record


def describe(record: dict[str, Any]) -> str:
    """One log line per finished run."""
    head = f"{run_named(record)}: {record['status']}"
    if record["status"] == "failed":
        return f"{head}: {record['error']}"
    parts = [f"fit {record['fit_seconds']:.3f}s"]
    if record.get("test_accuracy") is not None:
        parts.append(f"accuracy {record['test_accuracy']:.4f} ({record['test_misclassified']} misclassified)")
    if record.get("article_error") is not None:
        parts.append(f"article error {record['article_error']}")
    if record.get("fitted_w") is not None:
        parts.append(f"F(x) = {record['fitted_w']:.2f}x + {record['fitted_b']:.2f}")
    if record["status"] == "diverged":
        parts.append(f"diverged at epoch {record['diverged_epoch']}")
    return f"{head}, " + ", ".join(parts)


def describe_safely(record: dict[str, Any]) -> str:
    """describe(), or a plain line when the record lacks what it formats (e.g. fit_seconds None):
    the record is already on disk, and a log line must not stop the sweep."""
    try:
        return describe(record)
    except Exception as ex:
        return f"{run_named(record)}: {record['status']} (not summarized: {type(ex).__name__}: {ex})"


def store(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write the run's record file (not runs.csv: run_plan refreshes it once the run is counted);
    return what was written.

    A record that cannot be written as the implementation returned it (an unknown field, a value
    JSON cannot hold) is written instead as a failed run saying why, keeping its plain values, so
    one bad run never stops the sweep. A write the OS refused (WriteFailed: disk full, read-only)
    is not the run's fault: it propagates and stops the invocation, recording nothing false."""
    try:
        write_record(run_dir, record, table=False)
        return record
    except WriteFailed:
        raise
    except Exception as ex:
        plain = (type(None), bool, int, float, str)
        failed = {k: v if isinstance(v, plain) else None for k, v in record.items() if k in RECORD_FIELDS}
        failed.update(status="failed", diverged_epoch=None,
                      error=f"the run's record could not be written ({type(ex).__name__}: {ex})")
        write_record(run_dir, failed, table=False)
        log.debug("record not written", exc_info=True)
        return failed


STALE_TEMP_SECONDS = 600


def run_plan(plan: Plan, run_dir: Path, *, resume: bool, quiet: bool, epoch_bar: bool | None,
             launcher: str, warmup: bool | None = None) -> Outcome:
    """Every pending run in order (seeds outer, implementations inner), each record written at once;
    a GPU implementation's timed runs follow an untimed warm-up fit (harness.warmup)."""
    from tqdm.auto import tqdm
    outcome = Outcome()
    for temp in (run_dir / RECORDS_DIRNAME).glob(".*.tmp"):  # left by a process killed mid-write;
        if time.time() - temp.stat().st_mtime > STALE_TEMP_SECONDS:  # a fresh one may be another writer's
            with writing(temp):
                temp.unlink(missing_ok=True)
    pending = []
    for seed in plan.seeds:
        for impl in plan.impls:
            ds = plan.dataset(seed)
            record = base_record(plan, impl, seed, ds, launcher)
            if resume and finished(run_dir, record):
                outcome.skipped.append(record_name(record))
            else:
                pending.append((impl, ds, record))
    if outcome.skipped:
        log.info(f"resume: {len(outcome.skipped)} finished runs kept, {len(pending)} to run")
    bar = tqdm(pending, desc=plan.experiment, unit="run", disable=quiet, position=0)
    warmed: dict[str, float | None] = {}
    try:
        for impl, ds, record in bar:
            if impl.name not in warmed and wanted(warmup, record["backend"]):
                warmed[impl.name] = warm_up(plan, impl, ds, record)
            record["warmup_seconds"] = warmed.get(impl.name)
            long_run = record["flops"] > LONG_RUN_FLOPS if epoch_bar is None else epoch_bar
            record = store(run_dir, run_one(plan, impl, record, ds, progress=long_run and not quiet))
            name = record_name(record)  # its file is in place: done, even if Ctrl-C lands below
            outcome.done.append(name)
            {"failed": outcome.failed, "diverged": outcome.diverged}.get(record["status"], []).append(name)
            log.info(describe_safely(record))
            write_runs_csv(run_dir)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        bar.close()
    write_runs_csv(run_dir)  # not after a WriteFailed: a second failure would hide the first
    return outcome
