"""What hydra-submitit-launcher's launch does before its jobs run, done as it does it, for the
harness's two submitit launchers (harness.slurm_launcher, harness.local_launcher), which each
replace its launch to end the command cleanly."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Sequence

from hydra.core.singleton import Singleton
from hydra.core.utils import filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def job_params(job_overrides: Sequence[Sequence[str]], first: int) -> list[tuple]:
    """Each job's arguments to the launcher's __call__ in its own process, each job logged."""
    params = []
    for idx, overrides in enumerate(job_overrides, start=first):
        log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
        params.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))
    return params


def make_sweep_dir(config: DictConfig) -> Path:
    """The sweep folder, created (with hydra.sweep.mode, when set)."""
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if "mode" in config.hydra.sweep:
        os.chmod(sweep_dir, mode=int(str(config.hydra.sweep.mode), 8))
    return sweep_dir


def executor(cluster: str, params: dict[str, Any], **init: Any) -> Any:
    """submitit's executor for `cluster` with the launcher's `params` (submitit_folder taken out):
    the keys every executor takes as they are, the others prefixed with the cluster's name."""
    import submitit
    made = submitit.AutoExecutor(cluster=cluster, folder=params.pop("submitit_folder"), **init)
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    made.update_parameters(**{k if k in base else f"{cluster}_{k}": v for k, v in params.items()})
    return made
