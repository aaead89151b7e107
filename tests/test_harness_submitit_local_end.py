"""How a sweep under hydra/launcher=submitit_local ends when a job's process or its controller is killed, when
Ctrl-C comes while a job starts or runs, and when launcher `setup` lines run the controller through a shell: the
job stops as on Ctrl-C, nothing runs on unwatched, and the command ends in its one line. Faults come from
tests/run_fault_hook; a job's own process is played in-process or by small stand-in scripts."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest

import harness.run
import harness.sweep_merge
from test_harness_command_end import SWEEP, _processes_under, _until_seed_0_recorded, command, ended


def _job_process(sweep: Path, job: str) -> tuple[int, str]:
    """The process of a submitit_local sweep's `job` (the one holding its folder's lock) and its submitit job id."""
    lock = str(sweep / job / ".writer.lock")
    for proc in Path("/proc").iterdir():
        try:
            if b"submitit.core._submit" in (proc / "cmdline").read_bytes() and any(
                    os.readlink(fd) == lock for fd in (proc / "fd").iterdir()):
                environ = dict(v.split(b"=", 1) for v in (proc / "environ").read_bytes().split(b"\0") if b"=" in v)
                return int(proc.name), environ[b"SUBMITIT_LOCAL_JOB_ID"].decode()
        except OSError:
            continue
    raise AssertionError(f"no process of job {job} in {sweep}")


LOST = "ended without a result (killed, e.g. out of memory, or exited outside the job)"
CONTROLLER_KILLED = "stopped as on Ctrl-C when its controller was killed"


def test_a_submitit_local_job_killed_outside_hydra_ends_in_one_line_after_the_other_jobs(
        tmp_path: Path, data_root: Path) -> None:
    """Job 0's process killed (SIGKILL, as the out-of-memory killer does) while job 1 runs: the command waits for
    job 1 (its records are kept and merged; nothing is left running, so nothing writes after the command's line),
    then ends as the SLURM launcher ends for a task that did not finish: one line naming the job, the logs and how
    to finish, printed last, exit 1; not submitit's UncompletedJobError traceback while job 1 went on."""
    import shlex
    sweep = tmp_path / "sweep"
    args = [*SWEEP, "hydra/launcher=submitit_local", f"hydra.sweep.dir={sweep}"]
    process = command(args, tmp_path, data_root, MLP_BENCH_TEST_SLOW_SEED="1", MLP_BENCH_TEST_SLOW_S="8")
    _until_seed_0_recorded(process, sweep)
    pid, job_id = _job_process(sweep, "0")
    os.kill(pid, signal.SIGKILL)
    code = process.wait(timeout=120)
    left = _processes_under(sweep)  # as the command ends
    _, lines, everything = ended(process)
    assert code == 1, everything[-3000:]
    again = shlex.join(["python", "-m", "harness", *args[:-1], "resume=true", f"hydra.sweep.dir={sweep}"])
    assert lines == [f"error: 1 of 2 jobs of the sweep did not finish: job 0 (submitit job {job_id}) {LOST}; logs in "
                     f"{sweep / '.submitit'}; the finished jobs are merged in {sweep / 'runs.csv'}; finish the sweep "
                     f"with: {again}"], everything[-3000:]
    assert "Traceback" not in everything
    assert left == []
    assert {job: sorted(os.listdir(sweep / job / "records")) for job in ("0", "1")} == {
        "0": ["mlp-numpy-seed0.json"], "1": ["mlp-numpy-seed0.json", "mlp-numpy-seed1.json"]}
    assert len(pd.read_csv(sweep / "runs.csv")) == 3


def test_a_killed_submitit_local_controller_takes_its_job_with_it(tmp_path: Path, data_root: Path) -> None:
    """Job 0's submitit controller killed (SIGKILL) while its job runs: the job stops as on Ctrl-C (its finished
    record kept, its own interrupted line in its log) instead of running on unwatched, and the command waits for
    that end, however long (here 20 s, beyond the 10 s it gives a job without a result), so that when it says the
    job ended without a result, nothing of it is still running or writing."""
    sweep = tmp_path / "sweep"
    args = [*SWEEP, "hydra/launcher=submitit_local", f"hydra.sweep.dir={sweep}"]
    process = command(args, tmp_path, data_root, MLP_BENCH_TEST_SLOW_SEED="1", MLP_BENCH_TEST_SLOW_S="8",
                      MLP_BENCH_TEST_SLOW_END_S="20")
    _until_seed_0_recorded(process, sweep)
    pid, job_id = _job_process(sweep, "0")
    os.kill(int(job_id), signal.SIGKILL)  # a submitit_local job's id is its controller's process id
    code = process.wait(timeout=120)
    left = _processes_under(sweep)  # as the command ends
    _, lines, everything = ended(process)
    assert code == 1, everything[-3000:]
    assert len(lines) == 1 and f"job 0 (submitit job {job_id}) {CONTROLLER_KILLED}" in lines[0], everything[-3000:]
    assert left == []
    assert f"job 0 (submitit job {job_id}): its controller has ended and its process still runs" in everything
    assert sorted(os.listdir(sweep / "0" / "records")) == ["mlp-numpy-seed0.json"]
    assert [log.read_text() for log in sweep.glob(f".submitit/{job_id}/*_log.err")] == [
        f"interrupted: 1 runs finished (0 failed, 0 diverged), 0 kept from before, in {sweep / '0'}; finish "
        f"with the same command and resume=true hydra.sweep.dir={sweep}\n"]


def test_a_submitit_local_sweep_with_setup_lines_finishes_where_the_shell_execs_the_controller(
        tmp_path: Path, data_root: Path) -> None:
    """Launcher `setup` lines run the controller through the shell, which bash (/bin/sh on some systems) execs for
    the last command of `setup && python ...`: submitit's controller then took the command's process number for its
    job's id, and every job, looking for its files under that id, ended without a result (exit 1, "killed, e.g. out
    of memory"). The launcher's lines keep the shell (local_launcher.KEEP_SHELL)."""
    sweep = tmp_path / "sweep"
    args = [*SWEEP, "hydra/launcher=submitit_local", """+hydra.launcher.setup=["echo set up"]""",
            f"hydra.sweep.dir={sweep}"]
    code, lines, everything = ended(command(args, tmp_path, data_root, MLP_BENCH_TEST_SH=shutil.which("bash")))
    assert (code, lines) == (0, []), everything[-3000:]
    assert len(pd.read_csv(sweep / "runs.csv")) == 4
    assert everything.count("set up\n") == 2  # each job's shell ran the lines (on the command's output)


def test_jobs_sharing_one_submitit_folder_finish(tmp_path: Path, data_root: Path) -> None:
    """hydra.launcher.submitit_folder without %j: every job's files in one folder, the jobs side by side; each
    job's running mark is its own, named by its id."""
    sweep = tmp_path / "sweep"
    args = [*SWEEP, "hydra/launcher=submitit_local", "hydra.launcher.submitit_folder=${hydra.sweep.dir}/.submitit",
            f"hydra.sweep.dir={sweep}"]
    code, lines, everything = ended(command(args, tmp_path, data_root))
    assert (code, lines) == (0, []), everything[-3000:]
    assert len(pd.read_csv(sweep / "runs.csv")) == 4 and len(list((sweep / ".submitit").glob("*_running.lock"))) == 2


JOB = ("import os, time\n"
       "from pathlib import Path\n"
       "from harness import local_launcher\n"
       "from harness.local_launcher import stop_on_ctrl_c, stop_with_controller\n"
       "if os.environ.get('NO_PROC'):\n"  # a system whose process table cannot be read
       "    local_launcher.PROC = Path(os.environ['NO_PROC'])\n"
       "stop_on_ctrl_c()\n"
       "stop_with_controller()\n"
       "try:\n"  # the stop may come as soon as the line is out
       "    print('watching', os.getppid(), flush=True)\n"
       "    time.sleep(60)\n"
       "except KeyboardInterrupt:\n"
       "    print('stopped', flush=True)\n")


CONTROLLER = ("import os, subprocess, sys\n"  # as submitit's: SUBMITIT_LOCAL_JOB_ID is its shell's number, or its own
              "shell = os.environ.get('SUBMITIT_LOCAL_WITH_SHELL')\n"
              "os.environ['SUBMITIT_LOCAL_JOB_ID'] = str(os.getppid() if shell else os.getpid())\n"
              f"subprocess.run([sys.executable, '-c', {JOB!r}])\n")


def _job(watched: int, shell: bool) -> subprocess.Popen:
    """A stand-in for a submitit_local job's process, started by this test, whose controller (or setup shell) is said
    to be process `watched`."""
    env = {**os.environ, "SUBMITIT_LOCAL_JOB_ID": str(watched), "SUBMITIT_LOCAL_WITH_SHELL": "1" if shell else ""}
    return subprocess.Popen([sys.executable, "-c", JOB], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


# how submitit starts the controller (`setup` lines: through /bin/sh, which dash runs as its child and bash execs),
# and which process is killed; the shell's forms are spelled out so that both are tested whatever /bin/sh is here
STARTS = {"directly": "{}", "by a shell that runs it": "true && {}; exit $?",
          "by a shell that execs it": "true && exec {}"}


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="no pidfd_open: the job cannot watch its controller")
@pytest.mark.parametrize(("start", "killed", "proc"), [
    ("directly", "controller", True), ("by a shell that runs it", "shell", True),
    ("by a shell that runs it", "controller", True), ("by a shell that execs it", "controller", True),
    ("by a shell that runs it", "shell", False), ("by a shell that execs it", "controller", False)])
def test_a_job_stops_as_on_ctrl_c_when_its_controller_or_setup_shell_is_killed(
        tmp_path: Path, start: str, killed: str, proc: bool) -> None:
    """stop_with_controller: the job goes on while its controller and the process the command watches live
    (SUBMITIT_LOCAL_JOB_ID: its controller; with launcher `setup` lines the shell that runs the controller, or the
    command itself when that shell execs it), and stops as on Ctrl-C once the one killed (SIGKILL: it forwards
    nothing) ends. Where the process table cannot be read (`proc` false), the ancestry is not checked, and the
    job still watches both."""
    import shlex
    controller = shlex.join([sys.executable, "-c", CONTROLLER])
    started = ["sh", "-c", STARTS[start].format(controller)] if start != "directly" else shlex.split(controller)
    env = {**os.environ, "SUBMITIT_LOCAL_WITH_SHELL": "1" if start != "directly" else ""}
    watched = subprocess.Popen(started, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env if proc else {**env, "NO_PROC": str(tmp_path / "no-proc")},
                               start_new_session=True)
    try:
        line = watched.stdout.readline()
        assert line.startswith("watching "), watched.stderr.read() if watched.poll() else line
        its_controller = int(line.split()[1])
        assert (its_controller == watched.pid) == (start != "by a shell that runs it")
        os.kill(watched.pid if killed == "shell" else its_controller, signal.SIGKILL)
        out = watched.stdout.read()  # the job's output pipe stays open until the job (and the controller) ends
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(watched.pid, signal.SIGKILL)
        watched.wait()
    assert out == "stopped\n", watched.stderr.read()


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="no pidfd_open: the job cannot watch its controller")
@pytest.mark.parametrize("controller", ["gone", "its number taken by another process", "a setup shell not yet reaped"])
def test_a_job_whose_controller_is_gone_when_it_starts_ends_having_written_nothing(controller: str) -> None:
    """The controller already gone as the job starts (its number free, or reused by a process that is not the job's
    parent; or the setup shell dead but not yet reaped by the command): exit 130 before the job runs, as a Ctrl-C
    pressed while it started."""
    other = subprocess.Popen(["sleep", "60"])
    if controller != "its number taken by another process":
        other.kill()
        if controller == "gone":
            other.wait()
        else:  # a zombie until this test reaps it
            time.sleep(0.5)
    job = _job(other.pid, shell=controller == "a setup shell not yet reaped")
    try:
        out, err = job.communicate(timeout=60)
    finally:
        other.kill()
    assert (job.returncode, out) == (130, "") and "Traceback" not in err, err


@pytest.mark.parametrize("job_0", ["lost", "outliving its killed controller"])
def test_ctrl_c_while_the_other_jobs_run_after_a_lost_one_names_it_in_the_interrupted_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, job_0: str) -> None:
    """submitit_local: job 0 ended without a result (or its controller did, its own process still running: its
    running mark locked by a live process, here this one), then Ctrl-C while job 1 runs: job 1 is stopped as on
    any Ctrl-C, and the one interrupted line (exit 130) names job 0 too, not only the runs recorded."""
    import fcntl
    from types import SimpleNamespace

    from omegaconf import OmegaConf
    from submitit.core.utils import UncompletedJobError

    from harness import callbacks, local_launcher, submitit_launch
    from harness.__main__ import ends_in_one_line

    def lost() -> None:
        raise UncompletedJobError("Job 11 (task: 0) has not produced any output (state: FINISHED)")

    def running() -> bool:
        raise KeyboardInterrupt  # Ctrl-C while the command waits for job 1

    def merged(sweep_dir: Path, **kwargs: object) -> None:
        print("merged", file=sys.stderr)

    # submitit's jobs: job 0 ended with no result file (job.results() raises), job 1 runs
    jobs = [SimpleNamespace(job_id=job_id, done=done, results=lost, paths=SimpleNamespace(
        result_pickle=tmp_path / f"{job_id}_result.pkl", folder=tmp_path))
            for job_id, done in (("11", lambda: True), ("12", running))]
    mark = local_launcher.running_mark(tmp_path, "11")
    mark.write_text(str(os.getpid()))
    held = open(mark)  # noqa: SIM115  (held through the launch)
    if job_0 != "lost":
        fcntl.flock(held, fcntl.LOCK_EX)
    stopped: list[list] = []
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "name": "x", "report": False})
    monkeypatch.setattr(harness.sweep_merge, "finish_sweep", merged)
    monkeypatch.setattr(harness.sweep_merge, "sweep_runs", lambda folder: pd.DataFrame([]))
    monkeypatch.setattr(callbacks, "_ARMED", [config])
    monkeypatch.setattr(harness.run, "FAILED_IN_JOBS", {})
    monkeypatch.setattr(submitit_launch, "executor", lambda *args, **kwargs: SimpleNamespace(
        map_array=lambda *args: jobs))
    monkeypatch.setattr(local_launcher, "stop_jobs", stopped.append)
    monkeypatch.setattr(submitit_launch, "GRACE_S", 0)
    with held, pytest.raises(SystemExit) as stop, ends_in_one_line(("hydra.sweep.dir", tmp_path)):
        local_launcher.CleanEndLocalLauncher.launch(SimpleNamespace(config=config, params={}), [["a=1"], ["a=2"]], 0)
    assert stop.value.code == 130
    assert stopped == [jobs]
    how = LOST if job_0 == "lost" else local_launcher.CONTROLLER_KILLED
    assert capsys.readouterr().err.splitlines() == ["merged", (
        f"interrupted: 0 runs recorded (0 failed, 0 diverged) in {tmp_path}; job 0 (submitit job 11) {how}; finish "
        f"with the same command and resume=true hydra.sweep.dir={tmp_path}")]


@pytest.mark.parametrize("mark, runs", [
    ("none", False), ("unlocked, a live process's number", False), ("locked, a dead process's number", False),
    ("locked, no number yet", True), ("locked, a live process's number", True)])
def test_a_jobs_process_runs_while_its_running_mark_is_locked_by_the_live_process_it_names(
        tmp_path: Path, mark: str, runs: bool) -> None:
    """job_process_runs: the lock alone could be held by a child that inherited it, the number alone could
    be another process's now; both together say the job's own process still runs."""
    import fcntl
    from types import SimpleNamespace

    from harness import local_launcher
    job = SimpleNamespace(job_id="11", paths=SimpleNamespace(folder=tmp_path))
    path = local_launcher.running_mark(tmp_path, "11")
    dead = subprocess.Popen(["true"])
    dead.wait()
    number = {"none": None, "locked, no number yet": ""}.get(mark, str(dead.pid if "dead" in mark else os.getpid()))
    if number is not None:
        path.write_text(number)
    with contextlib.ExitStack() as stack:
        if mark.startswith("locked"):
            fcntl.flock(stack.enter_context(open(path)), fcntl.LOCK_EX)
        assert local_launcher.job_process_runs(job) is runs


@pytest.mark.parametrize("proc", [True, False])
def test_after_ctrl_c_the_command_stops_a_setup_shells_controller_or_the_shell_where_it_cannot_see_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proc: bool) -> None:
    """stop_jobs under `setup` lines: SIGTERM to the controller the job's shell (its job_id) runs, found in the
    process table, since the shell passes nothing on; where that table cannot be read, to the shell itself,
    which then ends. Either way the command waits until the job has ended."""
    import shlex
    from types import SimpleNamespace

    from harness import local_launcher
    controller = ("import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(3)); "
                  "print('ready', flush=True); time.sleep(60)")
    # a stand-in controller, named as submitit's is in the process table
    shell = subprocess.Popen(["sh", "-c", f"true && {shlex.join([sys.executable, '-c', controller])} "
                                          f"submitit.local._local; echo shell went on: $?"],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert shell.stdout.readline() == "ready\n"
        assert local_launcher._controllers_by_parent().get(shell.pid)
        if not proc:
            monkeypatch.setattr(local_launcher, "PROC", tmp_path / "no-proc")
        job = SimpleNamespace(job_id=str(shell.pid), done=lambda: shell.poll() is not None,
                              paths=SimpleNamespace(folder=tmp_path))
        local_launcher.stop_jobs([job])
        assert shell.poll() is not None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)  # the controller a stopped shell left (its output pipe's writer)
        shell.wait()
    out = shell.stdout.read()
    # the controller took the SIGTERM and the shell went on to its end; or the shell was stopped by it
    assert (out, shell.returncode) == (("shell went on: 3\n", 0) if proc else ("", -signal.SIGTERM))


@pytest.fixture
def signals_put_back(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SIGINT's and SIGTERM's handlers and this thread's signal mask as they were after the test (which
    plays a job's process under hydra/launcher=submitit_local), and no Ctrl-C noted before it."""
    from harness import local_launcher
    monkeypatch.setattr(local_launcher, "_CTRL_C_REACHED", [])
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@pytest.mark.parametrize("pressed", [0, 1])
def test_a_submitit_local_job_takes_sigterm_for_ctrl_c_after_the_step(signals_put_back: None, pressed: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's SIGTERM (forwarded by submitit's controller) in a job's step stops the fit as
    Ctrl-C does, after that step; when Ctrl-C was pressed in the same step, it is no second press
    (which would stop the step at once), and once Ctrl-C reached the job it is nothing."""
    from harness.local_launcher import stop_on_ctrl_c
    from test_mlp_api import _big_net, _interrupt_in_update
    stop_on_ctrl_c()
    x, y = np.random.default_rng(0).standard_normal((512, 4)), np.ones(512)
    reference = _big_net()
    reference.fit(x, y, 1, 0.01, 256)  # two steps
    net = _big_net()
    net.build(4)
    _interrupt_in_update(monkeypatch, net, step=2, presses=pressed, then=lambda: signal.raise_signal(signal.SIGTERM))
    with pytest.raises(KeyboardInterrupt):
        net.fit(x, y, 3, 0.01, 256)
    assert net.optimizer.iterations == 2
    for mine, theirs in zip(net.get_weights(), reference.get_weights()):  # the second step whole
        np.testing.assert_array_equal(mine, theirs)
    try:
        signal.raise_signal(signal.SIGTERM)
    except KeyboardInterrupt:
        pytest.fail("a SIGTERM after Ctrl-C reached the job interrupted the job's end")


def test_a_ctrl_c_pressed_while_a_submitit_local_job_starts_ends_it_before_it_runs(signals_put_back: None) -> None:
    """The job's process starts with SIGINT blocked (its controller's); a Ctrl-C pressed meanwhile
    ends it, status 130, as it unblocks SIGINT before Hydra runs the job."""
    from harness.local_launcher import stop_on_ctrl_c
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
    signal.raise_signal(signal.SIGINT)
    with pytest.raises(SystemExit) as stop:
        stop_on_ctrl_c()
    assert stop.value.code == 130
