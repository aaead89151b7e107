"""Run records: one flat dict per run, one file per run, written atomically.

One file per run (rather than appending to a shared file) means a killed process can never leave a
half-written record, and concurrent jobs writing into the same folder never interleave: each
`os.replace` is atomic on POSIX. `runs.csv` is a derived view, rebuilt from the record files.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from harness.write_failure import writing

RECORD_FIELDS: tuple[str, ...] = (
    "experiment", "impl", "backend", "device", "threads", "dtype", "sampling", "dataset", "variant", "seed",
    "layers", "activations", "loss", "optimizer", "learning_rate", "batch_size", "epochs",
    "initializer", "l1", "l2", "n_train", "n_test",
    "fit_seconds", "first_epoch_seconds", "compile_seconds", "predict_seconds", "warmup_seconds", "epoch_losses",
    "kernels",
    "test_loss", "test_accuracy", "test_misclassified", "predicted_positives", "actual_positives",
    "article_error", "fitted_w", "fitted_b", "flops", "peak_memory_mb",
    "status", "diverged_epoch", "error", "launcher", "started_at", "finished_at",
    "load_average", "other_cpu_load", "settings", "record_version",
)
# 2: records carry `settings` (harness.run_settings); version 1 records (no field) are from an older harness.
RECORD_VERSION = 2
STATUSES = ("ok", "diverged", "failed")
# Launchers that run several jobs at once on one machine (the record's `launcher`): their fit
# times share the CPU. A cluster launcher (slurm) gives each job its own allocation.
SHARED_CPU_LAUNCHERS = ("joblib", "submitit_local")
RECORDS_DIRNAME = "records"
RUNS_CSV = "runs.csv"
RUNS_LOCK = ".runs.lock"
CONFIG_FILE = "config.yaml"
ENVIRONMENT_FILE = "environment.json"
_UMASK = os.umask(0)
os.umask(_UMASK)
log = logging.getLogger(__name__)
_warned: set[Path] = set()  # record files already reported as unreadable by this process


def record_name(record: dict[str, Any]) -> str:
    """File name that identifies a run within its run directory (impl, backend, seed)."""
    return f"{record['impl']}-{record['backend']}-seed{record['seed']}.json"


def new_record(**values: Any) -> dict[str, Any]:
    """A record with every field present (None where unknown); unknown keys are rejected."""
    unknown = set(values) - set(RECORD_FIELDS)
    if unknown:
        raise ValueError(f"unknown record fields {sorted(unknown)}; valid fields: {', '.join(RECORD_FIELDS)}")
    return {field: values.get(field) for field in RECORD_FIELDS}


def _json_safe(value: Any) -> Any:
    """NaN/inf are not valid JSON: store them as None so every reader can parse the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str)):
        return _json_safe(value.item())
    return value


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never a part.

    An OSError (disk full, read-only folder...) leaves the old file as it was and is raised as
    harness.write_failure.WriteFailed naming `path`: the one write helper every result goes through."""
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def write_record(run_dir: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Store one run's record atomically and refresh the folder's runs.csv."""
    full = new_record(**record)
    path = Path(run_dir) / RECORDS_DIRNAME / record_name(full)
    atomic_write_text(path, json.dumps({k: _json_safe(v) for k, v in full.items()}, indent=1))
    write_runs_csv(run_dir)
    return path


def read_record(path: str | os.PathLike) -> dict[str, Any]:
    """One record file, checked like a new record; a ValueError names the file."""
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as ex:  # json.JSONDecodeError
        raise ValueError(f"{path}: not valid JSON ({ex})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: a JSON object was expected, found {type(values).__name__}")
    unknown = sorted(set(values) - set(RECORD_FIELDS))
    if unknown:
        raise ValueError(f"{path}: unknown record fields {unknown} (a foreign file, or from another version)")
    return new_record(**values)


def read_records(run_dir: str | os.PathLike, *, strict: bool = False) -> list[dict[str, Any]]:
    """All records of one run directory, in a stable order (by file name).

    A file that is not a valid record (a foreign or older file dropped into records/) is skipped
    with one warning naming it, so that tables, runs.csv and the report of the rest still build
    (and a resumed run goes on); `strict=True` raises instead.
    """
    folder = Path(run_dir) / RECORDS_DIRNAME
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(folder.glob("*.json")):
        try:
            records.append(read_record(path))
        except ValueError as ex:
            if strict:
                raise
            _warn_skipped(path, ex)
    return records


def _warn_skipped(path: Path, error: ValueError) -> None:
    """Warn once per file and process: runs.csv is rebuilt after every record."""
    if path in _warned:
        return
    _warned.add(path)
    log.warning(f"record file skipped: {error}; move it out of {path.parent}, or make its fields "
                "those of harness.records.RECORD_FIELDS, to silence this")


def records_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Records as a tidy DataFrame with the columns in RECORD_FIELDS order."""
    return pd.DataFrame(list(records), columns=list(RECORD_FIELDS))


def is_ok(frame: pd.DataFrame) -> pd.Series:
    """Which rows are runs that finished normally (a record without a status counts as ok)."""
    return frame["status"].fillna("ok").eq("ok")


def csv_text(frame: pd.DataFrame) -> str:
    """A records table as CSV, with epoch_losses (a list) and settings (a mapping) as JSON."""
    frame = frame.copy()
    for column in ("epoch_losses", "settings"):
        frame[column] = frame[column].map(lambda v: None if v is None else json.dumps(v))
    return frame.to_csv(index=False)


@contextmanager
def locked(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive POSIX lock on `folder` (its .runs.lock file): concurrent rebuilds of the
    folder's tables then run one at a time."""
    folder = Path(folder)
    with writing(folder / RUNS_LOCK):
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / RUNS_LOCK, "a")
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_runs_csv(run_dir: str | os.PathLike) -> Path:
    """Rebuild runs.csv from the record files (epoch_losses as a JSON list).

    Several processes may write into one run directory (parallel launchers, two resumed sweeps).
    Record files never clash, but two unsynchronized rebuilds could leave the older view last;
    rebuilding under an exclusive lock makes the last rebuild see every record written before it.
    """
    path = Path(run_dir) / RUNS_CSV
    with locked(run_dir):
        atomic_write_text(path, csv_text(records_frame(read_records(run_dir))))
    return path


def find_run_dirs(roots: Iterable[str | os.PathLike]) -> list[Path]:
    """Every directory under `roots` (or a root itself) that holds a records/ folder."""
    found: set[Path] = set()
    for root in roots:
        root = Path(root)
        if (root / RECORDS_DIRNAME).is_dir():
            found.add(root.resolve())
        found.update(p.parent.resolve() for p in root.rglob(RECORDS_DIRNAME) if p.is_dir())
    return sorted(found)


def load_runs(roots: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """All records under `roots` as one DataFrame, with the run directory in a `run_dir` column."""
    rows = []
    for run_dir in find_run_dirs(roots):
        for record in read_records(run_dir):
            rows.append({**record, "run_dir": str(run_dir)})
    return pd.DataFrame(rows, columns=[*RECORD_FIELDS, "run_dir"])

