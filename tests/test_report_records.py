"""A foreign or older file in records/ is skipped, named, by everything that reads records; the
harness still refuses to write a record with a field it does not know."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from harness.records import read_records, write_record
from harness.runs_table import load_runs
from harness.reporting import build_report, tables


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
