"""Settings beyond a record's own fields, to tell sweep jobs apart.

A record holds the settings that most sweeps vary (learning rate, sampling, layers, ...) as fields,
each as the implementation really used it, and every setting of its invocation in `settings`
(model.backprop, model.momentum, model.threads, model.adam_*, data.*, ...). All records of one
run folder come from one invocation, so the folder's settings are its records'. Records of an
older harness (without `settings`) fall back to the folder's config.yaml, said once per folder.
Each value that differs between the folders being summarised becomes a column named by its
dotted key, and the summary then gives each value rows of its own.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.records import CONFIG_FILE, HYDRA_DIRNAME, RECORDS_DIRNAME, read_records
from harness.reporting.batches import read_config_text
from harness.run_settings import MACHINE_PREFIX, NOT_SETTINGS, dotted_settings

log = logging.getLogger(__name__)

# Config keys whose effective value every record holds (the record's field is what the report uses).
IN_RECORD = frozenset({
    "name", "backend", "dtype", "sampling", "learning_rate", "batch_size", "epochs",
    "model.input_dim", "model.layers", "model.loss", "model.optimizer", "model.learning_rate",
    "model.batch_size", "model.epochs", "model.initializer", "model.l1", "model.l2",
    "data.name", "data.variant"})


def folder_settings(folder: str) -> dict[str, Any]:
    """The settings of a run folder that its records' fields lack ({} when neither its records nor
    a config say).

    Read once per folder and version of its files: the tables, figures and reproduction table of
    one report each ask for every folder."""
    stamps = []
    for path in (Path(folder) / RECORDS_DIRNAME, Path(folder) / CONFIG_FILE, Path(folder) / HYDRA_DIRNAME / CONFIG_FILE):
        try:
            stat = path.stat()
            stamps.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        except OSError:
            stamps.append(None)
    return dict(_read_settings(str(folder), tuple(stamps)))


@functools.lru_cache(maxsize=4096)
def _read_settings(folder: str, _stamps: tuple[Any, ...]) -> dict[str, Any]:
    carried = [r["settings"] for r in read_records(folder) if isinstance(r.get("settings"), dict)]
    if carried:
        flat = carried[-1]
    else:
        text = read_config_text(folder)
        config = yaml.safe_load(text) if text is not None else None
        if not isinstance(config, dict):
            return {}
        log.info(f"{folder}: records from an older harness version (no settings field); settings read from its config")
        flat = dotted_settings(config)
    return _beyond_fields(flat)


def _beyond_fields(flat: dict[str, Any]) -> dict[str, Any]:
    """The settings a record's own fields do not hold (and not the machine's measured rates)."""
    return {key: value for key, value in flat.items()
            if key not in IN_RECORD | NOT_SETTINGS and not key.startswith(MACHINE_PREFIX)}


def _text(value: Any) -> str:
    """A config value as it reads in YAML, so that null, true and lists compare and sort as text."""
    if isinstance(value, (list, dict, bool)) or value is None:
        return json.dumps(value)
    return str(value)


def _column(values: dict[str, Any]) -> dict[str, Any]:
    """Per folder values of one key: numbers kept when all are numbers (a sweep figure then has a
    numeric axis), else all as text so one column never mixes types."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values())
    return values if numeric else {folder: _text(v) for folder, v in values.items()}


def _frame_settings(rows: pd.DataFrame) -> dict[str, Any]:
    """The settings the records of one folder carry ({} for records of an older harness)."""
    carried = [s for s in rows.get("settings", pd.Series(dtype=object)) if isinstance(s, dict)]
    return _beyond_fields(carried[-1]) if carried else {}


def config_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """One column per config setting whose value differs between the runs' folders (`run_dir`),
    aligned with `runs`; a folder without the key (or without a config) gets NaN."""
    if "run_dir" not in runs or runs.empty:
        return pd.DataFrame(index=runs.index)
    by_folder = {folder: _frame_settings(runs[runs["run_dir"] == folder]) or folder_settings(folder)
                 for folder in runs["run_dir"].dropna().unique()}
    columns = {}
    for key in sorted({k for values in by_folder.values() for k in values}):
        present = {folder: values[key] for folder, values in by_folder.items() if key in values}
        if len({_text(v) for v in present.values()}) > 1:
            columns[key] = runs["run_dir"].map(_column(present))
    return pd.DataFrame(columns, index=runs.index)


def with_config_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """`runs` with the columns of `config_settings` added (a column already there is kept)."""
    extra = config_settings(runs)
    extra = extra.drop(columns=[c for c in extra.columns if c in runs.columns])
    return pd.concat([runs, extra], axis=1) if len(extra.columns) else runs


def run_settings(run: Any) -> dict[str, Any]:
    """One run's flattened settings (dotted keys) as `harness.algorithm.classify` reads them: its
    folder's config values, with the record's own fields (sampling, dtype, ...) for the keys a
    record holds, since those are what the implementation really used."""
    folder, carried = run.get("run_dir"), run.get("settings")
    if isinstance(carried, dict):  # the record's own: no folder to read
        out = _beyond_fields(carried)
    else:
        out = folder_settings(folder) if isinstance(folder, str) else {}
    for key in IN_RECORD:
        value = run.get(key)
        if value is not None and not (isinstance(value, float) and value != value):
            out[key] = value
    return out
