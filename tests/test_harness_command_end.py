"""How the command ends when a sweep's runs fail or Ctrl-C comes outside a run: one line naming what
happened and how to continue, the documented exit status, no traceback, and the sweep's tables
merged while its folder is still locked. Faults come from tests/run_fault_hook (in the command
and in a launcher's workers alike); the single run's Ctrl-C after its runs is produced in-process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import harness.machine
import harness.reporting
import harness.run
import harness.sweep_merge
from harness.run import finish, finish_command, run_config
from test_harness_faults import config, fake_mlp  # noqa: F401  (fake_mlp: a fixture)
from test_harness_lock import holder  # noqa: F401  (a fixture)

HOOK = Path(__file__).resolve().parent / "run_fault_hook"
SWEEP = ["-m", "+experiment=titanic_sgd", "impls=[mlp]", "runs=2", "model.epochs=5", "quiet=true",
         "model.learning_rate=0.1,0.01"]


def command(args: list[str], cwd: Path, data_root: Path, **faults: str) -> subprocess.Popen:
    """`python -m harness ARGS` with the faults of tests/run_fault_hook, in a process group of its
    own with Ctrl-C's default action (as in a terminal, even under `make test &`)."""
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root),
           "PYTHONPATH": os.pathsep.join([str(HOOK), os.environ.get("PYTHONPATH", "")]), **faults}
    return subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def ended(process: subprocess.Popen, timeout: float = 300) -> tuple[int, list[str], str]:
    """Exit status, stderr's lines less the log's ("[time][logger] ...") and progress bars, all output."""
    out, err = process.communicate(timeout=timeout)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("[", "probe:"))
             and "it/s]" not in line]
    return process.returncode, lines, out + err


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_failed_runs_of_a_sweep_end_in_one_line_naming_every_one(tmp_path: Path, data_root: Path,
                                                                 launcher: str) -> None:
    sweep = tmp_path / "sweep"
    process = command([*SWEEP, f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep}"], tmp_path, data_root,
                      MLP_BENCH_TEST_FAIL_SEED="1", MLP_BENCH_TEST_PROBE_LOCK="1")
    code, lines, everything = ended(process)
    assert code == 1, everything[-3000:]
    assert lines == [f"error: 2 run(s) failed in {sweep}: 0/mlp-numpy-seed1.json, 1/mlp-numpy-seed1.json "
                     "(errors in their records)"]
    assert "Traceback" not in everything and "Error executing job" not in everything
    assert sorted(pd.read_csv(sweep / "runs.csv")["status"]) == ["failed", "failed", "ok", "ok"]  # every job ran
    assert "probe: sweep lock held" in everything and "probe: sweep lock free" not in everything


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local", "submitit_local with setup lines"])
@pytest.mark.parametrize("pressed", ["in the terminal", "to the command alone"])
def test_ctrl_c_in_a_worker_launchers_sweep_ends_in_the_resume_line(tmp_path: Path, data_root: Path, launcher: str,
                                                                   pressed: str) -> None:
    """Ctrl-C as a terminal sends it (to the command's whole process group: under submitit_local
    submitit's controller processes too, which must print no traceback) or SIGINT to the command
    alone: the one line, exit 130; each job's finished record kept, the interrupted run's absent
    (no temporary file either), and no job process left writing once the command has ended.
    Launcher `setup` lines run each controller through the shell, here dash, which starts it with the
    signal mask cleared (not with SIGINT blocked, as the launcher starts it), and passes the command's
    SIGTERM on to nothing: the jobs stop the same, even where they cannot watch their controller (no pidfd)."""
    sweep = tmp_path / "sweep"
    setup, faults = launcher.endswith("setup lines"), {}
    if setup:
        faults = {"MLP_BENCH_TEST_SH": shutil.which("dash") or "/bin/sh", "MLP_BENCH_TEST_NO_PIDFD": "1"}
    args = [*SWEEP, f"hydra/launcher={launcher.split()[0]}", *(['+hydra.launcher.setup=["true"]'] if setup else []),
            f"hydra.sweep.dir={sweep}"]
    process = command(args, tmp_path, data_root, MLP_BENCH_TEST_SLOW_SEED="1", MLP_BENCH_TEST_PROBE_LOCK="1",
                      **faults)
    _until_seed_0_recorded(process, sweep)
    if pressed == "in the terminal":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    code, lines, everything = ended(process, timeout=120)
    assert code == 130, everything[-3000:]
    assert lines == [f"interrupted: 2 runs recorded (0 failed, 0 diverged) in {sweep}; finish with the same "
                     f"command and resume=true hydra.sweep.dir={sweep}"]
    assert "Traceback" not in everything
    assert _processes_under(sweep) == []
    assert {job: sorted(os.listdir(sweep / job / "records")) for job in ("0", "1")} == {
        "0": ["mlp-numpy-seed0.json"], "1": ["mlp-numpy-seed0.json"]}
    assert len(pd.read_csv(sweep / "runs.csv")) == 2
    assert "probe: sweep lock held" in everything and "probe: sweep lock free" not in everything
    if launcher.startswith("submitit_local"):  # each job ended itself, in its own line, once (not killed by another)
        assert sorted(log.read_text() for log in sweep.glob(".submitit/*/*_log.err")) == [
            f"interrupted: 1 runs finished (0 failed, 0 diverged), 0 kept from before, in {sweep / job}; finish "
            f"with the same command and resume=true hydra.sweep.dir={sweep}\n" for job in ("0", "1")]


def _until_seed_0_recorded(process: subprocess.Popen, sweep: Path) -> None:
    """Wait until both jobs of the two-job sweep have recorded seed 0 (seed 1 sleeps: MLP_BENCH_TEST_SLOW_SEED)."""
    deadline = time.monotonic() + 120
    while len(list(sweep.glob("*/records/*.json"))) < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-3000:]
        time.sleep(0.05)




def _processes_under(folder: Path) -> list[str]:
    """The command lines of live processes (not zombies) that name `folder`: a sweep's jobs and,
    under submitit_local, their controllers (`python -m submitit.local._local FOLDER/.submitit/ID`)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(folder) in line and state != "Z" and proc.name != str(os.getpid()):
            found.append(line)
    return found


def test_ctrl_c_in_the_report_at_a_sweeps_end_says_how_to_rebuild_it(tmp_path: Path, data_root: Path) -> None:
    sweep = tmp_path / "sweep"
    process = command([*SWEEP, "report=true", f"hydra.sweep.dir={sweep}"], tmp_path, data_root,
                      MLP_BENCH_TEST_INTERRUPT_IN="harness.reporting:build_report")
    code, lines, everything = ended(process)
    assert code == 130, everything[-3000:]
    assert lines == [f"interrupted: 4 runs recorded (0 failed, 0 diverged) in {sweep}; the sweep's report was not "
                     f"built (python -m harness.sweep_merge {sweep} rebuilds it); finish with "
                     f"the same command and resume=true hydra.sweep.dir={sweep}"]
    assert len(pd.read_csv(sweep / "runs.csv")) == 4  # the tables were merged before the report
    assert "Traceback" not in everything


@pytest.mark.parametrize("where", ["rate after the runs", "report"])
def test_ctrl_c_after_a_runs_last_record_says_what_was_not_done(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                 data_root: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture, where: str) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    if where == "report":
        monkeypatch.setattr(harness.reporting, "update_report", interrupt)
    else:
        monkeypatch.setattr(harness.machine, "after_measurements", interrupt)
    fake_mlp({})
    outcome = run_config(config("runs=2", "report=true"), tmp_path, launcher="basic", command="test")
    assert outcome.interrupted and len(outcome.done) == 2
    with pytest.raises(SystemExit) as stop:
        finish(outcome, tmp_path, multirun=False)
    assert stop.value.code == 130
    rate = "the matmul rate after the runs was not measured; " if where != "report" else ""
    assert capsys.readouterr().err == (
        f"interrupted: 2 runs finished (0 failed, 0 diverged), 0 kept from before, in {tmp_path}; {rate}"
        f"the report was not rebuilt (python -m harness.report {tmp_path} rebuilds it); "
        f"finish with resume=true hydra.run.dir={tmp_path}\n")


def test_ctrl_c_in_the_report_names_the_page_the_run_rebuilds(fake_mlp, tmp_path: Path,  # noqa: F811
                                                               data_root: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A run under results/ rebuilds results/report (batches.report_root); the hint rebuilds that
    page, not one of its own inside the run's folder (python -m harness.report RUN_DIR)."""
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(harness.reporting, "update_report", interrupt)
    fake_mlp({})
    run_dir = tmp_path / "results" / "titanic_sgd" / "2026-12-02_03-00-00"
    outcome = run_config(config("runs=1", "report=true"), run_dir, launcher="basic", command="test")
    assert outcome.not_done == [
        f"the report was not rebuilt (python -m harness.report {tmp_path / 'results'} rebuilds it)"]


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_a_jobs_failed_write_is_not_hidden_by_an_earlier_jobs_failed_runs(tmp_path: Path, data_root: Path,
                                                                           launcher: str) -> None:
    """Job 0 has a failed run, job 1 stops on a refused write: the write failure wins (exit 4, its
    line, the sweep's resume), not a failed-runs line that reads as if the sweep were complete; the
    one line names the failed run too, in the failed-runs line's words."""
    sweep = tmp_path / "sweep"
    process = command([*SWEEP, f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep}"], tmp_path, data_root,
                      MLP_BENCH_TEST_FAIL_AT="1@0.1", MLP_BENCH_TEST_DISK_FULL_AT="1@0.01")
    code, lines, everything = ended(process)
    assert code == 4, everything[-3000:]
    assert lines == [f"error: could not write records/mlp-numpy-seed1.json in {sweep / '1'}: No space left on device "
                     f"(ENOSPC); 1 run(s) failed in {sweep}: 0/mlp-numpy-seed1.json (errors in their records); free "
                     f"space, then finish with the same command and resume=true hydra.sweep.dir={sweep}"]
    assert "Traceback" not in everything


def test_ctrl_c_in_a_basic_launchers_sweep_ends_in_the_sweeps_line_printed_last(tmp_path: Path,
                                                                               data_root: Path) -> None:
    """Under the basic launcher the job's Ctrl-C reaches the command as under joblib: one line for the
    sweep (every job's records), after the end-of-sweep merge and report, not the job's own line."""
    sweep = tmp_path / "sweep"
    process = command([*SWEEP, f"hydra.sweep.dir={sweep}"], tmp_path, data_root, MLP_BENCH_TEST_SLOW_SEED="1")
    deadline = time.monotonic() + 120
    while not list(sweep.glob("*/records/*.json")):  # seed 0 of job 0; seed 1 sleeps
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-3000:]
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    code, lines, everything = ended(process, timeout=120)
    line = (f"interrupted: 1 runs recorded (0 failed, 0 diverged) in {sweep}; finish with the same command and "
            f"resume=true hydra.sweep.dir={sweep}")
    assert code == 130, everything[-3000:]
    assert lines == [line] and everything.rstrip().endswith(line)
    assert "Traceback" not in everything
    assert len(pd.read_csv(sweep / "runs.csv")) == 1


def test_a_record_resume_cannot_read_stops_the_sweep_before_any_job_runs(tmp_path: Path, data_root: Path) -> None:
    """resume=true of a 3-job sweep whose middle job holds a record the OS will not read (EIO): the
    command's check, which reads every job's records (not only the first's or the last's), refuses it in
    one line (exit 2) before job 0 runs its missing seed; not the job itself after job 0 ran (the job's
    backstop, harness.sweep.finished). Both name the run ('to run mlp/numpy seed 0 again'): the check knows
    each job's planned runs."""
    sweep = tmp_path / "sweep"
    three = [*SWEEP[:-1], "model.learning_rate=0.1,0.01,0.001"]
    first = [arg if arg != "runs=2" else "runs=1" for arg in three]
    code, _, everything = ended(command([*first, f"hydra.sweep.dir={sweep}"], tmp_path, data_root))
    assert code == 0, everything[-3000:]
    before = {p: p.read_bytes() for p in sweep.glob("*/records/*.json")}
    assert len(before) == 3
    path = sweep / "1" / "records" / "mlp-numpy-seed0.json"
    process = command([*three, "resume=true", f"hydra.sweep.dir={sweep}"], tmp_path, data_root,
                      MLP_BENCH_TEST_UNREADABLE=str(path.relative_to(sweep)))
    code, lines, everything = ended(process)
    assert code == 2, everything[-3000:]
    assert lines == [f"error: resume: cannot read {path} (Input/output error (EIO)); make it readable, or move it "
                     f"out of {path.parent} to run mlp/numpy seed 0 again, then run the command again"]
    assert {p: p.read_bytes() for p in sweep.glob("*/records/*.json")} == before  # no job ran


def test_a_new_sweeps_job_meeting_a_record_it_cannot_read_says_how_to_finish_the_sweep(tmp_path: Path,
                                                                                     data_root: Path) -> None:
    """A new sweep (no resume=true) whose job 0 meets a record the OS will not let it read in its runs.csv
    rebuild (its own, failed since written) stops there, exit 2, in one line. That line was resume's, 'then run
    the command again', which the sweep folder then refuses ('already holds a sweep'): it says now how to
    finish the sweep, and no later job ran."""
    sweep = tmp_path / "sweep"
    path = sweep / "0" / "records" / "mlp-numpy-seed0.json"
    process = command([*SWEEP, f"hydra.sweep.dir={sweep}"], tmp_path, data_root,
                      MLP_BENCH_TEST_UNREADABLE=str(path.relative_to(sweep)))
    code, lines, everything = ended(process)
    assert code == 2, everything[-3000:]
    assert lines == [f"error: runs.csv not rebuilt: cannot read {path} (Input/output error (EIO)); make it readable, "
                     f"or move it out of {path.parent}, then finish with the same command and resume=true "
                     f"hydra.sweep.dir={sweep}"]
    assert path.is_file() and not (sweep / "1").exists() and "Traceback" not in everything


def _unreadable(folder: Path) -> None:
    raise OSError(5, "Input/output error")


def test_a_known_failed_run_exits_1_when_the_records_cannot_be_counted(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture) -> None:
    """A job's failed run (kept by end_sweep_job for the sweep's end) is named when the records cannot
    be counted."""
    from harness.sweep import Outcome
    monkeypatch.setattr(harness.sweep_merge, "sweep_runs", _unreadable)
    monkeypatch.setattr(harness.run, "FAILED_IN_JOBS", {})
    (tmp_path / "0").mkdir()
    harness.run.end_sweep_job(Outcome(failed=["mlp-numpy-seed1.json"]), tmp_path / "0", tmp_path)
    with pytest.raises(SystemExit) as stop:
        finish_command(tmp_path, "hydra.sweep.dir", interrupted=False, not_done=[])
    assert stop.value.code == 1
    assert capsys.readouterr().err == (
        f"error: 1 run(s) failed in {tmp_path}: 0/mlp-numpy-seed1.json (errors in their records); the records in "
        f"{tmp_path} could not be counted (OSError: [Errno 5] Input/output error)\n")


def test_records_that_cannot_be_counted_exit_1_without_a_known_failure(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture) -> None:
    """No job of this process failed, but the records cannot be read: nothing shows that no run
    failed, so exit 1 with the line saying so and how to table them later."""
    monkeypatch.setattr(harness.sweep_merge, "sweep_runs", _unreadable)
    monkeypatch.setattr(harness.run, "FAILED_IN_JOBS", {})
    with pytest.raises(SystemExit) as stop:
        finish_command(tmp_path, "hydra.sweep.dir", interrupted=False, not_done=[])
    assert stop.value.code == 1
    assert capsys.readouterr().err == (
        f"error: the records in {tmp_path} could not be counted (OSError: [Errno 5] Input/output error), so "
        f"whether runs failed is not known; python -m harness.sweep_merge {tmp_path} tables them once they can "
        "be read\n")
    with pytest.raises(SystemExit):  # a sweep without a report (report=false) is told to table them alone
        finish_command(tmp_path, "hydra.sweep.dir", interrupted=False, not_done=[], report=False)
    assert f"python -m harness.sweep_merge {tmp_path} --no-report tables them" in capsys.readouterr().err


def test_a_failed_write_in_the_merge_after_ctrl_c_is_said_in_the_one_line(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture) -> None:
    """After Ctrl-C the end-of-sweep merge runs; its refused write is part of the interrupted line,
    not a line of its own before it."""
    from omegaconf import OmegaConf

    from harness import callbacks
    from harness.__main__ import ends_in_one_line
    from harness.write_failure import WriteFailed

    def full(sweep_dir: Path, **kwargs: object) -> None:
        raise WriteFailed(Path(sweep_dir) / "runs.csv", OSError(28, "No space left on device"))

    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", full)
    monkeypatch.setattr(callbacks, "_ARMED", [OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})])
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        raise KeyboardInterrupt
    assert stop.value.code == 130
    assert capsys.readouterr().err == (
        f"interrupted: 0 runs recorded (0 failed, 0 diverged) in {tmp_path}; the sweep's tables were not written "
        f"(could not write {tmp_path / 'runs.csv'}: No space left on device (ENOSPC)); free space, then rebuild "
        f"with python -m harness.sweep_merge {tmp_path}; finish with the same command and resume=true "
        f"hydra.sweep.dir={tmp_path}\n")


def test_a_clean_sweep_after_a_failed_one_in_the_same_process_exits_0(tmp_path: Path, data_root: Path) -> None:
    """Two sweeps in one process (the task function called twice): the first's failed run is its own,
    not named again at the end of the clean second one."""
    script = ("import sys\nfrom harness.__main__ import main\n"
              f"for i, lr in enumerate(['0.1', '0.01']):\n"
              f"    sys.argv = ['harness', '--config-path', {str(HOOK.parents[1] / 'conf')!r}, *{SWEEP[:-1]!r}, "
              "f'model.learning_rate={lr}', "
              f"f'hydra.sweep.dir={tmp_path}/s{{i}}']\n"
              "    try:\n        main()\n        print(f'SWEEP {i}: exit 0', file=sys.stderr)\n"
              "    except SystemExit as e:\n        print(f'SWEEP {i}: exit {e.code}', file=sys.stderr)\n")
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root), "MLP_BENCH_TEST_FAIL_AT": "1@0.1",
           "PYTHONPATH": os.pathsep.join([str(HOOK), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    ends = [line for line in done.stderr.splitlines() if line.startswith(("SWEEP", "error:"))]
    assert ends == [f"error: 1 run(s) failed in {tmp_path}/s0: 0/mlp-numpy-seed1.json (errors in their records)",
                    "SWEEP 0: exit 1", "SWEEP 1: exit 0"], done.stderr[-3000:]


def _slurm_early_end(sweep: Path, monkeypatch: pytest.MonkeyPatch, merge: object, rows: list[dict]) -> int:
    """The SLURM launcher's early end (job 0 finished, job 1 timed out) under the command's end, the
    merge replaced by `merge` and the sweep's records by `rows`; returns the exit status."""
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from harness import callbacks, slurm_jobs
    from harness.__main__ import ends_in_one_line
    from harness.slurm_launcher import CleanEndSlurmLauncher
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}, "name": "x", "report": False})
    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", merge)
    monkeypatch.setattr(harness.sweep_merge, "sweep_runs", lambda folder: pd.DataFrame(rows))
    monkeypatch.setattr(callbacks, "_ARMED", [config])
    monkeypatch.setattr(sys, "argv", ["harness"])
    waited = slurm_jobs.Waited(finished={0: ("success", "ok")}, unfinished={1: "TIMEOUT"})
    jobs = [SimpleNamespace(job_id="7_0"), SimpleNamespace(job_id="7_1")]
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", sweep)):
        CleanEndSlurmLauncher._returns(SimpleNamespace(config=config), waited, jobs, 0)
    return stop.value.code


def test_a_slurm_early_ends_refused_merge_write_is_said_once_in_its_summary_exit_4(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Jobs that did not finish and a merge the disk refused: the write failure is in the summary, once
    (no line of its own after it), and the status is a refused write's (4). The summary is one line,
    ending in the command that finishes the sweep, as every line that ends a command."""
    from harness.write_failure import WriteFailed

    def full(sweep_dir: Path, **kwargs: object) -> None:
        raise WriteFailed(Path(sweep_dir) / "runs.csv", OSError(28, "No space left on device"))

    assert _slurm_early_end(tmp_path, monkeypatch, full, []) == 4
    assert capsys.readouterr().err == (
        f"error: 1 of 2 jobs of the sweep did not finish: job 1 (SLURM 7_1) TIMEOUT; logs in "
        f"{tmp_path / '.submitit'}; the sweep's tables were not written (could not write {tmp_path / 'runs.csv'}: "
        f"No space left on device (ENOSPC)); free space, then rebuild with python -m harness.sweep_merge "
        f"{tmp_path} --no-report; finish the sweep with: python -m harness resume=true hydra.sweep.dir={tmp_path}\n")


def test_a_slurm_early_end_names_the_finished_jobs_failed_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture) -> None:
    """A finished job's failed runs are named in the early end's one summary (exit 1)."""
    rows = [{"job": "0", "impl": "mlp", "backend": "numpy", "seed": s, "status": status}
            for s, status in ((0, "ok"), (1, "failed"))]
    assert _slurm_early_end(tmp_path, monkeypatch, lambda sweep_dir, **kwargs: None, rows) == 1
    assert capsys.readouterr().err == (
        f"error: 1 of 2 jobs of the sweep did not finish: job 1 (SLURM 7_1) TIMEOUT; 1 run(s) failed in {tmp_path}: "
        f"0/mlp-numpy-seed1.json (errors in their records); logs in {tmp_path / '.submitit'}; the finished jobs "
        f"are merged in {tmp_path / 'runs.csv'}; finish the sweep with: python -m harness resume=true "
        f"hydra.sweep.dir={tmp_path}\n")


def _unreadable_merge(sweep_dir: Path, **kwargs: object) -> None:
    from harness.records import UnreadableRecord
    raise UnreadableRecord(Path(sweep_dir) / "0" / "records" / "mlp-numpy-seed0.json", "Input/output error (EIO)")


def _failing_merge(sweep_dir: Path, **kwargs: object) -> None:
    raise RuntimeError("boom")


@pytest.mark.parametrize("merge", [_unreadable_merge, _failing_merge], ids=["a record it cannot read", "an error"])
def test_a_slurm_early_end_whose_merge_failed_says_so_not_that_it_merged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, merge: object) -> None:
    """The merge at the early end failed otherwise than by a refused write (which is held for the summary): the
    step only warns (harness.callbacks.finish_once), and the summary said 'the finished jobs are merged in
    SWEEP/runs.csv', a merge that did not happen. It says the step's warning now, in its place (exit 1)."""
    record = tmp_path / "0" / "records" / "mlp-numpy-seed0.json"
    said = {_unreadable_merge: (
        f"sweep tables not written: cannot read {record} (Input/output error (EIO)); make it readable, or move it "
        f"out of {record.parent}, then rebuild with python -m harness.sweep_merge {tmp_path} --no-report; the sweep's "
        f"runs.csv "
        f"and summary.csv in {tmp_path} are left as they were"),
        _failing_merge: f"sweep tables not written (RuntimeError: boom); rebuild with python -m harness.sweep_merge "
                        f"{tmp_path} --no-report"}[merge]  # report=false: the fix builds none
    assert _slurm_early_end(tmp_path, monkeypatch, merge, []) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: 1 of 2 jobs of the sweep did not finish: job 1 (SLURM 7_1) TIMEOUT; logs in "
        f"{tmp_path / '.submitit'}; {said}; finish the sweep with: python -m harness resume=true "
        f"hydra.sweep.dir={tmp_path}")


def test_ctrl_c_in_the_merge_of_a_slurm_early_end_names_the_jobs_that_did_not_finish(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Ctrl-C in the merge that comes before the summary of jobs that did not finish (under slurm and
    submitit_local alike: harness.submitit_launch.returns): the interrupted line, exit 130, names them too."""
    monkeypatch.setattr(harness.run, "FAILED_IN_JOBS", {})
    assert _slurm_early_end(tmp_path, monkeypatch, _interrupted_merge, []) == 130
    assert capsys.readouterr().err == (
        f"interrupted: 0 runs recorded (0 failed, 0 diverged) in {tmp_path}; the sweep's tables were not finished "
        f"(python -m harness.sweep_merge {tmp_path} --no-report rebuilds them); job 1 (SLURM 7_1) TIMEOUT; finish "
        f"with the same command and resume=true hydra.sweep.dir={tmp_path}\n")


def test_ctrl_c_while_waiting_for_slurm_ends_in_its_line_printed_last(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture) -> None:
    """Ctrl-C while the SLURM array runs: the line says the array goes on and how to merge later (under report=false,
    the tables alone: --no-report); no merge or report of a half-done array follows it."""
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from harness import callbacks, slurm_jobs
    from harness.__main__ import ends_in_one_line
    from harness.slurm_launcher import CleanEndSlurmLauncher
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "name": "x", "report": False})

    def merged(sweep_dir: Path, **kwargs: object) -> None:
        print("merged", file=sys.stderr)

    def interrupted(jobs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", merged)
    monkeypatch.setattr(slurm_jobs, "wait_for", interrupted)
    monkeypatch.setattr(callbacks, "_ARMED", [config])
    monkeypatch.setattr(sys, "argv", ["harness"])
    launcher = SimpleNamespace(config=config, _executor=lambda: None,
                               _submit=lambda *args: [SimpleNamespace(job_id="9_0")])
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        CleanEndSlurmLauncher.launch(launcher, [["seed=0"]], 0)
    callbacks.finish_armed()  # the at-exit fallback adds nothing either
    assert stop.value.code == 130
    assert capsys.readouterr().err == (
        f"interrupted: the SLURM array 9 goes on (scancel 9 stops it); merge what it finished with python -m "
        f"harness.sweep_merge {tmp_path} --no-report, or run what is missing with: python -m harness resume=true "
        f"hydra.sweep.dir={tmp_path}\n")


def _refused(sweep_dir: Path, **kwargs: object) -> None:
    from harness.write_failure import WriteFailed
    raise WriteFailed(Path(sweep_dir) / "runs.csv", OSError(28, "No space left on device"))


def _sweep_end(sweep: Path, monkeypatch: pytest.MonkeyPatch, rows: list[dict]) -> object:
    """The command's end of a sweep in this process (a fresh one: nothing stopped it yet), whose
    end-of-sweep merge the disk refuses and whose records are `rows`; returns the sweep's config."""
    from omegaconf import OmegaConf

    from harness import callbacks, write_failure
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}, "name": "x", "report": False})
    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", _refused)
    monkeypatch.setattr(harness.sweep_merge, "sweep_runs", lambda folder: pd.DataFrame(rows))
    monkeypatch.setattr(callbacks, "_ARMED", [config])
    monkeypatch.setattr(harness.run, "FAILED_IN_JOBS", {})
    monkeypatch.setattr(write_failure, "_stopped", [])
    return config


def _sweep_end_line(sweep: Path, config: object, capsys: pytest.CaptureFixture) -> str:
    """The sweep's end (its callback, inside the command's ends_in_one_line) stopped by the refused merge:
    what it printed, once it has exited 4."""
    from harness import callbacks
    from harness.__main__ import ends_in_one_line
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", sweep)):
        callbacks.SweepTables().on_multirun_end(config)
    assert stop.value.code == 4
    return capsys.readouterr().err


FAILED_ROWS = [{"job": "0", "impl": "mlp", "backend": "numpy", "seed": s, "status": status}
               for s, status in ((0, "ok"), (1, "failed"))]


def test_a_failed_write_in_the_merge_after_a_jobs_error_wins_exit_4(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A job's error (a crash, which Hydra ends without its callback) and a merge the disk refuses: the
    crash keeps its traceback (a bug to report), and the refused write wins as anywhere: its line,
    printed last, naming the crash, and exit 4."""
    from harness.__main__ import ends_in_one_line
    _sweep_end(tmp_path, monkeypatch, [])
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        raise RuntimeError("job crashed")
    assert stop.value.code == 4
    *trace, line = capsys.readouterr().err.splitlines()
    assert trace[0] == "Traceback (most recent call last):" and trace[-1] == "RuntimeError: job crashed"
    assert line == (
        f"error: the sweep's tables were not written (could not write {tmp_path / 'runs.csv'}: No space left on "
        f"device (ENOSPC)); a job raised RuntimeError: job crashed (its traceback is above); free space, then "
        f"rebuild with python -m harness.sweep_merge {tmp_path} --no-report")


BUSY = ("output folder {} is being written by another run (process 7 on node1, started 2026-01-01T10:00:00+00:00); "
        "wait for it to end, or choose another hydra.sweep.dir")


def test_a_failed_write_in_the_merge_after_a_jobs_refusal_wins_exit_4_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A job's refusal (bad input the job finds, exit 2: here its folder held by another run) and a merge the
    disk refuses: one line, not the refusal's and then the write's. The refused write wins (exit 4), as after
    a crash, and its line names the refusal with its reason, so nothing is hidden."""
    from harness.__main__ import ends_in_one_line
    from harness.folder_lock import FolderBusy
    from harness.precheck import refuse
    _sweep_end(tmp_path, monkeypatch, [])
    busy = BUSY.format(tmp_path / "1")
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        refuse(FolderBusy(busy))
    assert stop.value.code == 4
    assert capsys.readouterr().err.splitlines() == [
        f"error: the sweep's tables were not written (could not write {tmp_path / 'runs.csv'}: No space left on "
        f"device (ENOSPC)); a job was refused ({busy}); free space, then rebuild with python -m "
        f"harness.sweep_merge {tmp_path} --no-report"]


def test_a_jobs_refusal_without_a_refused_write_ends_in_its_own_line_printed_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """The refusal's line, held for the command's end, is still the one line (exit 2) when the end-of-sweep
    merge is written: printed once, after that merge, as every command's line is."""
    from harness.__main__ import ends_in_one_line
    from harness.folder_lock import FolderBusy
    from harness.precheck import refuse
    _sweep_end(tmp_path, monkeypatch, [])
    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", lambda sweep_dir, **kwargs: sys.stderr.write("merged\n"))
    busy = BUSY.format(tmp_path / "1")
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        refuse(FolderBusy(busy))
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == ["merged", f"error: {busy}"]


def _interrupted_merge(sweep_dir: Path, **kwargs: object) -> None:
    raise KeyboardInterrupt


def _interrupted_after_the_tables(sweep_dir: Path, merged: list, **kwargs: object) -> None:
    merged.append(True)  # as finish_sweep marks its tables written
    raise KeyboardInterrupt


@pytest.mark.parametrize("ended", ["refusal", "crash"])
def test_ctrl_c_in_the_merge_after_a_jobs_refusal_or_error_ends_in_the_interrupted_line_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, ended: str) -> None:
    """Ctrl-C during the end-of-sweep merge that follows a job's refusal (or real error) is not lost: Ctrl-C's
    line wins, as it does over a refused write (which wins over a refusal or an error), so one line, exit 130,
    names the refusal (or the error, whose traceback comes first), what the merge left undone with the command
    that rebuilds it, and how to finish; not the refusal's line alone (exit 2) or the error's traceback alone
    (exit 1)."""
    from harness.__main__ import ends_in_one_line
    from harness.folder_lock import FolderBusy
    from harness.precheck import refuse
    _sweep_end(tmp_path, monkeypatch, [])
    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", _interrupted_merge)
    busy = BUSY.format(tmp_path / "1")
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        if ended == "refusal":
            refuse(FolderBusy(busy))
        raise RuntimeError("job crashed")
    assert stop.value.code == 130
    *trace, line = capsys.readouterr().err.splitlines()
    said = f"a job was refused ({busy})"
    if ended == "crash":
        assert trace[0] == "Traceback (most recent call last):" and trace[-1] == "RuntimeError: job crashed"
        said = "a job raised RuntimeError: job crashed (its traceback is above)"
    else:
        assert trace == []
    assert line == (
        f"interrupted: 0 runs recorded (0 failed, 0 diverged) in {tmp_path}; {said}; the sweep's tables were not "
        f"finished (python -m harness.sweep_merge {tmp_path} --no-report rebuilds them); finish with the same "
        f"command and resume=true hydra.sweep.dir={tmp_path}")


@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local"])
def test_a_jobs_refusal_and_a_refused_end_of_sweep_merge_end_in_one_line(
        holder, tmp_path: Path, data_root: Path, launcher: str) -> None:  # noqa: F811
    """The command itself, under the in-process launcher and the worker launchers: job 1's folder is held by
    another run (the job refuses it, exit 2) and the end-of-sweep merge is refused: one line (not Hydra's
    "Error executing job" line, not the job's own), exit 4, naming the refusal."""
    sweep = tmp_path / "sweep"
    other = holder(sweep / "1")
    process = command([*SWEEP, f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep}"], tmp_path,
                      data_root, MLP_BENCH_TEST_FULL_AT_END="1")
    code, lines, everything = ended(process)
    assert code == 4, everything[-3000:]
    assert len(lines) == 1, everything[-3000:]
    head, started, tail = lines[0].partition(", started ")
    assert head == (f"error: the sweep's tables were not written (could not write {sweep / 'runs.csv'}: No space "
                    f"left on device (ENOSPC)); a job was refused (output folder {(sweep / '1').resolve()} is being "
                    f"written by another run (process {other.pid} on {socket.gethostname()}")
    assert started and tail.endswith(f"); wait for it to end, or choose another hydra.sweep.dir); free space, then "
                                     f"rebuild with python -m harness.sweep_merge {sweep}")
    assert "Traceback" not in everything and "Error executing job" not in everything
    assert list((sweep / "0" / "records").glob("*.json")) and not (sweep / "1" / "records").exists()


def test_a_refusal_in_a_submitit_local_job_ends_in_its_one_line(holder, tmp_path: Path,  # noqa: F811
                                                                  data_root: Path) -> None:
    """A job in a submitit_local worker that refuses (its folder held by another run) ends the command in the
    refusal's one line, exit 2, as under the other launchers: not in submitit's "has not produced any
    output" traceback (exit 1), which an exit inside the worker gave."""
    sweep = tmp_path / "sweep"
    other = holder(sweep / "1")
    process = command([*SWEEP, "hydra/launcher=submitit_local", f"hydra.sweep.dir={sweep}"], tmp_path, data_root)
    code, lines, everything = ended(process)
    assert code == 2, everything[-3000:]
    assert len(lines) == 1 and lines[0].startswith(
        f"error: output folder {(sweep / '1').resolve()} is being written by another run (process {other.pid} on "), \
        everything[-3000:]
    assert lines[0].endswith("; wait for it to end, or choose another hydra.sweep.dir")
    assert "Traceback" not in everything and "Error executing job" not in everything
    assert len(pd.read_csv(sweep / "runs.csv")) == 2  # job 0's runs, merged at the sweep's end


@pytest.mark.parametrize("launcher, refused, full", [
    ("joblib", "0", "1@0.01"), ("joblib", "1", "0@0.1"), ("submitit_local", "0", "1@0.01")],
    ids=["joblib, refusal first", "joblib, write first", "submitit_local, refusal first"])
def test_a_jobs_refused_write_wins_over_another_jobs_refusal_whatever_their_order(
        holder, tmp_path: Path, data_root: Path, launcher: str, refused: str, full: str) -> None:  # noqa: F811
    """Under a worker launcher every job runs, and Hydra raises only the first failed job's end, in job order:
    job 0's refusal (its folder held by another run) hid job 1's refused write (exit 2, the write unsaid), and
    job 0's refused write did not name job 1's refusal. The refused write wins, as the sweep end's does
    (callbacks.say_held): its one line, naming the refusal, exit 4."""
    sweep = tmp_path / "sweep"
    other = holder(sweep / refused)
    seed, job = full.split("@")[0], "1" if refused == "0" else "0"
    process = command([*SWEEP, f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep}"], tmp_path, data_root,
                      MLP_BENCH_TEST_DISK_FULL_AT=full)
    code, lines, everything = ended(process)
    assert code == 4, everything[-3000:]
    assert len(lines) == 1, everything[-3000:]
    head, started, tail = lines[0].partition(", started ")
    assert head == (f"error: could not write records/mlp-numpy-seed{seed}.json in {sweep / job}: No space left on "
                    f"device (ENOSPC); a job was refused (output folder {(sweep / refused).resolve()} is being "
                    f"written by another run (process {other.pid} on {socket.gethostname()}")
    assert started and tail.endswith("); wait for it to end, or choose another hydra.sweep.dir); free space, then "
                                     f"finish with the same command and resume=true hydra.sweep.dir={sweep}")
    assert "Traceback" not in everything and "Error executing job" not in everything


def _launch_ended(*ends: BaseException) -> None:
    """What Hydra's sweeper does with a worker launcher's jobs (hydra BasicSweeper.sweep): every job has run and
    returned; it raises the first failed job's exception, in job order."""
    from hydra.core.utils import JobReturn, JobStatus
    results = [JobReturn(status=JobStatus.FAILED, _return_value=end) for end in ends]
    for result in results:
        _ = result.return_value


def test_a_jobs_refused_write_wins_over_another_jobs_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Job 0 of a worker launcher crashed (a bug), job 1's write was refused: the crash's traceback alone, exit 1,
    left the refused write unsaid. As at the sweep's end: the crash's traceback, then the write's line naming the
    crash, printed last, exit 4."""
    from harness import write_failure
    from harness.__main__ import failed_writes_in_one_line
    then = f"finish with the same command and resume=true hydra.sweep.dir={tmp_path}"
    written = (f"error: could not write records/mlp-numpy-seed1.json in {tmp_path / '1'}: No space left on device "
               f"(ENOSPC){write_failure.FREE_SPACE}{then}")
    monkeypatch.setattr(write_failure, "_stopped", [])
    with pytest.raises(SystemExit) as stop, failed_writes_in_one_line(("hydra.sweep.dir", tmp_path)):
        _launch_ended(RuntimeError("job crashed"), write_failure.JobStopped(written))
    assert stop.value.code == 4
    *said, line = capsys.readouterr().err.splitlines()
    assert said[-1] == "RuntimeError: job crashed" and not any(s.startswith("Error executing job") for s in said)
    assert line == (f"error: could not write records/mlp-numpy-seed1.json in {tmp_path / '1'}: No space left on "
                    f"device (ENOSPC); a job raised RuntimeError: job crashed (its traceback is above); free space, "
                    f"then {then}")



CRASHED = "a job raised RuntimeError: job crashed at learning rate 0.1 (its traceback is above)"


def _crash_traced_then(lines: list[str], everything: str) -> str:
    """The command's last line, once the lines before it are job 0's crash (MLP_BENCH_TEST_CRASH_AT=0.1), one
    traceback, whole: it is never hidden."""
    *trace, line = lines
    assert trace and trace[0] == "Traceback (most recent call last):", everything[-3000:]
    assert trace[-1] == "RuntimeError: job crashed at learning rate 0.1", everything[-3000:]
    assert everything.count("Traceback") == 1 and "Error executing job" not in everything
    return line


@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=1"]],
                         ids=["basic", "joblib in the command's process"])
@pytest.mark.parametrize("later", ["refusal", "refused write", "refusal and a refused end-of-sweep merge"])
def test_a_basic_launchers_crashed_job_is_named_by_a_later_jobs_end(
        holder, tmp_path: Path, data_root: Path, later: str, launcher: list[str]) -> None:  # noqa: F811
    """Under the basic launcher (one job after another in the command's process) job 0 crashed (a bug): Hydra keeps
    its error in its list of the jobs' returns and runs job 1, whose end then went up without it: job 1's folder
    held by another run ended in the refusal's line alone (exit 2), its refused record write in the write's line
    alone (exit 4), with no traceback and no word of the crash. Now the crash's traceback comes first and the line
    that wins, printed last, names it, as a worker launcher's ends do; the exit is the one it was. joblib with one
    job at a time runs them in the command's process too, and holds no list of the returns while they run: there
    the crash was hidden again (harness.callbacks.SweepTables.on_job_end keeps it now)."""
    sweep = tmp_path / "sweep"
    faults = {"MLP_BENCH_TEST_CRASH_AT": "0.1"}
    if "refusal" in later:
        other = holder(sweep / "1")
    if later == "refused write":
        faults["MLP_BENCH_TEST_DISK_FULL_AT"] = "1@0.01"
    if "merge" in later:
        faults["MLP_BENCH_TEST_FULL_AT_END"] = "1"
    code, lines, everything = ended(command([*SWEEP, *launcher, f"hydra.sweep.dir={sweep}"], tmp_path, data_root,
                                            **faults))
    line = _crash_traced_then(lines, everything)
    if later == "refused write":
        assert code == 4, everything[-3000:]
        assert line == (f"error: could not write records/mlp-numpy-seed1.json in {sweep / '1'}: No space left on "
                        f"device (ENOSPC); {CRASHED}; free space, then finish with the same command and resume=true "
                        f"hydra.sweep.dir={sweep}")
        return
    busy = (f"output folder {(sweep / '1').resolve()} is being written by another run (process {other.pid} on "
            f"{socket.gethostname()}")
    head, started, tail = line.partition(", started ")
    fix = "); wait for it to end, or choose another hydra.sweep.dir"
    if later == "refusal":
        assert code == 2, everything[-3000:]
        assert head == f"error: {busy}" and started and tail.endswith(f"{fix}; {CRASHED}")
        return
    assert code == 4, everything[-3000:]
    assert head == (f"error: the sweep's tables were not written (could not write {sweep / 'runs.csv'}: No space "
                    f"left on device (ENOSPC)); a job was refused ({busy}")
    assert started and tail.endswith(f"{fix}); {CRASHED}; free space, then rebuild with python -m harness.sweep_merge "
                                     f"{sweep}")


def test_ctrl_c_in_a_basic_launchers_job_after_another_jobs_crash_names_the_crash(tmp_path: Path,
                                                                                 data_root: Path) -> None:
    """Under the basic launcher job 0 crashed and Ctrl-C came in job 1: the interrupted line (exit 130) said job 1's
    records and how to finish, not the crash Hydra kept in its list. Now the crash's traceback comes first and the
    interrupted line names it."""
    sweep = tmp_path / "sweep"
    process = command([*SWEEP, f"hydra.sweep.dir={sweep}"], tmp_path, data_root, MLP_BENCH_TEST_CRASH_AT="0.1",
                      MLP_BENCH_TEST_SLOW_SEED="1")
    deadline = time.monotonic() + 120
    while not list(sweep.glob("1/records/*.json")):  # seed 0 of job 1; its seed 1 sleeps
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-3000:]
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    code, lines, everything = ended(process, timeout=120)
    assert code == 130, everything[-3000:]
    assert _crash_traced_then(lines, everything) == (
        f"interrupted: 1 runs recorded (0 failed, 0 diverged) in {sweep}; {CRASHED}; finish with the same command "
        f"and resume=true hydra.sweep.dir={sweep}")


def test_a_refused_end_of_sweep_merge_names_every_failed_job_of_a_worker_launch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A worker launcher's job 0 crashed and its job 1 refused (every job ran; Hydra raises job 0's crash alone),
    then the end-of-sweep merge is refused: the write's line, which wins (exit 4), named the crash and not the
    refusal. It names both now, the crash after its traceback, as a refused write of a job names them
    (failed_beside, one rule for both); the refusal, which ranks above the crash, first."""
    from harness.__main__ import ends_in_one_line, failed_writes_in_one_line
    from harness.precheck import JobRefused
    _sweep_end(tmp_path, monkeypatch, [])
    busy = BUSY.format(tmp_path / "1")
    folder = ("hydra.sweep.dir", tmp_path)
    with pytest.raises(SystemExit) as stop, ends_in_one_line(folder), failed_writes_in_one_line(folder):
        _launch_ended(RuntimeError("job crashed"), JobRefused(busy))
    assert stop.value.code == 4
    *trace, line = capsys.readouterr().err.splitlines()
    assert trace[-1] == "RuntimeError: job crashed"
    assert line == (
        f"error: the sweep's tables were not written (could not write {tmp_path / 'runs.csv'}: No space left on "
        f"device (ENOSPC)); a job was refused ({busy}); a job raised RuntimeError: job crashed (its traceback is "
        f"above); free space, then rebuild with python -m harness.sweep_merge {tmp_path} --no-report")

def test_a_refused_write_after_a_jobs_error_names_the_failed_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """The refused write's line that ends the command also names the failed runs of the sweep's jobs."""
    from harness.__main__ import ends_in_one_line
    _sweep_end(tmp_path, monkeypatch, FAILED_ROWS)
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        raise RuntimeError("job crashed")
    assert stop.value.code == 4
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: the sweep's tables were not written (could not write {tmp_path / 'runs.csv'}: No space left on "
        f"device (ENOSPC)); a job raised RuntimeError: job crashed (its traceback is above); 1 run(s) failed in "
        f"{tmp_path}: 0/mlp-numpy-seed1.json (errors in their records); free space, then rebuild with python -m "
        f"harness.sweep_merge {tmp_path} --no-report")


def test_a_refused_write_at_the_sweeps_end_names_the_failed_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Every job returned (runs failed), then the end-of-sweep merge is refused: exit 4, one line, which
    names the failed runs as the failed-runs line it replaces would have."""
    config = _sweep_end(tmp_path, monkeypatch, FAILED_ROWS)
    assert _sweep_end_line(tmp_path, config, capsys) == (
        f"error: could not write runs.csv in {tmp_path}: No space left on device (ENOSPC); 1 run(s) failed in "
        f"{tmp_path}: 0/mlp-numpy-seed1.json (errors in their records); free space, then rebuild with python -m "
        f"harness.sweep_merge {tmp_path} --no-report\n")


def test_a_single_runs_refused_write_names_its_failed_runs(fake_mlp, tmp_path: Path, data_root: Path,  # noqa: F811
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture) -> None:
    """A single run too: seed 0 fails, seed 1's record is refused by a full disk; exit 4, and the one
    line names the failed run it would have named without the refused write."""
    from harness import write_failure
    from harness.__main__ import ends_in_one_line
    real = os.replace

    def full(src: str, dst: str) -> None:
        if os.fspath(dst).endswith("mlp-numpy-seed1.json"):
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(write_failure, "_stopped", [])
    monkeypatch.setattr(os, "replace", full)
    fake_mlp({0: "fail"})
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.run.dir", tmp_path)):
        run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    assert stop.value.code == 4
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: could not write records/mlp-numpy-seed1.json in {tmp_path}: No space left on device (ENOSPC); "
        f"1 run(s) failed in {tmp_path}: mlp-numpy-seed0.json (errors in their records); free space, then finish "
        f"with resume=true hydra.run.dir={tmp_path}")


def test_a_refused_write_says_when_the_records_cannot_be_counted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A refused write's line (exit 4) on a failing disk, whose records cannot be read: it says that the
    records could not be counted, as the failed-runs line it replaces would, not nothing (which reads as
    no run failed)."""
    config = _sweep_end(tmp_path, monkeypatch, [])
    monkeypatch.setattr(harness.sweep_merge, "sweep_runs", _unreadable)
    assert _sweep_end_line(tmp_path, config, capsys) == (
        f"error: could not write runs.csv in {tmp_path}: No space left on device (ENOSPC); the records in "
        f"{tmp_path} could not be counted (OSError: [Errno 5] Input/output error); free space, then rebuild with "
        f"python -m harness.sweep_merge {tmp_path} --no-report\n")


def test_a_refused_write_names_the_failed_runs_this_processs_jobs_saw(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A failed run a job of this process recorded (end_sweep_job keeps it, FAILED_IN_JOBS) but not (yet)
    among the folder's records is named by the refused write's line too."""
    from harness.sweep import Outcome
    config = _sweep_end(tmp_path, monkeypatch, [])
    (tmp_path / "1").mkdir()
    harness.run.end_sweep_job(Outcome(failed=["mlp-numpy-seed1.json"]), tmp_path / "1", tmp_path)
    assert _sweep_end_line(tmp_path, config, capsys) == (
        f"error: could not write runs.csv in {tmp_path}: No space left on device (ENOSPC); 1 run(s) failed in "
        f"{tmp_path}: 1/mlp-numpy-seed1.json (errors in their records); free space, then rebuild with python -m "
        f"harness.sweep_merge {tmp_path} --no-report\n")


def test_the_held_merge_failure_splits_where_every_failed_write_says_how_to_finish(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """The held step of a refused sweep-end merge says how to finish in write_failure.FREE_SPACE's words,
    where stop_with puts what else ended the command before them: with other words there (a wording
    change), the job's error still comes before how to finish, not after it."""
    from harness import write_failure
    from harness.__main__ import ends_in_one_line
    other = "; once there is room, "
    monkeypatch.setattr(write_failure, "FREE_SPACE", other)
    _sweep_end(tmp_path, monkeypatch, [])
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        raise RuntimeError("job crashed")
    assert stop.value.code == 4
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: the sweep's tables were not written (could not write {tmp_path / 'runs.csv'}: No space left on "
        f"device (ENOSPC)); a job raised RuntimeError: job crashed (its traceback is above){other}rebuild with "
        f"python -m harness.sweep_merge {tmp_path} --no-report")


def test_a_refusal_without_a_message_still_ends_in_one_line(capsys: pytest.CaptureFixture) -> None:
    """An error raised with no text (a slip in a check) is still refused in one line, exit 2, naming its
    kind, not an IndexError traceback."""
    from harness.precheck import refuse
    with pytest.raises(SystemExit) as stop:
        refuse(ValueError("  "))
    assert stop.value.code == 2
    assert capsys.readouterr().err == "error: ValueError\n"


def _sweep_of_records(results: Path) -> Path:
    """A sweep of two jobs (seeds 0 and 1 each, all ok) in Hydra's layout under `results`, beside another run of
    its experiment, as its jobs leave it: their records and the sweep's tables each job's merge wrote."""
    from harness.records import write_record
    sweep = results.resolve() / "titanic_sgd" / "multirun" / "2026-01-01_00-00-00"

    def record(seed: int) -> dict:
        return dict(experiment="titanic_sgd", impl="mlp", backend="numpy", dataset="titanic", seed=seed,
                    status="ok", fit_seconds=1.0 + seed, test_accuracy=0.8)
    for job in ("0", "1"):
        for seed in (0, 1):
            write_record(sweep / job, record(seed))
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    write_record(results.resolve() / "titanic_sgd" / "2026-01-02_00-00-00", record(0))
    harness.sweep_merge.merge_sweep(sweep)
    return sweep


def _linked_to_nothing(path: Path) -> str:
    """`path`, a record, made a link to nothing (a volume not mounted here); the OS's words for reading it."""
    path.unlink()
    path.symlink_to("/nonexistent")
    return "No such file or directory (ENOENT)"


def _sweep_tables(sweep: Path) -> dict[str, bytes]:
    return {name: (sweep / name).read_bytes() for name in ("runs.csv", "summary.csv")}


def _sweep_end_of(sweep: Path, monkeypatch: pytest.MonkeyPatch, report: bool) -> object:
    """The config of a sweep in `sweep` whose jobs have all returned, in a fresh process (nothing stopped it yet)."""
    from omegaconf import OmegaConf

    from harness import callbacks, write_failure
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}, "name": "titanic_sgd", "report": report})
    monkeypatch.setattr(callbacks, "_ARMED", [config])
    monkeypatch.setattr(harness.run, "FAILED_IN_JOBS", {})
    monkeypatch.setattr(write_failure, "_stopped", [])
    return config


def _warned(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelname == "WARNING"]


def test_a_record_the_sweeps_end_cannot_read_is_said_in_its_words_and_the_command_ends_as_it_would(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        caplog: pytest.LogCaptureFixture) -> None:
    """A record of the sweep the end-of-sweep merge cannot read (readable when its job tabled it: a disk that
    failed since): the warning said resume's line ('sweep tables not written (UnreadableRecord: resume: ... to
    run it again, then run the command again)'), and so did the command's end, which counts the records. The
    warning now says the sweep end's fix, the sweep_merge command; it stays a warning, as in a run's own report
    (the runs are recorded, the tables are rebuilt from them), and the command ends as it would with records it
    cannot count: exit 1, its one line naming the file without resume's fix. The tables are left as they were."""
    from harness import callbacks
    from harness.__main__ import ends_in_one_line
    sweep = _sweep_of_records(tmp_path / "results")
    config = _sweep_end_of(sweep, monkeypatch, report=False)
    path = sweep / "1" / "records" / "mlp-numpy-seed0.json"
    why = _linked_to_nothing(path)
    before = _sweep_tables(sweep)
    with caplog.at_level("WARNING"), pytest.raises(SystemExit) as stop, \
            ends_in_one_line(("hydra.sweep.dir", sweep)):
        callbacks.SweepTables().on_multirun_end(config)
    assert stop.value.code == 1
    assert _warned(caplog, "harness.callbacks") == [
        f"sweep tables not written: cannot read {path} ({why}); make it readable, or move it out of {path.parent}, "
        f"then rebuild with python -m harness.sweep_merge {sweep} --no-report; the sweep's runs.csv and summary.csv "
        f"in {sweep} "
        "are left as they were"]
    assert capsys.readouterr().err == (
        f"error: the records in {sweep} could not be counted (cannot read {path} ({why})), so whether runs failed "
        f"is not known; python -m harness.sweep_merge {sweep} --no-report tables them once they can be read\n")
    assert _sweep_tables(sweep) == before and path.is_symlink()


def test_a_record_only_the_sweeps_report_cannot_read_is_a_warning_in_its_words(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        caplog: pytest.LogCaptureFixture) -> None:
    """One elsewhere under the results folder the sweep's report covers: the tables are written, the report is
    not; a warning in the sweep end's words (not 'sweep tables not written' in resume's), and the command ends
    as it would: every run of the sweep is recorded and counted, none failed, exit 0."""
    from harness import callbacks
    from harness.__main__ import ends_in_one_line
    results = tmp_path / "results"
    sweep = _sweep_of_records(results)
    config = _sweep_end_of(sweep, monkeypatch, report=True)
    path = results.resolve() / "titanic_sgd" / "2026-01-02_00-00-00" / "records" / "mlp-numpy-seed0.json"
    why = _linked_to_nothing(path)
    with caplog.at_level("WARNING"), ends_in_one_line(("hydra.sweep.dir", sweep)):
        callbacks.SweepTables().on_multirun_end(config)
    assert _warned(caplog, "harness.callbacks") == [
        f"sweep report not built: cannot read {path} ({why}); make it readable, or move it out of {path.parent}, "
        f"then rebuild with python -m harness.sweep_merge {sweep}; the previous report in "
        f"{results.resolve() / 'report'} is left as it was"]
    assert capsys.readouterr().err == ""
    assert len(pd.read_csv(sweep / "runs.csv")) == 4 and not (results / "report").exists()


def test_a_record_a_jobs_merge_or_a_reruns_sweep_end_cannot_read_is_said_in_the_sweeps_words(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The job's own merge into the sweep's tables, and the end of a rerun's sweep (python -m harness.rerun), warn
    as the sweep's end does, in its words: both said resume's line ('UnreadableRecord: resume: ...')."""
    from omegaconf import OmegaConf

    from harness import rerun
    sweep = _sweep_of_records(tmp_path / "results")
    path = sweep / "0" / "records" / "mlp-numpy-seed1.json"
    why = _linked_to_nothing(path)
    def fix(no_report: str) -> str:
        return (f"cannot read {path} ({why}); make it readable, or move it out of {path.parent}, then rebuild with "
                f"python -m harness.sweep_merge {sweep}{no_report}; the sweep's runs.csv and summary.csv in {sweep} "
                "are left as they were")
    with caplog.at_level("WARNING"):
        harness.run.merge_into_sweep(sweep, "finish with resume=true")
    assert _warned(caplog, "harness.run") == [f"sweep tables not refreshed: {fix('')}"]
    caplog.clear()
    with caplog.at_level("WARNING"):  # a job of a sweep without a report (report=false)
        harness.run.merge_into_sweep(sweep, "finish with resume=true", report=False)
    assert _warned(caplog, "harness.run") == [f"sweep tables not refreshed: {fix(' --no-report')}"]
    with caplog.at_level("WARNING"):
        rerun.end_sweep(sweep, OmegaConf.create({"name": "titanic_sgd", "report": False}))
    assert _warned(caplog, "harness.rerun") == [f"sweep tables not written: {fix(' --no-report')}"]  # report=false


def test_ctrl_c_after_the_merge_of_a_slurm_early_end_still_names_its_refused_write_and_jobs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Ctrl-C after the early end's merge, while its summary counts the records (seconds on a large sweep):
    the merge's refused write and the jobs that did not finish, taken out for that summary, are said in the
    interrupted line, not lost with it (exit 130)."""
    from harness.write_failure import WriteFailed

    def full(sweep_dir: Path, **kwargs: object) -> None:
        raise WriteFailed(Path(sweep_dir) / "runs.csv", OSError(28, "No space left on device"))

    real = harness.run.count_records
    calls: list[int] = []

    def interrupted_once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(harness.run, "count_records", interrupted_once)
    monkeypatch.setattr(harness.run, "FAILED_IN_JOBS", {})
    assert _slurm_early_end(tmp_path, monkeypatch, full, []) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("interrupted: ")
    assert (f"the sweep's tables were not written (could not write {tmp_path / 'runs.csv'}: No space left on device "
            f"(ENOSPC)); free space, then rebuild with python -m harness.sweep_merge {tmp_path}") in err
    assert "job 1 (SLURM 7_1) TIMEOUT" in err


def _report_fails(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """The sweep end's report step (harness.reporting.build_report, after the merge wrote the tables) raises `error`."""
    def fails(*args: object, **kwargs: object) -> None:
        raise error
    monkeypatch.setattr(harness.reporting, "build_report", fails)


def test_a_report_that_fails_after_the_sweeps_tables_are_written_says_the_report_failed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        caplog: pytest.LogCaptureFixture) -> None:
    """The end-of-sweep merge wrote runs.csv and summary.csv, then the report failed (a figure it cannot draw): the
    warning said 'sweep tables not written (...)', false, as they are on disk. It says the report failed, that
    the tables are written, where, and how to build the report again; the command ends as it would (exit 0)."""
    from harness import callbacks
    from harness.__main__ import ends_in_one_line
    sweep = _sweep_of_records(tmp_path / "results")
    (sweep / "runs.csv").unlink()
    config = _sweep_end_of(sweep, monkeypatch, report=True)
    _report_fails(monkeypatch, ValueError("cannot draw the figure"))
    with caplog.at_level("WARNING"), ends_in_one_line(("hydra.sweep.dir", sweep)):
        callbacks.SweepTables().on_multirun_end(config)
    assert _warned(caplog, "harness.callbacks") == [
        f"sweep report not built (ValueError: cannot draw the figure); the sweep's runs.csv and summary.csv are "
        f"written in {sweep}; rebuild it with python -m harness.sweep_merge {sweep}"]
    assert capsys.readouterr().err == ""
    assert len(pd.read_csv(sweep / "runs.csv")) == 4 and (sweep / "summary.csv").is_file()


def _merged_then(error: Exception) -> object:
    """A finish_sweep that writes the tables (says so in `merged`), then fails in the report with `error`."""
    def merge(sweep_dir: Path, merged: list[bool], **kwargs: object) -> None:
        merged.append(True)
        raise error
    return merge


def test_a_slurm_early_end_whose_report_failed_after_the_merge_says_the_tables_are_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        caplog: pytest.LogCaptureFixture) -> None:
    """The early end's merge wrote the tables and its report failed: the summary says they are merged (it did),
    and the warning before it no longer says 'sweep tables not written'."""
    with caplog.at_level("WARNING"):
        assert _slurm_early_end(tmp_path, monkeypatch, _merged_then(RuntimeError("boom")), []) == 1
    assert _warned(caplog, "harness.callbacks") == [  # report=false: no report was to be built, the fix builds none
        f"sweep end failed after its tables were written (RuntimeError: boom); the sweep's runs.csv and summary.csv "
        f"are written in {tmp_path}; redo the step with python -m harness.sweep_merge {tmp_path} --no-report"]
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: 1 of 2 jobs of the sweep did not finish: job 1 (SLURM 7_1) TIMEOUT; logs in "
        f"{tmp_path / '.submitit'}; the finished jobs are merged in {tmp_path / 'runs.csv'}; finish the sweep "
        f"with: python -m harness resume=true hydra.sweep.dir={tmp_path}")


def _report_refused(sweep: Path) -> object:
    from harness.write_failure import WriteFailed
    return _merged_then(WriteFailed(sweep / "report" / "index.html", OSError(28, "No space left on device"),
                                    kept=f"the previous report in {sweep / 'report'} is left as it was"))


def test_a_slurm_early_ends_refused_report_write_says_the_tables_are_written_exit_4(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A write the disk refused in the report, after the merge wrote the tables: the summary said 'the sweep's
    tables were not written (could not write .../report/index.html ...)'. It says the report was not written and
    the tables are; the refused write still wins (exit 4)."""
    assert _slurm_early_end(tmp_path, monkeypatch, _report_refused(tmp_path), []) == 4
    assert capsys.readouterr().err == (
        f"error: 1 of 2 jobs of the sweep did not finish: job 1 (SLURM 7_1) TIMEOUT; logs in "
        f"{tmp_path / '.submitit'}; the sweep's report was not written (could not write "
        f"{tmp_path / 'report' / 'index.html'}: No space left on device (ENOSPC)); the sweep's runs.csv and "
        f"summary.csv are written in {tmp_path}; free space, then rebuild with python -m harness.sweep_merge "
        f"{tmp_path} --no-report; finish the sweep with: python -m harness resume=true hydra.sweep.dir={tmp_path}\n")


def test_a_refused_report_write_after_a_jobs_error_says_the_tables_are_written_exit_4(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A job's error, then the sweep's end (finish_armed) whose report the disk refused after its merge: the held
    write's line, printed last, exit 4 (harness.callbacks.say_held), says the report, not the tables, failed."""
    from harness.__main__ import ends_in_one_line
    _sweep_end(tmp_path, monkeypatch, [])
    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", _report_refused(tmp_path))
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        raise RuntimeError("job crashed")
    assert stop.value.code == 4
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: the sweep's report was not written (could not write {tmp_path / 'report' / 'index.html'}: No space "
        f"left on device (ENOSPC)); the sweep's runs.csv and summary.csv are written in {tmp_path}; a job raised "
        f"RuntimeError: job crashed (its traceback is above); free space, then rebuild with python -m "
        f"harness.sweep_merge {tmp_path} --no-report")


@pytest.mark.parametrize("merge", [_refused, _interrupted_merge, _interrupted_after_the_tables],
                         ids=["a refused write", "Ctrl-C", "Ctrl-C after the tables"])
def test_a_sweep_without_a_report_is_told_to_rebuild_its_tables_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, merge: object) -> None:
    """report=false: the end-of-sweep step's refused write, held for Ctrl-C's line, and Ctrl-C in the step gave
    `python -m harness.sweep_merge DIR` as the fix, which builds a report the sweep did not ask for. The fix now
    rebuilds the tables alone (--no-report), as the step's warnings already said."""
    from harness.__main__ import ends_in_one_line
    _sweep_end(tmp_path, monkeypatch, [])  # report=false
    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", merge)
    with pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        raise KeyboardInterrupt
    assert stop.value.code == 130
    left = {_refused: f"the sweep's tables were not written (could not write {tmp_path / 'runs.csv'}: No space left "
                      f"on device (ENOSPC)); free space, then rebuild with python -m harness.sweep_merge {tmp_path} "
                      "--no-report",
            _interrupted_merge: f"the sweep's tables were not finished (python -m harness.sweep_merge {tmp_path} "
                                "--no-report rebuilds them)",
            _interrupted_after_the_tables: ""}[merge]  # no report asked, the tables written: nothing left undone
    assert capsys.readouterr().err == (
        f"interrupted: 0 runs recorded (0 failed, 0 diverged) in {tmp_path}; {left + '; ' if left else ''}finish "
        f"with the same command and resume=true hydra.sweep.dir={tmp_path}\n")


def test_a_reruns_sweep_without_a_report_is_told_to_rebuild_its_tables_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        caplog: pytest.LogCaptureFixture) -> None:
    """The end of a rerun's sweep whose config says report=false: a refused write (exit 4) and a failure after the
    tables gave `python -m harness.sweep_merge DIR`, which builds a report; the fix now carries --no-report."""
    from omegaconf import OmegaConf

    from harness import rerun, write_failure
    monkeypatch.setattr(write_failure, "_stopped", [])
    cfg = OmegaConf.create({"name": "titanic_sgd", "report": False})
    monkeypatch.setattr(rerun, "finish_sweep", _refused)
    with pytest.raises(SystemExit) as stop:
        rerun.end_sweep(tmp_path, cfg)
    assert stop.value.code == 4
    assert capsys.readouterr().err == (
        f"error: could not write runs.csv in {tmp_path}: No space left on device (ENOSPC); free space, then rebuild "
        f"with python -m harness.sweep_merge {tmp_path} --no-report\n")
    monkeypatch.setattr(rerun, "finish_sweep", _merged_then(RuntimeError("boom")))
    with caplog.at_level("WARNING"):
        rerun.end_sweep(tmp_path, cfg)
    assert _warned(caplog, "harness.rerun") == [
        f"sweep end failed after its tables were written (RuntimeError: boom); the sweep's runs.csv and summary.csv "
        f"are written in {tmp_path}; redo the step with python -m harness.sweep_merge {tmp_path} --no-report"]


def test_sweep_merge_without_a_report_says_to_run_itself_again_without_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """`python -m harness.sweep_merge DIR --no-report` stopped by a refused write told to run it again without
    --no-report, which would build the report it was asked not to; its line now gives the command as it was run."""
    from harness import write_failure
    sweep = _sweep_of_records(tmp_path / "results")
    monkeypatch.setattr(write_failure, "_stopped", [])
    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", _refused)
    with pytest.raises(SystemExit) as stop:
        harness.sweep_merge.main([str(sweep), "--no-report"])
    assert stop.value.code == 4
    assert capsys.readouterr().err == (
        f"error: could not write runs.csv in {sweep}: No space left on device (ENOSPC); free space, then run python "
        f"-m harness.sweep_merge {sweep} --no-report again\n")
