"""Which end of a multirun command wins when several jobs ended badly (docs/code_path.md "Which line wins"):
a refused write over a refusal over a crash, whatever the launcher and the jobs' order, every other end named
in the winning line. Worker launches are played in-process (test_harness_command_end._launch_ended)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness import callbacks, write_failure
from harness.precheck import JobRefused
from test_harness_command_end import SWEEP, _launch_ended, command, ended
from test_harness_lock import holder  # noqa: F401  (a fixture)

BUSY = "output folder /x/1 is being written by another run; wait for it to end, or choose another hydra.sweep.dir"
CRASHED = "a job raised RuntimeError: job crashed (its traceback is above)"


def _written(folder: Path, seed: int, then: str) -> str:
    return (f"error: could not write records/mlp-numpy-seed{seed}.json in {folder}: No space left on device "
            f"(ENOSPC){write_failure.FREE_SPACE}{then}")


def _ended(sweep: Path, *ends: BaseException) -> int:
    """The command's end (harness.__main__) around a worker launch whose jobs ended in `ends`, in job order."""
    from harness.__main__ import ends_in_one_line, failed_writes_in_one_line
    folder = ("hydra.sweep.dir", sweep)
    with pytest.raises(SystemExit) as stop, ends_in_one_line(folder), failed_writes_in_one_line(folder):
        _launch_ended(*ends)
    return stop.value.code


@pytest.fixture
def sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(write_failure, "_stopped", [])
    monkeypatch.setattr(callbacks, "_ARMED", [])
    return tmp_path


@pytest.mark.parametrize("order", ["crash first", "refusal first"])
def test_a_worker_jobs_refusal_wins_over_another_jobs_crash_naming_it_whatever_their_order(
        sweep: Path, capsys: pytest.CaptureFixture, order: str) -> None:
    """Under a worker launcher Hydra raises the first failed job's end alone: job 0's crash ended in its traceback
    (exit 1) and job 1's refusal was never said; job 0's refusal ended in its line (exit 2) and job 1's crash was
    never printed. As under the basic launcher: the crash's traceback, then the refusal's line naming it, exit 2."""
    ends = [RuntimeError("job crashed"), JobRefused(BUSY)]
    code = _ended(sweep, *(ends if order == "crash first" else ends[::-1]))
    *said, line = capsys.readouterr().err.splitlines()
    assert code == 2
    assert said and said[-1] == "RuntimeError: job crashed"
    assert line == f"error: {BUSY}; {CRASHED}"


def test_a_refused_end_of_sweep_write_names_a_worker_jobs_refusal_and_another_jobs_crash(
        sweep: Path, capsys: pytest.CaptureFixture) -> None:
    """A worker's refusal went on as the command's own Refused without the launch's other jobs: the end-of-sweep
    step's refused write, which wins, named the refusal but not job 1's crash. Now it names both, exit 4."""
    held = f"{callbacks.TABLES_NOT_WRITTEN} (could not write {sweep / 'runs.csv'}: No space left on device (ENOSPC))"
    callbacks.note_not_done(sweep, [f"{held}{write_failure.FREE_SPACE}rebuild"])
    code = _ended(sweep, JobRefused(BUSY), RuntimeError("job crashed"))
    *said, line = capsys.readouterr().err.splitlines()
    assert code == 4
    assert said and said[-1] == "RuntimeError: job crashed"
    assert line == f"error: {held}; a job was refused ({BUSY}); {CRASHED}{write_failure.FREE_SPACE}rebuild"


def test_two_worker_jobs_refused_writes_are_both_said(sweep: Path, capsys: pytest.CaptureFixture) -> None:
    """Two jobs' writes were refused: the first one's line alone was said. It now names the other too."""
    then = f"finish with the same command and resume=true hydra.sweep.dir={sweep}"
    code = _ended(sweep, write_failure.JobStopped(_written(sweep / "0", 0, then)),
                  write_failure.JobStopped(_written(sweep / "1", 1, then)))
    line = capsys.readouterr().err.splitlines()[-1]
    assert code == 4
    assert line == (f"error: could not write records/mlp-numpy-seed0.json in {sweep / '0'}: No space left on device "
                    f"(ENOSPC); another job's write was refused (could not write records/mlp-numpy-seed1.json in "
                    f"{sweep / '1'}: No space left on device (ENOSPC)){write_failure.FREE_SPACE}{then}")


@pytest.mark.parametrize("merged", [True, False], ids=["after the tables", "in the tables"])
def test_a_sweep_end_without_a_report_says_no_report_failed_and_how_to_redo_it_without_one(
        tmp_path: Path, merged: bool) -> None:
    """report=false: a failure after the tables were written was called "sweep report not built" and the fix given
    (python -m harness.sweep_merge DIR) built a report no one asked for. Now it says what failed after the
    tables, and the fix is the tables' alone (--no-report)."""
    said = callbacks.sweep_end_warning(RuntimeError("boom"), tmp_path, experiment=None, merged=merged, report=False)
    assert "report" not in said.replace("--no-report", "")
    assert said.endswith(f"python -m harness.sweep_merge {tmp_path} --no-report")
    assert "RuntimeError: boom" in said
    assert ("are written in" in said) is merged


@pytest.mark.parametrize("crashed, refused", [("0.1", "1"), ("0.01", "0")],
                         ids=["crash in job 0, refusal in job 1", "refusal in job 0, crash in job 1"])
def test_a_joblib_jobs_refusal_ends_the_command_naming_another_jobs_crash(
        holder, tmp_path: Path, data_root: Path, crashed: str, refused: str) -> None:  # noqa: F811
    """joblib in worker processes, one job crashed (a bug) and another's folder is held by another run: the first
    in job order ended the command, the crash's traceback alone (exit 1) or the refusal's line alone (exit 2). Now
    the crash comes first (its traceback, once, where Hydra's sweeper raised it: job 0's; a later worker's error
    comes back without one, its kind and message alone; either way followed by the job's own frames in its worker,
    harness.run.keep_job_frames), and the refusal's line, printed last, names it; exit 2."""
    sweep = tmp_path / "sweep"
    other = holder(sweep / refused)
    process = command([*SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"],
                      tmp_path, data_root, MLP_BENCH_TEST_CRASH_AT=crashed)
    code, lines, everything = ended(process)
    assert code == 2, everything[-3000:]
    assert everything.count("Traceback") == (refused == "1") and "Error executing job" not in everything
    crash = lines.index(f"RuntimeError: job crashed at learning rate {crashed}")
    assert lines[crash + 1] == "The job's traceback, in its worker process (most recent call last):"
    assert lines[-2].strip() == 'raise RuntimeError(f"job crashed at learning rate {cfg.model.learning_rate}")'
    head, started, tail = lines[-1].partition(", started ")
    assert head == (f"error: output folder {(sweep / refused).resolve()} is being written by another run (process "
                    f"{other.pid} on {socket.gethostname()}")
    assert started and tail.endswith(f"); wait for it to end, or choose another hydra.sweep.dir; a job raised "
                                     f"RuntimeError: job crashed at learning rate {crashed} (its traceback is above)")


@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]],
                         ids=["basic", "joblib in worker processes"])
def test_two_jobs_errors_are_both_said(tmp_path: Path, data_root: Path, launcher: list[str]) -> None:
    """Both jobs crashed (a bug in each): the first in job order ended the command in its traceback (exit 1) and the
    other was never said. Now the first's traceback comes first, then the other's (a worker's: its kind and message,
    then its frames in the worker), and one line for it, printed last, naming its job; exit 1."""
    sweep = tmp_path / "sweep"
    process = command([*SWEEP, *launcher, f"hydra.sweep.dir={sweep}"], tmp_path, data_root,
                      MLP_BENCH_TEST_CRASH_AT="0.1,0.01")
    code, lines, everything = ended(process)
    assert code == 1, everything[-3000:]
    first = lines.index("RuntimeError: job crashed at learning rate 0.1")
    assert lines.index("Traceback (most recent call last):") < first, everything[-3000:]
    assert lines.index("RuntimeError: job crashed at learning rate 0.01") > first
    assert lines[-1] == ("error: job 1 also raised RuntimeError: job crashed at learning rate 0.01 (its traceback is "
                         "above)")


def test_a_worker_launchs_second_error_is_said_after_the_first_ones_traceback(
        sweep: Path, capsys: pytest.CaptureFixture) -> None:
    """Hydra's sweeper raised job 0's error alone and job 1's was lost; now both tracebacks, then a line naming the
    other one (a job whose number its return does not hold: 'another job'), exit 1."""
    code = _ended(sweep, RuntimeError("job crashed"), ValueError("second bug\nmore"))
    lines = capsys.readouterr().err.splitlines()
    assert code == 1
    assert lines.index("Traceback (most recent call last):") < lines.index("RuntimeError: job crashed")
    assert lines.index("ValueError: second bug") > lines.index("RuntimeError: job crashed")
    assert lines[-1] == "error: another job also raised ValueError: second bug (its traceback is above)"
