"""Check a whole composed config, the data and the output folder before any run starts.

Every problem raises a one-line ValueError naming it and its fix. The entry point's pre-check
builds each job's plan (before Hydra creates any folder) and the job takes it (`job_plan`); a
launcher that starts fresh processes builds the plan again there, where it runs.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from experiments.models import registry
from experiments.models.implementation import Implementation
from experiments.models.spec import ModelSpec, check_against_data, check_positive, spec_from_config

from harness.records import CONFIG_FILE, HYDRA_MULTIRUN_YAML, RECORDS_DIRNAME
from harness.runs_table import find_run_dirs
from harness.run_settings import BOOKKEEPING, dotted_settings, run_settings
from .config import DTYPES, MODEL_ALIASES, SAMPLINGS, apply_aliases

log = logging.getLogger(__name__)

_DATA_CACHE: dict[tuple, Any] = {}
_PRECHECKED: dict[str, "Plan"] = {}  # plans the entry point's pre-check built, by job config, for the job to take


@dataclass
class Plan:
    """What a validated config will run: the spec, implementations, seeds and data options."""

    experiment: str
    spec: ModelSpec
    impls: list[Implementation]
    seeds: list[int]
    backend: str
    dtype: str
    sampling: str
    data_options: dict[str, Any]
    data_seed: int | None
    settings: dict[str, Any]  # the invocation's settings, carried by every record (harness.run_settings)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # peer -> its config node (keras.*)
    left_out: dict[str, str] = field(default_factory=dict)  # tuned forms that cannot run here -> why

    def options_for(self, impl: Implementation) -> dict[str, Any]:
        """The keyword options the config gives `impl`'s adapter: the node named after its peer."""
        return self.options.get(impl.peer, {})

    def warn_left_out(self) -> None:
        """One warning per implementation left out (in the job, so it reaches the run's log)."""
        for name, why in self.left_out.items():
            log.warning(f"{name} left out of this run: {why}")

    def dataset(self, seed: int) -> Any:
        """The data set for a run (the same one for every seed unless data.seed is null)."""
        return load_cached(self.data_options, seed if self.data_seed is None else self.data_seed)


def load_cached(options: dict[str, Any], seed: int) -> Any:
    """experiments.data.load_dataset, cached per process by its arguments."""
    from experiments.data import load_dataset
    key = (tuple(sorted(options.items())), seed)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = load_dataset(seed=seed, **options)
    return _DATA_CACHE[key]


def seeds_of(cfg: DictConfig) -> list[int]:
    """`seed` (one), else `seeds` (a list), else 0..runs-1."""
    if cfg.seed is not None:
        if int(cfg.seed) < 0:
            raise ValueError(f"seed={cfg.seed} must be a non-negative integer, e.g. seed=0")
        return [int(cfg.seed)]
    if cfg.seeds is not None:
        seeds = [int(s) for s in cfg.seeds]
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(f"seeds={seeds} must be a non-empty list of distinct non-negative integers, e.g. seeds=[0,1,2]")
        return seeds
    check_positive("runs", cfg.runs, int)
    return list(range(cfg.runs))


def _check_names(cfg: DictConfig) -> list[Implementation]:
    if not cfg.impls:
        raise ValueError(f"impls is empty; name at least one of {', '.join(registry.names())}, e.g. impls=[mlp]")
    impls = [registry.get(name) for name in cfg.impls]
    if len(set(cfg.impls)) != len(cfg.impls):
        raise ValueError(f"impls={list(cfg.impls)} names an implementation twice; list each once")
    if cfg.backend not in registry.REQUESTABLE_BACKENDS:
        raise ValueError(f"unknown backend '{cfg.backend}'; valid: {', '.join(registry.REQUESTABLE_BACKENDS)}")
    if cfg.dtype not in DTYPES:
        raise ValueError(f"unknown dtype '{cfg.dtype}'; valid: {', '.join(DTYPES)}")
    if cfg.sampling not in SAMPLINGS:
        raise ValueError(f"unknown sampling '{cfg.sampling}'; valid: {', '.join(SAMPLINGS)}")
    return impls


def data_options(cfg: DictConfig) -> dict[str, Any]:
    """Keyword arguments for load_dataset (all but the seed)."""
    data = cfg.data
    return {"name": data.name, "variant": data.variant, "root": data.root, "split": data.split,
            "dtype": cfg.dtype, "n": data.n, "limit_train": data.limit_train, "limit_test": data.limit_test,
            "download": data.download, "verify": data.verify}


def _available(impls: list[Implementation], backend: str) -> tuple[list[Implementation], dict[str, str]]:
    """(the implementations that can run here, those left out -> why). A tuned form (a variant of
    a peer, e.g. torch_compiled without a C++ compiler) that cannot is left out when others run, so
    a head-to-head keeps its other implementations (the job warns of it: Plan.warn_left_out);
    anything else is refused."""
    kept, left_out = [], {}
    for impl in impls:
        try:
            impl.adapter.check_available(impl.resolve_backend(backend))
            kept.append(impl)
        except ValueError as ex:
            if impl.peer == impl.name or len(impls) == 1:
                raise
            left_out[impl.name] = str(ex)
    return kept, left_out


def precheck_plan(cfg: DictConfig) -> Plan:
    """make_plan for the entry point's pre-check, kept for the job that runs this config in this
    process (the basic launcher), so a job's plan is built and checked once; a launcher that starts
    fresh processes builds it again there."""
    key = OmegaConf.to_yaml(cfg)
    _PRECHECKED[key] = plan = make_plan(cfg)
    return plan


def forget_prechecked() -> None:
    """Drop the plans a pre-check kept (a new command's pre-check starts afresh; a refused one
    leaves none behind)."""
    _PRECHECKED.clear()


def job_plan(cfg: DictConfig) -> Plan:
    """The plan the pre-check built for this config in this process (taken once), else make_plan."""
    plan = _PRECHECKED.pop(OmegaConf.to_yaml(cfg), None)
    if plan is None:
        return make_plan(cfg)
    apply_aliases(cfg)  # as make_plan does, for the config.yaml the job writes
    return plan


def make_plan(cfg: DictConfig) -> Plan:
    """Validate everything (names, numbers, availability, data, model vs data); return the plan.

    Applies the top-level shortcuts (harness.config.apply_aliases) to cfg first, in place."""
    if OmegaConf.is_missing(cfg, "name"):
        raise ValueError("no experiment chosen; add +experiment=NAME (see conf/experiment/)")
    check_name(cfg.name)
    apply_aliases(cfg)  # learning_rate=... -> model.learning_rate (kept in the written config.yaml)
    impls = _check_names(cfg)
    seeds = seeds_of(cfg)
    spec = spec_from_config(OmegaConf.to_container(cfg.model, resolve=True))
    impls, left_out = _available(impls, cfg.backend)
    if cfg.backend == "cupy" and not any(impl.runs_on_gpu for impl in impls):
        raise ValueError(f"backend=cupy but impls={list(cfg.impls)} has no GPU implementation; add mlp or torch, or use backend=numpy")
    if cfg.data.seed is not None and cfg.data.seed < 0:
        raise ValueError(f"data.seed={cfg.data.seed} must be a non-negative integer, e.g. data.seed=0 "
                         f"(or null: each run's own seed)")
    resolved = OmegaConf.to_container(cfg, resolve=True)
    plan = Plan(cfg.name, spec, impls, seeds, cfg.backend, cfg.dtype, cfg.sampling, data_options(cfg), cfg.data.seed,
                run_settings(resolved), peer_options(impls, resolved), left_out)
    ds = plan.dataset(seeds[0])
    if cfg.model.input_dim is not None and cfg.model.input_dim != ds.n_features:
        raise ValueError(f"model.input_dim={cfg.model.input_dim} but {ds.name}/{ds.variant} has {ds.n_features} "
                         f"features; set model.input_dim={ds.n_features} (or null)")
    check_against_data(spec, ds.n_features, ds.n_outputs, len(ds.x_train), ds.task)
    for impl in impls:  # after the task check: a loss that suits no task says so first
        impl.adapter.check_plan(spec, ds, impl.resolve_backend(cfg.backend))  # what only it refuses
    return plan


def check_name(name: str) -> None:
    """`name` is one folder of results/ and the name of the run's log file (hydra.job.name), so a
    path in it would make Hydra fail on a log file in a folder it never created."""
    if name in ("", ".", "..") or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(f"name={name} must be a plain folder name (no '{os.sep}', not '.' or '..'), "
                         f"e.g. name=my_experiment")


def peer_options(impls: list[Implementation], cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each peer's own settings: the config node named after it (`keras.deterministic`), if any."""
    return {impl.peer: dict(cfg[impl.peer]) for impl in impls if isinstance(cfg.get(impl.peer), dict)}


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
    (records are per implementation and seed, so adding seeds or implementations is consistent)."""
    stored_path = run_dir / CONFIG_FILE
    if not stored_path.exists():
        return
    # the top-level shortcuts are compared through `model`, where apply_aliases put them
    ignore = {*BOOKKEEPING, "runs", "seeds", "seed", "impls", *MODEL_ALIASES}
    stored = OmegaConf.to_container(OmegaConf.load(stored_path), resolve=True)
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
    not already hold records unless resuming, and when resuming must have been made with the same
    settings. `dir_key` is the setting that chooses the folder, named in the fixes (hydra.sweep.dir
    for a sweep's job)."""
    path = Path(run_dir).absolute()
    check_writable_folder(path, dir_key)
    check_single_run_folder(path, dir_key, sweep_job=sweep_job)
    records = path / RECORDS_DIRNAME
    if not resume and records.is_dir() and any(records.glob("*.json")):
        raise ValueError(f"output folder {path} already holds records; add resume=true to finish it, "
                         f"or choose a new {dir_key}")
    if resume and cfg is not None:
        check_same_config(cfg, path, dir_key)


def check_single_run_folder(path: Path, dir_key: str, *, sweep_job: bool = False) -> None:
    """A run's folder holds no sweep and no other runs' folders, and lies inside no sweep unless it is
    one of its jobs: a sweep's tables merge every records/ folder below the sweep folder
    (harness.sweep_merge), so a run written into one would join the sweep, and its runs.csv and
    summary.csv would replace the sweep's."""
    if (path / HYDRA_MULTIRUN_YAML).exists():
        raise ValueError(f"output folder {path} is a sweep's folder ({HYDRA_MULTIRUN_YAML}); finish the sweep with "
                         f"-m, its overrides and resume=true hydra.sweep.dir={path}, or choose a new {dir_key}")
    if not sweep_job:
        check_outside_sweeps(path, dir_key)
    others = _other_run_dirs(path)
    if others:
        raise ValueError(f"output folder {path} holds other runs' folders ({others[0]}); choose a new {dir_key}")


def enclosing_sweep(folder: str | os.PathLike) -> Path | None:
    """The nearest folder above `folder` marked as a sweep's by Hydra (multirun.yaml), else None: the
    mark harness.reporting.batches.batch_root goes by, and the folder whose merge takes in every
    records/ folder below it."""
    return next((a for a in Path(folder).resolve().parents if (a / HYDRA_MULTIRUN_YAML).is_file()), None)


def check_outside_sweeps(path: Path, dir_key: str) -> None:
    """A folder inside a sweep's folder would be taken in by its merge, report and resume as a job."""
    sweep = enclosing_sweep(path)
    if sweep is not None:
        raise ValueError(f"output folder {path} is inside the sweep {sweep} ({HYDRA_MULTIRUN_YAML}), whose tables "
                         f"would take it in as a job; choose a {dir_key} outside it")


def _other_run_dirs(path: Path) -> list[Path]:
    """The runs' folders below `path` (not `path` itself), as the user wrote `path`."""
    if not path.is_dir():
        return []
    return [path / d.relative_to(path.resolve()) for d in find_run_dirs([path]) if d != path.resolve()]


def check_sweep_folder(sweep_dir: str | os.PathLike, *, resume: bool = False, dir_key: str = "hydra.sweep.dir") -> None:
    """A sweep's folder is not a single run's and lies inside no other sweep; without resume it holds
    no sweep and no runs' folders either: the sweep's merge would take every records/ folder below it
    in as a job and replace the folder's runs.csv and summary.csv (the converse of
    check_single_run_folder). `dir_key` is the setting that chose it (--into for a rerun)."""
    path = Path(sweep_dir).absolute()
    if any((path / RECORDS_DIRNAME).glob("*.json")):
        raise ValueError(f"output folder {path} holds a single run's records; a sweep needs a folder of its own: "
                         f"choose a new {dir_key}")
    check_outside_sweeps(path, dir_key)
    if resume:
        return
    if (path / HYDRA_MULTIRUN_YAML).exists():
        finish = " finish it with its own overrides and resume=true, or" if dir_key == "hydra.sweep.dir" else ""
        raise ValueError(f"output folder {path} already holds a sweep ({HYDRA_MULTIRUN_YAML});{finish} "
                         f"choose a new {dir_key}")
    others = _other_run_dirs(path)
    if others:
        raise ValueError(f"output folder {path} holds other runs' folders ({others[0]}), which a sweep's tables "
                         f"would take in as jobs; choose a new {dir_key}")


def check_resumable(folder: str | os.PathLike, dir_key: str) -> None:
    """resume=true finishes the runs of an existing folder: a missing or empty one (the default
    folder, a new timestamp; a mistyped path) holds nothing to finish, and starting afresh there
    would hide the mistake behind a run that looks like a resume."""
    path = Path(folder).absolute()
    if not path.is_dir() or not any(path.iterdir()):
        why = "empty folder" if path.is_dir() else "no such folder"
        raise ValueError(f"resume=true: nothing to resume at {path} ({why}); give the folder of the runs to finish "
                         f"with {dir_key}=PATH, or leave out resume=true to start afresh")
