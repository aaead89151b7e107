"""The real command line under faults: SIGKILL then resume, Ctrl-C, concurrent writers, and
reproducibility (same config and seed twice -> identical records but for timings)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from harness.records import RECORD_FIELDS, read_records
from harness.rerun import compare

SWEEP = ["+experiment=titanic_sgd", "runs=10", "model.epochs=3000", "quiet=true", "report=false"]


def start(args: list[str], cwd: Path, data_root: Path) -> subprocess.Popen:
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root)}
    return subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal)


def _ctrl_c_as_in_a_terminal() -> None:
    """A suite started in the background (`make test &`) ignores SIGINT, and so would the harness
    it starts (Python then installs no KeyboardInterrupt handler): restore it, as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_records(run_dir: Path, count: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(list((run_dir / "records").glob("*.json"))) < count:
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no records appeared"
        time.sleep(0.02)


def check_intact(run_dir: Path, seeds: list[int]) -> None:
    """Each seed once, each record file complete JSON with every field, runs.csv agreeing."""
    files = sorted((run_dir / "records").glob("*"))
    assert [p.name for p in files] == sorted(f"mlp-numpy-seed{s}.json" for s in seeds)
    for path in files:
        assert list(json.loads(path.read_text())) == list(RECORD_FIELDS)
    frame = pd.read_csv(run_dir / "runs.csv")
    assert sorted(frame["seed"]) == sorted(seeds) and (frame["status"] == "ok").all()


def test_sigkill_mid_sweep_then_resume_runs_only_missing_seeds(tmp_path: Path, data_root: Path) -> None:
    run_dir = tmp_path / "run"
    process = start([*SWEEP, f"hydra.run.dir={run_dir}"], tmp_path, data_root)
    wait_for_records(run_dir, 3, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {p.name: p.read_text() for p in (run_dir / "records").glob("*.json")}
    assert 3 <= len(finished) < 10
    resumed = start([*SWEEP, f"hydra.run.dir={run_dir}", "resume=true"], tmp_path, data_root)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err[-2000:]
    assert f"resume: {len(finished)} finished runs kept, {10 - len(finished)} to run" in out + err
    check_intact(run_dir, list(range(10)))
    for name, text in finished.items():  # records from before the kill are untouched
        assert (run_dir / "records" / name).read_text() == text


def test_ctrl_c_stops_cleanly_after_finished_runs(tmp_path: Path, data_root: Path) -> None:
    run_dir = tmp_path / "run"
    process = start([*SWEEP, f"hydra.run.dir={run_dir}"], tmp_path, data_root)  # runs of a second or more each
    wait_for_records(run_dir, 2, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "resume=true" in err
    seeds = [r["seed"] for r in read_records(run_dir)]
    assert 2 <= len(seeds) < 10
    check_intact(run_dir, seeds)


def test_ctrl_c_in_a_sweep_says_to_resume_the_sweep(tmp_path: Path, data_root: Path) -> None:
    """A job's own folder with hydra.run.dir would start the sweep again from its first job; the
    sweep folder with resume=true runs only what each job is missing."""
    sweep = tmp_path / "sweep"
    process = start(["-m", *SWEEP, "learning_rate=0.01,0.02", f"hydra.sweep.dir={sweep}"], tmp_path, data_root)
    wait_for_records(sweep / "0", 1, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    (line,) = [line for line in err.splitlines() if line.startswith("interrupted: ")]
    assert line.endswith(f"in {sweep}; finish with the same command and resume=true hydra.sweep.dir={sweep}")


def test_two_processes_resuming_one_folder_lose_nothing(tmp_path: Path, data_root: Path) -> None:
    """Resumed concurrently, one writes and the other is refused (one writer per folder,
    tests/test_harness_lock.py); resumed again, it completes the folder."""
    run_dir = tmp_path / "run"
    common = ["+experiment=titanic_sgd", "model.epochs=300", "quiet=true", "report=false", f"hydra.run.dir={run_dir}"]
    begun = start([*common, "seeds=[0]"], tmp_path, data_root)  # a folder to resume (resume=true needs one)
    assert begun.wait(timeout=120) == 0, begun.communicate()[1][-2000:]
    common.append("resume=true")
    first = start([*common, "seeds=[0,2,4,6]"], tmp_path, data_root)
    second = start([*common, "seeds=[1,3,5,7]"], tmp_path, data_root)
    codes = {}
    for name, process in (("first", first), ("second", second)):
        _, err = process.communicate(timeout=120)
        codes[name] = process.returncode
        assert process.returncode in (0, 2), err[-2000:]
    for name, seeds in (("first", "seeds=[0,2,4,6]"), ("second", "seeds=[1,3,5,7]")):
        if codes[name] == 2:
            again = start([*common, seeds], tmp_path, data_root)
            assert again.wait(timeout=120) == 0, again.communicate()[1][-2000:]
    check_intact(run_dir, list(range(8)))
    assert (run_dir / "environment.json").exists() and (run_dir / "config.yaml").exists()


def test_same_config_and_seed_twice_gives_identical_records(tmp_path: Path, data_root: Path) -> None:
    args = ["+experiment=titanic_adam", "runs=2", "model.epochs=50", "quiet=true", "report=false"]
    for name in ("a", "b"):
        done = start([*args, f"hydra.run.dir={tmp_path / name}"], tmp_path, data_root)
        _, err = done.communicate(timeout=120)
        assert done.returncode == 0, err[-2000:]
    assert compare(tmp_path / "a", tmp_path / "b") == []
    assert read_records(tmp_path / "a")[0]["epoch_losses"] == read_records(tmp_path / "b")[0]["epoch_losses"]


def test_multirun_writes_one_folder_per_job(tmp_path: Path, data_root: Path) -> None:
    sweep = tmp_path / "sweep"
    done = start(["-m", "+experiment=titanic_sgd", "seed=0,1", "model.epochs=20", "quiet=true", "report=false",
                  f"hydra.sweep.dir={sweep}"], tmp_path, data_root)
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err[-2000:]
    for job, seed in (("0", 0), ("1", 1)):
        records = read_records(sweep / job)
        assert [r["seed"] for r in records] == [seed] and records[0]["launcher"] == "basic"


def test_rerun_of_a_resumed_folder_runs_every_recorded_seed(tmp_path: Path, data_root: Path) -> None:
    args = ["+experiment=titanic_sgd", "model.epochs=5", "quiet=true", "report=false", f"hydra.run.dir={tmp_path / 'a'}"]
    for extra in (["runs=2"], ["runs=3", "resume=true"]):  # the resume adds seed 2
        done = start([*args, *extra], tmp_path, data_root)
        assert done.wait(timeout=120) == 0, done.communicate()[1][-2000:]
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root)}
    again = subprocess.run([sys.executable, "-m", "harness.rerun", str(tmp_path / "a"), "--into", str(tmp_path / "b")],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    check_intact(tmp_path / "b", [0, 1, 2])
    assert compare(tmp_path / "a", tmp_path / "b") == []
