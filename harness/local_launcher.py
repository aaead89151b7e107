"""Hydra's submitit local launcher, ending a sweep on Ctrl-C as the other launchers do.

`hydra/launcher=submitit_local` targets hydra_plugins.mlp_bench_launcher.local_launcher, a subclass
of this one (use_for_submitit_local, called as harness.__main__ is imported). It runs the sweep's
jobs as hydra-submitit-launcher does and differs in how Ctrl-C ends them.

submitit runs each job's process under a controller process (`python -m submitit.local._local`),
started in the command's process group, so a terminal's Ctrl-C reaches the controllers too. They have
no handler for it: each printed its KeyboardInterrupt traceback on the command's terminal, then sent
its job a second SIGINT (which does not wait for the step to end: mlp_impl.interrupts) and killed it
(SIGKILL) a second later, in the middle of the job's own clean end. Submitit's code is not ours to
change, so here:

- the controllers start with SIGINT blocked (a blocked signal stays pending, and the mask is inherited
  across fork and exec): Ctrl-C never reaches them. Each job unblocks it first thing in its own
  process (`__call__`), where a Ctrl-C pressed while the job was starting is raised then, before the
  job writes anything (under launcher `setup` lines the shell ignores SIGINT before it starts the
  controller instead, since dash clears the mask: such a Ctrl-C is dropped, and the command's SIGTERM
  stops the job);
- the command, interrupted while it waits, sends SIGTERM to every controller still running, which
  submitit forwards to its job; a job takes it for Ctrl-C unless one already reached it (so a job
  started after the Ctrl-C, or one the SIGINT sent to the command alone missed, stops too), and the
  command waits for them (STOP_WAIT_S at most; Ctrl-C again stops the wait), so no job writes after
  the command's one line.

A job whose process ends without its result (killed, by the out-of-memory killer for one: no Hydra
code runs then) is no reason to leave the others running past the command's end, as submitit's
`job.results()` did, raising its UncompletedJobError traceback while they went on writing records.
The command waits for every job, as it does for a job's error and as the SLURM launcher does for a
task that did not finish, and ends as that launcher does (submitit_launch.returns): what finished
merged, one line naming the jobs that did not finish and the command that finishes the sweep, exit 1.
A job whose controller is killed stops with it, as on Ctrl-C, at the end of the step it is in
(stop_with_controller), instead of running on unwatched after that line has called it ended.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import select
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn
from hydra_plugins.hydra_submitit_launcher import submitit_launcher
from hydra_plugins.hydra_submitit_launcher.config import LocalQueueConf

from harness import callbacks, submitit_launch, write_failure
from mlp_impl import interrupts

log = logging.getLogger(__name__)
STOP_WAIT_S = 60  # how long the interrupted command waits for its jobs to end
POLL_S = 0.2  # between two looks at the jobs
LOST = "ended without a result (killed, e.g. out of memory, or exited outside the job)"
_CTRL_C_REACHED: list[bool] = []  # in a job's process: a KeyboardInterrupt was raised in it
PROC = Path("/proc")  # Linux's process table: who runs, and whose child each is (none where it cannot be read)


@dataclass
class CleanEndLocalQueueConf(LocalQueueConf):
    """hydra-submitit-launcher's settings of its local launcher (the same keys and defaults), this class's."""

    _target_: str = "hydra_plugins.mlp_bench_launcher.local_launcher.LocalLauncher"


def use_for_submitit_local() -> None:
    """Make `hydra/launcher=submitit_local` this launcher: the name stays hydra-submitit-launcher's
    (the records, the report and harness.run tell the launcher by it), its entry is replaced. Hydra's
    plugin scan runs every plugin's module again, which would store that plugin's own entry anew, so
    the scan (once per process: the command's check and Hydra reuse it) comes first."""
    from hydra.core.plugins import Plugins
    Plugins.instance()
    ConfigStore.instance().store(group="hydra/launcher", name="submitit_local", node=CleanEndLocalQueueConf,
                                 provider="mlp-bench")


class CleanEndLocalLauncher(submitit_launcher.LocalLauncher):
    """hydra-submitit-launcher's local launcher whose Ctrl-C ends as every launcher's does, and whose
    job killed outside Hydra ends as the SLURM launcher's task that did not finish."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Start every job (its controller with SIGINT blocked), wait for each, return every job's result
        (job_return: a job's error outside Hydra's job, submitit's FailedJobError, too), or, when a job
        ended without one, end as every submitit launcher ends when jobs did not finish
        (submitit_launch.returns); after Ctrl-C, stop the jobs and wait for them before the
        KeyboardInterrupt goes on up, the command's line naming the jobs that had ended without a result
        (or whose controller was killed while they ran on)."""
        assert self.config is not None
        log.info(f"Submitit 'local' sweep output dir : {self.config.hydra.sweep.dir}")
        job_params = submitit_launch.job_params(job_overrides, initial_job_idx)
        sweep_dir = submitit_launch.make_sweep_dir(self.config)
        executor = submitit_launch.executor("local", shell_keeps_the_controller(dict(self.params)))
        jobs: list[Any] = []
        waited = submitit_launch.Waited()
        try:
            with sigint_blocked():  # a Ctrl-C pressed meanwhile is raised as the block ends, the jobs started
                jobs = executor.map_array(self, *zip(*job_params))
            wait_for(jobs, waited, initial_job_idx)
        except KeyboardInterrupt:
            outliving = {i: CONTROLLER_KILLED for i in waited.outliving if i not in waited.finished}
            ended = {**outliving, **waited.unfinished}
            if ended:
                callbacks.note_not_done(sweep_dir, [
                    submitit_launch.unfinished_listed(ended, job_names(jobs), initial_job_idx)])
            stop_jobs(jobs)
            raise
        if not waited.unfinished:  # every job ended with its result: Hydra's sweeper raises the first failed one's
            return [job_return(job) for job in jobs]
        return submitit_launch.returns(self.config, waited, job_names(jobs), initial_job_idx)

    def __call__(self, *args: Any, **kwargs: Any) -> JobReturn:
        """In the job's process: Ctrl-C and the command's SIGTERM stop the job (stop_on_ctrl_c), and so
        does its controller's end (stop_with_controller). The job holds its running mark while it runs: the
        command waits for it when the controller has ended first (wait_for)."""
        stop_on_ctrl_c()
        stop_with_controller()
        try:
            with running_mark_held():
                return super().__call__(*args, **kwargs)
        finally:  # the job has ended, or raised outside Hydra's job: submitit now saves its result or trace
            signal.signal(signal.SIGTERM, signal.SIG_IGN)


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread, so the processes it starts start with it blocked; one that
    comes meanwhile is raised as the block ends."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def job_return(job: Any) -> JobReturn:
    """The job's JobReturn; where the job raised outside Hydra's job (a refused write of Hydra's .hydra/ files),
    submitit's FailedJobError, which holds the job's trace, kept in a FAILED one. Raised out of the launcher, it
    would hide the other jobs' ends from Hydra's sweeper's list, which the command's end reads
    (harness.__main__.failed_writes_in_one_line: a refused write wins and names the other jobs' errors)."""
    from hydra.core.utils import JobStatus
    from submitit.core.utils import FailedJobError
    try:
        return job.results()[0]
    except FailedJobError as error:
        return JobReturn(status=JobStatus.FAILED, _return_value=error)


@contextlib.contextmanager
def running_mark_held() -> Iterator[None]:
    """In a job's process, for the block: an exclusive lock on the job's running mark, this process's
    number written in it. The kernel releases the lock however the process ends."""
    import submitit
    environment = submitit.JobEnvironment()
    path = running_mark(environment.paths.folder, environment.job_id)
    with write_failure.writing(path):
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another task of the same job (tasks_per_node > 1) holds it for them all
            yield
            return
        with write_failure.writing(path):
            os.ftruncate(handle, 0)
            os.pwrite(handle, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(handle)


def running_mark(folder: str | os.PathLike, job_id: str) -> Path:
    """The file a job's process locks while it runs: in submitit's folder of the job, named by its id (one
    folder may hold every job's files: a submitit_folder without %j)."""
    return Path(folder) / f"{job_id}_running.lock"


def job_process_runs(job: Any) -> bool:
    """Whether the job's own process still runs (it can outlive a killed controller): its running mark is
    locked and the process whose number the mark holds is alive (not a child that inherited the lock)."""
    return _mark_holder(job) is not None


def _mark_holder(job: Any) -> int | None:
    """The number of the live process that holds the job's running mark (0: locked an instant ago, its
    number not yet written), None when none does."""
    try:
        handle = os.open(running_mark(job.paths.folder, job.job_id), os.O_RDONLY)
    except OSError:  # no mark: the job never started its call
        return None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            number = os.pread(handle, 32, 0).decode(errors="replace")
        if not number.isdigit():
            return 0
        try:
            os.kill(int(number), 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return int(number)
    finally:
        os.close(handle)


def job_names(jobs: list[Any]) -> list[str]:
    """Each job as the command's line names it: by its submitit id (its files are SWEEP_DIR/.submitit/ID/)."""
    return [f"submitit job {job.job_id}" for job in jobs]


# An EXIT trap keeps a shell (bash, dash) from exec'ing the last command of `setup && python ...`; SIGINT
# ignored after the user's lines keeps a terminal's Ctrl-C from the controller, which dash starts with the
# signal mask cleared (the lines themselves stop on Ctrl-C as in a terminal).
KEEP_SHELL = "trap : EXIT"
IGNORE_CTRL_C = "trap '' INT"
CONTROLLER_KILLED = "stopped as on Ctrl-C when its controller was killed"


def shell_keeps_the_controller(params: dict[str, Any]) -> dict[str, Any]:
    """The launcher's params, its `setup` lines (if any) between KEEP_SHELL and IGNORE_CTRL_C. submitit
    runs them and the controller through /bin/sh, and the controller takes that shell's number for its
    job's id; a shell that execs the controller (bash does) leaves it the command's number instead, and
    every job then looks for its files under that id and ends without a result. The controller and its
    job then start with SIGINT ignored, not blocked: a Ctrl-C pressed while the job starts is dropped, and
    the command's SIGTERM, through the controller, stops it (stop_jobs)."""
    if params.get("setup"):
        params["setup"] = [KEEP_SHELL, *params["setup"], IGNORE_CTRL_C]
    return params


def wait_for(jobs: list[Any], waited: submitit_launch.Waited, first: int) -> None:
    """Fill `waited` until every job has ended (its controller and job processes: a job's process whose
    controller was killed, waited.outliving, holds its running mark until it ends), with its result
    (waited.finished) or without one (no result file submitit_launch.GRACE_S later; submitit's own
    job.results() waits 15 s: waited.unfinished, said at once in a warning), whatever the order in which
    they end."""
    ended_at: dict[int, float] = {}
    while len(waited.finished) + len(waited.unfinished) < len(jobs):
        now = time.monotonic()
        for i, job in enumerate(jobs):
            if i in waited.finished or i in waited.unfinished or not job.done():  # done: its processes have ended
                continue
            result = submitit_launch.result_of(job)
            if result is not None:
                waited.finished[i] = result
            elif job_process_runs(job):  # its controller killed: it stops as on Ctrl-C (stop_with_controller)
                ended_at.pop(i, None)
                if i not in waited.outliving:
                    waited.outliving.add(i)
                    log.warning(f"job {first + i} ({job_names(jobs)[i]}): its controller has ended and its process "
                                "still runs; waiting for it to end (Ctrl-C stops it)")
            elif now - ended_at.setdefault(i, now) >= submitit_launch.GRACE_S:
                waited.unfinished[i] = CONTROLLER_KILLED if i in waited.outliving else LOST
                log.warning(f"job {first + i} ({job_names(jobs)[i]}) {waited.unfinished[i]}; the other jobs go on "
                            "(Ctrl-C stops them), then the sweep ends saying how to finish it")
        if len(waited.finished) + len(waited.unfinished) < len(jobs):
            time.sleep(POLL_S)


def stop_jobs(jobs: list[Any]) -> None:
    """After Ctrl-C in the command: SIGTERM to the controller of every job still running (submitit
    forwards it to the job, which takes it for Ctrl-C: stop_on_ctrl_c; under `setup` lines the controller
    the shell runs, since the shell passes nothing on, or the shell while it runs the lines), and to the
    process of a job that outlived its killed controller; then wait until every job (its own process
    too) has ended, STOP_WAIT_S at most (Ctrl-C again stops the wait)."""
    controllers = _controllers_by_parent()
    for job in jobs:
        if not job.done():  # job_id is the controller's process id (or its shell's); ours to reap, so still these
            for process in controllers.get(int(job.job_id)) or [int(job.job_id)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process, signal.SIGTERM)
        elif holder := _mark_holder(job):  # the job outliving its killed controller: nobody forwards it
            with contextlib.suppress(ProcessLookupError):
                os.kill(holder, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_S
    with contextlib.suppress(KeyboardInterrupt):
        while any(_running(job) for job in jobs):
            if time.monotonic() > deadline:
                running = ", ".join(job.job_id for job in jobs if _running(job))
                log.warning(f"jobs still running {STOP_WAIT_S} s after Ctrl-C (submitit jobs {running}); "
                            "resume=true refuses their folders until they end")
                return
            time.sleep(0.05)


def _running(job: Any) -> bool:
    """Whether the job's controller, or its own process (which outlives a killed controller), still runs."""
    return not job.done() or job_process_runs(job)


def _controllers_by_parent() -> dict[int, list[int]]:
    """The submitit controllers running, by their parent: for a job with `setup` lines, the shell submitit
    started (its job_id); without, the command, whose jobs' ids are the controllers themselves (Linux's
    /proc, read once; none where it cannot be read)."""
    controllers: dict[int, list[int]] = {}
    for entry in PROC.glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            if b"submitit.local._local" in (entry / "cmdline").read_bytes():
                controllers.setdefault(_parent_of(int(entry.name)), []).append(int(entry.name))
    return controllers


def stop_on_ctrl_c() -> None:
    """In a job's process, before Hydra runs the job: Ctrl-C raises KeyboardInterrupt (noted), SIGTERM
    is taken for Ctrl-C unless one already reached the job or waits for its step to end (a second
    press would not wait), and SIGINT is unblocked (the controller started this process with it
    blocked). A Ctrl-C pressed while the job started is raised then: the job ends with exit status
    130, having written nothing."""
    signal.signal(signal.SIGINT, _ctrl_c)
    signal.signal(signal.SIGTERM, _stop_as_on_ctrl_c)
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def stop_with_controller() -> None:
    """In a job's process, after stop_on_ctrl_c: SIGTERM (taken for Ctrl-C) when the process the command
    watches for this job ends, or the job's controller (its parent) does. Without `setup` lines they are
    one process; with them submitit runs the controller through /bin/sh, whose number SUBMITIT_LOCAL_JOB_ID
    names, unless that shell execs the controller (bash does, for the last command of `setup && python`),
    when it names the command itself. Killed on its own (SIGKILL, the out-of-memory killer), a controller
    or shell forwards no signal, and the job would run on unwatched while the command says it ended
    without a result. One already gone when this runs ends the job at once, having written nothing (exit
    130, as a Ctrl-C pressed while it started). Where the kernel cannot watch a process (os.pidfd_open:
    Linux 5.3 and later) nothing changes."""
    watched = os.environ.get("SUBMITIT_LOCAL_JOB_ID", "")
    if not watched.isdigit() or not hasattr(os, "pidfd_open"):
        return
    controller = os.getppid()
    handles: list[int] = []
    try:
        for number in dict.fromkeys((int(watched), controller)):
            handles.append(os.pidfd_open(number))
    except ProcessLookupError:
        _close(handles)
        raise SystemExit(130) from None
    except OSError as error:  # no pidfd in this kernel, or not allowed
        _close(handles)
        log.warning(f"this job will not stop if its submitit controller is killed: {error}")
        return
    started_it = controller
    if os.environ.get("SUBMITIT_LOCAL_WITH_SHELL"):
        started_it = _parent_of(controller)
        if started_it is None and _parent_of(os.getpid()) is None:  # no /proc here: ancestry unknown, not wrong
            started_it = int(watched)
    if select.select(handles, [], [], 0)[0] or os.getppid() != controller or started_it != int(watched):
        _close(handles)  # dead, not yet reaped; or the controller gone and this process, or the number, taken over
        raise SystemExit(130)
    threading.Thread(target=_stop_when_ended, args=(handles,), name="controller-watch", daemon=True).start()


def _parent_of(number: int) -> int | None:
    """The parent process number of process `number` (Linux's /proc), None when it has ended."""
    try:
        stat = (PROC / str(number) / "stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])  # after the name: state, then parent


def _close(handles: list[int]) -> None:
    for handle in handles:
        os.close(handle)


def _stop_when_ended(handles: list[int]) -> None:
    """Wait until a process behind one of the pidfd `handles` has ended, then send this process SIGTERM."""
    watch = select.poll()
    for handle in handles:
        watch.register(handle, select.POLLIN)
    while not watch.poll():
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def _ctrl_c(signum: int, frame: Any) -> None:
    """Python's own handler (KeyboardInterrupt), noting that Ctrl-C reached the job."""
    _CTRL_C_REACHED.append(True)
    signal.default_int_handler(signum, frame)


def _stop_as_on_ctrl_c(signum: int, frame: Any) -> None:
    """SIGTERM (submitit's own handler in a job only logs it): a Ctrl-C, through SIGINT's handler of
    the moment (a fit's holds it until the step ends), unless one reached the job or is held."""
    if not _CTRL_C_REACHED and not interrupts.held():
        signal.raise_signal(signal.SIGINT)
