"""The article's numbers as data, and the verdict rules of the reproduction table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

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
    # synthetic mlp article_error over seeds 0-3: 101 - (80, 83, 86, 89) -> mean 16.5
    assert _verdict(_entry(), results)["verdict"] == "reproduced"
    assert _verdict(_entry(value=30.0), results)["verdict"] == "better"
    assert _verdict(_entry(value=5.0), results)["verdict"] == "worse"
    assert _verdict(_entry(value=5.0, better="none"), results)["verdict"] == "differs"
    assert _verdict(_entry(range=[14, 17], tolerance=0), results)["verdict"] == "reproduced"


@pytest.mark.parametrize("changes, verdict, reason", [
    # synthetic mlp accuracy over seeds 0-3: 0.78 + 0.004 s -> mean 0.786
    ({"better": "higher", "value": 0.70}, "better", "higher than the article's value by more than ±0.05"),
    ({"better": "higher", "value": 0.90}, "worse", "lower than the article's value by more than ±0.05"),
    ({"better": "lower", "value": 0.70}, "worse", "higher than the article's value by more than ±0.05"),
    ({"better": "lower", "value": 0.90}, "better", "lower than the article's value by more than ±0.05"),
    ({"better": "higher", "range": [0.70, 0.73]}, "better", "higher than the article's value by more than ±0.05"),
    ({"better": "higher", "value": 0.80}, "reproduced", "within ±0.05 of the article's value"),
])
def test_verdicts_where_higher_or_lower_is_better(results, changes: dict, verdict: str, reason: str) -> None:
    entry = _entry(measure="accuracy_mean", unit="", tolerance=0.05) | changes
    row = _verdict(entry, results)
    assert (row["verdict"], row["reason"].split("<")[0]) == (verdict, reason)


@pytest.mark.parametrize("changes, verdict", [
    # mean article error 16.5 (errors 21, 18, 15, 12); every distance below is exact in binary
    ({"value": 21.5, "tolerance": 5}, "reproduced"),           # 5 away, tolerance 5: inside
    ({"value": 21.5, "tolerance": 4.9375}, "better"),          # just outside, and closer to zero
    ({"value": 11.5, "tolerance": 5}, "reproduced"),
    ({"value": 11.5, "tolerance": 4.9375}, "worse"),
    ({"range": [10, 12], "tolerance": 4.5}, "reproduced"),      # from the range's nearer end
    ({"range": [10, 12], "tolerance": 4.25}, "worse"),
    ({"range": [20, 22], "tolerance": 4}, "reproduced"),        # 3.5 below the range's lower end
    ({"value": 17.0}, "better"),                               # no tolerance given: 0
    ({"value": 22, "tolerance_rel": 0.25}, "reproduced"),      # 25% of 22 = 5.5 = the distance
    ({"value": 22.25, "tolerance_rel": 0.25}, "better"),       # 5.5625 < 5.75
])
def test_verdict_at_the_tolerance_edge(results, changes: dict, verdict: str) -> None:
    entry = {k: v for k, v in _entry().items() if k != "tolerance"} | changes
    assert _verdict(entry, results)["verdict"] == verdict


def test_an_entry_without_a_direction_differs_outside_its_tolerance(results) -> None:
    entry = {k: v for k, v in _entry(value=5.0).items() if k != "better"}
    row = _verdict(entry, results)
    assert (row["verdict"], row["reason"].split("<")[0]) == ("differs", "outside ±5 of the article's value")


def test_not_comparable_and_not_measured(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    hardware = _verdict(_entry(measure="fit_seconds_median", comparable=False, reason="other CPU"), results)
    assert (hardware["verdict"], hardware["reason"]) == ("not comparable", "other CPU")
    setup = _verdict(_entry(config={"epochs": 1000}), results)
    assert setup["verdict"] == "not comparable" and setup["reason"] == "our setup differs: epochs=5 (article: 1000)"
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


# --- Which algorithm made a number: the article's own, or Keras's (mnist_vs_tf's default) ---

KERAS_ALGORITHM = {"sampling": "shuffle", "adam_variant": "keras", "adam_epsilon": 1e-7, "backprop": "standard"}
ARTICLE_ALGORITHM = {"sampling": "article", "adam_variant": "article", "adam_epsilon": 1e-8, "backprop": "article"}


def _mnist_run(root: Path, experiment: str, algorithm: dict, loss: float, misclassified: int,
               impls: tuple[str, ...] = ("mlp",)) -> None:
    """One seed of the article's MNIST net as the harness leaves it: a record and the folder's config.yaml."""
    folder = root / experiment / "2026-01-01_00-00-00"
    for impl in impls:
        keras = impl == "keras"
        write_record(folder, dict(
            experiment=experiment, impl=impl, backend="tensorflow" if keras else "numpy", seed=0, status="ok",
            sampling="shuffle" if keras else algorithm["sampling"], layers="784-512-128-64-10", optimizer="adam",
            learning_rate=0.01, batch_size=1000, epochs=10, fit_seconds=30.0, epoch_losses=[1.0, loss],
            test_accuracy=1 - misclassified / 1e4, test_misclassified=misclassified))
    model = {k: v for k, v in algorithm.items() if k != "sampling"}
    (folder / "config.yaml").write_text(yaml.safe_dump({"name": experiment, "sampling": algorithm["sampling"],
                                                        "model": model}), encoding="utf-8")


def _table(root: Path) -> pd.DataFrame:
    runs = load_runs([root])
    summary = pd.concat([tables.summary_table(part) for _, part in runs.groupby("experiment")], ignore_index=True)
    return reference.reproduction_table(summary, runs, reference.load_reference()).set_index("id")


def test_keras_algorithm_never_judges_the_articles_numbers(tmp_path: Path) -> None:
    """mnist_vs_tf runs Keras's algorithm by default: its loss of 0.0259 is no reproduction of the
    article's 0.0378, nor its 242 misclassified a beating of the article's 341."""
    _mnist_run(tmp_path, "mnist_vs_tf", KERAS_ALGORITHM, loss=0.0259, misclassified=242)
    table = _table(tmp_path)
    differs = ("our setup differs: sampling=shuffle (article: article); model.adam_variant=keras "
               "(article: article); model.adam_epsilon=1e-07 (article: 1e-08); "
               "model.backprop=standard (article: article)")
    for number in ("mnist_cpu_last_loss", "mnist_vs_tf_mlp_misclassified"):
        assert (table.loc[number, "verdict"], table.loc[number, "reason"]) == ("not comparable", differs)
        assert table.loc[number, "experiment"] == "mnist_vs_tf"


def test_articles_algorithm_is_preferred_over_an_earlier_listed_experiment(tmp_path: Path) -> None:
    _mnist_run(tmp_path, "mnist_vs_tf", KERAS_ALGORITHM, loss=0.0259, misclassified=242)
    _mnist_run(tmp_path, "mnist_cpu", ARTICLE_ALGORITHM, loss=0.0669, misclassified=339)
    table = _table(tmp_path)
    loss, errors = table.loc["mnist_cpu_last_loss"], table.loc["mnist_vs_tf_mlp_misclassified"]
    assert (loss["experiment"], loss["ours_value"], loss["verdict"]) == ("mnist_cpu", 0.0669, "worse")
    assert (errors["experiment"], errors["ours_value"], errors["verdict"]) == ("mnist_cpu", 339, "reproduced")


def test_a_setting_the_runs_do_not_record_is_not_assumed(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    row = _verdict(_entry(config={"model.backprop": "article"}), results)  # synthetic runs have no config.yaml
    assert (row["verdict"], row["reason"]) == ("not comparable", "our setup differs: model.backprop not recorded "
                                                                 "(article: article)")


def test_a_time_of_another_algorithm_is_judged_and_labelled(tmp_path: Path) -> None:
    """The article's algorithm does the same work per step as Keras's: times stay comparable, with a note."""
    _mnist_run(tmp_path, "mnist_vs_tf", KERAS_ALGORITHM, loss=0.0259, misclassified=242, impls=("mlp", "keras"))
    runs = load_runs([tmp_path])
    entry = _entry(experiments=["mnist_vs_tf"], measure="time_ratio_vs_keras", value=1.0, tolerance=0.1,
                   variant={"model.backprop": "article"})
    row = reference.compare_entry(entry, tables.summary_table(runs), tables.prepare(runs))
    assert (row["verdict"], row["ours_value"]) == ("reproduced", 1.0)
    assert row["note"] == ("the article timed its own algorithm; ours differs: "
                           "model.backprop=standard (article: article)")


def test_unmeasured_reason_names_the_missing_backend_or_impl(tmp_path: Path) -> None:
    _mnist_run(tmp_path, "mnist_vs_tf", KERAS_ALGORITHM, loss=0.0259, misclassified=242)
    table = _table(tmp_path)
    for number in ("mnist_gpu_time", "mnist_gpu_last_loss"):
        assert (table.loc[number, "verdict"], table.loc[number, "reason"]) == ("not measured", (
            "no successful runs on the cupy backend yet (the runs of mnist_gpu or mnist_vs_tf used numpy)"))
    assert table.loc["mnist_vs_tf_keras_misclassified", "reason"] == \
        "no successful keras runs yet (the runs of mnist_vs_tf are of mlp)"
    assert table.loc["titanic_sgd_error", "reason"] == "no successful runs of titanic_sgd yet"
