"""Which runs belong together: run directories, sweep folders, and where the report goes.

A *batch* is what one command produced: a single run directory, or a Hydra multirun sweep
folder whose job subfolders each hold records. The report shows the latest batch of each
experiment (older batches are listed, not mixed in: they may come from other code or hardware);
`all_runs=True` merges every batch instead.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.folders import enclosing_sweep, is_sweep_folder
from harness.records import CONFIG_FILE, ENVIRONMENT_FILE, HYDRA_DIRNAME, read_records
from harness.runs_table import load_runs
from harness.settings_file import SettingsFileError, read_settings

RESULTS_DIRNAME = "results"
MULTIRUN_DIRNAME = "multirun"
# How the folder names of Hydra's default run and sweep dirs begin (`${now:%Y-%m-%d_%H-%M-%S}`,
# conf/config.yaml; a rerun appends `-rerun-<timestamp>`).
HYDRA_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}")


def batch_root(run_dir: str | os.PathLike) -> Path:
    """The sweep folder for a multirun job, else the run directory itself.

    Only Hydra's own marks count, never folder names (separate runs may well sit in folders
    named 1 and 2): its sweeper writes `multirun.yaml` into the sweep folder, and each job's
    `.hydra/hydra.yaml` says `mode: MULTIRUN`. A job whose sweep folder lacks multirun.yaml
    (another sweeper) belongs to the nearest ancestor that has one, else to its parent folder.
    """
    path = Path(run_dir).resolve()
    if is_sweep_folder(path.parent):
        return path.parent
    if not _is_multirun_job(path):
        return path
    return enclosing_sweep(path) or path.parent


def _is_multirun_job(run_dir: Path) -> bool:
    """Whether Hydra ran this folder as a job of a multirun (its .hydra/hydra.yaml says so)."""
    try:
        config = yaml.safe_load((run_dir / HYDRA_DIRNAME / "hydra.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):  # ValueError: not UTF-8 text
        return False
    hydra = config.get("hydra") if isinstance(config, dict) else None
    return isinstance(hydra, dict) and str(hydra.get("mode")).endswith("MULTIRUN")


def report_root(run_dir: str | os.PathLike, experiment: str | None = None) -> Path:
    """The results folder a run belongs to.

    The nearest ancestor named `results`; else, for Hydra's own layout (the batch folder named by
    its timestamp inside a folder named after the experiment: `<root>/<experiment>/<timestamp>/`,
    sweeps `<root>/<experiment>/multirun/<timestamp>/`), that `<root>`; else, for a run dir chosen
    freely (`hydra.run.dir=PATH`, whatever its name), the run's own batch folder, so a report
    never gathers folders above what the user pointed at.
    """
    path = Path(run_dir).resolve()
    for ancestor in path.parents:
        if ancestor.name == RESULTS_DIRNAME:
            return ancestor
    batch = batch_root(path)
    if experiment is None:
        experiment = next((r["experiment"] for r in read_records(path) if r.get("experiment")), None)
    if not experiment or not HYDRA_TIMESTAMP.match(batch.name):
        return batch
    parent = batch.parent.parent if batch.parent.name == MULTIRUN_DIRNAME else batch.parent
    return parent.parent if parent.name == experiment else batch


def load_batches(roots: list[str | os.PathLike]) -> pd.DataFrame:
    """All records under `roots` with `batch` (batch folder) and `batch_time` columns added."""
    runs = load_runs(roots)
    if runs.empty:
        return runs.assign(batch=pd.Series(dtype=object), batch_time=pd.Series(dtype=object))
    roots = {folder: str(batch_root(folder)) for folder in runs["run_dir"].unique()}  # one look per folder
    runs["batch"] = runs["run_dir"].map(roots)
    # The batch's time is its latest finished run: string ISO timestamps sort chronologically.
    stamps = runs["finished_at"].fillna(runs["started_at"]).astype(object)
    stamps = stamps.where(stamps.notna(), runs["batch"].map(_mtime_stamp))
    runs["batch_time"] = stamps.groupby(runs["batch"]).transform("max")
    return runs


def _mtime_stamp(folder: str) -> str:
    """A sortable stamp for batches whose records carry no time (modification time of the folder)."""
    return datetime.fromtimestamp(Path(folder).stat().st_mtime, tz=timezone.utc).isoformat()


def select_latest(runs: pd.DataFrame, *, all_runs: bool = False) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Keep the latest batch of each experiment; return it and the older batches left out."""
    if runs.empty or all_runs:
        return runs, {}
    keep = []
    older: dict[str, list[str]] = {}
    for experiment, group in runs.groupby("experiment", sort=True, dropna=False):
        times = group.groupby("batch")["batch_time"].max().sort_values()
        latest = times.index[-1]
        keep.append(group[group["batch"] == latest])
        if len(times) > 1:
            older[str(experiment)] = [str(b) for b in times.index[:-1]]
    return pd.concat(keep, ignore_index=True), older


def read_environment(folder: str | os.PathLike) -> dict[str, Any] | None:
    """environment.json of a run directory, or None when the harness wrote none (or it is broken)."""
    return _read_json(Path(folder) / ENVIRONMENT_FILE)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_environments(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """Every process's environment of a run directory: environment.json, then those a resume wrote
    beside it (environment-<time>-<pid>.json, harness.run), in time order; broken ones left out."""
    stem, suffix = os.path.splitext(ENVIRONMENT_FILE)
    paths = [Path(folder) / ENVIRONMENT_FILE, *sorted(Path(folder).glob(f"{stem}-*{suffix}"))]
    return [environment for environment in map(_read_json, paths) if isinstance(environment, dict)]


def read_config_text(folder: str | os.PathLike) -> str | None:
    """The resolved config of a run directory as YAML text (config.yaml, else Hydra's copy), or None:
    a file harness.settings_file.read_settings does not take (unreadable, or not the YAML mapping of
    settings a run writes: not UTF-8, a single value...) is passed over, as the report shows what it can."""
    for path in (Path(folder) / CONFIG_FILE, Path(folder) / HYDRA_DIRNAME / CONFIG_FILE):
        try:
            return read_settings(path)[0]
        except SettingsFileError:
            continue
    return None


def first_present(folders: list[str], reader: Any) -> tuple[str, Any] | None:
    """The first folder whose `reader(folder)` is not None, with what it read; None when no folder
    has it. A sweep's jobs differ, so whoever shows it says which job it is (job_label)."""
    for folder in folders:
        value = reader(folder)
        if value is not None:
            return folder, value
    return None


def differing_keys(mappings: list[dict[str, Any]]) -> list[str]:
    """The dotted keys ("model.backprop") whose values are not the same in every mapping, sorted; a
    key some mappings lack counts as differing."""
    flat = [_flattened(mapping) for mapping in mappings]
    keys = sorted({key for mapping in flat for key in mapping})
    absent = object()
    return [key for key in keys if any(m.get(key, absent) != flat[0].get(key, absent) for m in flat[1:])]


def _flattened(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            flat.update(_flattened(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def job_label(shown: str, folders: list[str], mappings: list[dict[str, Any]]) -> str | None:
    """Where a block the page shows once for a batch comes from, when it has several job folders:
    'of job 0-keras, 1 of 2 jobs; the others differ in: dtype, impls' (`mappings`: what each job
    holds, read where it can be); None for a single folder."""
    if len(folders) < 2:
        return None
    label = f"of job {Path(shown).name}, 1 of {len(folders)} jobs; "
    if len(mappings) < 2:  # nothing to compare it with
        return label + "the other jobs' files could not be read"
    differing = differing_keys(mappings)
    label += f"the others differ in: {', '.join(differing)}" if differing else "the others are the same"
    if len(mappings) < len(folders):
        label += f" (of the {len(mappings)} the report can read)"
    return label
