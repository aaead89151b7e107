"""What hydra-submitit-launcher's launch does before its jobs run, done as it does it, and how a
sweep whose jobs did not all finish ends, for the harness's two submitit launchers
(harness.slurm_launcher, harness.local_launcher), which each replace its launch to end the command
cleanly."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
GRACE_S = 10.0  # a job that has ended may still be flushing its result file to a shared filesystem
UNFINISHED = 1  # exit status of a sweep some of whose jobs did not finish (as of failed runs)


@dataclass
class Waited:
    """What became of each job: finished (submitit's (outcome, value) from its result file) or not
    (how it ended: its last SLURM state, e.g. CANCELLED, TIMEOUT, or 'left the queue'; a local job's
    process gone without a result)."""

    finished: dict[int, tuple[str, Any]] = field(default_factory=dict)
    unfinished: dict[int, str] = field(default_factory=dict)
    outliving: set[int] = field(default_factory=set)  # local jobs whose process outlived its killed controller


def job_params(job_overrides: Sequence[Sequence[str]], first: int) -> list[tuple]:
    """Each job's arguments to the launcher's __call__ in its own process, each job logged."""
    params = []
    for idx, overrides in enumerate(job_overrides, start=first):
        log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
        params.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))
    return params


def make_sweep_dir(config: DictConfig) -> Path:
    """The sweep folder, created (with hydra.sweep.mode, when set)."""
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if "mode" in config.hydra.sweep:
        os.chmod(sweep_dir, mode=int(str(config.hydra.sweep.mode), 8))
    return sweep_dir


def executor(cluster: str, params: dict[str, Any], **init: Any) -> Any:
    """submitit's executor for `cluster` with the launcher's `params` (submitit_folder taken out):
    the keys every executor takes as they are, the others prefixed with the cluster's name."""
    import submitit
    made = submitit.AutoExecutor(cluster=cluster, folder=params.pop("submitit_folder"), **init)
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    made.update_parameters(**{k if k in base else f"{cluster}_{k}": v for k, v in params.items()})
    return made


def result_of(job: Any) -> tuple[str, Any] | None:
    """submitit's (outcome, value) from the job's result file, None while there is none."""
    from submitit.core import utils
    path = job.paths.result_pickle
    if not path.exists():
        return None
    try:
        return utils.pickle_load(path)
    except (EOFError, OSError):  # still being written
        return None


def resume_command(sweep_dir: Path) -> str:
    """The user's command again, finishing the sweep in its folder (each job runs its missing seeds)."""
    kept = [a for a in sys.argv[1:] if not a.startswith(("resume=", "hydra.sweep.dir="))]
    return shlex.join(["python", "-m", "harness", *kept, "resume=true", f"hydra.sweep.dir={sweep_dir}"])


def unfinished_listed(unfinished: dict[int, str], names: Sequence[str], first: int) -> str:
    """The jobs that did not finish, each with the launcher's name for it and how it ended (`unfinished`, by
    index in the sweep's batch; `first`: the batch's first job number)."""
    return ", ".join(f"job {first + i} ({names[i]}) {state}" for i, state in sorted(unfinished.items()))


def returns(config: DictConfig, waited: Waited, names: Sequence[str], first: int) -> list[JobReturn]:
    """Every job's JobReturn; when any did not finish (or crashed outside Hydra's job), merge what
    finished, then end in one summary line, printed last as every command's end: which jobs did
    not finish (`names`: the launcher's name for each job), the finished jobs whose task raised (by
    callbacks.job_error_said: an error's traceback printed first, a refusal by its reason), their failed runs (counted
    as the command's end counts them: harness.run.count_records), that the finished jobs are merged, or
    a merge write the OS refused, or the merge's warning where it failed otherwise (a record it cannot
    read: callbacks.finish_once), and, last, the command that finishes the sweep; exit UNFINISHED, or WRITE_FAILED when that write was
    refused (as any refused write). A finished job's refused write (its task's, harness.write_failure.JobStopped, or
    Hydra's .hydra/ write outside the job: finished_ends) wins, as everywhere (callbacks.write_wins): the first in
    job order, its own line naming all that and the other refused writes, exit WRITE_FAILED. Ctrl-C in that merge
    ends in the command's interrupted line, which names the jobs that did not finish too."""
    from harness import callbacks
    from harness.run import count_records, recorded_runs_said
    from harness.write_failure import WRITE_FAILED, line_for
    sweep_dir = Path(str(config.hydra.sweep.dir))
    then = resume_command(sweep_dir)
    ends = finished_ends(waited)
    writes = {i: line for i, error, _ in ends if (line := line_for(error, sweep_dir, then)) is not None}
    problems = dict(waited.unfinished)
    for i, error, outside in ends:
        if outside:  # its trace: said by its last line, or as a refused write whose line wins
            trace = str(error).strip()
            problems[i] = "its write was refused" if i in writes else \
                f"failed ({trace.splitlines()[-1] if trace else 'no trace'})"
    if not problems:
        return [waited.finished[i][1] for i in range(len(names))]
    listed = unfinished_listed(problems, names, first)
    try:
        unmerged = callbacks.finish_once(config, hold_write_failure=True)
    except KeyboardInterrupt:
        callbacks.note_not_done(sweep_dir, [listed])
        raise
    held = callbacks.take_not_done(sweep_dir)  # said here, not again by the command's end
    try:
        _, failed, _, uncounted = count_records(sweep_dir, sweep=True)
    except KeyboardInterrupt:  # the interrupted line says them instead
        callbacks.note_not_done(sweep_dir, [*held, listed])
        raise
    runs = recorded_runs_said(sweep_dir, failed, uncounted)
    merged = "; ".join(held) or unmerged or f"the finished jobs are merged in {sweep_dir / 'runs.csv'}"
    did_not_finish = f"{len(problems)} of {len(names)} jobs of the sweep did not finish: {listed}"
    others = [error for i, error, outside in ends if not outside and i not in writes]
    if writes:  # the first refused write in job order wins, its line naming the rest (also its failed runs: also_said)
        first_write, *other_writes = (writes[i] for i in sorted(writes))
        callbacks.write_wins(first_write, others, other_writes, first=[did_not_finish],
                             last=[f"logs in {sweep_dir / '.submitit'}", merged])
    said = [part for error in others for part in callbacks.job_error_said(error)]  # a traceback printed first
    sys.stderr.write(f"error: {did_not_finish}; {''.join(f'{part}; ' for part in said)}"
                     f"{''.join(f'{run}; ' for run in runs)}logs in {sweep_dir / '.submitit'}; {merged}; "
                     f"finish the sweep with: {then}\n")
    write_refused = any(callbacks.held_write(step) for step in held)
    raise SystemExit(WRITE_FAILED if write_refused else UNFINISHED)


def finished_ends(waited: Waited) -> list[tuple[int, BaseException, bool]]:
    """The finished jobs that raised, in job order: (index, exception, whether outside Hydra's job). Inside: submitit
    says the job succeeded, its result Hydra's JobReturn, FAILED, holding the exception (a bug, a worker's refusal:
    harness.precheck.JobRefused, or its refused write: harness.write_failure.JobStopped; callbacks.job_error).
    Outside (submitit's outcome "error": a refused write of Hydra's .hydra/ files, a crash before the job ran):
    submitit's FailedJobError of its trace, the form in which write_failure.line_for finds a refused write, as
    local_launcher.job_return hands it on when every job finished."""
    from submitit.core.utils import FailedJobError

    from harness.callbacks import job_error
    ends: list[tuple[int, BaseException, bool]] = []
    for i, (outcome, value) in sorted(waited.finished.items()):
        if outcome != "success":
            ends.append((i, FailedJobError(str(value)), True))
        elif (error := job_error(value)) is not None:
            ends.append((i, error, False))
    return ends
