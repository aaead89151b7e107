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
