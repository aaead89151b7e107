"""Hydra's submitit SLURM launcher, ending the command cleanly when SLURM refuses or stops jobs.

`hydra/launcher=slurm` (conf/hydra/launcher/slurm.yaml) targets hydra_plugins.mlp_bench_launcher, a
subclass of this one (Hydra instantiates launchers only from hydra_plugins). It submits the sweep
as one array exactly as hydra-submitit-launcher does, and differs in two places:

- a refused submission (sbatch's "Memory specification can not be satisfied", an unknown
  partition, ...) ends the command with one line naming what SLURM refused and the option to
  change, exit 2, and removes what the launch wrote (the sweep folder, when it holds no job);
- the wait (harness.slurm_jobs) does not depend on SLURM's accounting, so cancelled, failed,
  timed-out or preempted tasks end it in bounded time; the finished jobs are merged and reported,
  then one summary line names the jobs that did not finish, the finished jobs' failed runs and,
  last, the command that finishes them, exit 1 (4 when the merge's write was refused, as for any
  refused write): harness.submitit_launch.returns, as under hydra/launcher=submitit_local.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

from hydra.core.utils import JobReturn
from hydra_plugins.hydra_submitit_launcher import submitit_launcher

from harness import callbacks, folder_lock, slurm_jobs, submitit_launch
from harness.runs_table import RUNS_LOCK

EARLY_SIGNAL = "URG"  # SLURM's signal before the time limit: ignored by default, unlike submitit's USR2

log = logging.getLogger(__name__)
REFUSED = 2  # exit status of a bad request (like every refused command)
# What SLURM says (lower case) -> the launcher options that asked for it; the first phrase found
# decides (specific reasons first: a user's value such as partition=gpu must not read as a GPU request).
REFUSAL_OPTIONS = (
    ("partitionconfig", ("cpus_per_task", "mem_gb", "gpus_per_node", "partition")),
    ("partitionnodelimit", ("nodes", "partition")), ("partitiontimelimit", ("timeout_min", "partition")),
    ("badconstraints", ("mem_gb", "cpus_per_task", "gpus_per_node")), ("memory", ("mem_gb",)),
    ("partition", ("partition",)), ("time limit", ("timeout_min",)), ("gres", ("gpus_per_node",)),
    ("gpu", ("gpus_per_node",)), ("processor", ("cpus_per_task",)), ("cpu", ("cpus_per_task",)),
    ("account", ("account",)), ("node count", ("nodes",)), ("qos", ("qos",)))
DEFAULT_OPTIONS = ("mem_gb", "partition", "cpus_per_task", "gpus_per_node", "timeout_min")


def refusal_line(sbatch_error: str, params: dict[str, Any], submitted: str = "nothing was submitted") -> str:
    """sbatch's error as one line: what SLURM refused, and the option to change with its value."""
    reasons = [line.split("error:", 1)[-1].strip() for line in sbatch_error.splitlines() if line.strip()]
    text = "; ".join(reasons) or "sbatch failed without a message"
    if "contact slurm controller" in text.lower():
        return (f"SLURM refused the sweep ({text}): no controller answers here; start one "
                f"(scripts/slurm_local.sh) or submit from the cluster's login node")
    options = next((o for word, o in REFUSAL_OPTIONS if word in text.lower()), DEFAULT_OPTIONS)
    asked = ", ".join(f"hydra.launcher.{o}={'null' if params.get(o) is None else params[o]}" for o in options)
    return (f"SLURM refused the sweep ({text}); change {asked} to what the cluster offers "
            f"(sinfo -o '%P %c %m %G %l' lists partitions, CPUs, memory in MB, GPUs, time limits); {submitted}")


class CleanEndSlurmLauncher(submitit_launcher.SlurmLauncher):
    """hydra-submitit-launcher's SlurmLauncher with a clean end for refused and unfinished jobs."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Submit every job as one array, wait for each to finish or leave the queue, return them."""
        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        executor = self._executor()
        log.info(f"Submitit 'slurm' sweep output dir : {sweep_dir}")
        job_params = submitit_launch.job_params(job_overrides, initial_job_idx)
        job_files = sweep_dir / ".submitit"
        before = set(job_files.iterdir()) if job_files.is_dir() else None
        jobs = self._submit(executor, job_params, sweep_dir, before)
        array_id = jobs[0].job_id.split("_")[0]
        log.info(f"SLURM array {array_id}: {len(jobs)} tasks; logs in {job_files}")
        try:
            waited = slurm_jobs.wait_for(jobs)
        except slurm_jobs.NeverStarts as ex:
            subprocess.run(["scancel", array_id], capture_output=True, timeout=60)
            self._refuse(f"its tasks stay pending with reason {ex}, which no wait resolves", sweep_dir, before,
                         submitted=f"array {array_id} was cancelled")
        except KeyboardInterrupt:  # the array goes on: merging now would table it half-done, so the line
            callbacks.skip_finish(sweep_dir)  # says how to merge later, and nothing follows it
            report = bool(self.config.get("report", True))  # the sweep's report=: the merge builds one only then
            sys.stderr.write(f"interrupted: the SLURM array {array_id} goes on (scancel {array_id} stops it); "
                             f"merge what it finished with {callbacks.rebuild_command(sweep_dir, report)}, "
                             f"or run what is missing with: {submitit_launch.resume_command(sweep_dir)}\n")
            raise SystemExit(130) from None
        return self._returns(waited, jobs, initial_job_idx)

    def __call__(self, *args: Any, **kwargs: Any) -> JobReturn:
        """On the node: run the job with SLURM's early time-limit signal logged, not acted on.

        submitit would raise inside the running fit (recording that run as failed) and requeue only
        checkpointing jobs. The harness does not checkpoint: a job SLURM stops at its time limit
        keeps its finished records, ends as TIMEOUT, and resume=true runs its missing seeds."""
        from submitit import JobEnvironment
        signal.signal(getattr(signal, f"SIG{JobEnvironment.USR_SIG.removeprefix('SIG')}"), _time_limit_near)
        return super().__call__(*args, **kwargs)

    def _executor(self) -> Any:
        """submitit's SLURM executor with the launcher's parameters (as hydra-submitit-launcher builds it)."""
        from submitit.core.job_environment import JobEnvironment
        # The early signal is only logged (__call__): one whose default action is to be ignored
        # cannot kill a task whose Python is still starting (slow under load) when it arrives.
        # The job's environment (sbatch exports it by default) carries the choice to the node, where
        # __call__ handles the same signal; with --export=NONE the warning is only not logged.
        os.environ.setdefault("SUBMITIT_PREEMPT_SIGNAL", EARLY_SIGNAL)
        JobEnvironment.USR_SIG = os.environ["SUBMITIT_PREEMPT_SIGNAL"]
        params = dict(self.params)
        # SLURM sends submitit's signal signal_delay_s before the limit; at half the limit at most, so
        # that with timeout_min=1 (the default 120 s) it still comes after the task has started.
        params["signal_delay_s"] = min(int(params.get("signal_delay_s", 120)), int(params["timeout_min"]) * 30)
        return submitit_launch.executor("slurm", params, slurm_max_num_timeout=params.pop("max_num_timeout", 0))

    def _submit(self, executor: Any, job_params: list[tuple], sweep_dir: Path, before: set[Path] | None) -> list[Any]:
        """sbatch the array; when sbatch refuses it, end the command (`_refuse`)."""
        from submitit.core.utils import FailedJobError, FailedSubmissionError
        submitit_launch.make_sweep_dir(self.config)
        errors = io.StringIO()  # submitit prints sbatch's stderr itself; the one line of _refuse says it
        try:
            with contextlib.redirect_stderr(errors):
                return executor.map_array(self, *zip(*job_params))
        except (FailedJobError, FailedSubmissionError, OSError) as ex:
            self._refuse(str(ex) or errors.getvalue(), sweep_dir, before)

    def _refuse(self, reason: str, sweep_dir: Path, before: set[Path] | None,
                submitted: str = "nothing was submitted") -> NoReturn:
        """Remove what this launch wrote, print one line (what SLURM refused, the option), exit REFUSED."""
        _remove_launch_files(sweep_dir, sweep_dir / ".submitit", before)
        callbacks.skip_finish(sweep_dir)
        sys.stderr.write(f"error: {refusal_line(reason, self.params, submitted)}\n")
        raise SystemExit(REFUSED)

    def _returns(self, waited: slurm_jobs.Waited, jobs: list[Any], first: int) -> list[JobReturn]:
        """Every job's JobReturn, or the end of a sweep whose tasks did not all finish, as every
        submitit launcher's (submitit_launch.returns); each task named by its SLURM id."""
        return submitit_launch.returns(self.config, waited, [f"SLURM {job.job_id}" for job in jobs], first)


def _time_limit_near(signum: int, frame: Any) -> None:
    log.warning("SLURM signals that this job nears its time limit (hydra.launcher.timeout_min); the run in "
                "progress goes on until SLURM stops it, and resume=true runs what is left")


def _remove_launch_files(sweep_dir: Path, job_files: Path, before: set[Path] | None) -> None:
    """Undo a refused launch: submitit's files from it, and the sweep folder when no job wrote there."""
    if before is None:
        shutil.rmtree(job_files, ignore_errors=True)
    elif job_files.is_dir():
        for path in set(job_files.iterdir()) - before:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    # our own lock file is there too (held by this process until it exits: removing it is safe)
    if {p.name for p in sweep_dir.iterdir()} <= {"multirun.yaml", folder_lock.LOCK_FILE, RUNS_LOCK}:
        shutil.rmtree(sweep_dir, ignore_errors=True)
