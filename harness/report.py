"""`python -m harness.report [RESULT_DIRS...]`: rebuild tables, figures and the HTML page from records on disk."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.precheck import BadInput, refuse
from harness.records import UnreadableRecord
from harness.reporting import build_report
from harness.reporting.build import REPORT_DIRNAME, unreadable_record_said
from harness.reporting.article_numbers import load_reference
from harness.write_failure import WriteFailed, stop


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, build the report, print where it is. A record the report cannot read is
    refused in one line (exit 2), the previous report left as it was; a failed write stops (exit 4)."""
    parser = argparse.ArgumentParser(prog="python -m harness.report", description=__doc__)
    parser.add_argument("dirs", nargs="*", default=["results"],
                        help="results folders, experiment folders or run folders (default: results)")
    parser.add_argument("--out", default=None, help="report folder (default: <first dir>/report)")
    parser.add_argument("--all-runs", action="store_true",
                        help="merge every run folder of an experiment instead of only the latest")
    parser.add_argument("--reference", default=None, help="article numbers (default: results/reference/article.yaml)")
    args = parser.parse_args(argv)
    try:
        check_arguments(args)
    except ValueError as error:
        refuse(error)
    try:
        index = build_report(args.dirs, args.out, all_runs=args.all_runs, reference_path=args.reference)
    except UnreadableRecord as unreadable:  # may be a good record: never left out of the tables
        refuse(BadInput(unreadable_record_said(unreadable, report_folder(args))))
    except WriteFailed as failure:
        stop(failure, args.out or args.dirs[0], "run this command again")
    print(f"report: {index.resolve()}")
    return 0


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse, before anything is written, folders that do not exist, a report folder that cannot
    be one and a --reference file that is missing or unreadable (one-line ValueError). Without
    --reference a missing article.yaml is no error: the page says how to restore it."""
    from harness.folders import check_writable_folder
    missing = [d for d in args.dirs if not Path(d).is_dir()]
    if missing:
        raise ValueError(f"no such folder: {', '.join(missing)}; pass folders holding run records (e.g. results)")
    check_writable_folder(report_folder(args), "--out")
    if args.reference is not None:
        load_reference(args.reference)


def report_folder(args: argparse.Namespace) -> Path:
    """Where the report goes: --out, else the first folder's report/ (as build_report chooses)."""
    return Path(args.out) if args.out else Path(args.dirs[0]) / REPORT_DIRNAME


if __name__ == "__main__":
    sys.exit(main())
