"""`python -m harness.rerun RESULTS_DIR [--into NEW_DIR]`: run a results folder again, exactly.

It reads the folder's resolved `config.yaml` (every value, not the overrides, so later edits to
conf/ do not change the rerun) and the data folder recorded in `environment.json`, runs the
(implementation, seed) runs its records hold into a new folder (one invocation per group of
implementations that ran the same seeds, as resumes may have left them), then compares each new
record with the original: everything but timings, memory and timestamps must match (the
from-scratch MLP bitwise; Keras with op determinism; a warning says when NumPy's OpenBLAS now loads
other kernels than the original's, which round differently). A multirun folder (job subfolders, each with
a config.yaml) is rerun job by job, every job even when some runs fail; when its jobs form one
sweep, so do the rerun's (multirun.yaml, merged tables, one report: harness.sweep_merge). Exit
status: 0 when every record matches, 3 when any differs (a run that fails now but not before is a
difference), 2 when nothing could be run (or the new folder is being written by another process,
or a record of the original could not be read again after some runs: those runs' records are kept),
4 when a write failed (disk full: one line says which file), 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from harness import blas_kernels
from harness.atomic_write import atomic_write_text
from harness.callbacks import rebuild_command, sweep_end_warning
from harness.folder_lock import held_elsewhere
from harness.records import (CONFIG_FILE, ENVIRONMENT_FILE, HYDRA_DIRNAME, HYDRA_MULTIRUN_YAML, HYDRA_OVERRIDES_YAML,
                             UnreadableRecord, read_records, record_name)
from harness.reporting.batches import batch_root
from harness.settings_file import SettingsFileError, load_settings, read_settings
from harness.sweep_merge import finish_sweep
from harness.write_failure import WriteFailed, stop

from .config import BenchConfig
from .environment import command_line, git_state
from .run import run_config
from .run_settings import MACHINE_PREFIX
from .sweep import Outcome
from .folders import check_not_nested, check_sweep_folder, enclosing_sweep
from .validate import forget_prechecked, precheck_plan

log = logging.getLogger("harness.rerun")
IDENTICAL, BAD_INPUT, DIFFERENT, INTERRUPTED = 0, 2, 3, 130  # exit statuses, as the docstring says
VOLATILE_FIELDS = ("fit_seconds", "first_epoch_seconds", "compile_seconds", "predict_seconds", "warmup_seconds",
                   "peak_memory_mb", "started_at", "finished_at", "launcher", "load_average", "other_cpu_load")


def load_config(folder: Path) -> DictConfig:
    """The stored resolved config, checked against the schema, with the recorded data folder. A
    config.yaml the harness cannot take (harness.settings_file.load_settings, the reader resume uses:
    unreadable, or not the YAML mapping of settings a run writes) raises its SettingsFileError; one
    the schema refuses (a key or value this version does not know), a one-line ValueError."""
    stored = load_settings(folder / CONFIG_FILE)
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(BenchConfig), stored)
    except OmegaConfBaseException as error:  # ConfigKeyError is a KeyError, ValidationError a ValueError
        why = (str(error).strip().splitlines() or [type(error).__name__])[0]
        key = getattr(error, "full_key", None)
        where = f" (at {key})" if key else ""
        if isinstance(error, ConfigKeyError):  # a setting of another version of the harness
            raise ValueError(f"{why}{where}, a setting this version does not take; rerun it with the commit that "
                             f"wrote it (its environment.json names it), or put back the file the run wrote") from None
        raise ValueError(f"{why}{where}, not a value the run wrote; put back the file the run wrote") from None
    if cfg.data.root is None:
        recorded = recorded_environment(folder).get("data_root")
        if recorded and Path(recorded).is_dir():
            cfg.data.root = recorded
    cfg.resume = False
    return cfg


_WARNED: set[Path] = set()  # environment.json files already said to be unreadable


def recorded_environment(folder: Path) -> dict[str, Any]:
    """The original's environment.json ({} where it has none): it only tells the rerun the commit, the
    data folder and NumPy's BLAS kernels, so one that is not the JSON object a run writes (cut short, not UTF-8) is warned
    of and left out."""
    path = folder / ENVIRONMENT_FILE
    if not path.exists():
        return {}
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        if path not in _WARNED:  # read for the check, then for the run: said once
            _WARNED.add(path)
            log.warning(f"rerun: {path} cannot be read ({type(error).__name__}: {error}); the original's commit "
                        f"and data folder are not known")
        return {}
    return recorded if isinstance(recorded, dict) else {}


def rerun_configs(folder: Path) -> list[DictConfig]:
    """The invocations that make the folder's recorded (implementation, seed) runs again, in order:
    the stored config once per group of implementations that ran the same seeds, each after the
    first resuming into its folder. A resume may have added seeds, or implementations the stored
    config (written by the first invocation) does not name, for some implementations only."""
    cfg = load_config(folder)
    seeds: dict[str, set[int]] = {}
    for record in read_records(folder):
        seeds.setdefault(record["impl"], set()).add(record["seed"])
    ran = [name for name in cfg.impls if name in seeds] + sorted(set(seeds) - set(cfg.impls))
    groups: dict[tuple[int, ...], list[str]] = {}
    for name in ran:
        groups.setdefault(tuple(sorted(seeds[name])), []).append(name)
    configs = [OmegaConf.merge(cfg, {"seed": None, "seeds": list(group_seeds), "impls": impls, "resume": i > 0})
               for i, (group_seeds, impls) in enumerate(groups.items())]
    return configs or [cfg]


def _stable(field: str, value: object) -> object:
    """A record field as compared: the machine's measured rates in `settings` are timings too."""
    if field == "settings" and isinstance(value, dict):
        return {k: v for k, v in value.items() if not k.startswith(MACHINE_PREFIX)}
    return value


def differences(original: Path, new: Path) -> dict[str, str]:
    """Per record name, how the two folders' records differ (timings, memory and timestamps ignored)."""
    old = {record_name(r): r for r in read_records(original)}
    new_records = {record_name(r): r for r in read_records(new)}
    found = {name: "not rerun" for name in sorted(set(old) - set(new_records))}
    for name, record in new_records.items():
        before = old.get(name)
        if before is None:
            found[name] = "not in the original"
            continue
        keys = [k for k in record if k not in VOLATILE_FIELDS and _stable(k, record[k]) != _stable(k, before[k])]
        if keys:
            found[name] = f"{', '.join(keys)} differ"
    return found


def compare(original: Path, new: Path) -> list[str]:
    """Differences between two folders' records, one line each ("NAME: what differs")."""
    return [f"{name}: {what}" for name, what in differences(original, new).items()]


def rerun_one(folder: Path, into: Path, *, in_sweep: bool = False) -> int:
    """Rerun one job folder into `into`; its exit status: IDENTICAL, DIFFERENT or INTERRUPTED.

    A failed run is a result like any other: it counts as identical only when the original
    failed with the same error. Nothing here exits, so every job of a sweep is rerun. A job of
    a sweep (`in_sweep`) leaves the report to the sweep's end, as under Hydra (harness.run). The
    original's records are read again (which runs to make, then to compare): one the OS no longer
    lets it read since check_jobs did raises UnreadableRecord, for main to refuse."""
    recorded = recorded_environment(folder)
    original_git = recorded.get("git") or {}
    if original_git.get("commit") and original_git.get("commit") != git_state().get("commit"):
        log.warning(f"the original ran at commit {original_git['commit']}, this checkout is at another commit")
    other_kernels = blas_kernels.other_kernels(recorded)
    if other_kernels:
        log.warning(other_kernels)
    if in_sweep:
        _keep_job_overrides(folder, into)
    outcome = _run_again(folder, into, original_git, in_sweep=in_sweep)
    if outcome.interrupted:
        sys.stderr.write(f"interrupted: the rerun of {folder} into {into} is incomplete\n")
        return INTERRUPTED
    found = differences(folder, into)
    for name, what in found.items():
        print(f"differs: {name}: {what}")
    identical = sum(1 for name in outcome.done if name not in found)
    print(f"rerun of {folder} -> {into}: {len(outcome.done)} runs ({len(outcome.failed)} failed), "
          f"{identical} identical to the original except timings")
    return DIFFERENT if found else IDENTICAL


def _keep_job_overrides(job: Path, into: Path) -> None:
    """The original job's overrides (Hydra's .hydra/overrides.yaml) for the rerun's job, which
    stands for it: the sweep's runs.csv tells its jobs apart by them (harness.sweep_merge)."""
    original = job / HYDRA_DIRNAME / HYDRA_OVERRIDES_YAML
    if not original.is_file():
        return
    try:
        text = original.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:  # only names the job in runs.csv: the rerun goes on
        log.warning(f"rerun: {original} cannot be read as text ({error}); its overrides are not kept, so the "
                    f"rerun's runs.csv names none for this job")
        return
    try:
        atomic_write_text(into / HYDRA_DIRNAME / HYDRA_OVERRIDES_YAML, text)
    except WriteFailed as failure:  # before the job's runs: nothing of this job written
        stop(failure, into, _start_again(job))


def _start_again(folder: Path) -> str:
    """How to finish a rerun stopped by a failed write, once there is room."""
    return f"rerun into an empty folder: python -m harness.rerun {folder} --into NEW_DIR"


def _run_again(folder: Path, into: Path, original_git: dict[str, Any], *, in_sweep: bool) -> Outcome:
    """Run rerun_configs(folder) into `into` one after another (not a sweep's job: the report the
    config asks for after the last); their outcomes as one, up to a Ctrl-C."""
    configs, total = rerun_configs(folder), Outcome()
    for cfg in configs:
        outcome = run_config(cfg, into, launcher="basic", command=command_line("harness.rerun", sys.argv[1:]),
                             then=_start_again(folder),
                             report=not in_sweep and cfg.report and cfg is configs[-1], sweep_job=in_sweep,
                             rerun_of=str(folder.resolve()), original_git=original_git)
        total.done += outcome.done
        total.failed += outcome.failed
        total.diverged += outcome.diverged
        if outcome.interrupted:
            total.interrupted = True
            break
    return total


def check_jobs(jobs: list[Path], targets: list[Path]) -> None:
    """Refuse (ValueError, one line) before any job runs: a target folder in use, a job folder
    another run is still writing, a config.yaml it cannot read or that is spoilt (named with its fix,
    by harness.settings_file), a record it cannot read (harness.records.UnreadableRecord, in the rerun's
    words), or a stored config that cannot run here (e.g. its data folder or an implementation's library
    is missing)."""
    for job, target in zip(jobs, targets):
        if target.exists() and any(target.iterdir()):
            raise ValueError(f"{target} is not empty; choose another --into")
        if held_elsewhere(job):
            raise ValueError(f"{job} is being written by another run; rerun it once that run has ended")
        try:
            for cfg in rerun_configs(job):
                precheck_plan(cfg)  # kept for the job's run_config (built once)
        except SettingsFileError as refused:  # names the file and the fix itself
            forget_prechecked()
            raise ValueError(f"{refused.problem}, whose settings the rerun repeats; {refused.fix}") from None
        except UnreadableRecord as unreadable:  # a record, not config.yaml: the file, and the rerun's fix
            forget_prechecked()
            raise ValueError(_unreadable_said(unreadable)) from None
        except ValueError as ex:
            forget_prechecked()  # no job runs
            raise ValueError(f"{job / CONFIG_FILE} cannot run here: {str(ex).strip().splitlines()[0]}") from None


def _unreadable_said(unreadable: UnreadableRecord) -> str:
    """The rerun's line for a record it cannot read, before any job (check_jobs) or after some (main)."""
    return unreadable.said("rerun", "run the command again", moved=" to leave its run out of the rerun")


def check_into(into: Path, targets: list[Path], *, sweep: bool) -> None:
    """Refuse (ValueError, one line) a new folder a merge would mix with other runs, by the rules of
    `python -m harness` (harness.folders): a sweep's into a folder of its own, a run's outside any
    sweep (a sweep's merge, report and resume would take it in as a job); check_jobs refuses a
    target that is not empty."""
    if sweep:
        check_sweep_folder(into, dir_key="--into")
    else:
        for target in targets:
            check_not_nested(target.absolute(), "--into")


def default_into(folder: Path, stamp: str) -> Path:
    """RESULTS_DIR-rerun-<stamp> beside the original; for a folder inside a sweep, beside the sweep
    (SWEEP-JOB-rerun-<stamp>), whose merge would otherwise take the rerun in as another job."""
    sweep = enclosing_sweep(folder)
    if sweep is None:
        return folder.with_name(f"{folder.name}-rerun-{stamp}")
    inside = "-".join(folder.resolve().relative_to(sweep).parts)
    return sweep.with_name(f"{sweep.name}-{inside}-rerun-{stamp}")


def is_sweep(folder: Path, jobs: list[Path]) -> bool:
    """Whether the job subfolders of `folder` form one sweep to the report (batches.batch_root),
    not separate runs that merely share a folder."""
    return jobs != [folder] and all(batch_root(job) == folder.resolve() for job in jobs)


def start_sweep(folder: Path, into: Path) -> None:
    """Mark `into` as a sweep folder as Hydra's sweeper does, with the original's multirun.yaml (a
    minimal one when another sweeper wrote none, or it cannot be read: harness.settings_file), so its
    jobs are one batch to the report."""
    original = folder / HYDRA_MULTIRUN_YAML
    text = "hydra:\n  mode: MULTIRUN\n"
    if original.is_file():
        try:
            text, _ = read_settings(original)
        except SettingsFileError as refused:  # it only marks the sweep: a minimal marker does that
            log.warning(f"rerun: {refused.problem}; the rerun's sweep is marked by a minimal multirun.yaml")
    try:
        atomic_write_text(into / HYDRA_MULTIRUN_YAML, text)
    except WriteFailed as failure:  # before any job: nothing else written
        stop(failure, into, _start_again(folder))


def end_sweep(into: Path, cfg: DictConfig) -> None:
    """The sweep's merged tables and, if its config asks, its report (harness.sweep_merge); a
    refused write stops with its one line, any other failure is a warning: the records are on disk."""
    rebuild = f"rebuild with {rebuild_command(into, cfg.report)}"
    merged: list[bool] = []
    try:
        finish_sweep(into, experiment=cfg.name, report=cfg.report, merged=merged)
    except WriteFailed as failure:
        stop(failure, into, rebuild)
    except Exception as ex:  # in the words of every sweep's end
        log.warning(sweep_end_warning(ex, into, experiment=cfg.name, merged=bool(merged), report=cfg.report))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: rerun a results folder (or each job of a multirun folder); the exit status."""
    parser = argparse.ArgumentParser(prog="python -m harness.rerun", description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--into", type=Path, help="new folder (default: RESULTS_DIR-rerun-<timestamp>; for a job "
                                                  "of a sweep, SWEEP_DIR-JOB-rerun-<timestamp>)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    folder: Path = args.results_dir
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d_%H-%M-%S")
    into: Path = args.into or default_into(folder, stamp)
    jobs = [folder] if (folder / CONFIG_FILE).exists() else sorted(p.parent for p in folder.glob(f"*/{CONFIG_FILE}"))
    if not jobs:
        sys.stderr.write(f"error: {folder} holds no {CONFIG_FILE}; give a folder written by python -m harness\n")
        return BAD_INPUT
    targets = [into if job == folder else into / job.name for job in jobs]
    sweep = is_sweep(folder, jobs)
    try:
        check_into(into, targets, sweep=sweep)
        check_jobs(jobs, targets)
    except ValueError as ex:
        sys.stderr.write(f"error: {ex}\n")
        return BAD_INPUT
    status, refused = IDENTICAL, ""
    if sweep:
        start_sweep(folder, into)
    for job, target in zip(jobs, targets):
        try:
            status = max(status, rerun_one(job, target, in_sweep=sweep))
        except UnreadableRecord as unreadable:  # unreadable since check_jobs: the line, last; the new records stay
            refused = _unreadable_said(unreadable)
            break
        if status == INTERRUPTED:
            break
    if sweep:  # after a Ctrl-C or a refusal too: the tables and report show the jobs rerun so far
        end_sweep(into, load_config(jobs[0]))
    if refused:
        sys.stderr.write(f"error: {refused}\n")
        return BAD_INPUT
    return status


if __name__ == "__main__":
    sys.exit(main())
