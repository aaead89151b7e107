"""Run records, the contract between the harness and the report: their fields, one file per run, written atomically.

One file per run (rather than appending to a shared file) means a killed process can never leave a
half-written record, and concurrent jobs writing into the same folder never interleave: each
`os.replace` is atomic on POSIX. `runs.csv` (harness.runs_table) is a derived view, rebuilt from the files.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from harness.atomic_write import atomic_write_text
from harness.write_failure import describe as describe_error

RECORD_FIELDS: tuple[str, ...] = (
    "experiment", "impl", "backend", "device", "threads", "dtype", "sampling", "dataset", "variant", "seed",
    "layers", "activations", "loss", "optimizer", "learning_rate", "batch_size", "epochs",
    "initializer", "l1", "l2", "n_train", "n_test",
    "fit_seconds", "first_epoch_seconds", "compile_seconds", "predict_seconds", "warmup_seconds", "epoch_losses",
    "kernels", "whole_epoch_kernel",
    "test_loss", "test_accuracy", "test_misclassified", "predicted_positives", "actual_positives",
    "article_error", "fitted_w", "fitted_b", "flops", "peak_memory_mb",
    "status", "diverged_epoch", "error", "launcher", "started_at", "finished_at",
    "load_average", "other_cpu_load", "settings", "record_version",
)
# 2: records carry `settings` (harness.run_settings); version 1 records (no field) are from an older harness.
RECORD_VERSION = 2
STATUSES = ("ok", "diverged", "failed")
# What every record says: which run it is and how it ended (rerun and the report's counts need them).
REQUIRED_FIELDS = ("experiment", "impl", "seed", "status")
# Launchers that run several jobs at once on one machine (the record's `launcher`): their fit
# times share the CPU. A cluster launcher (slurm) gives each job its own allocation.
SHARED_CPU_LAUNCHERS = ("joblib", "submitit_local")
RECORDS_DIRNAME = "records"
CONFIG_FILE = "config.yaml"
HYDRA_MULTIRUN_YAML = "multirun.yaml"  # Hydra's sweeper writes it into a sweep folder: what marks one
HYDRA_DIRNAME = ".hydra"  # Hydra's files of one run or job
HYDRA_OVERRIDES_YAML = "overrides.yaml"  # in HYDRA_DIRNAME: the job's own overrides
ENVIRONMENT_FILE = "environment.json"
log = logging.getLogger(__name__)
_warned: set[Path] = set()  # record files already reported as unreadable by this process


def record_name(record: dict[str, Any]) -> str:
    """File name that identifies a run within its run directory (impl, backend, seed)."""
    return f"{record['impl']}-{record['backend']}-seed{record['seed']}.json"


def run_named(record: dict[str, Any]) -> str:
    """How a line names the run of a record (impl, backend, seed): 'mlp/numpy seed 1'."""
    return f"{record['impl']}/{record['backend']} seed {record['seed']}"


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


def write_record(run_dir: str | os.PathLike, record: dict[str, Any], *, table: bool = True) -> Path:
    """Store one run's record atomically and (`table`) refresh the folder's runs.csv."""
    full = new_record(**record)
    path = Path(run_dir) / RECORDS_DIRNAME / record_name(full)
    atomic_write_text(path, json.dumps({k: _json_safe(v) for k, v in full.items()}, indent=1))
    if table:
        from harness.runs_table import write_runs_csv  # the table is built from these files: imported here
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
    problem = _identity_problem(values)
    if problem:
        raise ValueError(f"{path}: {problem}")
    return new_record(**values)


def _identity_problem(values: dict[str, Any]) -> str | None:
    """Why `values` cannot be a run's record (no experiment, impl, seed or status), else None."""
    missing = [field for field in REQUIRED_FIELDS if values.get(field) in (None, "")]
    if missing:
        return f"missing record fields {missing}"
    seed = values["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        return f"seed {seed!r} is not a non-negative integer"
    if values["status"] not in STATUSES:
        return f"status {values['status']!r} is not one of {', '.join(STATUSES)}"
    return None


NOT_ITS_RUN = " (it is not one of this command's runs; resume reads every record of the folder)"


class UnreadableRecord(ValueError):
    """A record file the OS will not let the harness read (EIO, EACCES, a link to nothing), or a records/
    it will not list (a file in its place): it may be, or hold, a good record, so it is neither moved
    aside, nor run again, nor left out of a table; a ValueError, so that every check refuses it as bad
    input. It carries the file and the OS's words for the error (`why`, harness.write_failure.describe); its
    text is resume's line (read_to_resume is resume's reader; `run` is the run that moving the file out
    runs again, "it" where the reader does not know, None where the file is none of the command's planned
    runs: among), and each other command words its own fix with `said`, by the same rule. Its args are
    what it is made of, so that it pickles (a launcher's worker hands exceptions back)."""

    def __init__(self, path: str | os.PathLike, why: str, run: str | None = "it") -> None:
        super().__init__(path, why, run)
        self.path, self.why, self.run = Path(path), why, run

    def __str__(self) -> str:
        moved = NOT_ITS_RUN if self.run is None else f" to run {self.run} again"
        return self.said("resume", "run the command again", moved=moved)

    def among(self, planned: dict[str, str]) -> UnreadableRecord:
        """This refusal where the command's runs are known (`planned`: each one's record file name and name,
        harness.validate.Plan.planned_runs): a file of records/ names its run, or is none of them (its line says
        that moving it out runs nothing again); a records/ it will not list (record_files) stays as it is."""
        if self.path.parent.name != RECORDS_DIRNAME:
            return self
        return UnreadableRecord(self.path, self.why, planned.get(self.path.name))

    @property
    def problem(self) -> str:
        """What went wrong, without a fix: for a line whose own fix follows (a command's end counting records)."""
        return f"cannot read {self.path} ({self.why})"

    def said(self, command: str, then: str, *, moved: str = "") -> str:
        """`command`'s one line: the file, the OS's error, and the fix, which is always to make it readable or
        to move it out of its folder (`moved`: what moving it out does), then `then`."""
        return f"{command}: {self.problem}; make it readable, or move it out of {self.path.parent}{moved}, then {then}"


def read_to_resume(path: Path, run: str = "it") -> dict[str, Any] | None:
    """The record at `path` as resume reads it (read_record): None when no file is there (not even a
    link: gone since it was listed, e.g. moved aside by another command), a ValueError when it is no
    valid record, UnreadableRecord (its one line names the file and the fix; `run` is the run that
    moving it out runs again) when the OS refuses the read, a link to nothing included (it may lead to a
    good record on a volume not mounted now). The one reader, and so the one rule, of the command's
    check (harness.folders.check_records_readable), harness.sweep.finished and read_records."""
    try:
        return read_record(path)
    except OSError as error:
        refused = unlisted(path, error, run)
        if refused is None:
            return None
        raise refused from None


def is_run_folder(folder: str | os.PathLike) -> bool:
    """Whether `folder` is a run's to the harness: anything stands in its records/ place (a folder, even one of no
    records, a file, a link to nothing). A records/ it cannot list may hold, or lead to, the folder's records
    (record_files refuses it), so such a folder is never taken for one of no runs. The one rule of the walk that
    finds the run folders (harness.runs_table.find_run_dirs) and of the folder checks (harness.folders)."""
    return os.path.lexists(Path(folder) / RECORDS_DIRNAME)


def record_files(run_dir: str | os.PathLike) -> list[Path]:
    """The *.json files of `run_dir`'s records/, by name; [] where nothing is in records/' place. A records/
    the OS will not list (a file in its place, a link to nothing, EACCES, EIO) may hold, or lead to, the
    folder's records: UnreadableRecord naming it, never [] (Path.glob says [] for all of these). The one
    listing of read_records, and of the checks before a run (harness.folders)."""
    folder = Path(run_dir) / RECORDS_DIRNAME
    try:
        names = os.listdir(folder)
    except OSError as error:
        refused = unlisted(folder, error)
        if refused is None:
            return []
        raise refused from None
    return [folder / name for name in sorted(names) if name.endswith(".json")]


def unlisted(folder: str | os.PathLike, error: OSError, run: str = "it") -> UnreadableRecord | None:
    """What the OS's refusal to list `folder` (or read a record there) means to a reader of records: None when
    nothing is there (not even a link: gone since it was listed, or never there), else UnreadableRecord naming
    it (`run`: the run that moving it out runs again), as it may hold, or lead to, records. The one rule of
    read_to_resume, record_files and the walk that finds the run folders (harness.runs_table.find_run_dirs)."""
    if isinstance(error, FileNotFoundError) and not os.path.lexists(folder):
        return None
    return UnreadableRecord(folder, describe_error(error), run)


def read_records(run_dir: str | os.PathLike, *, strict: bool = False) -> list[dict[str, Any]]:
    """All records of one run directory, in a stable order (by file name), read by read_to_resume.

    A file that is not a valid record (a foreign or older file dropped into records/) is skipped
    with one warning naming it, so that tables, runs.csv and the report of the rest still build
    (and a resumed run goes on); `strict=True` raises instead. A file the OS will not let it read
    (UnreadableRecord: EIO, a link to nothing), under whatever name, or a records/ it will not list
    (record_files), may be a good record that the tables would leave out: it is raised, strict or not.
    One gone since it was listed is no record.
    """
    records = []
    for path in record_files(run_dir):
        try:
            record = read_to_resume(path)
        except UnreadableRecord:
            raise
        except ValueError as ex:
            if strict:
                raise
            _warn_skipped(path, ex)
            continue
        if record is not None:
            records.append(record)
    return records


def _warn_skipped(path: Path, error: ValueError) -> None:
    """Warn once per file and process: runs.csv is rebuilt after every record."""
    if path in _warned:
        return
    _warned.add(path)
    log.warning(f"record file skipped: {error}; move it out of {path.parent}, or make its fields "
                "those of harness.records.RECORD_FIELDS, to silence this")
