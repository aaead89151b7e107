"""One table for a whole multirun sweep: every record of every job folder, merged.

Hydra gives each job of a sweep its own folder (SWEEP_DIR/<job>/records/*.json). This module
writes SWEEP_DIR/runs.csv (every record once, with the job folder and overrides it came from) and
SWEEP_DIR/summary.csv (the report's statistics per implementation and swept value). Each job
merges when it ends, so the tables stay complete even if the launching process dies (a SLURM
array outlives it); the sweep callback (harness.callbacks) merges once more after the last job
and builds the report. Merges hold an exclusive lock in SWEEP_DIR, so the last one sees every
record written before it began; the record files themselves are never rewritten here.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd
import yaml

from harness.atomic_write import atomic_write_text
from harness.records import HYDRA_DIRNAME, HYDRA_OVERRIDES_YAML, RECORD_FIELDS, UnreadableRecord
from harness.runs_table import RUNS_CSV, csv_text, load_runs, locked
from harness.write_failure import WriteFailed, stop

log = logging.getLogger(__name__)
SUMMARY_CSV = "summary.csv"
SWEEP_COLUMNS = [*RECORD_FIELDS, "job", "overrides"]



def _job_overrides(run_dir: Path) -> str:
    """The job's own overrides (Hydra's .hydra/overrides.yaml) as 'k=v k=v', '' when absent or not
    the list Hydra writes (unreadable, not UTF-8, not YAML, another shape)."""
    try:
        overrides = yaml.safe_load((run_dir / HYDRA_DIRNAME / HYDRA_OVERRIDES_YAML).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ""
    return " ".join(str(o) for o in overrides) if isinstance(overrides, list) else ""


def _job_key(job: str) -> tuple:
    """Sort jobs by number when Hydra numbered them (0, 1, ..., 10), else by name."""
    head = job.split("-", 1)[0].split(os.sep, 1)[0]
    return (0, int(head), job) if head.isdigit() else (1, 0, job)


def sweep_runs(sweep_dir: str | os.PathLike) -> pd.DataFrame:
    """Every record under the sweep folder, one row each, with `job` (folder relative to the sweep)
    and `overrides` columns, ordered by job number, implementation and seed."""
    root = Path(sweep_dir).resolve()
    runs = load_runs([root])
    runs["job"] = [os.path.relpath(d, root) for d in runs["run_dir"]]
    runs["overrides"] = [_job_overrides(Path(d)) for d in runs["run_dir"]]
    order = sorted(range(len(runs)), key=lambda i: (_job_key(runs["job"].iat[i]), str(runs["impl"].iat[i]),
                                                     str(runs["backend"].iat[i]), runs["seed"].iat[i] or 0))
    return runs.iloc[order].reset_index(drop=True)


def merge_sweep(sweep_dir: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rewrite SWEEP_DIR/runs.csv and summary.csv from the record files (locked); return both."""
    from harness.reporting import tables
    root = Path(sweep_dir)
    with locked(root):
        runs = sweep_runs(root)
        atomic_write_text(root / RUNS_CSV, csv_text(runs[SWEEP_COLUMNS]))
        summary = tables.summary_table(runs) if len(runs) else pd.DataFrame()
        atomic_write_text(root / SUMMARY_CSV, summary.to_csv(index=False))
    return runs, summary


def finish_sweep(sweep_dir: str | os.PathLike, *, experiment: str | None, report: bool,
                 echo: bool = True, merged: list[bool] | None = None) -> Path | None:
    """After the last job: merge the tables, then (report=true) rebuild the HTML report that covers
    the sweep, in the results folder it belongs to. Returns index.html, or None without a report.
    `merged` gets True once the tables are written (what an interruption left undone)."""
    from harness.reporting import build_report, tables
    from harness.reporting.batches import report_root
    root = Path(sweep_dir)
    runs, summary = merge_sweep(root)
    if merged is not None:
        merged.append(True)
    jobs = runs["job"].nunique()
    log.info(f"sweep tables: {len(runs)} records of {jobs} jobs in {root / RUNS_CSV} and {root / SUMMARY_CSV}")
    if echo and len(runs):
        print(tables.terminal_text(summary))
    if not report or runs.empty:
        return None
    index = build_report([report_root(root, experiment)])
    if echo:
        print(f"report: {index}")
    return index


def unreadable_said(unreadable: UnreadableRecord, sweep_dir: str | os.PathLike, *, experiment: str | None,
                    merged: bool, command: str, then: str) -> str:
    """`command`'s line for a record finish_sweep cannot read (harness.records.read_records raises it rather than
    leave a record that may be good out of a table), with `then`, how to redo the step, and what is left as it
    was: the sweep's tables, whose records are read before they are written, or, once they are (`merged`: the
    report's reading failed, under the results folder the sweep belongs to), the previous report. The one
    wording of python -m harness.sweep_merge and of every end of a sweep (harness.callbacks, harness.rerun)."""
    if merged:
        from harness.reporting.batches import report_root
        from harness.reporting.build import REPORT_DIRNAME, unreadable_record_said
        out = report_root(sweep_dir, experiment) / REPORT_DIRNAME
        return unreadable_record_said(unreadable, out, command=command, again=then)
    return unreadable.said(command, f"{then}; the sweep's {RUNS_CSV} and {SUMMARY_CSV} in {sweep_dir} are left "
                                    "as they were")


def main(argv: list[str] | None = None) -> int:
    """`python -m harness.sweep_merge SWEEP_DIR [--no-report]`: redo the end-of-sweep step by hand
    (e.g. after the launching process was killed while cluster jobs went on). A record it cannot read
    is refused in one line (exit 2), before the tables or the report it stops are written; a failed
    write stops (exit 4)."""
    import argparse

    from harness.callbacks import rebuild_command
    from harness.precheck import BadInput, refuse
    parser = argparse.ArgumentParser(prog="python -m harness.sweep_merge", description=main.__doc__)
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--no-report", action="store_true", help="write the tables only")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        parser.error(f"no such folder: {args.sweep_dir}; pass the sweep folder (hydra.sweep.dir)")
    again = f"run {rebuild_command(args.sweep_dir, report=not args.no_report)} again"
    experiment: str | None = None
    merged: list[bool] = []
    try:
        experiment = next((str(e) for e in load_runs([args.sweep_dir])["experiment"].dropna()), None)
        finish_sweep(args.sweep_dir, experiment=experiment, report=not args.no_report, merged=merged)
    except UnreadableRecord as unreadable:  # may be a good record: never left out of the tables
        refuse(BadInput(unreadable_said(unreadable, args.sweep_dir, experiment=experiment, merged=bool(merged),
                                        command="sweep_merge", then=again)))
    except WriteFailed as failure:
        stop(failure, args.sweep_dir, again)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
