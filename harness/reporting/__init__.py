"""Tables, figures and the HTML report, made from run records alone.

`update_report(run_dir)` runs at the end of every experiment; `build_report(roots)` rebuilds
everything from the records on disk (`python -m harness.report`).
"""

from harness.reporting.build import build_report, update_report

__all__ = ["build_report", "update_report"]
