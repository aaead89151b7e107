"""`python -m harness.suite` (`make bench`): run the article's experiments one after another, then
build the report and say where it is.

Each experiment runs as its own process (`python -m harness +experiment=NAME`), one at a time,
so timings never share the CPU with another experiment and one crash does not stop the rest.
The exit status is non-zero when any experiment failed; the report is built regardless.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from harness.records import UnreadableRecord

RESULTS = Path("results")
STARTUP_SECONDS = 15.0  # interpreter, Hydra and library imports per experiment
# What a fresh `make bench` may take on a quiet two-core CPU machine (the README states it); where
# the suite would grow past it, seeds of the ablation's cells give, never an article experiment.
BUDGET_SECONDS = 30 * 60


@dataclass(frozen=True)
class Step:
    """One experiment of the suite and what it needs."""

    experiment: str
    overrides: tuple[str, ...] = ()
    needs_gpu: bool = False
    expected_seconds: float = 60.0  # on a two-core CPU machine, startup excluded

    def command(self) -> list[str]:
        return [sys.executable, "-m", "harness", f"+experiment={self.experiment}", "quiet=false", *self.overrides]

    def shown(self) -> str:
        """The command as a user would type it."""
        return " ".join(["python", *self.command()[1:]])


# The article's suite, in the order the article presents it, the ablations before the GPU run. The one list the suite runs.
# titanic_sgd, titanic_adam, titanic_vs_tf_article and mnist_cpu run the article's whole algorithm
# (algorithm=article: its sampler, Adam, backprop order, loss derivative, float64), which made its
# numbers; titanic_vs_tf and mnist_vs_tf sweep two cases, the peers with Keras's algorithm (implementation
# against implementation) and the MLP with the article's (the article's own head-to-head).
# The vs_tf sweeps' `article` cases run the MLP with the article's algorithm on exactly the setups
# of titanic_vs_tf_article and mnist_cpu (same seeds), so those two are not repeated here.
# Estimates (a fresh run's forecast; later runs forecast from the last one's records) are the
# reference machine's, the two-core Intel Xeon the README reports and keeps the budget on, nothing
# else running, at 3c4f309 on 2026-12-02: 22.7 min in all, titanic_vs_tf 647 s, mnist_vs_tf 533 s,
# ablation_titanic 147 s, the rest 0.6 min (drujba_linreg, titanic_sgd and titanic_adam keep the
# EPYC's estimates, 45 s). A two-core AMD EPYC took 37.4 min (2026-11-30), about twice as long
# each, over the budget: Keras's ten runs as the article ran it (71 s each there, 33 s on the
# Xeon) are the article's experiment at its seed count, which never gives. ablation_titanic keeps
# 3 seeds a cell (each main effect on 48 runs a side); ablation_mnist (12 cells, ~6 min a seed)
# runs apart (APART)
# (docs/article_algorithm.md, "Budget").
SUITE: tuple[Step, ...] = (
    Step("drujba_linreg", expected_seconds=5),
    Step("titanic_sgd", expected_seconds=20),
    Step("titanic_adam", expected_seconds=20),
    Step("titanic_vs_tf", expected_seconds=647),
    Step("mnist_vs_tf", ("backend=numpy",), expected_seconds=533),
    Step("ablation_titanic", expected_seconds=147),
    Step("mnist_gpu", needs_gpu=True, expected_seconds=30),
)

# Experiments make bench leaves out for its budget, each with the command that runs it apart (a
# Makefile target).
APART: dict[str, str] = {"ablation_mnist": "make ablation-mnist"}


def run_command(experiment: str) -> str:
    """The command that runs `experiment` as the suite means it: make bench for its own steps, the
    target of one it leaves out (APART), else the experiment alone."""
    if experiment in APART:
        return APART[experiment]
    if any(step.experiment == experiment for step in SUITE):
        return "make bench"
    return f"python -m harness +experiment={experiment}"


def gpu_status() -> tuple[bool, str]:
    """Whether the CuPy backend is usable, and why not; never raises."""
    try:
        from mlp_impl.backend import gpu_status as status
    except ImportError as error:
        return False, f"mlp_impl.backend.gpu_status is not importable ({error})"
    try:
        usable, reason = status()
    except Exception as error:  # a broken driver must not stop the CPU suite
        return False, f"checking the GPU failed ({type(error).__name__}: {error})"
    return bool(usable), str(reason)


def plan(steps: tuple[Step, ...], status: Callable[[], tuple[bool, str]] = gpu_status) -> tuple[list[Step], list[str]]:
    """The steps to run, and a line for each skipped one saying why."""
    runnable, skipped = [], []
    usable, reason = (True, "") if not any(s.needs_gpu for s in steps) else status()
    for step in steps:
        if step.needs_gpu and not usable:
            skipped.append(f"{step.experiment}: skipped, no usable GPU ({reason})")
        else:
            runnable.append(step)
    return runnable, skipped


def previous_seconds(results: Path, experiment: str) -> float | None:
    """Wall time of the latest earlier run of `experiment` (first start to last finish), if any."""
    from harness.reporting.batches import load_batches, select_latest

    folder = results / experiment
    if not folder.is_dir():
        return None
    runs, _ = select_latest(load_batches([folder]))
    try:
        start = min(datetime.fromisoformat(str(v)) for v in runs["started_at"].dropna())
        end = max(datetime.fromisoformat(str(v)) for v in runs["finished_at"].dropna())
    except ValueError:  # no timestamps (or unparsable ones): fall back to the estimate
        return None
    return max((end - start).total_seconds(), 0.0)


def expected_seconds(step: Step, results: Path) -> tuple[float, str]:
    """(seconds the step should take, startup included; 'last run' or 'estimate': where it comes from)."""
    measured = previous_seconds(results, step.experiment)
    if measured is not None:
        return measured + STARTUP_SECONDS, "last run"
    return step.expected_seconds + STARTUP_SECONDS, "estimate"


def minutes(seconds: float) -> str:
    """'1.5 min'."""
    return f"{seconds / 60:.1f} min"


def expected_text(steps: list[Step], results: Path) -> str:
    """The expected total against the budget, then one line per experiment with its source."""
    expected = [expected_seconds(step, results) for step in steps]
    total = sum(seconds for seconds, _ in expected)
    lines = [f"expected duration: about {max(total / 60, 1):.0f} min on a two-core CPU machine "
             f"(budget {BUDGET_SECONDS / 60:.0f} min)"]
    lines += [f"  {step.experiment}: ~{minutes(seconds)} ({source})" for step, (seconds, source) in zip(steps, expected)]
    if total > BUDGET_SECONDS:
        lines.append(f"warning: the expected {minutes(total)} exceed the budget of {minutes(BUDGET_SECONDS)}")
    return "\n".join(lines)


def kernels_note() -> str | None:
    """The opening note when the environment forces NumPy's OpenBLAS onto kernels it would not pick by
    itself (harness.blas_kernels): NumPy's matrix products and the matmul rate will carry it. Not asked
    where the rate is not measured (MLP_BENCH_MEASURE_RATE=0: quick checks), which costs an interpreter."""
    from harness import blas_kernels
    from harness.machine import skip_reason

    if skip_reason() is not None:
        return None
    facts = blas_kernels.kernels()
    if not blas_kernels.slowed(facts):
        return None
    return (f"note: {blas_kernels.forced_text(facts, 'runs')}; NumPy's matrix products and the matmul rate will "
            f"show it, the report says so (for OpenBLAS's own choice: {blas_kernels.unset_command(facts)} make bench)")


def run_step(step: Step) -> int:
    """Run one experiment in its own process; its output goes straight to the terminal."""
    return subprocess.run(step.command(), check=False).returncode


def run_suite(steps: tuple[Step, ...] = SUITE, *, results: Path = RESULTS,
              runner: Callable[[Step], int] = run_step,
              status: Callable[[], tuple[bool, str]] = gpu_status,
              kernels: Callable[[], str | None] = kernels_note) -> int:
    """Run every step, build the report, print where it is; 1 when any step or the report failed. A
    record under `results` the OS will not let it read is refused before any step (exit 2)."""
    runnable, skipped = plan(steps, status)
    check_records_readable_under(results)
    print(expected_text(runnable, results), flush=True)
    note = kernels()
    if note:
        print(note, flush=True)
    expected = [expected_seconds(step, results)[0] for step in runnable]  # before the runs add to results
    failed: list[str] = []
    for number, step in enumerate(runnable, start=1):
        print(f"\n[{number}/{len(runnable)}] {step.experiment} (expected ~{minutes(expected[number - 1])}): "
              f"{step.shown()}", flush=True)
        started = time.perf_counter()
        code = runner(step)
        elapsed = time.perf_counter() - started
        left = sum(expected[number:])
        print(f"[{number}/{len(runnable)}] {step.experiment}: exit {code} after {elapsed:.0f} s; "
              f"remaining: about {minutes(left)} ({len(runnable) - number} to run)", flush=True)
        if code != 0:
            failed.append(f"{step.experiment} (exit {code})")
    for line in skipped:
        print(line)
    try:
        from harness.reporting import build_report
        from harness.reporting.build import REPORT_DIRNAME, unreadable_record_said

        print(f"\nreport: {build_report([results]).resolve()}")
    except UnreadableRecord as unreadable:  # one made unreadable since the check: the report's own line
        again = f"build the report again with python -m harness.report {results}"
        failed.append(f"report ({unreadable_record_said(unreadable, results / REPORT_DIRNAME, again=again)})")
    except Exception as error:  # the runs are on disk; say how to retry
        failed.append(f"report ({type(error).__name__}: {error}; retry with python -m harness.report)")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


def check_records_readable_under(results: Path) -> None:
    """The forecast reads the last runs' records, and the report at the end every record under `results`:
    one the OS will not let them read, or a records/ it will not list (harness.records.read_records), is
    refused now, in one line, exit 2, rather than end the suite in a traceback before any step, or fail
    its report after every step."""
    from harness.precheck import BadInput, refuse
    from harness.runs_table import load_runs
    try:
        load_runs([results])
    except UnreadableRecord as unreadable:
        refuse(BadInput(unreadable.said("make bench", "run make bench again")))


def main(argv: list[str] | None = None) -> int:
    """Command line: `--dry-run` prints the plan and the expected duration only."""
    parser = argparse.ArgumentParser(prog="python -m harness.suite", description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--dry-run", action="store_true", help="print the plan and expected duration, run nothing")
    args = parser.parse_args(argv)
    if args.dry_run:
        runnable, skipped = plan(SUITE)
        check_records_readable_under(RESULTS)
        print(expected_text(runnable, RESULTS))
        for step in runnable:
            print(f"would run: {step.shown()}")
        print("\n".join(skipped))
        return 0
    return run_suite()


if __name__ == "__main__":
    sys.exit(main())
