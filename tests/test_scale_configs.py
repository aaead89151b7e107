"""Scale-out configuration, in-process and fast: the SLURM launcher config, the top-level
hyperparameter shortcuts, the sweep callback's registration, and merges by concurrent jobs."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import harness.config  # noqa: F401  (registers the schema)
from harness.precheck import CONF_DIR
from harness.records import new_record, write_record
from harness.sweep_merge import merge_sweep
from harness.validate import make_plan


def composed(*overrides: str, hydra: bool = False):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra)


def test_slurm_launcher_config_makes_a_valid_sbatch_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """conf/hydra/launcher/slurm.yaml goes through submitit's own parameter checks and becomes
    the sbatch options a SLURM user expects (a fake `srun` on PATH stands in for the cluster)."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "srun").write_text("#!/bin/sh\nexit 0\n")
    (fake_bin / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}:{__import__('os').environ['PATH']}")
    cfg = composed("+experiment=titanic_vs_tf", "hydra/launcher=slurm", "hydra.launcher.partition=gpu",
                   "hydra.launcher.gpus_per_node=1", "hydra.mode=MULTIRUN", hydra=True)
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert params.pop("_target_") == "hydra_plugins.mlp_bench_launcher.slurm_launcher.SlurmLauncher"
    params["submitit_folder"] = str(tmp_path / "submitit")
    script = sbatch_script(params)
    for option in ("--partition=gpu", "--gpus-per-node=1", "--cpus-per-task=4", "--time=60", "--mem=8GB",
                   "--nodes=1", "--ntasks-per-node=1", "--job-name=titanic_vs_tf", "--signal=URG@120"):
        assert f"#SBATCH {option}" in script
    assert "export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK" in script
    assert params["array_parallelism"] == 64
    params["timeout_min"] = 1  # submitit's 120 s warning would come before Python starts: half the limit
    assert "#SBATCH --signal=URG@30\n" in sbatch_script(params)


def sbatch_script(params: dict) -> str:
    """The sbatch script our launcher's executor writes for these launcher parameters."""
    from hydra_plugins.mlp_bench_launcher.slurm_launcher import SlurmLauncher
    executor = SlurmLauncher(**params)._executor()
    return executor._executor._make_submission_file_text("python -m harness", "uid")


def test_sbatch_refusals_become_one_line_naming_the_option() -> None:
    """sbatch's two error lines (as SLURM 22.05 prints them) become one line with the option to change."""
    from harness.slurm_launcher import refusal_line
    params = {"mem_gb": 64, "partition": None, "cpus_per_task": 1, "gpus_per_node": None, "timeout_min": 60}
    memory = refusal_line("sbatch: error: Memory specification can not be satisfied\n"
                          "sbatch: error: Batch job submission failed: Requested node configuration is not available",
                          params)
    assert memory == ("SLURM refused the sweep (Memory specification can not be satisfied; Batch job submission "
                      "failed: Requested node configuration is not available); change hydra.launcher.mem_gb=64 to "
                      "what the cluster offers (sinfo -o '%P %c %m %G %l' lists partitions, CPUs, memory in MB, "
                      "GPUs, time limits); nothing was submitted")
    partition = refusal_line("sbatch: error: invalid partition specified: gpu\n"
                             "sbatch: error: Batch job submission failed: Invalid partition name specified",
                             {**params, "partition": "gpu"})
    assert "change hydra.launcher.partition=gpu to" in partition and "mem_gb" not in partition
    queued = refusal_line("its tasks stay pending with reason PartitionConfig", params, "array 8 was cancelled")
    assert ("change hydra.launcher.cpus_per_task=1, hydra.launcher.mem_gb=64, hydra.launcher.gpus_per_node=null, "
            "hydra.launcher.partition=null to") in queued and queued.endswith("; array 8 was cancelled")
    down = refusal_line("sbatch: error: Batch job submission failed: Unable to contact slurm controller "
                        "(connect failure)", params)
    assert "no controller answers here" in down and "scripts/slurm_local.sh" in down


def test_top_level_shortcuts_set_the_model(data_root: Path) -> None:
    """learning_rate=, batch_size=, epochs= (as the issue spells sweeps) reach the model spec."""
    cfg = composed("+experiment=titanic_sgd", "learning_rate=0.02", "batch_size=50", "epochs=3",
                   "sampling=shuffle")
    plan = make_plan(cfg)
    assert (plan.spec.learning_rate, plan.spec.batch_size, plan.spec.epochs) == (0.02, 50, 3)
    assert plan.sampling == "shuffle" and cfg.model.learning_rate == 0.02  # written so to config.yaml
    untouched = make_plan(composed("+experiment=titanic_sgd"))
    assert (untouched.spec.learning_rate, untouched.spec.epochs) == (0.001, 1000)


def test_sweep_callback_is_registered() -> None:
    cfg = composed("+experiment=titanic_sgd", hydra=True)
    assert cfg.hydra.callbacks.sweep_tables._target_ == "harness.callbacks.SweepTables"


def _job(sweep_dir: str, job: int, seeds: int) -> None:
    """One 'job': write its records one by one, merging the sweep after each (as jobs do)."""
    for seed in range(seeds):
        record = new_record(experiment="concurrent", impl="mlp", backend="numpy", seed=seed, status="ok",
                            launcher="test", learning_rate=0.01 * (job + 1), epoch_losses=[0.5, 0.4])
        write_record(Path(sweep_dir) / str(job), record)
        merge_sweep(sweep_dir)


def test_concurrent_jobs_merge_without_loss_or_duplication(tmp_path: Path) -> None:
    """4 processes write records and merge the sweep table at the same time: the final runs.csv
    holds every record exactly once (merges are serialized; the last sees every write)."""
    context = multiprocessing.get_context("fork")
    jobs = [context.Process(target=_job, args=(str(tmp_path), job, 5)) for job in range(4)]
    for process in jobs:
        process.start()
    for process in jobs:
        process.join(timeout=60)
        assert process.exitcode == 0
    runs = pd.read_csv(tmp_path / "runs.csv")
    keys = list(zip(runs["job"].astype(str), runs["seed"]))
    assert len(keys) == 20 and set(keys) == {(str(j), s) for j in range(4) for s in range(5)}
    assert list(runs["job"]) == sorted(runs["job"])  # ordered by job number
    assert len(pd.read_csv(tmp_path / "summary.csv")) == 4  # one row per learning rate


def test_slurm_sweep_without_slurm_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              data_root: Path) -> None:
    """Off the cluster, hydra/launcher=slurm fails in the pre-check with one line (no sweep folder)."""
    from harness.precheck import BadInput, check
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun
    with pytest.raises(BadInput, match="hydra/launcher=slurm needs SLURM.*submitit_local"):
        check(["-m", "hydra/launcher=slurm", "+experiment=titanic_sgd", "seed=0,1",
               f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("setup", ["[true]", "module load cuda"])
def test_setup_lines_that_are_not_text_are_refused_before_any_work(tmp_path: Path, setup: str) -> None:
    """Unquoted `true` is YAML's boolean, and a line outside a list is not a list of lines: one line naming
    the setting and how to quote it, instead of submitit's TypeError traceback once the sweep folder exists."""
    from harness.precheck import BadInput, check
    with pytest.raises(BadInput, match=r"^hydra.launcher.setup must be a list of shell lines, got .*quote each "):
        check(["-m", "hydra/launcher=submitit_local", f"+hydra.launcher.setup={setup}", "+experiment=titanic_sgd",
               "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    assert not (tmp_path / "sweep").exists()


def fake_squeue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: str) -> None:
    """An `squeue` on PATH that prints `lines` (as `squeue -h -r --states=all -o '%i|%T|%r'` would)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "squeue").write_text(f"#!/bin/sh\nprintf '{lines}'\n")
    (bin_dir / "squeue").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_wait_ends_on_cancelled_tasks_without_accounting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Task 0 wrote its result; 1 was cancelled, 2 timed out, 3 is gone from the controller, 4 completed
    without a result file: the wait ends (no sacct involved), keeping task 0's result and each other
    task's last state."""
    from types import SimpleNamespace

    from submitit.core.utils import cloudpickle_dump

    from harness.slurm_jobs import wait_for
    fake_squeue(tmp_path, monkeypatch,
                "7_0|COMPLETED|None\\n7_1|CANCELLED|None\\n7_2|TIMEOUT|None\\n7_4|COMPLETED|None\\n")
    jobs = [SimpleNamespace(job_id=f"7_{i}", paths=SimpleNamespace(result_pickle=tmp_path / f"{i}.pkl"))
            for i in range(5)]
    cloudpickle_dump(("success", "job 0 returned"), tmp_path / "0.pkl")
    polls, real_sleep = [], time.sleep

    def bounded_sleep(seconds: float) -> None:  # a wait that does not end fails instead of hanging
        polls.append(seconds)
        assert len(polls) < 500, "the wait did not end"
        real_sleep(seconds)
    monkeypatch.setattr("harness.slurm_jobs.time.sleep", bounded_sleep)
    waited = wait_for(jobs, poll_s=0.01, grace_s=0.05)
    assert waited.finished == {0: ("success", "job 0 returned")}
    assert waited.unfinished == {1: "CANCELLED", 2: "TIMEOUT", 3: "left the queue without a result",
                                 4: "COMPLETED without a result file"}


def test_wait_stops_on_a_request_that_stays_pending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PartitionConfig never resolves (a cluster without EnforcePartLimits queues what it cannot run);
    Resources does (the node is busy): only the first stops the wait."""
    from types import SimpleNamespace

    from harness.slurm_jobs import NeverStarts, wait_for
    job = SimpleNamespace(job_id="8_0", paths=SimpleNamespace(result_pickle=tmp_path / "none.pkl"))
    fake_squeue(tmp_path, monkeypatch, "8_0|PENDING|PartitionConfig\\n")
    with pytest.raises(NeverStarts, match="PartitionConfig"):
        wait_for([job], poll_s=0.01, grace_s=0.05)
    fake_squeue(tmp_path, monkeypatch, "8_0|PENDING|Resources\\n")
    monkeypatch.setattr("harness.slurm_jobs.time.sleep", lambda s: (_ for _ in ()).throw(TimeoutError("still waiting")))
    with pytest.raises(TimeoutError, match="still waiting"):
        wait_for([job], poll_s=0.01, grace_s=0.05)
