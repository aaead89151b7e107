"""The page judges the MLP against the fastest configuration of each peer, naming it, with every ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.reporting import stats
from harness.reporting.verdicts import TOO_FEW
from harness.reporting.peers import fastest_by_peer, fastest_peer_sentence, peer_of, speed_verdict


SPREAD = (0.98, 0.99, 1.0, 1.01, 1.02)  # five runs a row, within 2% of the median


def summary(runs: tuple[float, ...] = SPREAD, **seconds: float) -> pd.DataFrame:
    """Summary rows with each implementation's median fit time and its runs around it."""
    backends = {"mlp": "numpy", "mlp_fused": "numpy", "keras": "tensorflow", "keras_tuned": "tensorflow", "torch": "torch-cpu",
                "torch_compiled": "torch-cpu", "sklearn": "sklearn"}
    return pd.DataFrame([{"experiment": "titanic_vs_tf", "dataset": "titanic", "impl": impl,
                          "backend": backends[impl], "fit_seconds_median": s,
                          "fit_seconds_runs": tuple(s * f for f in runs)} for impl, s in seconds.items()])


def verdicts_of(text: str) -> str:
    """The sentences without the family text that follows them (peers.family_text)."""
    return text.split(" These ")[0]


def test_peer_of_groups_variants_and_keeps_unknown_names() -> None:
    assert [peer_of(n) for n in ("keras_tuned", "torch_compiled", "sklearn", "retired_impl")] == \
        ["keras", "torch", "sklearn", "retired_impl"]


def test_fastest_configuration_of_each_peer() -> None:
    fastest = fastest_by_peer(summary(mlp=1.0, keras=40.0, keras_tuned=10.0, torch=2.0, torch_compiled=0.5, sklearn=3.0))
    assert {peer: row["impl"] for peer, row in fastest.items()} == \
        {"keras": "keras_tuned", "torch": "torch_compiled", "sklearn": "sklearn"}


def test_sentence_names_the_fastest_forms_every_ratio_and_each_verdict_with_its_interval() -> None:
    text = fastest_peer_sentence(summary(mlp=1.0, keras=40.0, keras_tuned=10.0, torch=2.0, torch_compiled=0.5,
                                         sklearn=4.0))
    def interval(mine: float, theirs: float) -> str:
        """The percentile bootstrap of the ratio of medians, drawn here as stats documents it."""
        top, bottom = np.array([mine * f for f in SPREAD]), np.array([theirs * f for f in SPREAD])
        rng = np.random.default_rng(stats.BOOTSTRAP_SEED)
        tops = np.median(top[rng.integers(0, 5, size=(stats.N_RESAMPLES, 5))], axis=1)
        bottoms = np.median(bottom[rng.integers(0, 5, size=(stats.N_RESAMPLES, 5))], axis=1)
        low, high = np.percentile(tops / bottoms, [2.5, 97.5])
        assert low < mine / theirs < high
        return f"95% CI {low:.3g}-{high:.3g}"
    assert text == ("mlp/numpy takes 0.025x keras, 0.1x keras_tuned, 0.5x torch, 2x torch_compiled, 0.25x sklearn "
                    "the median fit time. Against the fastest configuration of each peer in this run (ratio of "
                    "medians, ahead when its 95% bootstrap interval lies below 1) it is "
                    f"ahead of keras_tuned (0.1x, {interval(1.0, 10.0)}, n=5 vs 5); "
                    f"ahead of sklearn (0.25x, {interval(1.0, 4.0)}, n=5 vs 5); "
                    f"behind torch_compiled (2x, {interval(1.0, 0.5)}, n=5 vs 5): "
                    "not shown ahead of torch_compiled. These 3 verdicts each read their own 95% interval: "
                    "\"ahead of each peer's fastest configuration\" needs every interval of a form below 1, so "
                    "it is wrong no more often than one interval is (5%); read one by one, the chance that any "
                    "of the 3 is a chance finding is at most 15% (Bonferroni).")


def test_ahead_of_every_peer_only_when_each_interval_lies_below_one() -> None:
    ahead = fastest_peer_sentence(summary(mlp=0.4, keras=40.0, keras_tuned=10.0, torch=2.0, torch_compiled=0.5))
    assert verdicts_of(ahead).endswith(": ahead of each peer's fastest configuration.")
    # faster than eager torch but not than the compiled form: the plain form alone would say "ahead"
    behind = fastest_peer_sentence(summary(mlp=0.6, keras=40.0, keras_tuned=10.0, torch=2.0, torch_compiled=0.5))
    assert verdicts_of(behind).endswith(": not shown ahead of torch_compiled.") and "behind torch_compiled" in behind


def test_a_lower_median_within_the_spread_is_not_ahead() -> None:
    """3% faster by the median, with runs spread by 10%: the interval spans 1, so no "ahead"."""
    wide = (0.9, 0.95, 1.0, 1.05, 1.1)
    text = fastest_peer_sentence(summary(wide, mlp=0.97, keras=40.0, keras_tuned=1.0))
    assert "not distinguishable from keras_tuned (0.97x, 95% CI" in text
    assert text.endswith(": not shown ahead of keras_tuned.")
    verdict = speed_verdict([0.97 * f for f in wide], list(wide))
    assert verdict.word == "not distinguishable" and verdict.low < 1 < verdict.high
    assert speed_verdict([0.5 * f for f in wide], list(wide)).word == "ahead"  # negative control


def test_under_five_runs_a_side_is_too_few_for_a_verdict() -> None:
    """stats.RATIO_MIN_RUNS: below five runs a side the ratio's bootstrap interval misses 1 in more
    than 5% of samples without a difference (9.8% at three), so groups that do not overlap would
    read "ahead" too easily."""
    text = fastest_peer_sentence(summary((1.0,), mlp=0.1, keras=40.0, keras_tuned=10.0))
    assert "not judged (too few runs) against keras_tuned (0.01x, n=1 vs 1)" in text
    assert text.endswith(": not shown ahead of keras_tuned.")
    assert speed_verdict([], [1.0, 2.0]).word == TOO_FEW
    assert speed_verdict([1.0, 1.1], [1.2, 1.3]).word == TOO_FEW  # two a side: no verdict
    assert speed_verdict([1.0, 1.05, 1.1], [1.2, 1.25, 1.3]).word == TOO_FEW  # three: not yet
    assert speed_verdict([1.0, 1.02, 1.05, 1.08], [1.2, 1.22, 1.25, 1.28]).word == TOO_FEW  # four: not yet
    five = speed_verdict([1.0, 1.02, 1.05, 1.08, 1.1], [1.2, 1.22, 1.25, 1.28, 1.3])
    assert five.word == "ahead" and five.n == (5, 5)  # five: judged
    assert speed_verdict([1.0, 1.02, 1.05, 1.08, 1.1], [1.2, 1.22, 1.25, 1.28]).word == TOO_FEW  # the smaller side


def test_the_runs_survive_summary_csv() -> None:
    """summary.csv writes each row's runs as a tuple's text; read back, the verdict is the same."""
    import io
    rows = summary(mlp=1.0, keras=40.0, keras_tuned=10.0)
    back = pd.read_csv(io.StringIO(rows.to_csv(index=False)))
    assert isinstance(back["fit_seconds_runs"].iat[0], str)
    assert fastest_peer_sentence(back) == fastest_peer_sentence(rows)
    assert "ahead of keras_tuned (0.1x, 95% CI" in fastest_peer_sentence(back)


def test_a_bound_next_to_one_is_printed_on_its_side() -> None:
    verdict = speed_verdict([0.95, 0.96, 0.97, 0.99, 0.9996], [1.0, 1.0, 1.0, 1.0, 1.0])
    assert verdict.word == "ahead" and verdict.high == pytest.approx(0.9996)
    assert "-0.9996, n=5 vs 5)" in verdict.text("keras_tuned")  # not "-1"


def test_no_sentence_without_a_second_form_or_for_a_sweep() -> None:
    assert fastest_peer_sentence(summary(mlp=1.0, keras=40.0, torch=2.0)) == ""
    twice = pd.concat([summary(mlp=1.0, keras=4.0, keras_tuned=2.0)] * 2)
    assert fastest_peer_sentence(twice) == ""


def _write_vs_tf_sweep(root, fit_seconds: dict[str, float], seeds: int = 5):
    """titanic_vs_tf as `make bench` leaves it: one multirun folder, job 0-keras (every implementation
    with Keras's algorithm) and job 1-article (mlp alone with the article's algorithm), each with the
    config.yaml of its algorithm."""
    import yaml

    from harness.algorithm import COMPONENTS, IMPLIED
    from harness.records import write_record
    from synthetic_results import STAMP, _nested

    folder = root / "titanic_vs_tf" / "multirun" / "2026-01-01_00-00-00"
    backends = {"mlp": "numpy", "mlp_fused": "numpy", "keras": "tensorflow", "keras_tuned": "tensorflow", "torch": "torch-cpu",
                "torch_compiled": "torch-cpu", "sklearn": "sklearn"}
    cases = (("0-keras", 1, list(backends)), ("1-article", 0, ["mlp"]))
    for job, side, impls in cases:
        values = {c.key: (c.article, c.keras)[side] for c in COMPONENTS} | {k: v[side] for k, v in IMPLIED.items()}
        (folder / job).mkdir(parents=True)
        (folder / job / "config.yaml").write_text(yaml.safe_dump(_nested({"name": "titanic_vs_tf", **values})),
                                                  encoding="utf-8")
        for impl in impls:
            seconds = fit_seconds[impl] * (3.0 if side == 0 else 1.0)
            for seed in range(seeds):
                write_record(folder / job, dict(
                    experiment="titanic_vs_tf", impl=impl, backend=backends[impl], dataset="titanic", seed=seed,
                    status="ok", sampling=values["sampling"], dtype=values["dtype"], layers="7-15-1",
                    optimizer="adam", learning_rate=0.01, epochs=5, batch_size=100,
                    fit_seconds=seconds + 0.01 * seed, test_misclassified=60 + seed, launcher="basic",
                    started_at=STAMP, finished_at=STAMP))
    (folder / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n", encoding="utf-8")
    return folder


def test_head_to_head_sweep_gets_the_sentence_for_the_job_with_peers(tmp_path) -> None:
    from harness.reporting import batches, build, prepared_runs, tables

    _write_vs_tf_sweep(tmp_path, dict(mlp=0.4, mlp_fused=0.3, keras=40.0, keras_tuned=10.0, torch=2.0,
                                      torch_compiled=0.5, sklearn=3.0))
    runs, _ = batches.select_latest(batches.load_batches([tmp_path]))
    summary = tables.summary_table(runs)
    swept = prepared_runs.swept_params(prepared_runs.prepare(runs))
    assert swept  # the two cases differ in their algorithm: the experiment is a sweep
    notes = build._notes(summary, runs, swept)
    sentences = [n for n in notes if "configuration of each peer" in n]
    assert len(sentences) == 1  # the article case runs mlp alone: no sentence for it
    assert sentences[0].startswith("With algorithm=keras: ")  # the swept components, named as one
    assert verdicts_of(sentences[0]).endswith(": ahead of each peer's fastest configuration.")
    assert "mlp/numpy takes" in sentences[0] and "mlp_fused/numpy takes" in sentences[0]  # both forms judged
    assert f"{0.42 / 40.02:.3g}x keras," in sentences[0]  # medians 0.42 s and 40.02 s (seeds 0-4), Keras-algorithm job


def test_each_form_of_the_mlp_is_judged() -> None:
    text = fastest_peer_sentence(summary(mlp=1.0, mlp_fused=0.4, keras=40.0, keras_tuned=10.0, torch=2.0,
                                         torch_compiled=0.5))
    plain, fused = verdicts_of(text).split(". mlp_fused")
    assert plain.startswith("mlp/numpy takes 0.025x keras") and plain.endswith("not shown ahead of torch_compiled")
    assert fused.startswith("/numpy takes 0.01x keras") and fused.endswith(": ahead of each peer's fastest configuration.")


def test_the_sentence_states_each_median_s_run_count() -> None:
    rows = summary(mlp=1.0, keras=40.0, keras_tuned=10.0).assign(n_ok=[10, 10, 9])
    assert "the median fit time (medians of ok runs: mlp 10, keras 10, keras_tuned 9). " in fastest_peer_sentence(rows)


def test_a_machine_whose_speed_changed_is_said_before_the_verdicts(tmp_path) -> None:
    """The CPU's matmul rate measured before and after the runs (environment.json) fell to 46% at
    two BLAS threads: the section says so, with both figures in the order taken, before the speed
    verdicts it disturbs; summary.csv's cpu_rate_stability carries the ratio."""
    import json

    from harness import machine
    from harness.reporting import batches, build, prepared_runs, tables

    folder = _write_vs_tf_sweep(tmp_path, dict(mlp=0.4, mlp_fused=0.3, keras=40.0, keras_tuned=10.0, torch=2.0,
                                               torch_compiled=0.5, sklearn=3.0))

    def summary_and_notes() -> tuple[pd.DataFrame, list[str]]:
        runs, _ = batches.select_latest(batches.load_batches([tmp_path]))
        summary = tables.summary_table(runs)
        return summary, build._notes(summary, runs, prepared_runs.swept_params(prepared_runs.prepare(runs)))

    def measured(*values: tuple[str, int, float]) -> None:
        rate = machine.best_of([{"when": w, "blas_threads": t, "matmul_gflops_float32": g} for w, t, g in values])
        (folder / "0-keras" / "environment.json").write_text(json.dumps({"matmul_rate": rate}), encoding="utf-8")

    summary, said = summary_and_notes()
    assert not [n for n in said if "matmul rate measured" in n]  # no measurements: nothing said
    assert summary["cpu_rate_stability"].isna().all()
    measured(("before", 1, 168.39), ("before", 2, 337.57), ("after", 1, 152.37), ("after", 2, 156.11))
    summary, said = summary_and_notes()
    flagged = [i for i, n in enumerate(said) if "matmul rate measured" in n]
    verdicts = [i for i, n in enumerate(said) if "configuration of each peer" in n]
    assert len(flagged) == 1 and flagged[0] < verdicts[0]
    assert said[flagged[0]].startswith("The CPU's float32 matmul rate measured 338 GFLOP/s before these runs and "
                                       "156 after them at 2 BLAS threads (the slower is 46% of the faster; flagged "
                                       "below 75%): the machine's speed, or the load on it, may have changed")
    keras_job = summary[summary["impl"] == "keras"]
    assert keras_job["cpu_rate_stability"].iloc[0] == pytest.approx(156.11 / 337.57)
    measured(("before", 1, 167.13), ("before", 2, 261.77), ("after", 1, 169.77), ("after", 2, 334.08))
    assert not [n for n in summary_and_notes()[1] if "matmul rate measured" in n]  # 78%: within the limit


def test_the_speed_change_sentence_floors_its_percentage_and_counts_one_thread() -> None:
    from harness import machine
    from harness.reporting import build

    spread = machine.RateSpread(1, machine.Measured(149.96, "after"), machine.Measured(200.0, "before"))
    text = build._speed_change(spread)  # 74.98%: shown as 74%, never as the limit it is below
    assert "200 GFLOP/s before these runs and 150 after them at 1 BLAS thread (the slower is 74% of" in text
    exact = machine.RateSpread(2, machine.Measured(58.0, "after"), machine.Measured(100.0, "before"))
    assert "(the slower is 58% of the faster" in build._speed_change(exact)  # not 57: 0.58 * 100 < 58
    early = machine.RateSpread(2, machine.Measured(9.5, "before"), machine.Measured(31.25, "after"))
    assert "measured 9.5 GFLOP/s before these runs and 31.2 after them at 2 BLAS threads" in build._speed_change(early)


def test_the_speed_change_sentence_names_the_figure_that_moved_most() -> None:
    """A spread of one product shape's rate says which product it was; one of the best figure alone
    (records older than per-shape figures) says the rate, as before."""
    from harness import machine
    from harness.reporting import build

    shaped = machine.RateSpread(2, machine.Measured(150.45, "after"), machine.Measured(206.57, "before"),
                                "784x1000@1000x512")
    assert build._speed_change(shaped).startswith(
        "The CPU's float32 matmul rate of the 784x1000 @ 1000x512 product (of the figures measured before and "
        "after these runs, the one that moved most) measured 207 GFLOP/s before these runs and 150 after them at "
        "2 BLAS threads (the slower is 72% of the faster; flagged below 75%)")
    best = machine.RateSpread(2, machine.Measured(150.0, "after"), machine.Measured(206.0, "before"))
    assert build._speed_change(best).startswith("The CPU's float32 matmul rate measured 206 GFLOP/s before")


def test_runs_that_shared_the_cpu_get_that_note_instead(tmp_path) -> None:
    """Under a parallel launcher the page already says the fit times shared the CPU: no second
    sentence about the rate's spread."""
    import json

    from harness import machine
    from harness.records import write_record
    from harness.reporting import batches, build, tables

    folder = tmp_path / "titanic_vs_tf" / "2026-01-01_00-00-00"
    for impl, seconds in (("mlp", 0.5), ("keras", 30.0)):
        for seed in range(3):
            write_record(folder, dict(experiment="titanic_vs_tf", impl=impl, backend="numpy", dataset="titanic",
                                      seed=seed, status="ok", fit_seconds=seconds + 0.01 * seed, launcher="joblib"))
    rates = [("before", 2, 337.57), ("after", 2, 156.11)]
    rate = machine.best_of([{"when": w, "blas_threads": t, "matmul_gflops_float32": g} for w, t, g in rates])
    (folder / "environment.json").write_text(json.dumps({"matmul_rate": rate}), encoding="utf-8")
    runs, _ = batches.select_latest(batches.load_batches([tmp_path]))
    said = build._notes(tables.summary_table(runs), runs, [])
    assert any("shared the CPU" in n for n in said)
    assert not any("matmul rate measured" in n for n in said)


def test_the_family_of_verdicts_counts_every_form_and_leaves_out_too_few() -> None:
    """Two forms of the MLP against two peers' fastest forms: four verdicts, 20%; a form with too
    few runs adds none, and one verdict alone gets no family text."""
    both = fastest_peer_sentence(summary(mlp=1.0, mlp_fused=0.4, keras=40.0, keras_tuned=10.0, torch=2.0))
    assert both.endswith("read one by one, the chance that any of the 4 is a chance finding is at most 20% "
                         "(Bonferroni).")
    one = summary(mlp=1.0, keras=40.0, keras_tuned=10.0)
    assert "Bonferroni" not in fastest_peer_sentence(one)
    few = pd.concat([one, summary((1.0,), mlp_fused=0.4)], ignore_index=True)
    assert "Bonferroni" not in fastest_peer_sentence(few)
