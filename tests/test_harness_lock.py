"""One writer per run folder: a second invocation into a folder being written is refused at once,
naming the holder; a killed holder never blocks the folder; sweep jobs lock only their own folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import harness.config  # noqa: F401
from harness import folder_lock
from harness.precheck import CONF_DIR
from harness.records import read_records
from harness.run import remove_if_empty, run_config

HOLD = ("import sys, time; from harness.folder_lock import hold\n"
        "with hold(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)\n")
RUN = ["+experiment=titanic_sgd", "runs=3", "quiet=true", "report=false"]


def harness_env(data_root: Path) -> dict[str, str]:
    return {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root)}


@pytest.fixture()
def holder(tmp_path: Path):
    """Another process holding a folder's lock (killed at the end of the test)."""
    started: list[subprocess.Popen] = []

    def start(folder: Path) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout.readline().strip() == "held"
        return process
    yield start
    for process in started:
        process.kill()
        process.wait()


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=[*RUN, "model.epochs=5", *overrides])


def test_a_folder_held_by_another_process_is_refused_naming_the_holder(holder, tmp_path: Path, data_root: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    other = holder(tmp_path / "run")
    for resume in ("false", "true"):
        with pytest.raises(SystemExit) as stop:
            run_config(config(f"resume={resume}"), tmp_path / "run", launcher="basic", command="test")
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: output folder {(tmp_path / 'run').resolve()} is being written by another run "
                              f"(process {other.pid} on {socket.gethostname()}, started ")
        assert err.endswith("); wait for it to end, or choose another hydra.run.dir\n") and err.count("\n") == 1
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [folder_lock.LOCK_FILE]  # nothing written


def test_a_killed_holder_does_not_block_the_folder(holder, tmp_path: Path, data_root: Path) -> None:
    other = holder(tmp_path / "run")
    assert folder_lock.held_elsewhere(tmp_path / "run")
    other.send_signal(signal.SIGKILL)
    other.wait()
    assert not folder_lock.held_elsewhere(tmp_path / "run")  # the kernel released it; the file stays
    outcome = run_config(config(), tmp_path / "run", launcher="basic", command="test")
    assert len(outcome.done) == 3 and len(read_records(tmp_path / "run")) == 3


def test_the_lock_is_held_for_the_run_and_released_after(tmp_path: Path, data_root: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import sweep
    seen: list[bool] = []
    real = sweep.run_one

    def probe(*args, **kwargs):  # another process asks while the run trains
        check = f"from harness.folder_lock import held_elsewhere; print(held_elsewhere({str(tmp_path)!r}))"
        seen.append(subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                                   check=True).stdout.strip() == "True")
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "run_one", probe)
    run_config(config("runs=1"), tmp_path, launcher="basic", command="test")
    assert seen == [True]
    assert not folder_lock.held_elsewhere(tmp_path)
    with folder_lock.hold(tmp_path):  # free again, in this process too
        assert json.loads((tmp_path / folder_lock.LOCK_FILE).read_text())["pid"] == os.getpid()


def test_a_rejected_job_does_not_remove_a_folder_another_run_holds(holder, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    (folder / ".hydra").mkdir(parents=True)
    holder(folder)
    remove_if_empty(folder)
    assert folder.is_dir()


def test_two_invocations_started_together_leave_records_of_one_config(tmp_path: Path, data_root: Path) -> None:
    run_dir = tmp_path / "run"
    args = [sys.executable, "-m", "harness", *RUN, "model.epochs=2000", f"hydra.run.dir={run_dir}"]
    processes = {rate: subprocess.Popen([*args, f"model.learning_rate={rate}"], cwd=tmp_path,
                                        env=harness_env(data_root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
                 for rate in (0.02, 0.05)}
    results = {rate: (p.wait(timeout=180), p.communicate()[1]) for rate, p in processes.items()}
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 2], results
    winner = next(rate for rate, (code, _) in results.items() if code == 0)
    refused = next(err for code, err in results.values() if code == 2)
    assert refused.startswith(f"error: output folder {run_dir.resolve()} ") and refused.count("\n") == 1, refused
    assert "Traceback" not in refused
    assert OmegaConf.load(run_dir / "config.yaml").model.learning_rate == winner
    assert OmegaConf.load(run_dir / ".hydra" / "config.yaml").model.learning_rate == winner
    assert [r["learning_rate"] for r in read_records(run_dir)] == [winner] * 3


def test_a_resume_while_the_first_invocation_runs_is_refused_at_once(tmp_path: Path, data_root: Path) -> None:
    run_dir = tmp_path / "run"
    args = [sys.executable, "-m", "harness", *RUN, "runs=6", "model.epochs=2000", f"hydra.run.dir={run_dir}"]
    first = subprocess.Popen(args, cwd=tmp_path, env=harness_env(data_root), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run_dir / "config.yaml").exists():  # the first holds the lock and has begun writing
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()[1][-2000:]
        time.sleep(0.05)
    second = subprocess.run([*args, "resume=true"], cwd=tmp_path, env=harness_env(data_root), capture_output=True,
                            text=True, timeout=120)
    assert first.poll() is None, "the first run ended before the second was refused: give it more epochs"
    started = json.loads((run_dir / folder_lock.LOCK_FILE).read_text())["started"]
    assert second.returncode == 2
    assert second.stderr == (f"error: output folder {run_dir.resolve()} is being written by another run (process "
                             f"{first.pid} on {socket.gethostname()}, started {started}); "
                             "wait for it to end, or choose another hydra.run.dir\n")
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert sorted(r["seed"] for r in read_records(run_dir)) == list(range(6))
    # refused before Hydra started: it did not overwrite the first's copy of its command
    assert "resume=true" not in (run_dir / ".hydra" / "overrides.yaml").read_text()


def test_rerun_refuses_a_folder_still_being_written_and_locks_its_new_folder(holder, tmp_path: Path, data_root: Path,
                                                                            capsys: pytest.CaptureFixture) -> None:
    from harness.rerun import check_jobs, rerun_one
    run_config(config("runs=1"), tmp_path / "a", launcher="basic", command="test")
    writer = holder(tmp_path / "a")
    with pytest.raises(ValueError, match="a is being written by another run; rerun it once that run has ended"):
        check_jobs([tmp_path / "a"], [tmp_path / "b"])
    writer.kill()
    writer.wait()
    check_jobs([tmp_path / "a"], [tmp_path / "b"])  # free once the writer is gone
    holder(tmp_path / "b")  # another rerun already writes the new folder
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        rerun_one(tmp_path / "a", tmp_path / "b")
    assert stop.value.code == 2 and "is being written by another run" in capsys.readouterr().err
    assert read_records(tmp_path / "b") == []
