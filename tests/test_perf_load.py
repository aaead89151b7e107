"""The machine's load during a run (harness.load): other processes' CPU use, from /proc/stat and os.times."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import load


def stat_line(user: int, system: int, idle: int, iowait: int) -> str:
    # user nice system idle iowait irq softirq steal, in clock ticks
    return f"cpu  {user} 0 {system} {idle} {iowait} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"


def test_other_processes_cpu_load_is_machine_busy_time_minus_our_own(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    tick = os.sysconf("SC_CLK_TCK")
    stat = tmp_path / "stat"
    stat.write_text(stat_line(user=10 * tick, system=0, idle=50 * tick, iowait=5 * tick))
    clock = iter([100.0, 102.0])  # a 2 s run
    own = iter([7.0, 8.0])  # of which this process used 1 CPU second
    monkeypatch.setattr(load.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(load, "own_cpu_seconds", lambda: next(own))
    with load.RunLoad(stat) as measured:
        # 3 busy CPU seconds on the machine (2 user + 1 system); idle and iowait do not count
        stat.write_text(stat_line(user=12 * tick, system=1 * tick, idle=99 * tick, iowait=9 * tick))
    fields = measured.fields()
    assert fields["other_cpu_load"] == pytest.approx((3.0 - 1.0) / 2.0)
    assert fields["load_average"] == pytest.approx(os.getloadavg()[0], abs=5)


def test_unreadable_proc_stat_gives_no_figure(tmp_path: Path) -> None:
    with load.RunLoad(tmp_path / "missing") as measured:
        pass
    assert measured.fields()["other_cpu_load"] is None


def test_a_real_run_records_a_non_negative_load() -> None:
    with load.RunLoad() as measured:
        sum(range(100_000))
    value = measured.fields()["other_cpu_load"]
    assert value is not None and value >= 0
