"""Sweeps submitted to a real SLURM cluster (hydra/launcher=slurm, through sbatch).

They need a cluster that answers `sinfo` (scripts/slurm_local.sh starts a single-node one as root);
without one they are skipped with the reason, except under CI=true, where that is a failure. Each
runs the real command line on Titanic with few epochs; a sweep takes about a minute.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.records import read_records
from test_harness_command_end import HOOK
from test_scale_sweeps import check_merged

pytestmark = pytest.mark.slurm
TIMEOUT_S = 420  # a whole command; jobs start a Python each on a shared node
SMALL = ("hydra/launcher=slurm", "hydra.launcher.mem_gb=1", "hydra.launcher.cpus_per_task=1")


@pytest.fixture(scope="module", autouse=True)
def cluster() -> dict[str, int]:
    """The cluster's node (CPUs, memory in MB); skip without one (fail under CI=true)."""
    reason = None
    if shutil.which("sinfo") is None:
        reason = "no SLURM here (sinfo not on PATH); start one with: sudo bash scripts/slurm_local.sh"
    else:
        done = subprocess.run(["sinfo", "-h", "-o", "%c %m"], capture_output=True, text=True, timeout=30)
        if done.returncode != 0 or not done.stdout.strip():
            reason = (f"no SLURM cluster answers sinfo ({done.stderr.strip()}); "
                      "start one: sudo bash scripts/slurm_local.sh")
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the SLURM tests: {reason}")
        pytest.skip(reason)
    cpus, memory = (int(v.rstrip("+")) for v in done.stdout.split()[:2])
    return {"cpus": cpus, "memory_mb": memory}


def command(out: Path, *overrides: str) -> list[str]:
    """`python -m harness -m` on Titanic into `out`, with SMALL resources unless overridden."""
    return [sys.executable, "-m", "harness", "-m", "+experiment=titanic_sgd", "quiet=true", "impls=[mlp]",
            f"hydra.sweep.dir={out}", *SMALL, *overrides]


def run(tmp_path: Path, data_root: Path, argv: list[str], **faults: str) -> tuple[int, str, str]:
    """Run a command in tmp_path, with the faults of tests/run_fault_hook (its tasks inherit them); its exit
    status, stdout and stderr."""
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root), **faults}
    if faults:
        env["PYTHONPATH"] = os.pathsep.join([str(HOOK), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    return done.returncode, done.stdout, done.stderr


def array_tasks(out: Path) -> list[str]:
    """The SLURM ids submitit named its folders after: the array ('<array>', its sbatch script) and its
    tasks ('<array>_<index>'); a single job is '<job>'."""
    return sorted(p.name for p in (out / ".submitit").iterdir() if re.fullmatch(r"\d+(_\d+)?", p.name))


def test_three_seed_sweep_runs_as_an_array_and_merges_each_record_once(tmp_path: Path, data_root: Path) -> None:
    out = tmp_path / "sweep"
    code, stdout, stderr = run(tmp_path, data_root, command(out, "seed=range(3)", "epochs=5"))
    assert code == 0, stderr[-4000:]
    runs = check_merged(out, jobs=3, seeds=1, launcher="slurm")
    assert sorted(runs["seed"]) == [0, 1, 2]
    folders = array_tasks(out)  # named by sbatch's job ids: these jobs ran on SLURM, not locally
    array = folders[0]
    tasks = [f"{array}_{i}" for i in range(3)]
    assert folders == [array, *tasks]  # the array's own folder (its sbatch script), one per task
    assert all((out / ".submitit" / t / f"{t}_0_result.pkl").is_file() for t in tasks)
    assert "Traceback" not in stderr and (out / "report" / "index.html").is_file()


def test_memory_above_the_node_is_refused_in_one_line(tmp_path: Path, data_root: Path,
                                                      cluster: dict[str, int]) -> None:
    """sbatch refuses the request: one line naming SLURM's reason and the option, exit 2, no folder."""
    out = tmp_path / "sweep"
    too_much = cluster["memory_mb"] // 1024 + 2
    code, stdout, stderr = run(tmp_path, data_root, command(out, "seed=range(2)", f"hydra.launcher.mem_gb={too_much}"))
    assert code == 2, stderr[-4000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: SLURM refused the sweep (Memory specification can not be satisfied"), last
    assert f"change hydra.launcher.mem_gb={too_much} " in last and last.endswith("nothing was submitted")
    assert "Traceback" not in stdout + stderr and "sbatch: error" not in stderr
    assert not out.exists()


def test_cpus_above_the_node_stay_pending_and_are_refused(tmp_path: Path, data_root: Path,
                                                         cluster: dict[str, int]) -> None:
    """Queued for ever (PartitionConfig) instead of refused by sbatch: cancelled and refused the same way."""
    out = tmp_path / "sweep"
    too_many = cluster["cpus"] * 8
    code, stdout, stderr = run(tmp_path, data_root,
                               command(out, "seed=range(2)", f"hydra.launcher.cpus_per_task={too_many}"))
    assert code == 2, stderr[-4000:]
    last = stderr.strip().splitlines()[-1]
    assert "stay pending with reason PartitionConfig" in last and f"hydra.launcher.cpus_per_task={too_many}" in last
    array = re.search(r"array (\d+) was cancelled$", last)
    assert array, last
    states = subprocess.run(["squeue", "-h", "-r", "--states=all", "-j", array.group(1), "-o", "%T"],
                            capture_output=True, text=True).stdout.split()
    assert "PENDING" not in states and "RUNNING" not in states
    assert "Traceback" not in stdout + stderr and not out.exists()


@pytest.fixture(scope="module")
def cancelled(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> tuple[Path, int, str]:
    """A 3-job sweep run one task at a time, its array scancel-ed once job 0 has finished: the
    sweep folder, the exit status and stderr. A command still waiting 5 minutes after scancel fails."""
    tmp = tmp_path_factory.mktemp("cancel")
    out = tmp / "sweep"
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root)}
    proc = subprocess.Popen(command(out, "seed=range(3)", "epochs=500", "hydra.launcher.array_parallelism=1"),
                            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not list(out.glob(".submitit/*_0/*_0_0_result.pkl")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1][-4000:]
            time.sleep(0.5)
        assert list(out.glob(".submitit/*_0/*_0_0_result.pkl")), f"job 0 did not finish in {TIMEOUT_S} s"
        array = array_tasks(out)[0].split("_")[0]
        subprocess.run(["scancel", array], check=True)
        _, stderr = proc.communicate(timeout=300)  # a hang (endless polling of sacct) fails here
    finally:
        proc.kill()
    return out, proc.returncode, stderr


def test_cancelled_tasks_end_the_command_with_what_finished(cancelled: tuple[Path, int, str]) -> None:
    out, code, stderr = cancelled
    assert code == 1, stderr[-4000:]
    summary, resume = stderr.strip().splitlines()[-1].split("; finish the sweep with: ")
    assert re.search(r"error: [12] of 3 jobs of the sweep did not finish: job [12] \(SLURM \d+_[12]\) CANCELLED",
                     summary)
    assert resume.startswith("python -m harness -m ")
    assert resume.endswith(f"resume=true hydra.sweep.dir={out}") and "Traceback" not in stderr
    runs = pd.read_csv(out / "runs.csv")
    finished = {int(p.parent.parent.name) for p in out.glob("*/records/*.json")}
    assert 0 in finished and len(finished) < 3
    assert sorted(runs["job"]) == sorted(finished) and sorted(runs["seed"]) == sorted(finished)


def test_resume_after_cancel_finishes_the_sweep(cancelled: tuple[Path, int, str], data_root: Path) -> None:
    """The printed command, run as printed, runs only what is missing."""
    out, _, stderr = cancelled
    before = {p.name: p.read_bytes() for p in out.glob("*/records/*.json")}
    argv = shlex.split(stderr.strip().splitlines()[-1].split("; finish the sweep with: ")[1])
    code, stdout, err = run(out.parent, data_root, [sys.executable, *argv[1:]])
    assert code == 0, err[-4000:]
    check_merged(out, jobs=3, seeds=1, launcher="slurm")
    assert {p.name: p.read_bytes() for p in out.glob("*/records/*.json") if p.name in before} == before


def test_job_over_its_time_limit_ends_as_timeout(tmp_path: Path, data_root: Path) -> None:
    """timeout_min=1 with a run of ten minutes (asleep: a fit that long would take a core from the other tests for
    the minute and a half SLURM takes to stop it): SLURM stops it; the command says so and exits 1."""
    out = tmp_path / "sweep"
    code, stdout, stderr = run(tmp_path, data_root, command(out, "seed=0", "hydra.launcher.timeout_min=1"),
                               MLP_BENCH_TEST_SLOW_SEED="0", MLP_BENCH_TEST_SLOW_S="600")
    assert code == 1, stderr[-4000:]
    summary, resume = stderr.strip().splitlines()[-1].split("; finish the sweep with: ")
    assert re.fullmatch(r"error: 1 of 1 jobs of the sweep did not finish: job 0 \(SLURM \d+\) TIMEOUT; .*", summary)
    assert resume.endswith(f"resume=true hydra.sweep.dir={out}") and "Traceback" not in stderr
    assert read_records(out / "0") == []  # the stopped run is not recorded (resume runs it again)
    # the early warning is a signal ignored by default: it cannot kill a task still starting Python
    script = next((out / ".submitit").glob("*/*_submission.sh")).read_text()
    assert "#SBATCH --signal=URG@30" in script.splitlines()
