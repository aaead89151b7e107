"""How busy the machine was with other work while a run was timed, for its record.

On a shared machine a fit time means little without the load it was taken under. Two figures:
`load_average` (1-minute, at the end of the run: runnable processes, ours included) and
`other_cpu_load`, the average number of cores that other processes kept busy during the run:
CPU time of the whole machine (/proc/stat) minus this process's own (os.times), over the wall
time. 0 on a quiet machine; near the core count, the timing shared every core with others.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

_PROC_STAT = Path("/proc/stat")
_IDLE_COLUMNS = (3, 4)  # idle and iowait in the "cpu" line: user nice system idle iowait irq softirq steal


def machine_busy_seconds(stat: Path = _PROC_STAT) -> float | None:
    """CPU seconds spent busy on every core since boot (None where /proc/stat is unreadable)."""
    try:
        fields = [int(v) for v in stat.read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return None
    busy = sum(v for i, v in enumerate(fields) if i not in _IDLE_COLUMNS)
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds used by this process (every thread) and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class RunLoad:
    """Context manager measuring the other processes' CPU use over its body; `fields()` for the record."""

    def __init__(self, stat: Path = _PROC_STAT) -> None:
        self._stat = stat

    def __enter__(self) -> "RunLoad":
        self._start = (time.perf_counter(), machine_busy_seconds(self._stat), own_cpu_seconds())
        self._end = self._start
        return self

    def __exit__(self, *exc: object) -> None:
        self._end = (time.perf_counter(), machine_busy_seconds(self._stat), own_cpu_seconds())

    def fields(self) -> dict[str, Any]:
        """{'load_average': 1-minute load, 'other_cpu_load': cores busy with other processes}."""
        (wall0, busy0, own0), (wall1, busy1, own1) = self._start, self._end
        other = None
        if busy0 is not None and busy1 is not None and wall1 > wall0:
            other = round(max((busy1 - busy0) - (own1 - own0), 0.0) / (wall1 - wall0), 3)
        try:
            load = round(os.getloadavg()[0], 2)
        except (AttributeError, OSError):
            load = None
        return {"load_average": load, "other_cpu_load": other}
