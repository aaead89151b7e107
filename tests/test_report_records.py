"""A foreign or older file in records/ is skipped, named, by everything that reads records; the
harness still refuses to write a record with a field it does not know. A record the OS will not let it
read, or a records/ it cannot list, may be a good record: never skipped, it is refused in one line."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import harness.records
from harness import report
from harness.records import UnreadableRecord, read_records, write_record
from harness.runs_table import load_runs
from conftest import refuse_to_list
from harness.reporting import build_report, tables

REPO_ROOT = Path(__file__).resolve().parents[1]


def _record(seed: int) -> dict:
    return dict(experiment="titanic_adam", impl="mlp", backend="numpy", dataset="titanic", seed=seed,
                status="ok", fit_seconds=1.0 + seed, test_accuracy=0.7 + seed / 100)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A finished run folder (seeds 0 and 1) with a foreign file that looks like a record."""
    folder = tmp_path / "results" / "titanic_adam" / "2026-01-01_00-00-00"
    for seed in (0, 1):
        write_record(folder, _record(seed))
    foreign = {**json.loads((folder / "records" / "mlp-numpy-seed0.json").read_text()), "seed": 5, "note": "x"}
    (folder / "records" / "mlp-numpy-seed5.json").write_text(json.dumps(foreign))
    return folder


def test_foreign_file_is_skipped_once_with_its_name(run_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = run_dir / "records" / "mlp-numpy-seed5.json"
    with caplog.at_level(logging.WARNING, logger="harness.records"):
        assert [r["seed"] for r in read_records(run_dir)] == [0, 1]
        assert [r["seed"] for r in read_records(run_dir)] == [0, 1]
    assert [r.getMessage() for r in caplog.records] == [
        f"record file skipped: {bad}: unknown record fields ['note'] (a foreign file, or from another version); "
        f"move it out of {bad.parent}, or make its fields those of harness.records.RECORD_FIELDS, to silence this"]


def test_strict_reading_names_the_file(run_dir: Path) -> None:
    bad = run_dir / "records" / "mlp-numpy-seed5.json"
    with pytest.raises(ValueError, match=f"^{bad}: unknown record fields \\['note'\\]"):
        read_records(run_dir, strict=True)
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match=f"^{bad}: a JSON object was expected, found list$"):
        read_records(run_dir, strict=True)
    bad.write_text("{")
    with pytest.raises(ValueError, match=f"^{bad}: not valid JSON"):
        read_records(run_dir, strict=True)


def test_runs_csv_summary_and_report_build_without_it(run_dir: Path) -> None:
    write_record(run_dir, _record(2))  # a resumed run goes on: runs.csv is rebuilt after each record
    assert pd.read_csv(run_dir / "runs.csv")["seed"].tolist() == [0, 1, 2]
    row = tables.summary_table(load_runs([run_dir])).iloc[0]
    assert (row["n_runs"], row["fit_seconds_median"]) == (3, 2.0)
    assert build_report([run_dir.parent.parent]).is_file()


def test_writing_a_record_with_an_unknown_field_still_fails(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown record fields \['note'\]"):
        write_record(tmp_path, {**_record(0), "note": "x"})
    assert not (tmp_path / "records").exists()


@pytest.mark.parametrize("values, problem", [
    ({}, "missing record fields ['experiment', 'impl', 'seed', 'status']"),
    ({**_record(7), "status": None}, "missing record fields ['status']"),
    ({**_record(7), "seed": "7"}, "seed '7' is not a non-negative integer"),
    ({**_record(7), "status": "done"}, "status 'done' is not one of ok, diverged, failed"),
])
def test_a_file_that_names_no_run_is_skipped_with_its_name(run_dir: Path, caplog: pytest.LogCaptureFixture,
                                                          values: dict, problem: str) -> None:
    """Every record says which run it is and how it ended; a file that does not (notes.json: `{}`)
    is not an ok run of an experiment called "nan"."""
    (run_dir / "records" / "mlp-numpy-seed5.json").unlink()  # the fixture's other foreign file
    stray = run_dir / "records" / "notes.json"
    stray.write_text(json.dumps(values))
    with caplog.at_level(logging.WARNING, logger="harness.records"):
        assert [r["seed"] for r in read_records(run_dir)] == [0, 1]
    assert [r.getMessage() for r in caplog.records] == [
        f"record file skipped: {stray}: {problem}; move it out of {stray.parent}, or make its fields "
        "those of harness.records.RECORD_FIELDS, to silence this"]
    summary = tables.summary_table(load_runs([run_dir]))
    assert summary[["experiment", "n_runs", "n_ok"]].values.tolist() == [["titanic_adam", 2, 2]]
    with pytest.raises(ValueError) as refused:
        read_records(run_dir, strict=True)
    assert str(refused.value).startswith(f"{stray}: {problem}")


# A record the OS will not let the report read may be a good record: the report refuses it in one line
# (exit 2) rather than leave it out of the tables, and the previous report stays as it was.
NOT_AS_ROOT = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads a file of mode 000")
UNREADABLE = [pytest.param("link to nothing", id="link to nothing"), pytest.param("EIO", id="EIO"),
              pytest.param("mode 000", id="mode 000", marks=NOT_AS_ROOT)]


def _make_unreadable(path: Path, fault: str, monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    """`path` made a record file the OS will not let the report read (EIO: its reads fail, as on a bad
    disk sector, by `monkeypatch`); the OS's words for it."""
    if fault == "link to nothing":
        path.unlink(missing_ok=True)
        path.symlink_to("/nonexistent")
        return "No such file or directory (ENOENT)"
    if fault == "EIO":
        real = harness.records.read_record

        def failing(p: Path) -> dict:
            if Path(p) == path:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return real(p)
        monkeypatch.setattr(harness.records, "read_record", failing)
        return "Input/output error (EIO)"
    path.chmod(0)
    return "Permission denied (EACCES)"


def _report_files(report: Path) -> dict[str, bytes]:
    return {str(p.relative_to(report)): p.read_bytes() for p in sorted(report.rglob("*")) if p.is_file()}


def _report_line(path: Path, why: str, report: Path) -> str:
    return (f"error: report: cannot read {path} ({why}); make it readable, or move it out of {path.parent}, then "
            f"build the report again; the previous report in {report} is left as it was\n")


@pytest.mark.parametrize("name", ["mlp-numpy-seed1.json", "other-numpy-seed9.json"], ids=["a run's", "foreign"])
@pytest.mark.parametrize("fault", UNREADABLE)
def test_the_report_refuses_a_record_it_cannot_read_and_keeps_the_previous_report(
        run_dir: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, fault: str, name: str) -> None:
    """python -m harness.report (make report) read every record with read_records, which raises for a
    file the OS will not let it read; its main caught only a failed write: a traceback, exit 1."""
    root = run_dir.parent.parent
    assert report.main([str(root)]) == 0
    before = _report_files(root / "report")
    path = run_dir.resolve() / "records" / name
    if not path.exists():
        write_record(run_dir, {**_record(9), "impl": "other"})
    why = _make_unreadable(path, fault, monkeypatch)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        report.main([str(root)])
    assert stop.value.code == 2
    assert capsys.readouterr().err == _report_line(path, why, root / "report")
    assert _report_files(root / "report") == before
    assert not [p for p in root.rglob(".report*")]  # nothing staged was left behind


def test_the_report_command_refuses_it_in_one_line(run_dir: Path) -> None:
    """The command as make report runs it: one line on stderr, exit 2, no traceback."""
    root = run_dir.parent.parent
    path = run_dir.resolve() / "records" / "mlp-numpy-seed1.json"
    why = _make_unreadable(path, "link to nothing")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "harness.report", str(root)], cwd=root.parent, env=env,
                          capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stderr, done.stdout) == (2, _report_line(path, why, root / "report"), "")
    assert not (root / "report").exists()


@pytest.mark.parametrize("fault", ["a file", "a link to nothing"])
def test_a_records_folder_that_is_no_folder_is_no_run_folder_without_records(
        run_dir: Path, capsys: pytest.CaptureFixture, fault: str) -> None:
    """A run folder whose records/ is a file (or a link to a folder not mounted here) held runs the
    report cannot read: read_records took it for a folder without records ([]) and the report left the
    folder out, silently; both now refuse it, naming records/ and what the OS said."""
    root = run_dir.parent.parent
    records = run_dir.resolve() / "records"
    shutil.rmtree(records)
    if fault == "a file":
        records.write_text("kept")
        why = "Not a directory (ENOTDIR)"
    else:
        records.symlink_to(run_dir.parent / "unmounted")
        why = "No such file or directory (ENOENT)"
    with pytest.raises(UnreadableRecord) as refused:
        read_records(run_dir)
    assert str(refused.value.path) == str(records) and refused.value.why == why
    with pytest.raises(SystemExit) as stop:
        report.main([str(root)])
    assert stop.value.code == 2
    assert capsys.readouterr().err == _report_line(records, why, root / "report")
    assert records.is_symlink() or records.read_text() == "kept"


# python -m harness.sweep_merge reads every record of the sweep for its tables, then, for its report, every
# record of the results folder the sweep belongs to: one the OS will not let it read is refused in one line
# (exit 2), in the command's own words, nothing it wrote before lost.
@pytest.fixture
def merged_sweep(tmp_path: Path) -> Path:
    """A sweep of two jobs (seeds 0 and 1 each) in Hydra's layout under tmp_path/results, beside another run of
    the experiment, its tables and its report built by python -m harness.sweep_merge."""
    from harness import sweep_merge
    results = tmp_path / "results"
    sweep = results / "titanic_adam" / "multirun" / "2026-01-01_00-00-00"
    for job in ("0", "1"):
        for seed in (0, 1):
            write_record(sweep / job, _record(seed))
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    write_record(results / "titanic_adam" / "2026-01-02_00-00-00", _record(0))
    assert sweep_merge.main([str(sweep)]) == 0
    assert (results / "report" / "index.html").is_file()
    return sweep


def _sweep_merge_line(path: Path, why: str, sweep: Path, kept: str) -> str:
    return (f"error: sweep_merge: cannot read {path} ({why}); make it readable, or move it out of {path.parent}, "
            f"then run python -m harness.sweep_merge {sweep} again; {kept}\n")


def _sweep_tables(sweep: Path) -> dict[str, bytes]:
    return {name: (sweep / name).read_bytes() for name in ("runs.csv", "summary.csv")}


@pytest.mark.parametrize("where", ["in the sweep", "elsewhere in the report"])
@pytest.mark.parametrize("fault", UNREADABLE)
def test_sweep_merge_refuses_a_record_it_cannot_read_and_keeps_what_it_wrote_before(
        merged_sweep: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, fault: str,
        where: str) -> None:
    """Its main caught only a failed write: a traceback, exit 1. One in the sweep stops it before its tables
    (the previous runs.csv and summary.csv stay), one elsewhere under the results folder before its report
    (the previous report stays), both read before anything of theirs is written."""
    from harness import sweep_merge
    results = merged_sweep.parents[2]
    tables_before, report_before = _sweep_tables(merged_sweep), _report_files(results / "report")
    if where == "in the sweep":
        path = merged_sweep.resolve() / "1" / "records" / "mlp-numpy-seed1.json"
        kept = f"the sweep's runs.csv and summary.csv in {merged_sweep} are left as they were"
    else:
        path = results.resolve() / "titanic_adam" / "2026-01-02_00-00-00" / "records" / "mlp-numpy-seed0.json"
        kept = f"the previous report in {results.resolve() / 'report'} is left as it was"
    why = _make_unreadable(path, fault, monkeypatch)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        sweep_merge.main([str(merged_sweep)])
    assert stop.value.code == 2
    assert capsys.readouterr().err == _sweep_merge_line(path, why, merged_sweep, kept)
    assert _sweep_tables(merged_sweep) == tables_before
    assert _report_files(results / "report") == report_before
    assert not [p for p in results.rglob(".report*")]


def test_the_sweep_merge_command_refuses_it_in_one_line(merged_sweep: Path) -> None:
    """The command as a user runs it to redo a sweep's end: one line on stderr, exit 2, no traceback."""
    path = merged_sweep.resolve() / "0" / "records" / "mlp-numpy-seed0.json"
    why = _make_unreadable(path, "link to nothing")
    before = _sweep_tables(merged_sweep)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "harness.sweep_merge", str(merged_sweep)], cwd=merged_sweep,
                          env=env, capture_output=True, text=True, timeout=300)
    kept = f"the sweep's runs.csv and summary.csv in {merged_sweep} are left as they were"
    assert (done.returncode, done.stderr, done.stdout) == (2, _sweep_merge_line(path, why, merged_sweep, kept), "")
    assert _sweep_tables(merged_sweep) == before and path.is_symlink()


def test_the_report_refuses_a_folder_under_its_roots_it_cannot_list(run_dir: Path, capsys: pytest.CaptureFixture,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """find_run_dirs walked the results folder with os.walk, which passes over a folder it may not list
    (EACCES) without a word: that folder's runs dropped out of the report, which read as if they had never
    run. It is refused now like a record the report cannot read: one line, exit 2, the previous report kept.
    (As root every folder can be listed: os.scandir is made to refuse it as it refuses another user.)"""
    from harness.runs_table import find_run_dirs
    root = run_dir.parent.parent
    assert report.main([str(root)]) == 0
    before = _report_files(root / "report")
    hidden = run_dir.parent.resolve()
    refuse_to_list(monkeypatch, hidden, "scandir")
    with pytest.raises(UnreadableRecord) as refused:
        find_run_dirs([root])
    assert (refused.value.path, refused.value.why) == (hidden, "Permission denied (EACCES)")
    assert find_run_dirs([root / "nothing here"]) == []  # a root that is not there holds no runs, as before
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        report.main([str(root)])
    assert stop.value.code == 2
    assert capsys.readouterr().err == _report_line(hidden, "Permission denied (EACCES)", root / "report")
    assert _report_files(root / "report") == before


def test_every_command_hands_refuse_the_bad_input_error(run_dir: Path, merged_sweep: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """harness.precheck.refuse takes an error (its line is the error's first): python -m harness.report and make
    bench handed it their line as a str, sweep_merge as a ValueError. Each hands it the project's bad-input
    error now (precheck.BadInput), one way, with the same line."""
    import harness.precheck
    from harness import suite, sweep_merge
    from harness.precheck import BadInput
    handed: list[Exception] = []

    def refuse(error: Exception) -> None:
        handed.append(error)
        raise SystemExit(2)
    monkeypatch.setattr(harness.precheck, "refuse", refuse)
    monkeypatch.setattr(report, "refuse", refuse)
    root = run_dir.parent.parent
    _make_unreadable(run_dir.resolve() / "records" / "mlp-numpy-seed1.json", "link to nothing")
    _make_unreadable(merged_sweep.resolve() / "0" / "records" / "mlp-numpy-seed0.json", "link to nothing")
    for command in (lambda: report.main([str(root)]), lambda: suite.check_records_readable_under(root),
                    lambda: sweep_merge.main([str(merged_sweep)])):
        with pytest.raises(SystemExit):
            command()
    assert [type(error) for error in handed] == [BadInput] * 3
    assert [str(error).split(":")[0] for error in handed] == ["report", "make bench", "sweep_merge"]
