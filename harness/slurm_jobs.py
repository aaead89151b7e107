"""Wait for the array tasks of a SLURM sweep, from the controller's own job states.

submitit asks `sacct` for job states, and `sacct` needs SLURM's accounting database: where the
cluster has none ("Slurm accounting storage is disabled"), a task cancelled before it wrote its
result is never seen to end and `job.results()` polls for ever. Here a task is finished when its
result file exists (submitit writes it, whatever the task returned or raised), and has ended
without one when `squeue --states=all` (the controller's memory, no accounting needed) shows it in
a final state (CANCELLED, TIMEOUT, FAILED, PREEMPTED, ...) or no longer lists it. Either way the
wait ends in bounded time: the poll interval plus a grace period for a slow shared filesystem.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from harness.submitit_launch import GRACE_S, Waited, result_of

# States of a task that may still write its result (squeue's long names).
ACTIVE_STATES = frozenset({
    "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
    "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "SPECIAL_EXIT", "RESV_DEL_HOLD"})
POLL_S = 2.0      # between two squeue calls
SILENT_S = 120.0  # squeue failing this long (controller down): stop waiting, report the tasks as unknown
# Pending reasons that no wait resolves: the request exceeds what the partition offers. Clusters
# without EnforcePartLimits queue such a request instead of refusing it at sbatch.
NEVER_STARTS = frozenset({"PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit", "BadConstraints",
                          "InvalidAccount", "InvalidQOS"})


class NeverStarts(RuntimeError):
    """The array's tasks are pending for a reason in NEVER_STARTS (the reason is the message)."""


def queue_states(array_id: str) -> dict[str, tuple[str, str]] | None:
    """Each task of the array as {'<array>_<index>': (STATE, REASON)} from the controller; None when
    squeue fails."""
    try:
        out = subprocess.run(["squeue", "-h", "-r", "--states=all", "-j", array_id, "-o", "%i|%T|%r"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        # squeue -j fails for an id the controller has forgotten (MinJobAge): nothing is listed
        return {} if "Invalid job id" in out.stderr else None
    states = {}
    for line in out.stdout.splitlines():
        task, state, reason = (line.strip().split("|") + ["", ""])[:3]
        states[task] = (state.strip() or "UNKNOWN", reason.strip())
    return states


def wait_for(jobs: list[Any], poll_s: float = POLL_S, grace_s: float = GRACE_S) -> Waited:
    """Poll until every task has a result or has left SLURM's active states; jobs are submitit's
    SlurmJob objects of one array, in the sweep's order (the index in the answer). Raises NeverStarts
    when a task waits for a reason no wait resolves."""
    waited = Waited()
    array_id = jobs[0].job_id.split("_")[0]
    gone_since: dict[int, float] = {}
    answered = time.monotonic()
    while len(waited.finished) + len(waited.unfinished) < len(jobs):
        states = queue_states(array_id)
        now = time.monotonic()
        answered = now if states is not None else answered
        for index, job in enumerate(jobs):
            if index in waited.finished or index in waited.unfinished:
                continue
            result = result_of(job)
            if result is not None:
                waited.finished[index] = result
                continue
            if states is None:
                if now - answered > SILENT_S:
                    waited.unfinished[index] = "unknown (squeue does not answer)"
                continue
            state, reason = states.get(job.job_id, ("left the queue without a result", ""))
            if state == "PENDING" and reason in NEVER_STARTS:
                raise NeverStarts(reason)
            if state not in ACTIVE_STATES and now - gone_since.setdefault(index, now) >= grace_s:
                waited.unfinished[index] = "COMPLETED without a result file" if state == "COMPLETED" else state
        if len(waited.finished) + len(waited.unfinished) < len(jobs):
            time.sleep(poll_s)
    return waited
