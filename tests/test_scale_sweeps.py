"""Multirun sweeps through Hydra's launchers: one folder per job, one merged table, one report.

The sweeps run the real command line (`python -m harness -m ...`) on Titanic with 2 epochs and
impls=[mlp] (no TensorFlow start-up), so each takes seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from harness.records import read_records

TIMEOUT_S = 120


def sweep(tmp_path: Path, data_root: Path, *overrides: str, script: list[str] | None = None) -> tuple[Path, str]:
    """Run `python -m harness -m OVERRIDES` into tmp_path/sweep; return the folder and the output."""
    out = tmp_path / "sweep"
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root)}
    command = [sys.executable, *(script or ["-m", "harness"]), "-m", "+experiment=titanic_sgd", "epochs=2",
               "quiet=true", f"hydra.sweep.dir={out}", *overrides]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    return out, f"rc={done.returncode}\n{done.stdout}\n{done.stderr}"


def check_merged(out: Path, jobs: int, seeds: int, launcher: str) -> pd.DataFrame:
    """runs.csv holds every record of every job folder exactly once, and nothing else."""
    folders = sorted(p for p in out.iterdir() if (p / "records").is_dir())
    assert [p.name for p in folders] == [str(j) for j in range(jobs)]
    on_disk = {(p.name, r["impl"], r["backend"], r["seed"]) for p in folders for r in read_records(p)}
    assert len(on_disk) == jobs * seeds
    runs = pd.read_csv(out / "runs.csv")
    keys = list(zip(runs["job"].astype(str), runs["impl"], runs["backend"], runs["seed"]))
    assert len(keys) == len(set(keys)) and set(keys) == on_disk
    assert set(runs["launcher"]) == {launcher} and set(runs["status"]) == {"ok"}
    assert runs["overrides"].str.contains("experiment=titanic_sgd").all()
    return runs


def test_joblib_sweep_over_hyperparameters_merges_and_reports(tmp_path: Path, data_root: Path) -> None:
    """4 jobs (learning_rate x sampling, with the top-level shortcut), 2 seeds each, 2 at a time."""
    out, log = sweep(tmp_path, data_root, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                     "learning_rate=0.001,0.01", "sampling=article,shuffle", "seeds=[0,1]")
    assert log.startswith("rc=0"), log[-4000:]
    runs = check_merged(out, jobs=4, seeds=2, launcher="joblib")
    assert sorted(set(zip(runs["learning_rate"], runs["sampling"]))) == [
        (0.001, "article"), (0.001, "shuffle"), (0.01, "article"), (0.01, "shuffle")]
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 and set(summary["n_runs"]) == {2}
    assert summary["timing_note"].str.contains("parallel launcher").all()
    page = (out / "report" / "index.html").read_text()
    assert "sweep over learning_rate, sampling" in page and "parallel launcher (joblib)" in page
    assert {"titanic_sgd-sweep-learning_rate.png", "titanic_sgd-sweep-sampling.png"} <= \
        {p.name for p in (out / "report" / "figures").iterdir()}
    assert "fit times share the CPU" in log  # the launch-time warning


def test_submitit_local_seed_sweep_merges_and_reports(tmp_path: Path, data_root: Path) -> None:
    """2 jobs through submitit's local executor: the path a SLURM sweep takes, as local processes."""
    out, log = sweep(tmp_path, data_root, "hydra/launcher=submitit_local", "seed=range(2)")
    assert log.startswith("rc=0"), log[-4000:]
    runs = check_merged(out, jobs=2, seeds=1, launcher="submitit_local")
    assert sorted(runs["seed"]) == [0, 1]
    assert (out / ".submitit").is_dir()
    page = (out / "report" / "index.html").read_text()
    assert "titanic_sgd" in page and "parallel launcher (submitit_local)" in page


FAILING_ENTRY = """
import sys
sys.path.insert(0, {tests!r})
from test_harness_faults import FakeAdapter
from experiments.models import registry
from experiments.models.implementation import Implementation
registry.IMPLEMENTATIONS["mlp"] = Implementation("mlp", ("numpy",), FakeAdapter({{1: "fail"}}))
import harness.run
real_end = harness.run.end_sweep_job


def end_sweep_job(outcome, run_dir, sweep_dir):  # job 1 crashes after recording its failed run
    real_end(outcome, run_dir, sweep_dir)
    if run_dir.name == "1":
        raise RuntimeError("job 1 crashed")


harness.run.end_sweep_job = end_sweep_job
from harness.__main__ import main
main()
"""


def test_failed_job_still_gets_the_merged_table_and_report(tmp_path: Path, data_root: Path) -> None:
    """A job that crashes (a real error, not a failed run) makes Hydra skip on_multirun_end; called
    without the command's end (harness.__main__), the at-exit step still merges every job's records
    and builds the report (the jobs' own merges never build it)."""
    entry = tmp_path / "failing_entry.py"
    entry.write_text(FAILING_ENTRY.format(tests=str(Path(__file__).parent)))
    conf = str(Path(__file__).resolve().parents[1] / "conf")
    out, log = sweep(tmp_path, data_root, "seed=range(3)", script=[str(entry), "--config-path", conf])
    assert log.startswith("rc=1") and "job 1 crashed" in log, log[-4000:]
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["seed"]) == [0, 1, 2]
    assert runs.set_index("seed")["status"].to_dict() == {0: "ok", 1: "failed", 2: "ok"}
    assert (out / "report" / "index.html").is_file()  # built only by the end-of-sweep step


def test_a_one_process_sweep_measures_the_rate_after_once_for_every_job(tmp_path: Path, data_root: Path) -> None:
    """Basic launcher, measuring on: each job's environment.json gets the same single measurement
    after the runs (taken at the sweep's end, not after each job) and no pending marker is left;
    the records carry the rate measured before."""
    import json
    out, log = sweep(tmp_path, data_root, "learning_rate=0.001,0.01", "seeds=[0]", "report=false",
                     script=["-c", "import os, runpy, sys; os.environ['MLP_BENCH_MEASURE_RATE'] = '1'; "
                                   "sys.argv[0] = 'harness'; runpy.run_module('harness', run_name='__main__')"])
    assert log.startswith("rc=0"), log[-4000:]
    environments = [json.loads((out / job / "environment.json").read_text()) for job in ("0", "1")]
    afters = [[m for m in env["matmul_rate"]["measurements"] if m["when"] == "after"] for env in environments]
    assert afters[0] and afters[0] == afters[1]  # one measurement, shared
    befores = [[m for m in env["matmul_rate"]["measurements"] if m["when"] == "before"] for env in environments]
    assert befores[0] == befores[1]  # measured once per process, as before
    assert all("matmul_rate_after_error" not in env and env["matmul_rate_status"] == "measured" for env in environments)
    best = max(m["matmul_gflops_float32"] for m in afters[0] + befores[0])
    assert all(env["matmul_gflops_float32"] == best for env in environments)
    records = [r for job in ("0", "1") for r in read_records(out / job)]
    assert {r["settings"]["machine.matmul_rate_status"] for r in records} == {"measured"}
