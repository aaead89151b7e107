"""`python -m harness +experiment=NAME [overrides]`: check the command, then run it with Hydra.

Overrides: runs=N | seeds=[0,1] | seed=3, impls=[mlp,keras], backend=numpy|cupy, dtype=float32|float64,
sampling=shuffle|article|sequential, model.<key>=... (learning_rate=, batch_size=, epochs= are
shortcuts for model.<key>), data.root=PATH, quiet=true, resume=true, report=false, hydra.run.dir=PATH.
Sweeps with -m (e.g. -m seed='range(20)' learning_rate=0.001,0.01): one folder per job, and
SWEEP_DIR/runs.csv, summary.csv and the report at the end (harness.callbacks). Launchers:
hydra/launcher=joblib (parallel here: accuracy sweeps only, timings share the CPU),
submitit_local, slurm (conf/hydra/launcher/slurm.yaml).
The whole command is validated first (`harness.precheck`): a bad one exits 2 with one line on
stderr and writes nothing. Output: results/<experiment>/<timestamp>/ (see `harness.run`).
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

import harness.config  # noqa: F401  (registers the typed schema in Hydra's ConfigStore)
from harness.precheck import main_guard


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra's task function: one call."""
    from harness.run import run
    run(cfg)


if __name__ == "__main__":
    main_guard(sys.argv[1:])
    main()
