"""Check a whole composed config and the data before any run starts (the folders: harness.folders).

Every problem raises a one-line ValueError naming it and its fix. The entry point's pre-check
builds each job's plan (before Hydra creates any folder) and the job takes it (`job_plan`); a
launcher that starts fresh processes builds the plan again there, where it runs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from experiments.models import registry
from experiments.models.adapter import Unavailable
from experiments.models.implementation import Implementation
from experiments.models.spec import ModelSpec, check_against_data, check_positive, spec_from_config

from harness.records import record_name, run_named
from harness.run_settings import run_settings
from .config import DTYPES, SAMPLINGS, apply_aliases

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

    def planned_runs(self) -> dict[str, str]:
        """Each run of the plan by its record's file name, with its name (harness.records.record_name, run_named):
        what resume's line says of a record it cannot read (harness.records.UnreadableRecord.among)."""
        runs = [{"impl": impl.name, "backend": impl.resolve_backend(self.backend), "seed": seed}
                for seed in self.seeds for impl in self.impls]
        return {record_name(run): run_named(run) for run in runs}

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
    a peer, e.g. keras_tuned without TensorFlow) that cannot is left out when others run, so a
    head-to-head keeps its other implementations (the job warns of it: Plan.warn_left_out);
    anything else is refused, and so is a plan none of whose implementations can run."""
    kept, left_out = [], {}
    for impl in impls:
        try:
            impl.adapter.check_available(impl.resolve_backend(backend))
            kept.append(impl)
        except ValueError as ex:
            _leave_out(impl, ex, left_out, alone=len(impls) == 1)
    if not kept:  # only tuned forms named, none of which can run: nothing would
        raise ValueError(next(iter(left_out.values())))
    return kept, left_out


def _leave_out(impl: Implementation, refusal: ValueError, left_out: dict[str, str], *, alone: bool) -> None:
    """The one rule of both checks: a tuned form (a variant of a peer) that cannot run here is left out
    (noted in `left_out` with why), unless it runs `alone`; anything else's refusal is raised."""
    if impl.peer == impl.name or alone:
        raise refusal
    left_out[impl.name] = str(refusal)


def _check_plans(plan: Plan, ds: Any, resolved: dict[str, Any]) -> None:
    """Each implementation's check_plan; a tuned form this machine cannot run for this plan
    (Unavailable, e.g. torch_compiled's steps compile and no compiler) is left out as
    `_available` leaves one out, when another implementation still runs."""
    for impl in list(plan.impls):
        try:
            impl.adapter.check_plan(plan.spec, ds, impl.resolve_backend(plan.backend))
        except Unavailable as ex:
            _leave_out(impl, ex, plan.left_out, alone=len(plan.impls) == 1)
            plan.impls.remove(impl)
    plan.options = peer_options(plan.impls, resolved)


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
    _check_gpu(cfg, impls, left_out)
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
    _check_plans(plan, ds, resolved)  # after the task check: a loss that suits no task says so first
    _check_gpu(cfg, plan.impls, plan.left_out)  # again: a GPU implementation may have been left out
    return plan


def _check_gpu(cfg: DictConfig, impls: list[Implementation], left_out: dict[str, str]) -> None:
    """backend=cupy asks for the GPU: some implementation of the plan must run there. Where the
    only ones that would were left out (a tuned form this machine cannot run), their reason is
    the fix to name."""
    if cfg.backend != "cupy" or any(impl.runs_on_gpu for impl in impls):
        return
    gpu_left_out = [reason for name, reason in left_out.items() if registry.get(name).runs_on_gpu]
    if gpu_left_out:
        raise ValueError(f"backend=cupy but no GPU implementation of impls={list(cfg.impls)} can run here: "
                         f"{gpu_left_out[0]}; or use backend=numpy")
    raise ValueError(f"backend=cupy but impls={list(cfg.impls)} has no GPU implementation; add mlp or torch, "
                     f"or use backend=numpy")


def check_name(name: str) -> None:
    """`name` is one folder of results/ and the name of the run's log file (hydra.job.name), so a
    path in it would make Hydra fail on a log file in a folder it never created."""
    if name in ("", ".", "..") or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(f"name={name} must be a plain folder name (no '{os.sep}', not '.' or '..'), "
                         f"e.g. name=my_experiment")


def peer_options(impls: list[Implementation], cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each peer's own settings: the config node named after it (`keras.deterministic`), if any."""
    return {impl.peer: dict(cfg[impl.peer]) for impl in impls if isinstance(cfg.get(impl.peer), dict)}
