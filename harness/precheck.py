"""Validate a command line before Hydra creates any folder, and say what is wrong in one line.

Hydra composes the config and creates the run folder (and `.hydra/`) before the task function
runs, and reports composition errors over several lines. So the entry point first composes the
same config here with Hydra's compose API (one composition per job of a sweep, via Hydra's own
sweep expansion), builds its plan (`harness.validate.precheck_plan`, which the job then takes
rather than building it again), and checks the output folder (with resume=true, that the OS lets
it read every record there: harness.folders.check_records_readable). A bad
command thus exits with status 2, one line on stderr, and nothing written.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, NoReturn

from omegaconf import DictConfig, OmegaConf

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


class BadInput(ValueError):
    """A command the harness refuses before doing any work (the check here), or input a command meets later and
    refuses all the same (a record it cannot read), where no error of its own says it (refuse() takes any
    ValueError: FolderBusy, UnreadableRecord)."""


def experiment_names() -> list[str]:
    """The experiments available as +experiment=NAME."""
    return sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def one_line(ex: BaseException) -> str:
    """A Hydra/OmegaConf composition error as one line with a fix."""
    from hydra.errors import MissingConfigException
    if isinstance(ex, MissingConfigException):
        missing = str(getattr(ex, "missing_cfg_file", None) or "")
        group, _, option = missing.rpartition("/")
        options = ", ".join(getattr(ex, "options", None) or [])
        if options:
            return f"unknown {group or 'config'} '{option}'; valid: {options}"
    parts = [str(ex).strip().splitlines()[0]] if str(ex).strip() else [type(ex).__name__]
    cause = ex.__cause__
    if cause is not None and str(cause).strip():
        parts.append(str(cause).strip().splitlines()[0])
    text = "; ".join(parts)
    if "Ambiguous value" in text:
        text += " (a sweep needs -m: python -m harness -m ...)"
    if "No match in the defaults list" in text:
        text += " (a config group is chosen with a leading +, e.g. +experiment=NAME)"
    elif "Key '" in text:
        text += " (check the key's spelling; python -m harness +experiment=NAME --cfg job lists every key)"
    return text


def _job_overrides(overrides: list[str], cfg: DictConfig, multirun: bool) -> list[list[str]]:
    """The jobs of a sweep as the basic sweeper expands them (command line + hydra.sweeper.params):
    each key's last value or values, every combination in order, from Hydra's parsed overrides."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    if not multirun:
        return [overrides]
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    merged = [f"{k}={v}" for k, v in params.items()] + [o for o in overrides if not o.startswith("hydra.")]
    values = {o.get_key_element(): _values(o) for o in OverridesParser.create().parse_overrides(merged)}
    fixed = [o for o in overrides if o.startswith("hydra.")]
    return [fixed + list(job) for job in itertools.product(*values.values())]


def _compose(overrides: list[str], multirun: bool) -> DictConfig:
    from hydra import compose
    mode = ["hydra.mode=MULTIRUN"] if multirun else []
    return compose(config_name="config", overrides=overrides + mode, return_hydra_config=True)


def check(argv: list[str]) -> tuple[str, Path] | None:
    """Raise BadInput (one line) when the command line cannot run; otherwise return the folder it
    writes as (setting, path): ("hydra.run.dir", run folder) or ("hydra.sweep.dir", sweep folder),
    None for Hydra's own commands (--help, --cfg...)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    args = _command_line_parser().parse_args(argv)
    if args.help or args.hydra_help or args.version or args.cfg or args.info or args.shell_completion \
            or args.config_dir or args.config_name or args.config_path or args.experimental_rerun:
        return None  # Hydra's own commands: nothing is run
    overrides = list(args.overrides)
    _check_syntax(overrides)
    if not any(o.lstrip("+~").startswith("experiment=") for o in overrides):
        raise BadInput(f"no experiment chosen; add +experiment=NAME with NAME one of {', '.join(experiment_names())}")
    from .validate import forget_prechecked
    GlobalHydra.instance().clear()
    forget_prechecked()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="precheck"):
            return _check_composed(overrides, bool(args.multirun))
    except BaseException:
        forget_prechecked()  # a refused command's jobs never run
        raise
    finally:
        GlobalHydra.instance().clear()


def _command_line_parser() -> argparse.ArgumentParser:
    """The flags `hydra.main` takes (its own parser is not public API): enough to tell Hydra's
    own commands from a run, the overrides and -m apart; Hydra parses the command line again."""
    parser = argparse.ArgumentParser(add_help=False)
    for flags in (["--help", "-h"], ["--hydra-help"], ["--version"], ["--resolve"], ["--run", "-r"],
                  ["--multirun", "-m"], ["--shell-completion", "-sc"]):
        parser.add_argument(*flags, action="store_true")
    for flags in (["--cfg", "-c"], ["--package", "-p"], ["--config-path", "-cp"], ["--config-name", "-cn"],
                  ["--config-dir", "-cd"], ["--experimental-rerun"]):
        parser.add_argument(*flags)
    parser.add_argument("--info", "-i", nargs="?", const="all")
    parser.add_argument("overrides", nargs="*")
    return parser


def _check_syntax(overrides: list[str]) -> None:
    """Name the override Hydra cannot parse (its own message does not say which one)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    parser = OverridesParser.create()
    for text in overrides:
        try:
            parser.parse_overrides([text])
        except Exception as ex:
            reason = str(ex).strip().splitlines()[0] if str(ex).strip() else type(ex).__name__
            raise BadInput(f"cannot parse the override '{text}' ({reason}); write KEY=VALUE, a list as "
                           f"KEY=[a,b], a sweep as KEY=a,b with -m") from None


def _check_composed(overrides: list[str], multirun: bool) -> tuple[str, Path]:
    from .folders import check_output_dir, check_records_readable
    from .validate import precheck_plan
    try:
        first = _first_values(overrides)
        base = _compose(first, multirun)
        by_config = not multirun and str(base.hydra.mode).endswith("MULTIRUN")  # an enum, or text in YAML
        multirun = multirun or by_config
        jobs = _job_overrides(overrides, base, multirun)
    except BadInput:
        raise
    except Exception as ex:  # composition errors: unknown key, wrong type, unknown group option
        raise BadInput(one_line(ex)) from None
    if multirun and not jobs:  # e.g. range(0,-2) in an experiment's hydra.sweeper.params
        raise BadInput("the sweep has no jobs: a swept key in hydra.sweeper.params has no values; "
                       "give each swept key at least one value")
    _check_folder_setting(overrides, base, multirun, by_config)
    _check_launcher(base, multirun)
    folders: dict[str, int] = {}
    for num, overrides_of_job in enumerate(jobs):
        try:  # a single run's one job is the base config (a composition is a fifth of a second)
            cfg = base if not multirun and overrides_of_job == first else \
                _compose(overrides_of_job + ([f"hydra.job.num={num}"] if multirun else []), multirun)
        except Exception as ex:
            raise BadInput(one_line(ex)) from None
        try:
            if multirun:
                _claim_job_folder(folders, cfg, num)
            job = _job_part(cfg)
            plan = precheck_plan(job)
            out = Path(cfg.hydra.sweep.dir) / str(cfg.hydra.sweep.subdir) if multirun else Path(cfg.hydra.run.dir)
            check_output_dir(out, resume=bool(cfg.resume), cfg=job,
                             dir_key="hydra.sweep.dir" if multirun else "hydra.run.dir", sweep_job=multirun)
            if cfg.resume:
                check_records_readable(out, plan.planned_runs())
        except ValueError as ex:
            raise BadInput(str(ex).strip().splitlines()[0]) from None
    folder = ("hydra.sweep.dir", Path(base.hydra.sweep.dir)) if multirun else ("hydra.run.dir", out)
    _check_command_folder(folder, multirun=multirun, resume=bool(base.resume), name=str(base.name))
    return folder


def _check_folder_setting(overrides: list[str], cfg: DictConfig, multirun: bool, by_config: bool) -> None:
    """The folder given must be the one written: a sweep writes into hydra.sweep.dir, a single run
    into hydra.run.dir, and Hydra silently ignores the other (smoke's sweep dir is its run dir)."""
    given = {text.split("=", 1)[0].lstrip("+~") for text in overrides}
    if multirun and "hydra.run.dir" in given and Path(cfg.hydra.run.dir) != Path(cfg.hydra.sweep.dir):
        sweep = f"{cfg.name} is a sweep" if by_config else "-m runs a sweep"
        raise BadInput(f"{sweep}: give its folder with hydra.sweep.dir=PATH (hydra.run.dir is a single run's)")
    if not multirun and "hydra.sweep.dir" in given:
        raise BadInput("hydra.sweep.dir is a sweep's folder (with -m): give a single run's folder with "
                       "hydra.run.dir=PATH")


def _check_command_folder(folder: tuple[str, Path], *, multirun: bool, resume: bool, name: str) -> None:
    """The whole command's folder (a sweep's, or the single run's): a sweep into a folder of its own
    (no run's, no other sweep's, none inside a sweep), resume=true into one that holds something to
    finish (harness.folders)."""
    from .folders import check_resumable, check_sweep_folder
    key, path = folder
    try:
        if multirun:
            check_sweep_folder(path, resume=resume, name=name)
        if resume:
            check_resumable(path, key)
    except ValueError as ex:
        raise BadInput(str(ex).strip().splitlines()[0]) from None


def _claim_job_folder(folders: dict[str, int], cfg: DictConfig, num: int) -> None:
    """Each job of a sweep needs its own folder: two jobs in one folder would, under a parallel
    launcher, overwrite each other's records (one after the other, the second is refused after
    the first has run). Compared by subdir: the sweep dir is one folder for the whole sweep."""
    subdir = os.path.normpath(str(cfg.hydra.sweep.subdir))
    if subdir in folders:
        raise BadInput(f"jobs {folders[subdir]} and {num} of the sweep would both write to "
                       f"{Path(cfg.hydra.sweep.dir) / subdir} (hydra.sweep.subdir={cfg.hydra.sweep.subdir}); "
                       f"give each job its own folder: leave hydra.sweep.subdir at its default ${{hydra.job.num}} "
                       f"or include ${{hydra.job.num}} in it")
    folders[subdir] = num


def _check_launcher(cfg: DictConfig, multirun: bool) -> None:
    """A launcher starts the jobs of a sweep: without -m Hydra runs the one job here and ignores it.
    A SLURM launcher needs SLURM's commands here (submitit would fail after creating the sweep folder), and
    a launcher's `setup` lines must be text (submitit joins them into a shell command)."""
    import shutil

    from .run import IN_PROCESS_LAUNCHER
    choice = cfg.hydra.runtime.choices.get("hydra/launcher") or IN_PROCESS_LAUNCHER
    if not multirun and choice != IN_PROCESS_LAUNCHER:
        raise BadInput(f"hydra/launcher={choice} launches the jobs of a sweep, so it needs -m "
                       f"(python -m harness -m hydra/launcher={choice} ...); leave it out to run here")
    target = str(OmegaConf.select(cfg, "hydra.launcher._target_") or "")
    if target.endswith("SlurmLauncher") and shutil.which("srun") is None:
        raise BadInput(f"hydra/launcher={choice} needs SLURM (no srun on PATH); submit from the cluster's login "
                       f"node, or try the sweep here with hydra/launcher=submitit_local")
    setup = OmegaConf.select(cfg, "hydra.launcher.setup")
    if setup is not None and (not OmegaConf.is_list(setup) or not all(isinstance(line, str) for line in setup)):
        raise BadInput(f"hydra.launcher.setup must be a list of shell lines, got {setup}; quote each line, as in "
                       """'+hydra.launcher.setup=["module load cuda"]'""")


def _job_part(cfg: DictConfig) -> DictConfig:
    """The composed config without its `hydra` node (what the task function receives)."""
    job = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"])
    return job


def _first_values(overrides: list[str]) -> list[str]:
    """Overrides with each sweep replaced by its first value (to read the base config of a sweep)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    out = []
    for text in overrides:
        override = OverridesParser.create().parse_overrides([text])[0]
        if override.is_sweep_override():
            values = _values(override)
            if not values:
                raise BadInput(_empty_sweep(text, override.get_key_element()))
            out.append(values[0])
        else:
            out.append(text)
    return out


def _values(override: Any) -> list[str]:
    """A parsed override as KEY=VALUE texts: its value, or each value of a sweep (a list or a range,
    as the basic sweeper takes them; an interval is refused)."""
    key = override.get_key_element()
    if not override.is_sweep_override():
        return [f"{key}={override.get_value_element_as_str()}"]
    if not override.is_discrete_sweep():
        raise BadInput(f"{override.input_line}: the basic sweeper sweeps lists and ranges, not intervals; "
                       f"give the values (KEY=a,b or KEY=range(...))")
    return [f"{key}={value}" for value in override.sweep_string_iterator()]


def _empty_sweep(text: str, key: str) -> str:
    """Why a sweep has no values, and a sweep that has some (Hydra itself would just say StopIteration)."""
    if "range(" in text:
        return (f"the sweep {text} has no values: range(start,stop) counts up from start to below stop; "
                f"give it at least one value, e.g. {key}='range(0,2)'")
    return f"the sweep {text} has no values; give it at least one, e.g. {key}=A,B"


def main_guard(argv: list[str]) -> tuple[str, Path] | None:
    """Run `check` and return what it returns; on bad input print one line on stderr and exit 2."""
    try:
        return check(argv)
    except BadInput as ex:
        refuse(ex)


class Refused(SystemExit):
    """refuse()'s exit 2 whose line is not printed yet: the command's end says it (say_refused), last, or,
    when a refused write at that end wins, names its `reason` in that write's line (harness.callbacks.say_held)."""

    def __init__(self, reason: str) -> None:
        super().__init__(2)
        self.reason = reason


class JobRefused(Exception):
    """refuse() in a sweep's job in a worker process (joblib, submitit_local): the `reason` goes back to the
    command with the job's result, which ends as on its own refusal (harness.__main__.failed_writes_in_one_line);
    the worker's own line would come before the command's, and an exit there reach it as a traceback."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_SAID_AT_THE_END: list[bool] = []  # set while the command's end says a refusal (refusals_said_at_the_end)


@contextmanager
def refusals_said_at_the_end() -> Iterator[None]:
    """While the command runs its jobs, refuse() leaves its line to the command's end (Refused), where a
    refused write may win (harness.__main__.ends_in_one_line)."""
    _SAID_AT_THE_END.append(True)
    try:
        yield
    finally:
        _SAID_AT_THE_END.pop()


def refuse(error: ValueError) -> NoReturn:
    """Bad input (BadInput, or a check's ValueError: every refusal of the harness is one): the error's first line on
    stderr and exit 2, the one way every command refuses; said at the command's end where it holds refusals
    (Refused), by the command where a worker's job refuses (JobRefused)."""
    from harness.write_failure import reports_to_the_command
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if reports_to_the_command():
        raise JobRefused(reason) from None
    if _SAID_AT_THE_END:
        raise Refused(reason) from None
    say_refused(reason)


def say_refused(reason: str) -> NoReturn:
    """A refusal's one line on stderr, and exit 2."""
    sys.stderr.write(f"error: {reason}\n")
    raise SystemExit(2) from None
