"""The article's numbers as data, and the verdict rules of the reproduction table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.algorithm import COMPONENTS, overrides
from harness.records import write_record
from harness.runs_table import load_runs
from harness.reporting import article_numbers, claim_measures, prepared_runs, reference, tables, verdicts
from synthetic_results import write_synthetic_results

REQUIRED = {"id", "figure", "setup", "quantity", "experiments", "measure", "unit", "better"}


def test_reference_file_holds_the_articles_table() -> None:
    numbers = article_numbers.load_reference()["numbers"]
    ids = [n["id"] for n in numbers]
    assert len(ids) == len(set(ids))
    for entry in numbers:
        assert REQUIRED <= set(entry), entry["id"]
        assert ("value" in entry) + ("range" in entry) + ("bound" in entry) == 1, entry["id"]
        assert "tolerance" not in entry and "tolerance_rel" not in entry, entry["id"]  # verdicts are tests now
        assert entry["better"] in ("lower", "higher", "closer_to_zero", "none")
        assert entry.get("read_from") in ("printed", "figure"), entry["id"]
        if entry.get("read_from") == "figure":
            assert entry.get("precision"), entry["id"]
        if entry.get("comparable") is False:
            assert entry.get("reason"), entry["id"]
        elif "bound" in entry:
            assert entry.get("bound_reason"), entry["id"]  # a fixed band only with its reason
        elif entry["measure"] not in claim_measures.TIME_MEASURES or entry["measure"] == "time_ratio_vs_keras":
            assert entry.get("n"), entry["id"]  # the article's run count drives the test
    by_id = {n["id"]: n for n in numbers}
    published = {"drujba_fitted_w": 1933.30, "drujba_fitted_b": 10.81, "titanic_sgd_error": 26.3,
                 "titanic_adam_error": 12.75, "titanic_vs_tf_mlp_error": 16.7, "titanic_vs_tf_keras_error": 12.7,
                 "mnist_cpu_time": 33.4, "mnist_cpu_last_loss": 0.037808, "mnist_gpu_time": 10.2,
                 "mnist_gpu_last_loss": 0.067483, "mnist_vs_tf_mlp_misclassified": 341,
                 "mnist_cpu_first_loss": 4.081437, "mnist_gpu_first_loss": 3.609623,
                 "mnist_vs_tf_misclassified_gap": 106, "titanic_vs_tf_error_gap": 4.0,
                 "mnist_vs_tf_keras_misclassified": 235}
    for key, value in published.items():
        assert by_id[key]["value"] == value
    assert by_id["titanic_vs_tf_mlp_time"]["range"] == [1.2, 1.4]
    assert by_id["mnist_vs_tf_keras_time"]["range"] == [5.1, 5.3]


def test_a_time_ratio_range_is_computed_from_the_two_times_and_their_read_off_error(tmp_path: Path) -> None:
    """The article printed the times' ranges (bars read to ±0.1 s); the ratio's range is computed from
    them, never typed: a_low/b_high to a_high/b_low, widened by each bar's error for the verdict."""
    import yaml

    raw = {n["id"]: n for n in yaml.safe_load(article_numbers.DEFAULT_REFERENCE.read_text(encoding="utf-8"))["numbers"]}
    by_id = {n["id"]: n for n in article_numbers.load_reference()["numbers"]}
    for ratio, mlp, keras in (("titanic_vs_tf_time_ratio", (1.2, 1.4), (5.9, 6.3)),
                              ("mnist_vs_tf_time_ratio", (9.9, 10.3), (5.1, 5.3))):
        assert "range" not in raw[ratio] and raw[ratio]["ratio_of"] == [ratio.replace("time_ratio", "mlp_time"),
                                                                        ratio.replace("time_ratio", "keras_time")]
        assert by_id[ratio]["range"] == pytest.approx([mlp[0] / keras[1], mlp[1] / keras[0]])
        assert by_id[ratio]["read_range"] == pytest.approx([(mlp[0] - 0.1) / (keras[1] + 0.1),
                                                            (mlp[1] + 0.1) / (keras[0] - 0.1)])
    assert reference._article_text(by_id["titanic_vs_tf_time_ratio"]) == \
        "0.19–0.237 (0.172–0.259 allowing for the read-off error of the numbers it comes from; n=10+10)"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({"numbers": [{"id": "r", "measure": "m", "ratio_of": ["a", "missing"]},
                                                  {"id": "a", "measure": "m", "range": [1, 2]}]}), encoding="utf-8")
    with pytest.raises(ValueError, match="r's ratio_of must name two entries that have a range"):
        article_numbers.load_reference(broken)
    def ratio(a: dict, b: dict) -> dict:
        broken.write_text(yaml.safe_dump({"numbers": [{"id": "r", "measure": "m", "ratio_of": ["a", "b"]},
                                                      {"id": "a", "measure": "m", **a},
                                                      {"id": "b", "measure": "m", **b}]}), encoding="utf-8")
        return {n["id"]: n for n in article_numbers.load_reference(broken)["numbers"]}["r"]

    for bad in ({"read_error": None}, {"read_error": True}, {"read_error": -0.1}, {"range": [-1, 6]}):
        with pytest.raises(ValueError, match="ranges and read_error must be numbers of 0 or more"):
            ratio({"range": [1, 2]}, {"range": [5, 6], **bad})
    with pytest.raises(ValueError, match=r"b's range must be \[low, high\], two numbers, not \[None, 6\]"):
        ratio({"range": [1, 2]}, {"range": [None, 6]})
    with pytest.raises(ValueError, match="b's read_error must be below its range's low end"):
        ratio({"range": [1, 2]}, {"range": [5, 6], "read_error": 5.0})
    # each time widened by its own error: (1 - 0.5) / (6 + 0.2) to (2 + 0.5) / (5 - 0.2)
    unequal = ratio({"range": [1, 2], "read_error": 0.5}, {"range": [5, 6], "read_error": 0.2})
    assert unequal["read_range"] == pytest.approx([0.5 / 6.2, 2.5 / 4.8])
    exact = ratio({"range": [1, 2]}, {"range": [5, 6]})  # nothing read off a figure: no widened range
    assert exact["range"] == pytest.approx([1 / 6, 2 / 5]) and "read_range" not in exact
    assert reference._article_text(exact) == "0.167–0.4"
    broken.write_text(yaml.safe_dump({"numbers": [{"id": "r", "measure": "m", "ratio_of": ["a", "b"],
                                                   "range": [0.1, 0.2]}, {"id": "a", "measure": "m", "range": [1, 2]},
                                                  {"id": "b", "measure": "m", "range": [5, 6]}]}), encoding="utf-8")
    with pytest.raises(ValueError, match="r has ratio_of and a typed range or value: keep ratio_of only"):
        article_numbers.load_reference(broken)
    # a read-off error given as a number must match the precision the entry states in words
    for entry in raw.values():
        if "read_error" in entry:
            assert f"±{entry['read_error']:g} {entry['unit']}" in entry["precision"], entry["id"]
        if "ratio_of" in entry:  # and the ratio's precision names its times' error
            for part in entry["ratio_of"]:
                assert f"±{raw[part]['read_error']:g} {raw[part]['unit']}" in entry["precision"], entry["id"]


def test_missing_reference_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reference numbers not found"):
        article_numbers.load_reference(tmp_path / "nope.yaml")


def test_a_malformed_reference_file_is_one_clear_error(tmp_path: Path) -> None:
    """YAML that does not parse, and entries the table could not read, are refused by load_reference
    in one line naming the file and the entry, not by a traceback while the page is built."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("numbers: [a, b\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken.yaml is not valid YAML \(.* line 2\); fix it") as error:
        article_numbers.load_reference(broken)
    assert "\n" not in str(error.value)
    for entries, problem in (([{"id": "x", "measure": "fitted_w_mean"}], "x has no value"),
                             ([{"id": "x", "value": 1.0}], "x has no measure"),
                             ([{"measure": "fitted_w_mean", "value": 1.0}], "an entry has no id"),
                             (["x"], "an entry is not a mapping"),
                             ([{"id": "x", "measure": "fitted_w_mean", "value": "big"}], "x's value must be a number"),
                             ([{"id": "x", "measure": "fitted_w_mean", "range": [1]}], "x's range must be")):
        broken.write_text(yaml.safe_dump({"numbers": entries}), encoding="utf-8")
        with pytest.raises(ValueError, match=f"broken.yaml: {problem}"):
            article_numbers.load_reference(broken)


def _entry(**values: object) -> dict:
    base = dict(id="x", figure="f", quantity="q", experiments=["titanic_vs_tf"], impl="mlp",
                measure="article_error_mean", value=16.7, n=10, unit="passengers", better="closer_to_zero")
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
    return reference.compare_entry(entry, summary, prepared_runs.prepare(runs))


def test_verdicts(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # synthetic mlp article_error over seeds 0-3: 101 - (80, 83, 86, 89) = 21, 18, 15, 12 -> mean 16.5
    # (the rules and their p-values are checked against SciPy in test_report_verdicts.py)
    assert _verdict(_entry(), results)["verdict"] == "consistent"
    assert _verdict(_entry(value=30.0), results)["verdict"] == "better"
    assert _verdict(_entry(value=5.0), results)["verdict"] == "worse"
    assert _verdict(_entry(value=5.0, better="none"), results)["verdict"] == "differs"


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
    numbers = article_numbers.load_reference()
    table = reference.reproduction_table(summary, runs, numbers)
    assert len(table) == len(numbers["numbers"])
    assert {v.split(" (")[0] for v in table["verdict"]} <= set(reference.VERDICTS)  # "too few runs (n=2)"
    assert table["reason"].astype(bool).all()


def test_time_ratio_row_uses_same_machine_ratio(tmp_path: Path) -> None:
    folder = tmp_path / "titanic_vs_tf" / "run"
    for seed in range(5):  # a time ratio's verdict needs five runs a side
        for impl, seconds in (("mlp", 1.0), ("keras", 5.0)):
            write_record(folder, dict(experiment="titanic_vs_tf", impl=impl, seed=seed, status="ok",
                                      backend="numpy", fit_seconds=seconds + seed / 10, test_accuracy=0.8))
    runs = load_runs([folder])
    entry = _entry(measure="time_ratio_vs_keras", range=[0.190, 0.237], better="lower")
    del entry["value"]
    row = reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs))
    assert row["ours_value"] == pytest.approx(1.2 / 5.2)
    assert row["verdict"] == "consistent"


def test_time_ratio_notes_unequal_work(tmp_path: Path) -> None:
    folder = tmp_path / "titanic_vs_tf" / "run"
    for seed in range(2):
        for impl, flops in (("mlp", 1e6), ("keras", 6e6)):
            write_record(folder, dict(experiment="titanic_vs_tf", impl=impl, seed=seed, status="ok", flops=flops,
                                      fit_seconds=1.0 + seed, test_accuracy=0.8))
    runs = load_runs([folder])
    summary = tables.summary_table(runs)
    assert summary.loc[summary["impl"] == "mlp", "flops_ratio_vs_keras"].item() == pytest.approx(1 / 6)
    row = reference.compare_entry(_entry(measure="time_ratio_vs_keras", value=0.2), summary, prepared_runs.prepare(runs))
    assert "FLOPs" in row["note"]



def test_a_time_ratio_says_how_far_each_side_moved_from_the_articles_own_times(tmp_path: Path) -> None:
    """The machine's speed cancels in a ratio, the software's need not: beside a ratio computed from two
    published times (ratio_of), the note says how each side's median compares with the middle of the
    article's time, from the runs; not why (each factor holds this machine's speed too), nor a "moved apart",
    which would only be the ratio over the article's own."""
    folder = tmp_path / "titanic_vs_tf" / "run"
    for seed in range(5):
        for impl, seconds in (("mlp", 1.0), ("keras", 50.0)):
            write_record(folder, dict(experiment="titanic_vs_tf", impl=impl, seed=seed, status="ok",
                                      backend="numpy", fit_seconds=seconds + seed / 10, test_accuracy=0.8))
    runs = load_runs([folder])
    numbers = [{**_entry(id="a", measure="fit_seconds_median", unit="s"), "range": [1.2, 1.4]},
               {**_entry(id="b", measure="fit_seconds_median", impl="keras", unit="s"), "range": [5.9, 6.3]},
               {**_entry(measure="time_ratio_vs_keras", ratio_of=["a", "b"], better="lower")}]
    for entry in numbers:
        entry.pop("value")
    path = tmp_path / "article.yaml"
    path.write_text(yaml.safe_dump({"numbers": numbers}), encoding="utf-8")
    entry = article_numbers.load_reference(path)["numbers"][2]
    row = reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs))
    assert row["note"].endswith(
        "against the article's own times our mlp's median fit time is 0.923x (1.2 s against 1.2–1.4 s) and "
        "keras's 8.23x (50.2 s against 5.9–6.3 s), each factor this machine's speed and the software's and "
        "settings' together"), row["note"]
    runs.loc[runs["impl"] == "keras", "fit_seconds"] /= 8
    row = reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs))
    assert "keras's 1.03x (6.28 s against 5.9–6.3 s), each factor" in row["note"]
    blocked = reference.compare_entry({**entry, "comparable": False, "reason": "the article's MLP ran on a GPU"},
                                      tables.summary_table(runs), prepared_runs.prepare(runs))
    assert blocked["verdict"] == "not comparable" and "against the article's own times" not in blocked["note"]

# --- Which algorithm made a number: the article's own, or Keras's (mnist_vs_tf's default) ---

def _algorithm(reference: str) -> dict:
    """Every component's key at `reference`'s value (harness.algorithm), as a run folder's config holds it."""
    values = dict(override.split("=", 1) for override in overrides(reference))
    return {key: yaml.safe_load(value) for key, value in values.items()}


KERAS_ALGORITHM, ARTICLE_ALGORITHM = _algorithm("keras"), _algorithm("article")


def _mnist_run(root: Path, experiment: str, algorithm: dict, loss: float, misclassified: int,
               impls: tuple[str, ...] = ("mlp",), seeds: int = 3, backend: str = "numpy") -> None:
    """Seeds of the article's MNIST net as the harness leaves them: records and the folder's
    config.yaml (seed s adds 0.001 s to the loss and s to misclassified)."""
    folder = root / experiment / "2026-01-01_00-00-00"
    for impl, seed in ((impl, seed) for impl in impls for seed in range(seeds)):
        keras = impl == "keras"
        write_record(folder, dict(
            experiment=experiment, impl=impl, backend="tensorflow" if keras else backend, seed=seed, status="ok",
            sampling="shuffle" if keras else algorithm["sampling"], dtype="float32" if keras else algorithm["dtype"],
            dataset="mnist", variant="mnist", n_train=60000, n_test=10000, layers="784-512-128-64-10",
            activations="relu,relu,relu,softmax", loss="categorical_crossentropy", initializer="xavier", l1=0.0,
            l2=0.0, optimizer="adam", learning_rate=0.01, batch_size=1000, epochs=10,
            fit_seconds=30.0 + seed, epoch_losses=[1.0, loss + 0.001 * seed],
            test_accuracy=1 - (misclassified + seed) / 1e4, test_misclassified=misclassified + seed))
    config: dict = {"name": experiment}
    for key, value in algorithm.items():
        *parents, leaf = key.split(".")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def _table(root: Path) -> pd.DataFrame:
    runs = load_runs([root])
    summary = pd.concat([tables.summary_table(part) for _, part in runs.groupby("experiment")], ignore_index=True)
    return reference.reproduction_table(summary, runs, article_numbers.load_reference()).set_index("id")


def test_keras_algorithm_never_judges_the_articles_numbers(tmp_path: Path) -> None:
    """mnist_vs_tf runs Keras's algorithm by default: its loss of 0.0259 is no reproduction of the
    article's 0.0378, nor its 242 misclassified a beating of the article's 341."""
    _mnist_run(tmp_path, "mnist_vs_tf", KERAS_ALGORITHM, loss=0.0259, misclassified=242)
    table = _table(tmp_path)
    components = ", ".join(sorted(c.name for c in COMPONENTS))
    differs = f"our runs use another algorithm: they differ from the article's in {components}"
    for number in ("mnist_cpu_last_loss", "mnist_vs_tf_mlp_misclassified"):
        assert (table.loc[number, "verdict"], table.loc[number, "reason"]) == ("not comparable", differs)
        assert table.loc[number, "experiment"] == "mnist_vs_tf"


def test_articles_algorithm_is_preferred_over_an_earlier_listed_experiment(tmp_path: Path) -> None:
    _mnist_run(tmp_path, "mnist_vs_tf", KERAS_ALGORITHM, loss=0.0259, misclassified=242)
    _mnist_run(tmp_path, "mnist_cpu", ARTICLE_ALGORITHM, loss=0.0669, misclassified=339)
    table = _table(tmp_path)
    loss, errors = table.loc["mnist_cpu_last_loss"], table.loc["mnist_vs_tf_mlp_misclassified"]
    assert (loss["experiment"], loss["ours_value"], loss["verdict"]) == ("mnist_cpu", pytest.approx(0.0679), "worse")
    assert (errors["experiment"], errors["ours_value"], errors["verdict"]) == ("mnist_cpu", 340, "consistent")


def test_a_setting_the_runs_do_not_record_is_not_assumed(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    row = _verdict(_entry(config={"model.backprop": "article"}), results)  # synthetic runs have no config.yaml
    assert (row["verdict"], row["reason"]) == ("not comparable", "our setup differs: model.backprop not recorded "
                                                                 "(article: article)")


def test_a_claim_is_judged_only_on_the_articles_algorithm(tmp_path: Path) -> None:
    """Replaces the earlier rule (a time of another algorithm judged, with a note): a head-to-head
    claim is the article's MLP with its own algorithm against Keras, so Keras's algorithm is not it."""
    _mnist_run(tmp_path, "mnist_vs_tf", KERAS_ALGORITHM, loss=0.0259, misclassified=242, impls=("mlp", "keras"),
               seeds=5)  # a time ratio's verdict needs five runs a side
    runs = load_runs([tmp_path])
    entry = _entry(experiments=["mnist_vs_tf"], measure="time_ratio_vs_keras", value=1.0, algorithm="article")
    row = reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs))
    assert row["verdict"] == "not comparable" and row["reason"].startswith("our runs use another algorithm")
    del entry["algorithm"]
    row = reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs))
    assert (row["verdict"], row["ours_value"]) == ("consistent", 1.0)


def test_unmeasured_reason_names_the_missing_backend_or_impl(tmp_path: Path) -> None:
    _mnist_run(tmp_path, "mnist_vs_tf", KERAS_ALGORITHM, loss=0.0259, misclassified=242)
    table = _table(tmp_path)
    for number in ("mnist_gpu_time", "mnist_gpu_last_loss"):
        assert (table.loc[number, "verdict"], table.loc[number, "reason"]) == ("not measured", (
            "no successful runs on the cupy backend yet (the runs of mnist_vs_tf used numpy; mnist_gpu has no runs)"))
    assert table.loc["mnist_vs_tf_keras_misclassified", "reason"] == \
        "no successful keras runs yet (the runs of mnist_vs_tf are of mlp)"
    assert table.loc["titanic_sgd_error", "reason"] == "no successful runs of titanic_sgd yet"
    write_record(tmp_path / "mnist_gpu" / "2026-01-01_00-00-00", dict(
        experiment="mnist_gpu", impl="mlp", backend="cupy", seed=0, status="failed", error="no CUDA device"))
    assert _table(tmp_path).loc["mnist_gpu_time", "reason"] == (
        "no successful runs on the cupy backend yet (the runs of mnist_vs_tf used numpy; mnist_gpu has no "
        "successful runs)")
    write_record(tmp_path / "mnist_gpu" / "2026-01-01_00-00-00", dict(
        experiment="mnist_gpu", impl="keras", backend="tensorflow", seed=1, status="ok", fit_seconds=1.0,
        test_accuracy=0.9))  # successful runs, of another implementation: not "no successful runs"
    assert _table(tmp_path).loc["mnist_gpu_time", "reason"].endswith("mnist_gpu has no successful mlp runs)")


def test_a_gpu_speedup_without_cupy_runs_is_not_measured(tmp_path: Path) -> None:
    """NumPy runs alone give no NumPy/CuPy ratio: 'not measured' (what is missing), never 'not
    comparable', which is for a ratio measured on hardware unlike the article's."""
    _mnist_run(tmp_path, "mnist_vs_tf", KERAS_ALGORITHM, loss=0.0259, misclassified=242)
    row = _table(tmp_path).loc["mnist_gpu_speedup"]
    assert (row["verdict"], row["ours"]) == ("not measured", "—")
    assert row["reason"] == ("needs the mlp's fit times on both the numpy and the cupy backend; no successful "
                             "cupy runs of mnist_gpu or mnist_cpu or mnist_vs_tf yet")
    gpu_only = tmp_path / "gpu"  # +experiment=mnist_gpu alone: the NumPy side is what is missing
    _mnist_run(gpu_only, "mnist_gpu", ARTICLE_ALGORITHM, loss=0.0259, misclassified=242, backend="cupy")
    row = _table(gpu_only).loc["mnist_gpu_speedup"]
    assert row["verdict"] == "not measured" and "no successful numpy runs of mnist_gpu or" in row["reason"]


def test_a_time_judged_while_the_machine_s_speed_changed_says_so(tmp_path: Path) -> None:
    """The rule of the section's speed sentence (harness.machine.speed_changed) also qualifies a
    time verdict of the reproduction table, with both measurements; a steady machine adds nothing."""
    import json

    from harness import machine

    folder = tmp_path / "titanic_vs_tf" / "run"
    for seed in range(5):  # a time ratio's verdict needs five runs a side
        for impl, seconds in (("mlp", 1.0), ("keras", 5.0)):
            write_record(folder, dict(experiment="titanic_vs_tf", impl=impl, seed=seed, status="ok",
                                      backend="numpy", fit_seconds=seconds + seed / 10, test_accuracy=0.8))
    entry = _entry(measure="time_ratio_vs_keras", range=[0.190, 0.237], better="lower")
    del entry["value"]

    def row_with(*values: tuple[str, int, float]) -> dict:
        rate = machine.best_of([{"when": w, "blas_threads": t, "matmul_gflops_float32": g} for w, t, g in values])
        (folder / "environment.json").write_text(json.dumps({"matmul_rate": rate}), encoding="utf-8")
        runs = load_runs([folder])
        return reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs))

    changed = row_with(("before", 1, 109.0), ("after", 1, 171.0))
    runs = load_runs([folder])
    four = reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs[runs["seed"] < 4]))
    assert four["verdict"] == "too few runs (n=4)" and "timed while" not in four["reason"]  # no verdict to qualify
    assert changed["verdict"] == "consistent"  # the verdict stands, qualified
    assert changed["reason"].endswith("; timed while the CPU's float32 matmul rate measured 109 GFLOP/s before "
                                      "these runs and 171 after them at 1 BLAS thread (the slower is 63% of the "
                                      "faster; flagged below 75%), so the verdict may show that change rather than "
                                      "the implementations'")
    steady = row_with(("before", 1, 160.0), ("after", 1, 171.0))
    assert "timed while" not in steady["reason"] and steady["verdict"] == "consistent"
    row_with(("before", 1, 109.0), ("after", 1, 171.0))
    runs = load_runs([folder])
    error = reference.compare_entry(_entry(value=0.0), tables.summary_table(runs), prepared_runs.prepare(runs))
    assert error["reason"] and "timed while" not in error["reason"]  # only times are qualified


def _ratio_runs_under_a_changed_rate(root: Path, mlp_seconds: float) -> pd.DataFrame:
    """Five seeds a side of titanic_vs_tf (Keras 5 s, the MLP ``mlp_seconds``, each 1% slower per
    seed) in a folder whose matmul rate measured 109 GFLOP/s before and 171 after (63%)."""
    import json

    from harness import machine

    folder = root / "titanic_vs_tf" / "run"
    for seed in range(5):
        for impl, seconds in (("mlp", mlp_seconds), ("keras", 5.0)):
            write_record(folder, dict(experiment="titanic_vs_tf", impl=impl, seed=seed, status="ok",
                                      backend="numpy", fit_seconds=seconds * (1 + seed / 100), test_accuracy=0.8))
    rate = machine.best_of([{"when": w, "blas_threads": 1, "matmul_gflops_float32": g}
                            for w, g in (("before", 109.0), ("after", 171.0))])
    (folder / "environment.json").write_text(json.dumps({"matmul_rate": rate}), encoding="utf-8")
    return load_runs([folder])


def test_a_speed_change_too_small_to_alter_a_range_verdict_says_so(tmp_path: Path) -> None:
    """A ratio 20 times below the article's range cannot have been made by a rate that moved by a
    third: the caveat says how far the change could move the ratio instead of 'may show that change'."""
    runs = _ratio_runs_under_a_changed_rate(tmp_path, mlp_seconds=0.05)
    entry = _entry(measure="time_ratio_vs_keras", range=[0.190, 0.237], better="lower")
    del entry["value"]
    row = reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs))
    assert row["verdict"] == "better"
    assert row["reason"].endswith("(the slower is 63% of the faster; flagged below 75%); a change of that measured "
                                  "size, moving the ratio by up to 1.57x either way, would not change this verdict")


def test_a_reproduction_interval_stops_where_its_quantity_ends(tmp_path: Path) -> None:
    """Three last-epoch losses 0.02, 0.09, 0.01: the prediction interval for one more run would start
    below 0; the row shows it from 0, with the verdict and p of the uncut test."""
    folder = tmp_path / "titanic_vs_tf" / "run"
    for seed, loss in enumerate((0.02, 0.09, 0.01)):
        write_record(folder, dict(experiment="titanic_vs_tf", impl="mlp", seed=seed, status="ok", backend="numpy",
                                  fit_seconds=1.0, test_accuracy=0.8, epoch_losses=[1.0, loss]))
    runs = load_runs([folder])
    entry = _entry(measure="final_loss_mean", value=0.05, n=1, better="lower", unit="")
    row = reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs))
    bare = verdicts.judge_single([0.02, 0.09, 0.01], 0.05, "lower")
    assert bare.low < 0 and (row["verdict"], row["p_value"]) == (bare.verdict, pytest.approx(bare.p_value))
    assert row["ours"].startswith("0.04 [95% PI, one run 0, ")


def test_the_speed_caveat_tests_the_widened_range_the_verdict_tested(tmp_path: Path) -> None:
    """A ratio of 0.115 under a rate that moved to 63%: stretched by 1/0.63 it reaches 0.18, short of
    the printed range (0.19-0.237) but inside the range widened by the read-off error (0.172-0.259),
    which is the one the verdict tests; so the caveat says the change may show in the verdict."""
    runs = _ratio_runs_under_a_changed_rate(tmp_path, mlp_seconds=0.575)
    printed = _entry(measure="time_ratio_vs_keras", range=[0.190, 0.237], better="lower")
    widened = printed | {"read_range": [0.172, 0.259]}
    for entry in (printed, widened):
        del entry["value"]
    rows = [reference.compare_entry(entry, tables.summary_table(runs), prepared_runs.prepare(runs)) for entry in (printed, widened)]
    assert [row["verdict"] for row in rows] == ["better", "better"]
    assert rows[0]["reason"].endswith("would not change this verdict")
    assert rows[1]["reason"].endswith("so the verdict may show that change rather than the implementations'")


# --- The article's setup: data, network and penalty, not only the optimizer's settings ---

TITANIC_SETUP = dict(dataset="titanic", variant="article", n_train=600, n_test=281, layers="7-15-1",
                     activations="relu,sigmoid", loss="binary_crossentropy", initializer="xavier", l1=0.0, l2=0.0,
                     optimizer="adam", learning_rate=0.02, batch_size=100, epochs=1000)


def _titanic_adam_runs(root: Path, split: str = "article", **changed: object) -> None:
    """Five seeds of titanic_adam as the harness records them (the article's algorithm and setup, its
    settings carried by each record), with `changed` record fields; "error" 12, 13, 14, 12, 13."""
    folder = root / "titanic_adam" / "2026-01-01_00-00-00"
    for seed in range(5):
        write_record(folder, dict(
            experiment="titanic_adam", impl="mlp", backend="numpy", seed=seed, status="ok", fit_seconds=1.0,
            sampling=ARTICLE_ALGORITHM["sampling"], dtype=ARTICLE_ALGORITHM["dtype"], test_misclassified=50,
            article_error=12 + seed % 3, settings={**ARTICLE_ALGORITHM, "data.split": split},
            **(TITANIC_SETUP | changed)))


@pytest.mark.parametrize(("changed", "named"), [
    ({"variant": "kaggle", "layers": "9-15-1", "n_test": 291},
     "variant=kaggle (article: article); n_test=291 (article: 281); layers=9-15-1 (article: 7-15-1)"),
    ({"layers": "7-2-1", "l2": 0.5, "n_test": 40}, "n_test=40 (article: 281); layers=7-2-1 (article: 7-15-1); "
                                                   "l2=0.5 (article: 0)"),
    ({"activations": "tanh,sigmoid", "loss": "mse"}, "activations=tanh,sigmoid (article: relu,sigmoid); "
                                                     "loss=mse (article: binary_crossentropy)"),
    ({"initializer": "he", "l1": 0.01, "n_train": 300}, "n_train=300 (article: 600); l1=0.01 (article: 0); "
                                                        "initializer=he (article: xavier)"),
])
def test_a_run_of_another_data_network_or_penalty_is_not_the_articles_experiment(
        tmp_path: Path, changed: dict, named: str) -> None:
    """The article's 12.75 came from its data (600 rows train, 281 test), its 7-15-1 net and no
    penalty: runs of the Kaggle file, another width, an L2 penalty or a cut test set are another
    experiment, and the reason names each setting that differs (as for the optimizer's)."""
    _titanic_adam_runs(tmp_path / "same")
    same = _table(tmp_path / "same").loc["titanic_adam_error"]
    assert same["verdict"] == "consistent" and same["experiment"] == "titanic_adam"
    _titanic_adam_runs(tmp_path / "other", **changed)
    row = _table(tmp_path / "other").loc["titanic_adam_error"]
    assert (row["verdict"], row["reason"]) == ("not comparable", f"our setup differs: {named}")


def test_another_split_of_the_same_file_is_not_the_articles_experiment(tmp_path: Path) -> None:
    """A stratified split keeps the article's sizes (600 and 281) but holds out other passengers."""
    _titanic_adam_runs(tmp_path, split="stratified")
    row = _table(tmp_path).loc["titanic_adam_error"]
    assert (row["verdict"], row["reason"]) == ("not comparable",
                                               "our setup differs: data.split=stratified (article: article)")


def test_every_titanic_and_mnist_number_states_the_articles_whole_setup() -> None:
    """A setting an entry does not state is never compared: each entry judged on Titanic or MNIST runs
    names the data, its split and sizes, the network and the penalty, besides the optimizer's settings."""
    data_and_net = {"dataset", "variant", "n_train", "n_test", "layers", "activations", "loss", "l1", "l2",
                    "optimizer", "learning_rate", "epochs", "batch_size"}
    for entry in article_numbers.load_reference()["numbers"]:
        if entry["id"].startswith(("titanic", "mnist")):
            stated = set(entry.get("config") or {})
            assert data_and_net <= stated, (entry["id"], sorted(data_and_net - stated))
            if entry["id"].startswith("titanic"):
                assert "data.split" in stated, entry["id"]
            if entry.get("impl") == "mlp":
                assert "initializer" in stated, entry["id"]


def test_article_yaml_describes_the_mean_test_the_code_runs() -> None:
    """The field notes of article.yaml name verdicts.judge_mean's test (our s for both groups, our n - 1
    degrees of freedom), not Welch's, which would estimate the article's spread and use both counts."""
    header = article_numbers.DEFAULT_REFERENCE.read_text(encoding="utf-8").split("\nsource:")[0]
    assert "Welch" not in header
    assert "s·sqrt(1/n + 1/N)" in header and "our n − 1 degrees of freedom" in header
    # N is this field, the article's count; n ours (read literally, the article's count got the df)
    assert "the article's run count N:" in header and "with n our run count" in header


def test_a_gap_states_its_two_sample_sizes_once(results: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """A gap of two means is n runs against m: '(n=4, 4)' after 'mlp − keras', never also a lone '(n=4)'
    that reads as one sample."""
    ours = _verdict(_entry(measure="article_error_gap_vs_keras", value=4.0, n=[10, 10], better="none"), results)["ours"]
    assert ours.count("(n=") == 1 and ours.endswith(" mlp − keras (n=4, 4)"), ours
