"""The early end of a submitit sweep (harness.submitit_launch.returns: submitit_local, SLURM) when a job did not
finish: a finished job whose task raised (its JobReturn FAILED) is named too, as every line that wins over a
job's end names it (harness.callbacks.job_error_said), and a worker's refused write (JobStopped) ends it with
its own line and exit 4. Also: a worker's crash keeps the job's own frames in its printed traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from test_harness_disk_full import HYDRA_WRITE_TRACE
from tests.conftest import REPO_ROOT

WRITE_LINE = ("error: could not write records/x.json in S/0: No space left on device (ENOSPC); "
              "free space, then finish with resume=true")


def _early_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
               *ends: BaseException | str) -> tuple[int, str]:
    """The exit status and stderr of a SLURM sweep of len(ends) + 1 jobs: job i < len(ends) finished, its task
    raised ends[i] (or, given as text, it raised outside Hydra's job: submitit's outcome "error" with that trace);
    the last job stopped at its time limit. The merge and the count find no records."""
    import pandas as pd
    from hydra.core.utils import JobReturn, JobStatus
    from omegaconf import OmegaConf

    import harness.sweep_merge
    from harness import callbacks, slurm_jobs
    from harness.__main__ import ends_in_one_line
    from harness.slurm_launcher import CleanEndSlurmLauncher
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "name": "x", "report": False})
    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", lambda *a, **k: None)
    monkeypatch.setattr(harness.sweep_merge, "sweep_runs", lambda folder: pd.DataFrame([]))
    monkeypatch.setattr(callbacks, "_ARMED", [config])
    monkeypatch.setattr(sys, "argv", ["harness"])
    finished = {i: ("error", end) if isinstance(end, str) else (
        "success", JobReturn(status=JobStatus.FAILED, _return_value=end)) for i, end in enumerate(ends)}
    waited = slurm_jobs.Waited(finished=finished, unfinished={len(ends): "TIMEOUT"})
    jobs = [SimpleNamespace(job_id=f"7_{i}") for i in range(len(ends) + 1)]
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        CleanEndSlurmLauncher._returns(SimpleNamespace(config=config), waited, jobs, 0)
    return stop.value.code, capsys.readouterr().err


def test_a_finished_jobs_crash_is_named_with_its_traceback(tmp_path, monkeypatch, capsys):
    code, err = _early_end(tmp_path, monkeypatch, capsys, RuntimeError("job 0 crashed"))
    last = err.strip().splitlines()[-1]
    assert code == 1
    assert "RuntimeError: job 0 crashed" in err.split(last)[0]  # its traceback, before the line
    assert last.startswith("error: 1 of 2 jobs of the sweep did not finish: job 1 (SLURM 7_1) TIMEOUT")
    assert "a job raised RuntimeError: job 0 crashed (its traceback is above)" in last
    assert last.endswith(f"hydra.sweep.dir={tmp_path}")


def test_a_finished_jobs_refusal_is_named(tmp_path, monkeypatch, capsys):
    from harness.precheck import JobRefused
    code, err = _early_end(tmp_path, monkeypatch, capsys, JobRefused("output folder S/0 is being written"))
    last = err.strip().splitlines()[-1]
    assert code == 1
    assert "a job was refused (output folder S/0 is being written)" in last
    assert "job 1 (SLURM 7_1) TIMEOUT" in last
    assert "Traceback" not in err


def test_a_finished_jobs_refused_write_wins_with_exit_4(tmp_path, monkeypatch, capsys):
    from harness.write_failure import WRITE_FAILED, JobStopped
    code, err = _early_end(tmp_path, monkeypatch, capsys, JobStopped(WRITE_LINE))
    lines = err.strip().splitlines()
    assert code == WRITE_FAILED
    assert lines[-1].startswith("error: could not write records/x.json in S/0: No space left on device (ENOSPC); ")
    assert "1 of 2 jobs of the sweep did not finish: job 1 (SLURM 7_1) TIMEOUT" in lines[-1]
    assert lines[-1].endswith("free space, then finish with resume=true")
    assert "Traceback" not in err


def test_a_finished_jobs_refused_hydra_write_wins_with_exit_4(tmp_path, monkeypatch, capsys):
    """Job 0's Hydra write (.hydra/hydra.yaml) refused, which raises outside Hydra's job (submitit's outcome
    "error", its trace as text), beside a job that did not finish: a refused write wins, exit 4, as it does
    when every job finished (test_submitit_local_names_a_jobs_crash_beside_anothers_refused_hydra_write);
    before, it was 'failed (OSError: ...)' in the summary, exit 1."""
    from harness.write_failure import WRITE_FAILED
    code, err = _early_end(tmp_path, monkeypatch, capsys, HYDRA_WRITE_TRACE)
    last = err.strip().splitlines()[-1]
    assert code == WRITE_FAILED, err
    assert last.startswith(f"error: could not write a job's .hydra/hydra.yaml in {tmp_path}: No space left on "
                           "device (ENOSPC); 2 of 2 jobs of the sweep did not finish: job 0 (SLURM 7_0) its write "
                           "was refused, job 1 (SLURM 7_1) TIMEOUT; logs in "), last
    assert last.count("No space left") == 1
    assert last.endswith(f"free space, then python -m harness resume=true hydra.sweep.dir={tmp_path}")
    assert "Traceback" not in err


def test_the_first_refused_write_in_job_order_wins_and_names_the_others(tmp_path, monkeypatch, capsys):
    """Job 0's Hydra write refused outside its job, job 1's task's write refused (JobStopped), job 2 unfinished: job
    0's line wins (job order, whatever the kind), and job 1's write is named, not dropped."""
    from harness.write_failure import WRITE_FAILED, JobStopped
    code, err = _early_end(tmp_path, monkeypatch, capsys, HYDRA_WRITE_TRACE, JobStopped(WRITE_LINE))
    last = err.strip().splitlines()[-1]
    assert code == WRITE_FAILED, err
    assert last.startswith(f"error: could not write a job's .hydra/hydra.yaml in {tmp_path}: No space left on device "
                           "(ENOSPC); 2 of 3 jobs of the sweep did not finish: job 0 (SLURM 7_0) its write was "
                           "refused, job 2 (SLURM 7_2) TIMEOUT; another job's write was refused (could not write "
                           "records/x.json in S/0: No space left on device (ENOSPC)); logs in "), last


def test_a_second_refused_task_write_is_named(tmp_path, monkeypatch, capsys):
    """Two finished jobs' tasks' writes refused (JobStopped) beside an unfinished job: the first's line wins and names
    the second's."""
    from harness.write_failure import WRITE_FAILED, JobStopped
    second = WRITE_LINE.replace("S/0", "S/1")
    code, err = _early_end(tmp_path, monkeypatch, capsys, JobStopped(WRITE_LINE), JobStopped(second))
    last = err.strip().splitlines()[-1]
    assert code == WRITE_FAILED, err
    assert last.startswith("error: could not write records/x.json in S/0: No space left on device (ENOSPC); ")
    assert "another job's write was refused (could not write records/x.json in S/1" in last, last


def test_a_finished_jobs_other_failure_outside_hydras_job_stays_failed_exit_1(tmp_path, monkeypatch, capsys):
    """Job 0 raised outside Hydra's job with no write refused (an import error, say): named 'failed (...)' by its
    last line in the summary, exit 1, and not a second time as a raised error."""
    trace = 'Traceback (most recent call last):\n  File "/x/y.py", line 1, in <module>\nImportError: no module z\n'
    code, err = _early_end(tmp_path, monkeypatch, capsys, trace)
    last = err.strip().splitlines()[-1]
    assert code == 1, err
    assert last.startswith("error: 2 of 2 jobs of the sweep did not finish: job 0 (SLURM 7_0) failed (ImportError: "
                           "no module z), job 1 (SLURM 7_1) TIMEOUT; logs in "), last
    assert "a job raised" not in err


def _sweep(tmp_path: Path, *overrides: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m harness -m` on the synthetic fixture in tmp_path with the fault hook's `env`."""
    hook = str(REPO_ROOT / "tests" / "run_fault_hook")
    environ = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([hook, str(REPO_ROOT)])}
    command = [sys.executable, "-m", "harness", "-m", "+experiment=quick", "model.epochs=2", "impls=[mlp]",
               "quiet=true", "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}", *overrides]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=600)


SWEEP = ["-m", "+experiment=titanic_sgd", "impls=[mlp]", "runs=2", "model.epochs=5", "quiet=true",
         "model.learning_rate=0.1,0.01"]
CRASHED = "a job raised RuntimeError: job crashed at learning rate 0.1 (its traceback is above)"


def _with_faults(tmp_path: Path, data_root: Path, args: list[str], **faults: str) -> subprocess.CompletedProcess:
    """`python -m harness ARGS` with the faults of both test hooks (tests/run_fault_hook, tests/write_failure_hook),
    through one sitecustomize that runs both."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    both = [str(REPO_ROOT / "tests" / name / "sitecustomize.py") for name in ("run_fault_hook", "write_failure_hook")]
    (hooks / "sitecustomize.py").write_text(
        f"import runpy\nfor path in {both!r}:\n    runpy.run_path(path, run_name='_hook_' + path.split('/')[-2])\n")
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root),
           "PYTHONPATH": os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]), **faults}
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)


def test_submitit_local_names_a_jobs_crash_beside_anothers_refused_hydra_write(tmp_path: Path,
                                                                                data_root: Path) -> None:
    """Under submitit_local job 0 crashed (a bug) and job 1's Hydra write (.hydra/hydra.yaml) was refused. The
    launcher raised submitit's FailedJobError for job 1 out of its list of results, before Hydra's sweeper held
    any: the line was the write's alone, the crash never printed. Now every job's end reaches the sweeper: the
    write's line wins (exit 4) and names the crash, whose traceback comes first."""
    sweep = tmp_path / "sweep"
    ended = _with_faults(tmp_path, data_root, [*SWEEP, f"hydra.sweep.dir={sweep}", "hydra/launcher=submitit_local"],
                         MLP_BENCH_TEST_CRASH_AT="0.1", MLP_BENCH_TEST_FAIL_WRITE="1/.hydra/hydra.yaml")
    lines = [line for line in ended.stderr.splitlines() if line.strip() and not line.startswith(("[", "probe:"))]
    assert ended.returncode == 4, ended.stderr[-3000:]
    assert lines[-1] == (f"error: could not write a job's .hydra/hydra.yaml in {sweep}: No space left on device "
                         f"(ENOSPC); {CRASHED}; free space, then finish with the same command and resume=true "
                         f"hydra.sweep.dir={sweep}"), ended.stderr[-3000:]
    assert "RuntimeError: job crashed at learning rate 0.1" in lines[:-1], ended.stderr[-3000:]


def test_a_worker_jobs_crash_shows_the_jobs_own_frames(tmp_path: Path, data_root: Path) -> None:
    """Under joblib (two workers) job 0 crashed (a bug). Its exception comes back pickled, without its frames: the
    printed traceback showed the command's frames alone, not where the bug is. Now it carries the job's own
    traceback as a note (harness.run), printed with it."""
    sweep = tmp_path / "sweep"
    ended = _with_faults(tmp_path, data_root, [*SWEEP, f"hydra.sweep.dir={sweep}", "hydra/launcher=joblib",
                                               "hydra.launcher.n_jobs=2"], MLP_BENCH_TEST_CRASH_AT="0.1")
    assert ended.returncode == 1, ended.stderr[-3000:]
    assert "RuntimeError: job crashed at learning rate 0.1" in ended.stderr, ended.stderr[-3000:]
    trace = ended.stderr.split("RuntimeError: job crashed at learning rate 0.1", 1)[1]
    assert str(REPO_ROOT / "harness" / "run.py") in trace and "in run_config" in trace, ended.stderr[-3000:]
