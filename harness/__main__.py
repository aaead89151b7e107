"""`python -m harness +experiment=NAME [overrides]`: check the command, then run it with Hydra.

Overrides: runs=N | seeds=[0,1] | seed=3, impls=[mlp,keras], backend=numpy|cupy, dtype=float32|float64,
sampling=shuffle|article|sequential, model.<key>=... (learning_rate=, batch_size=, epochs= are
shortcuts for model.<key>), data.root=PATH, quiet=true, resume=true, report=false, hydra.run.dir=PATH.
Sweeps with -m (e.g. -m seed='range(20)' learning_rate=0.001,0.01): one folder per job, and
SWEEP_DIR/runs.csv, summary.csv and the report at the end (harness.callbacks). Launchers:
hydra/launcher=joblib (parallel here: accuracy sweeps only, timings share the CPU),
submitit_local, slurm (conf/hydra/launcher/slurm.yaml).
The whole command is validated first (`harness.precheck`): a bad one exits 2 with one line on
stderr and writes nothing; so does one into a folder another run is writing (`harness.folder_lock`).
A write the system refuses (disk full) exits 4 with one line (`harness.write_failure`). Output: results/<experiment>/<timestamp>/ (see `harness.run`).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import ContextManager

import hydra
from omegaconf import DictConfig

import harness.config  # noqa: F401  (registers the typed schema in Hydra's ConfigStore)
from harness.precheck import main_guard


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra's task function: one call."""
    from harness.run import run
    run(cfg)


def hold_output(folder: tuple[str, Path] | None, argv: list[str]) -> ContextManager[object]:
    """Lock the run (or sweep) folder before Hydra writes its .hydra/ files and log into it, and
    pin it in `argv` (a `${now:...}` folder name would be read again, maybe a second later).
    A folder held by another run: one line, exit 2, nothing written there."""
    stack = ExitStack()
    if folder is None:
        return stack
    from harness import folder_lock
    from harness.write_failure import WriteFailed, stop
    key, path = folder
    quoted = str(path).replace("\\", "\\\\").replace("'", "\\'")
    argv[:] = [a for a in argv if not a.lstrip("+").startswith(f"{key}=")] + [f"{key}='{quoted}'"]
    try:
        stack.enter_context(folder_lock.hold(path, dir_key=key))
    except folder_lock.FolderBusy as busy:
        sys.stderr.write(f"error: {busy}\n")
        raise SystemExit(2) from None
    except WriteFailed as failure:
        stop(failure, path, "run the command again")
    return stack


if __name__ == "__main__":
    with hold_output(main_guard(sys.argv[1:]), sys.argv):
        main()
