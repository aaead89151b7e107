"""The article's numbers as data, and the verdict rules of the reproduction table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.records import load_runs, write_record
from harness.reporting import reference, tables
from harness.reporting.synthetic import write_synthetic_results

REQUIRED = {"id", "figure", "setup", "quantity", "experiments", "measure", "unit", "better"}


def test_reference_file_holds_the_articles_table() -> None:
    numbers = reference.load_reference()["numbers"]
    ids = [n["id"] for n in numbers]
    assert len(ids) == len(set(ids))
    for entry in numbers:
        assert REQUIRED <= set(entry), entry["id"]
        assert ("value" in entry) != ("range" in entry), entry["id"]
        assert ("tolerance" in entry) != ("tolerance_rel" in entry), entry["id"]
        assert entry["better"] in ("lower", "higher", "closer_to_zero", "none")
        if entry.get("comparable") is False:
            assert entry.get("reason"), entry["id"]
    by_id = {n["id"]: n for n in numbers}
    published = {"drujba_fitted_w": 1933.30, "drujba_fitted_b": 10.81, "titanic_sgd_error": 26.3,
                 "titanic_adam_error": 12.75, "titanic_vs_tf_mlp_error": 16.7, "titanic_vs_tf_keras_error": 12.7,
                 "mnist_cpu_time": 33.4, "mnist_cpu_last_loss": 0.0378, "mnist_gpu_time": 10.2,
                 "mnist_gpu_last_loss": 0.0675, "mnist_vs_tf_mlp_misclassified": 341,
                 "mnist_vs_tf_keras_misclassified": 235}
    for key, value in published.items():
        assert by_id[key]["value"] == value
    assert by_id["titanic_vs_tf_mlp_time"]["range"] == [1.2, 1.4]
    assert by_id["mnist_vs_tf_keras_time"]["range"] == [5.1, 5.3]


def test_missing_reference_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reference numbers not found"):
        reference.load_reference(tmp_path / "nope.yaml")


def _entry(**values: object) -> dict:
    base = dict(id="x", figure="f", quantity="q", experiments=["titanic_vs_tf"], impl="mlp",
                measure="article_error_mean", value=16.7, unit="passengers", tolerance=5, better="closer_to_zero")
    return base | values


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    root = tmp_path_factory.mktemp("ref") / "results"
    write_synthetic_results(root)
    runs = load_runs([root])
    summary = pd.concat([tables.summary_table(part) for _, part in runs.groupby("experiment")], ignore_index=True)
    return summary, runs


def _verdict(entry: dict, results: tuple[pd.DataFrame, pd.DataFrame]) -> dict:
    summary, runs = results
    return reference.compare_entry(entry, summary, tables.prepare(runs))


def test_verdicts(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # synthetic mlp article_error over seeds 0-3: 101 - (80, 83, 86, 89) -> mean 15.5
    assert _verdict(_entry(), results)["verdict"] == "reproduced"
    assert _verdict(_entry(value=30.0), results)["verdict"] == "better"
    assert _verdict(_entry(value=5.0), results)["verdict"] == "worse"
    assert _verdict(_entry(value=5.0, better="none"), results)["verdict"] == "differs"
    assert _verdict(_entry(range=[14, 17], tolerance=0), results)["verdict"] == "reproduced"


def test_not_comparable_and_not_measured(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    hardware = _verdict(_entry(measure="fit_seconds_median", comparable=False, reason="other CPU"), results)
    assert (hardware["verdict"], hardware["reason"]) == ("not comparable", "other CPU")
    setup = _verdict(_entry(config={"epochs": 1000}), results)
    assert setup["verdict"] == "not comparable" and "epochs 5 (article 1000)" in setup["reason"]
    backend = _verdict(_entry(measure="time_ratio_vs_keras", backend_required="cupy", value=1.9), results)
    assert backend["verdict"] == "not comparable" and "cupy" in backend["reason"]
    assert _verdict(_entry(experiments=["mnist_gpu"]), results)["verdict"] == "not measured"


def test_parallel_timings_and_sweeps_are_not_judged(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    sweep = _verdict(_entry(experiments=["titanic_adam"]), results)
    assert sweep["verdict"] == "not comparable" and "sweep" in sweep["reason"]


def test_reproduction_table_covers_every_number(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    summary, runs = results
    numbers = reference.load_reference()
    table = reference.reproduction_table(summary, runs, numbers)
    assert len(table) == len(numbers["numbers"])
    assert set(table["verdict"]) <= set(reference.VERDICTS)
    assert table["reason"].astype(bool).all()


def test_time_ratio_row_uses_same_machine_ratio(tmp_path: Path) -> None:
    folder = tmp_path / "titanic_vs_tf" / "run"
    for seed in range(3):
        for impl, seconds in (("mlp", 1.0), ("keras", 5.0)):
            write_record(folder, dict(experiment="titanic_vs_tf", impl=impl, seed=seed, status="ok",
                                      backend="numpy", fit_seconds=seconds + seed / 10, test_accuracy=0.8))
    runs = load_runs([folder])
    entry = _entry(measure="time_ratio_vs_keras", range=[0.190, 0.237], tolerance_rel=0.25, better="lower")
    del entry["value"], entry["tolerance"]
    row = reference.compare_entry(entry, tables.summary_table(runs), tables.prepare(runs))
    assert row["ours_value"] == pytest.approx(1.1 / 5.1)
    assert row["verdict"] == "reproduced"


def test_time_ratio_notes_unequal_work(tmp_path: Path) -> None:
    folder = tmp_path / "titanic_vs_tf" / "run"
    for seed in range(2):
        for impl, flops in (("mlp", 1e6), ("keras", 6e6)):
            write_record(folder, dict(experiment="titanic_vs_tf", impl=impl, seed=seed, status="ok", flops=flops,
                                      fit_seconds=1.0 + seed, test_accuracy=0.8))
    runs = load_runs([folder])
    summary = tables.summary_table(runs)
    assert summary.loc[summary["impl"] == "mlp", "flops_ratio_vs_keras"].item() == pytest.approx(1 / 6)
    row = reference.compare_entry(_entry(measure="time_ratio_vs_keras", value=0.2), summary, tables.prepare(runs))
    assert "FLOPs" in row["note"]
