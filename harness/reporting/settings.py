"""Settings that a record does not hold, read from its run folder's config, to tell sweep jobs apart.

A record holds the settings that most sweeps vary (learning rate, sampling, layers, ...), each as
the implementation really used it. The others (model.backprop, model.momentum, model.threads,
model.adam_*, data.*, keras.*, and any added later) live only in the folder's resolved
config.yaml, so the jobs of a sweep over one of them leave records that differ only in their
folder. Each such value that differs between the folders being summarised becomes a column named
by its dotted key, and the summary then gives each value rows of its own.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.records import CONFIG_FILE, dotted_settings
from harness.reporting.batches import HYDRA_DIRNAME, read_config_text

# Config keys whose effective value every record holds (the record's field is what the report uses).
IN_RECORD = frozenset({
    "name", "backend", "dtype", "sampling", "learning_rate", "batch_size", "epochs",
    "model.input_dim", "model.layers", "model.loss", "model.optimizer", "model.learning_rate",
    "model.batch_size", "model.epochs", "model.initializer", "model.l1", "model.l2",
    "data.name", "data.variant"})
# Keys that choose which runs to make, or where data comes from, not how a run trains.
NOT_SETTINGS = frozenset({"impls", "runs", "seeds", "seed", "quiet", "resume", "epoch_bar", "report",
                          "data.root", "data.download", "data.verify"})


def folder_settings(folder: str) -> dict[str, Any]:
    """The config values of a run folder that its records lack ({} when it has no readable config).

    Read once per folder and version of its config files: the tables, figures and reproduction
    table of one report each ask for every folder."""
    stamps = []
    for path in (Path(folder) / CONFIG_FILE, Path(folder) / HYDRA_DIRNAME / CONFIG_FILE):
        try:
            stat = path.stat()
            stamps.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        except OSError:
            stamps.append(None)
    return dict(_read_settings(str(folder), tuple(stamps)))


@functools.lru_cache(maxsize=4096)
def _read_settings(folder: str, _stamps: tuple[Any, ...]) -> dict[str, Any]:
    text = read_config_text(folder)
    config = yaml.safe_load(text) if text is not None else None
    if not isinstance(config, dict):
        return {}
    return {key: value for key, value in dotted_settings(config).items() if key not in IN_RECORD | NOT_SETTINGS}


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


def config_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """One column per config setting whose value differs between the runs' folders (`run_dir`),
    aligned with `runs`; a folder without the key (or without a config) gets NaN."""
    if "run_dir" not in runs or runs.empty:
        return pd.DataFrame(index=runs.index)
    by_folder = {folder: folder_settings(folder) for folder in runs["run_dir"].dropna().unique()}
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
    folder = run.get("run_dir")
    out = folder_settings(folder) if isinstance(folder, str) else {}
    for key in IN_RECORD:
        value = run.get(key)
        if value is not None and not (isinstance(value, float) and value != value):
            out[key] = value
    return out
