"""Where a command may write: the folder rules, each checked before anything is written.

A run's folder, a sweep's folder and the folders of a rerun must not mix: a sweep's tables merge
every records/ folder below it (harness.sweep_merge), so a run written into or under a sweep joins
it, and a sweep written over runs takes them in. Every refusal is a one-line ValueError naming the
folder, the problem and the setting that fixes it (`dir_key`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from harness.records import (CONFIG_FILE, HYDRA_MULTIRUN_YAML, RECORDS_DIRNAME, UnreadableRecord,
                             read_to_resume, record_files)
from harness.runs_table import find_run_dirs
from harness.run_settings import BOOKKEEPING, dotted_settings
from harness.settings_file import SettingsFileError, SpoiltSettings, UnreadableSettings, load_settings, read_settings

from .config import MODEL_ALIASES

log = logging.getLogger(__name__)


def _holds_records(folder: Path) -> bool:
    """Whether `folder`'s records/ holds at least one record (by the listing every reader uses,
    harness.records.record_files; UnreadableRecord where it cannot list it)."""
    return bool(record_files(folder))


def is_sweep_folder(folder: str | os.PathLike) -> bool:
    """Whether `folder` is a sweep's: Hydra's sweeper wrote its multirun.yaml there. Anything in that
    place counts (a folder, a link to nothing): resume=true refuses it as a file it cannot read
    (_check_own_sweep), rather than take the folder for no sweep (the report groups jobs by it too)."""
    return os.path.lexists(Path(folder) / HYDRA_MULTIRUN_YAML)


def _writable(folder: Path) -> bool:
    """Probe by creating (and removing) a folder: os.access says yes to root even on read-only mounts."""
    try:
        probe = Path(tempfile.mkdtemp(prefix=".mlp-bench-probe-", dir=folder))
        probe.rmdir()
        return True
    except OSError:
        return False


def config_differences(stored: dict[str, Any], current: dict[str, Any], ignore: set[str]) -> list[str]:
    """Each setting that differs, as "model.epochs: 3 in config.yaml, 4 now" (top-level keys in
    `ignore` left out)."""
    old, new = dotted_settings(stored, expand_lists=True), dotted_settings(current, expand_lists=True)
    keys = [k for k in sorted(set(old) | set(new)) if k.split(".")[0] not in ignore and old.get(k) != new.get(k)]
    return [f"{k}: {old.get(k, 'absent')} in {CONFIG_FILE}, {new.get(k, 'absent')} now" for k in keys]


def check_same_config(cfg: DictConfig, run_dir: Path, dir_key: str = "hydra.run.dir") -> None:
    """Resuming must not mix settings in one folder: all but seeds, impls and bookkeeping must match
    (records are per implementation and seed, so adding seeds or implementations is consistent).
    A folder with records and no config.yaml cannot be compared, so it is refused too."""
    stored_path = run_dir / CONFIG_FILE
    if not stored_path.exists():
        if _holds_records(run_dir):
            raise ValueError(f"resume=true but {run_dir} holds records and no {CONFIG_FILE}, so its settings are "
                             f"unknown and new runs could mix with others; put its {CONFIG_FILE} back, or choose a "
                             f"new {dir_key}")
        return
    # the top-level shortcuts are compared through `model`, where apply_aliases put them
    ignore = {*BOOKKEEPING, "runs", "seeds", "seed", "impls", *MODEL_ALIASES}
    stored = _load_to_resume(stored_path, "whose settings the resumed runs must share", dir_key)
    differ = config_differences(stored, OmegaConf.to_container(cfg, resolve=True), ignore)
    if differ:
        more = f" (and {len(differ) - 3} more)" if len(differ) > 3 else ""
        raise ValueError(f"resume=true but settings differ from {stored_path}: {'; '.join(differ[:3])}{more}; "
                         f"resume with the same overrides or choose a new {dir_key}")


def check_writable_folder(folder: str | os.PathLike, dir_key: str) -> None:
    """`folder` must be a folder, or one that can be made and written: else a one-line ValueError
    naming `dir_key`, the setting that chose it (a later write would fail as if the disk were full)."""
    path = Path(folder).absolute()
    if path.exists() and not path.is_dir():
        raise ValueError(f"output folder {path} is a file; choose another {dir_key}")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not _writable(existing):
        why = "is a file" if not existing.is_dir() else "is not writable"
        raise ValueError(f"output folder {path} cannot be written ({existing} {why}); "
                         f"choose a writable {dir_key}=PATH or fix the permissions")


def check_output_dir(run_dir: str | os.PathLike, *, resume: bool, cfg: DictConfig | None = None,
                     dir_key: str = "hydra.run.dir", sweep_job: bool = False) -> None:
    """The run folder must be creatable and writable, must not be a sweep's, lie inside one (unless
    it is one of that sweep's jobs: `sweep_job`) or hold other runs' (check_single_run_folder), must
    have no records/ or one it can list (check_records_folder), must not already hold records unless
    resuming, and when resuming must have been made with the same settings. `dir_key` is the setting
    that chooses the folder, named in the fixes (hydra.sweep.dir for a sweep's job)."""
    path = Path(run_dir).absolute()
    check_writable_folder(path, dir_key)
    check_single_run_folder(path, dir_key, sweep_job=sweep_job)
    held = check_records_folder(path, dir_key)
    if not resume and held:
        raise ValueError(f"output folder {path} already holds records; add resume=true to finish it, "
                         f"or choose a new {dir_key}")
    if resume and cfg is not None:
        check_same_config(cfg, path, dir_key)


def check_records_folder(path: Path, dir_key: str) -> list[Path]:
    """What stands in records/' place must be a folder the harness can list (harness.records.record_files),
    or nothing. A link to nothing may lead to the folder's records on a volume not mounted here; a file, or a
    folder it may not list, hides whether the folder holds records: resume would take every run for
    unfinished, a new run the folder for one without records, and both would fail only at the first
    record's write, after a run, as if the disk were full. Refused either way before any run, in one line
    naming it (a link, where it points), the OS's error and the fix; nothing is changed. Returns the records
    it lists."""
    records = path / RECORDS_DIRNAME
    target = _link_to_nothing(records)
    if target is not None:
        raise ValueError(f"{records} is a link to {target}, which is not there (a volume not mounted here?); mount "
                         f"or restore {target}, or remove the link, or choose a new {dir_key}")
    try:
        return record_files(path)
    except UnreadableRecord as unlisted:
        raise ValueError(f"{records} cannot be read as the folder of the runs' records ({unlisted.why}); make it a "
                         f"folder the harness can read, or move it out of {path}, or choose a new {dir_key}") from None


def _link_to_nothing(path: Path) -> str | None:
    """Where `path` points when it is a link to nothing (a volume not mounted here?), else None."""
    return os.readlink(path) if path.is_symlink() and not path.exists() else None


def check_single_run_folder(path: Path, dir_key: str, *, sweep_job: bool = False) -> None:
    """A run's folder holds no sweep and no other runs' folders, and lies inside no sweep unless it is
    one of its jobs: a sweep's tables merge every records/ folder below the sweep folder
    (harness.sweep_merge), so a run written into one would join the sweep, and its runs.csv and
    summary.csv would replace the sweep's."""
    if is_sweep_folder(path):
        raise ValueError(f"output folder {path} is a sweep's folder ({HYDRA_MULTIRUN_YAML}); finish the sweep with "
                         f"-m, its overrides and resume=true hydra.sweep.dir={path}, or choose a new {dir_key}")
    if not sweep_job:
        check_not_nested(path, dir_key)
    others = _other_run_dirs(path, dir_key)
    if others:
        raise ValueError(f"output folder {path} holds other runs' folders ({others[0]}); choose a new {dir_key}")


def enclosing_sweep(folder: str | os.PathLike) -> Path | None:
    """The nearest folder above `folder` marked as a sweep's by Hydra (multirun.yaml), else None: the
    folder whose merge takes in every records/ folder below it (harness.reporting.batches.batch_root
    groups a job's runs by it too)."""
    return next((a for a in Path(folder).resolve().parents if is_sweep_folder(a)), None)


def enclosing_run(folder: str | os.PathLike) -> Path | None:
    """The nearest folder above `folder` whose records/ holds a record, else None. Not the report walk's rule
    (harness.records.is_run_folder: anything in records/' place), which holds below a results folder: above
    it, a user's own records (~/records, a file, a link) is no run of the harness's, and must not refuse
    every run as nested. A records/ above that cannot be listed holds no record we can see."""
    return next((a for a in Path(folder).resolve().parents if _lists_a_record(a)), None)


def _lists_a_record(folder: Path) -> bool:
    """Whether `folder`'s records/ is a folder that lists at least one record; False where it cannot be listed."""
    try:
        return _holds_records(folder)
    except UnreadableRecord:
        return False


def check_not_nested(path: Path, dir_key: str) -> None:
    """A folder inside a sweep's folder would be taken in by its merge, report and resume as a job;
    one inside a run's folder by that run's tables and report (and the run could no longer be
    resumed: its folder would hold other runs')."""
    sweep = enclosing_sweep(path)
    if sweep is not None:
        raise ValueError(f"output folder {path} is inside the sweep {sweep} ({HYDRA_MULTIRUN_YAML}), whose tables "
                         f"would take it in as a job; choose a {dir_key} outside it")
    run = enclosing_run(path)
    if run is not None:
        raise ValueError(f"output folder {path} is inside the run folder {run}, whose tables and report would take "
                         f"it in; choose a {dir_key} outside it")


def _other_run_dirs(path: Path, dir_key: str) -> list[Path]:
    """The runs' folders below `path` (not `path` itself), as the user wrote `path`. A folder there it may not
    list may hold some (find_run_dirs refuses it): a one-line ValueError in the check's words, `dir_key` the
    setting that chose `path`."""
    if not path.is_dir():
        return []
    try:
        found = find_run_dirs([path])
    except UnreadableRecord as unlisted:
        raise ValueError(unlisted.said(f"output folder {path}",
                                       f"run the command again, or choose a new {dir_key}")) from None
    return [path / d.relative_to(path.resolve()) for d in found if d != path.resolve()]


def check_sweep_folder(sweep_dir: str | os.PathLike, *, resume: bool = False, dir_key: str = "hydra.sweep.dir",
                       name: str | None = None) -> None:
    """A sweep's folder is not a single run's (nothing in its records/ place: check_no_records_of_its_own) and
    lies inside no other sweep or run; without resume it holds no sweep and no runs' folders either, and with
    resume only a sweep of its own (experiment `name`): the sweep's merge would take every records/ folder
    below it in as a job and replace the folder's runs.csv and summary.csv (the converse of
    check_single_run_folder). `dir_key` is the setting that chose it (--into for a rerun)."""
    path = Path(sweep_dir).absolute()
    check_no_records_of_its_own(path, dir_key)
    check_not_nested(path, dir_key)
    if resume:
        _check_own_sweep(path, dir_key, name)
        return
    if is_sweep_folder(path):
        finish = " finish it with its own overrides and resume=true, or" if dir_key == "hydra.sweep.dir" else ""
        raise ValueError(f"output folder {path} already holds a sweep ({HYDRA_MULTIRUN_YAML});{finish} "
                         f"choose a new {dir_key}")
    others = _other_run_dirs(path, dir_key)
    if others:
        raise ValueError(f"output folder {path} holds other runs' folders ({others[0]}), which a sweep's tables "
                         f"would take in as jobs; choose a new {dir_key}")


def check_no_records_of_its_own(path: Path, dir_key: str) -> None:
    """A sweep's folder is no run's: its jobs write their records/ below it, never one of its own. Anything in its
    records/ place (harness.records.is_run_folder) makes the sweep's tables (harness.runs_table.find_run_dirs) take
    the folder itself in as a run's: records there would join the sweep, and a file, a link to nothing or a folder
    it cannot list would fail every merge after every job had run. Refused before any job, in one line: records
    as a single run's folder; anything else naming what stands there and the fix (move it out). A folder there
    that lists no record holds nothing to mix in, and is accepted, as it always was."""
    records = path / RECORDS_DIRNAME
    try:
        held = record_files(path)  # [] with nothing there, or a folder of no records: nothing to mix in
    except UnreadableRecord as unlisted:
        target = _link_to_nothing(records)
        state = unlisted.why if target is None else f"a link to {target}, which is not there"
        raise ValueError(f"output folder {path} holds {records} ({state}), which makes it a run's folder to the "
                         f"sweep's tables; move it out of {path}, or choose a new {dir_key}") from None
    if held:
        raise ValueError(f"output folder {path} holds a single run's records; a sweep needs a folder of its own: "
                         f"choose a new {dir_key}")


def _check_own_sweep(path: Path, dir_key: str, name: str | None) -> None:
    """What resume=true finishes: a sweep (Hydra writes multirun.yaml before any job, whatever the
    launcher) of the same experiment. multirun.yaml is Hydra's, written again as the sweep starts: one
    cut short or spoilt (Hydra's write of it failed) is left to Hydra, with one warning; one the OS will
    not let it read, or a folder in its place, is refused in one line."""
    if not is_sweep_folder(path):
        if _other_run_dirs(path, dir_key):
            raise ValueError(f"output folder {path} holds runs' folders but no sweep ({HYDRA_MULTIRUN_YAML}): nothing "
                             f"of this sweep to finish, and its tables would take them in as jobs; choose a new {dir_key}")
        return
    marker = path / HYDRA_MULTIRUN_YAML
    try:
        text, stored = read_settings(marker)  # as written: Hydra's file holds interpolations only it resolves
        if not text.endswith("\n"):  # what is left of a cut may still parse, its last value cut ("name: titan")
            raise SpoiltSettings(marker, "no newline at its end")
    except UnreadableSettings as unreadable:  # may be a good file (EIO, EACCES), or no file at all (a folder)
        raise _resume_refused(unreadable, "which says whose sweep the folder holds", dir_key) from None
    except SpoiltSettings as spoilt:
        # Hydra's own write (open, then write: not atomic), cut short by a full disk: it writes the file
        # again as the sweep starts, and each job's config.yaml is still compared (check_same_config)
        log.warning(f"resume=true: {marker} is cut short or spoilt ({spoilt.why}), as Hydra leaves it when its "
                    f"write fails; the sweep goes on and Hydra writes it again")
        return
    other = _sweep_name(stored)
    if name is not None and other is not None and str(other) != name:
        raise ValueError(f"output folder {path} holds the sweep of {other}, not {name}; finish that one with its own "
                         f"command, or choose a new {dir_key}")


def _sweep_name(stored: dict[str, Any]) -> Any:
    """The sweep's name in its multirun.yaml; None where it has none, or where it is an interpolation
    (name=x_${model.epochs}), which Hydra keeps unresolved there beside its config less the swept keys, so
    it resolves as no job's name did: each job's config.yaml, compared all the same, holds its own."""
    name = stored.get("name")
    return None if isinstance(name, str) and "${" in name else name


def _load_to_resume(path: Path, what: str, dir_key: str) -> dict[str, Any]:
    """The resolved settings of the config.yaml resume=true compares (harness.settings_file.load_settings,
    the one reader of the files resume reads): one the OS will not let it read (EIO, EACCES, a folder in its
    place), or that is not the non-empty YAML mapping of settings a run writes (spoilt), is a one-line
    ValueError naming it, the problem and the fix, which every check refuses as bad input (exit 2), like an
    unreadable record (check_records_readable)."""
    try:
        return load_settings(path)
    except SettingsFileError as refused:
        raise _resume_refused(refused, what, dir_key) from None


def _resume_refused(refused: SettingsFileError, what: str, dir_key: str) -> ValueError:
    """The one line of a settings file resume=true cannot take (`what`: why it reads it)."""
    return ValueError(f"resume=true: {refused.problem}, {what}; {refused.fix}, or choose a new {dir_key}")


def check_records_readable(run_dir: str | os.PathLike, planned: dict[str, str]) -> None:
    """resume=true reads every record of the folder (to skip the finished runs, and to table them all):
    one the OS will not let it read (EIO, EACCES) is refused here, before any run of the command starts,
    with the line of harness.records.read_to_resume (the reader resume itself uses, whose rule this is). A
    readable file that is no valid record is left to resume, which moves it aside or skips it
    (harness.sweep.finished). So is one gone by the time it is read (another command moved it aside): this
    check runs before the folder's lock is taken, and the job, under it, finds the run's record absent. A
    link to nothing is still there, and refused: it may lead to a good record (a volume not mounted now).
    Every file is read, under a name no planned run has too: the job's runs.csv rebuild reads them all
    (harness.records.read_records, whose listing this is: harness.records.record_files). The line names the run
    moving the file out runs again, or says it is none of `planned` (harness.validate.Plan.planned_runs)."""
    for path in record_files(run_dir):
        try:
            read_to_resume(path)
        except UnreadableRecord as unreadable:
            raise unreadable.among(planned) from None
        except ValueError:
            continue


def check_resumable(folder: str | os.PathLike, dir_key: str) -> None:
    """resume=true finishes the runs of an existing folder: a missing or empty one (the default
    folder, a new timestamp; a mistyped path) holds nothing to finish, and starting afresh there
    would hide the mistake behind a run that looks like a resume."""
    path = Path(folder).absolute()
    if not path.is_dir() or not any(path.iterdir()):
        why = "empty folder" if path.is_dir() else "no such folder"
        raise ValueError(f"resume=true: nothing to resume at {path} ({why}); give the folder of the runs to finish "
                         f"with {dir_key}=PATH, or leave out resume=true to start afresh")
