"""A folder's records as one table: the DataFrame every report reads, and runs.csv, rebuilt under a lock.

`runs.csv` is a derived view of the record files (harness.records), rebuilt after every record;
several processes may write into one folder, so rebuilds take the folder's lock in turn.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from harness.atomic_write import atomic_write_text
from harness.records import RECORD_FIELDS, is_run_folder, read_records, unlisted
from harness.write_failure import writing

RUNS_CSV = "runs.csv"
RUNS_LOCK = ".runs.lock"


def records_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Records as a tidy DataFrame with the columns in RECORD_FIELDS order."""
    return pd.DataFrame(list(records), columns=list(RECORD_FIELDS))


def is_ok(frame: pd.DataFrame) -> pd.Series:
    """Which rows are runs that finished normally (every record read has a status: harness.records)."""
    return frame["status"].eq("ok")


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
    """Every directory under `roots` (or a root itself) that is a run's (harness.records.is_run_folder: a records/
    folder, or anything else in its place, a file, a link to nothing, whose records cannot be read:
    harness.records.record_files says why; leaving it out would make it a folder of no runs). Links to folders
    are not followed below the roots (os.walk), as Path.rglob did not. A folder it may not list (EACCES, EIO) may
    hold runs too: harness.records.UnreadableRecord naming it (_refuse_unlisted), never passed over as os.walk does."""
    found: set[Path] = set()
    for root in roots:
        for folder, _, _ in os.walk(root, onerror=_refuse_unlisted):
            if is_run_folder(folder):
                found.add(Path(folder).resolve())
    return sorted(found)


def _refuse_unlisted(error: OSError) -> None:
    """os.walk's onerror: a folder it cannot list, by the rule of a records/ it cannot list
    (harness.records.unlisted); a root that is not there, or a folder gone since listed, holds no runs."""
    refused = unlisted(Path(error.filename).absolute(), error)
    if refused is not None:
        raise refused from None


def load_runs(roots: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """All records under `roots` as one DataFrame, with the run directory in a `run_dir` column."""
    rows = []
    for run_dir in find_run_dirs(roots):
        for record in read_records(run_dir):
            rows.append({**record, "run_dir": str(run_dir)})
    return pd.DataFrame(rows, columns=[*RECORD_FIELDS, "run_dir"])

