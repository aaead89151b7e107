"""The ablation section: effects by cell, the computed sentence for two outcomes, its place on the page."""

from __future__ import annotations

import math
import re
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from harness import report
from harness.algorithm import COMPONENTS
from harness.runs_table import load_runs
from harness.reporting import ablation, ablation_cells, ablation_finding, number_text, prepared_runs, stats, tables
from harness.reporting import ablation_section as report_section
from synthetic_results import JITTER, write_ablation, write_synthetic_results

NOISE = [-2, 0, 2, -1, 1]  # write_ablation's noise over seeds 0-4


def _found(root: Path, experiment: str = "ablation_mnist") -> tuple[list[ablation.Effect], ablation.Gap, dict]:
    runs = prepared_runs.prepare(load_runs([root]))
    runs = runs[runs["experiment"] == experiment]
    table = ablation_cells.cells(runs)
    keras = runs.loc[runs["impl"] == "keras", "test_misclassified"]
    return ablation.effects(table), ablation.gap(table, keras), table


def test_cells_are_found_by_component_values(tmp_path: Path) -> None:
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0})
    _, _, table = _found(tmp_path)
    assert len(table) == 2 + 2 * len(COMPONENTS)  # both algorithms, each component switched alone both ways
    assert all(len(v) == 5 for v in table.values())


def _article_and(table: dict, switched: str, base: str = "article") -> tuple:
    """The reference cell of `base` and the cell with `switched` alone at the other value."""
    names = [c.name for c in COMPONENTS]
    other = "keras" if base == "article" else "article"
    return (table[tuple(base for _ in names)],
            table[tuple(other if n == switched else base for n in names)])


def test_one_component_explains_the_gap(tmp_path: Path) -> None:
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0})  # article 90, Keras's algorithm 66
    found, the_gap, table = _found(tmp_path)
    assert (the_gap.size, the_gap.against) == (pytest.approx(24.0), "Keras's algorithm in our MLP")
    article, switched = _article_and(table, "backprop")
    expected = scipy_stats.ttest_rel(switched, article)  # paired by seed, as scipy pairs them
    backprop = next(e for e in found if e.component == "backprop" and e.design == ablation.FROM_ARTICLE)
    assert (backprop.effect, backprop.p_value) == (pytest.approx(-24.0), pytest.approx(expected.pvalue))
    assert (backprop.low, backprop.high) == tuple(pytest.approx(v) for v in expected.confidence_interval(0.95))
    others = [e for e in found if e.component != "backprop" and e.design == ablation.FROM_ARTICLE]
    assert all(e.effect == pytest.approx(0.0) and e.p_value > 0.5 for e in others)
    ranked = sorted(e.p_value for e in found if e.design == ablation.FROM_ARTICLE)
    m = len(COMPONENTS)
    assert backprop.p_holm == pytest.approx(min(1.0, m * expected.pvalue)) and ranked[0] == backprop.p_value
    text = ablation_finding.sentence("ablation_mnist", found, the_gap)
    assert f"; switched alone to Keras's, one component significantly lowers it (p adjusted by Holm's method over " \
           f"the {m} components tested): backprop (24 test rows lower" in text
    assert f"{stats.p_is(expected.pvalue)}, Holm {stats.p_is(m * expected.pvalue)}, n=5 seeds: 100% (95% CI " in text
    assert "than with Keras's algorithm in our MLP (95% CI" in text and ", n=5 seeds)" in text
    assert not any(f"{c.name} (" in text for c in COMPONENTS if c.name != "backprop")


def test_no_component_explains_the_gap(tmp_path: Path) -> None:
    """Each component 0.5 fewer misclassified (none significant alone at this noise), together a
    significant gap of 2.5."""
    write_ablation(tmp_path, "ablation_mnist", {c.name: -0.5 for c in COMPONENTS})
    found, the_gap, table = _found(tmp_path)
    names = [c.name for c in COMPONENTS]
    expected = scipy_stats.ttest_rel(table[tuple("article" for _ in names)], table[tuple("keras" for _ in names)])
    assert (the_gap.size, the_gap.p_value) == (pytest.approx(2.5), pytest.approx(expected.pvalue))
    assert ablation.gap_state(the_gap) == ablation.REAL
    assert all(e.p_holm >= ablation.ALPHA for e in found if e.design == ablation.FROM_ARTICLE)
    text = ablation_finding.sentence("ablation_mnist", found, the_gap)
    assert text.startswith("ablation_mnist: the article's algorithm's mean misclassified is 2.5 test rows higher "
                           "than with Keras's algorithm in our MLP")
    assert ("no single component switched alone to Keras's significantly lowers it (p adjusted by Holm's method "
            f"over the {len(COMPONENTS)} components tested).") in text
    assert text.endswith(" Switched alone the other way, from Keras's algorithm to the article's, no single component "
                         "significantly raises the mean misclassified (p adjusted by Holm's method over the "
                         f"{len(COMPONENTS)} components tested).")


def test_no_gap_too_few_runs_and_no_runs(tmp_path: Path) -> None:
    write_ablation(tmp_path, "ablation_mnist", {})
    found, the_gap, _ = _found(tmp_path)
    assert "mean misclassified and that with Keras's algorithm in our MLP differ by less than 0.01 test rows (" in \
        ablation_finding.sentence("ablation_mnist", found, the_gap)
    one = tmp_path / "one"
    write_ablation(one, "ablation_mnist", {"backprop": -24.0}, seeds=1)
    found, the_gap, _ = _found(one)
    # TensorFlow's one run cannot be tested either: the gap stays paired, and more seeds per cell would test it
    assert the_gap.against == "Keras's algorithm in our MLP" and the_gap.paired and the_gap.n == (1, 1)
    assert the_gap.size == pytest.approx((90 - 2 - 1) - (66 - 2))  # seed 0: noise -2, the article cell's jitter -1
    assert "but the two cells share only 1 seed, and a test needs 3; run the ablation with runs=3 or more" in \
        ablation_finding.sentence("m", found, the_gap)
    nothing = ablation.Gap("Keras's algorithm in our MLP", *(math.nan,) * 4, (0, 0))
    assert "no gap to explain yet" in ablation_finding.sentence("x", [], nothing)


def test_no_significant_gap_is_not_stated_as_no_gap(tmp_path: Path) -> None:
    """Equal cells at 5 seeds: the sentence says a gap up to the interval's top is not ruled out
    (no evidence of a gap is not evidence of none); a gap significantly the other way says so."""
    write_ablation(tmp_path, "ablation_mnist", {})
    found, the_gap, _ = _found(tmp_path)
    assert ablation.gap_state(the_gap) == ablation.NOT_SIGNIFICANT and the_gap.high > 0
    text = ablation_finding.sentence("ablation_mnist", found, the_gap)
    assert f"these runs show no significant gap, but one of up to {the_gap.high:.3g} test rows lies within" in text
    assert "mean misclassified and that with Keras's algorithm in our MLP differ by less than 0.01 test rows (95% CI" \
        in text
    assert "there is no gap" not in text and "n=5 seeds" in text
    positive = ablation.Gap("Keras's algorithm in our MLP", 0.5, -0.04, 1.0, 0.06, (5, 5))  # not significant
    assert "no significant gap, but one of up to 1 test row lies within" in ablation_finding.sentence("x", found, positive)
    lower = ablation.Gap("Keras's algorithm in our MLP", -4.67, -19.3, 9.99, 0.35, (3, 3))
    assert ablation_finding.sentence("x", found, lower).startswith(
        "x: the article's algorithm's mean misclassified is 4.67 test rows lower than with Keras's algorithm in our "
        "MLP, not significantly (95% CI -9.99 to 19.3, p=0.35, n=3 seeds): these runs show no significant "
        "gap, but one of up to 9.99 test rows higher lies within the interval")  # the interval of 'lower by'
    tiny = ablation.Gap("Keras's algorithm in our MLP", -0.004, -3.0, 2.9, 0.9, (5, 5))  # said without a direction
    assert "(95% CI -3 to 2.9, p=0.9, n=5 seeds): these runs show no significant gap, but one of up to 2.9 test " \
           "rows lies within" in ablation_finding.sentence("x", found, tiny)
    better = ablation.Gap("Keras's algorithm in our MLP", -6.0, -9.0, -3.0, 0.001, (5, 5))
    assert ablation.gap_state(better) == ablation.REVERSED
    assert ablation_finding.sentence("x", found, better) == (
        "x: the article's algorithm's mean misclassified is 6 test rows lower than with Keras's algorithm in our MLP, "
        "significantly (95% CI 3 to 9, p=0.001, n=5 seeds), so there is no gap for a component to explain.")
    few = ablation.Gap("TensorFlow/Keras", -2.0, math.nan, math.nan, math.nan, (1, 1), paired=False)
    assert ablation.gap_state(few) == ablation.UNTESTED
    assert ablation_finding.sentence("x", found, few).startswith(
        "x: the article's algorithm's mean misclassified is 2 test rows lower than with TensorFlow/Keras, but")


def _drawn(tmp_path: Path, found: list, the_gap: ablation.Gap, name: str, monkeypatch) -> tuple[str, list]:
    """The chart's caption and its dashed lines (captured as it is saved)."""
    saved = []
    monkeypatch.setattr(report_section.fg, "save", lambda fig, path: saved.append(fig))
    caption = report_section.chart("ablation_mnist", found, the_gap, tmp_path / name).caption
    dashed = [line for line in saved[0].axes[0].get_lines() if line.get_linestyle() == "--"]
    return caption, dashed


def test_the_chart_marks_the_gap_only_where_there_is_one(tmp_path: Path, monkeypatch) -> None:
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0})
    found, the_gap, _ = _found(tmp_path)
    caption, dashed = _drawn(tmp_path, found, the_gap, "real.png", monkeypatch)
    assert "The dashed line is the effect that would close the whole gap" in caption and len(dashed) == 1
    for gap, said in ((ablation.Gap("k", 0.3, -4.0, 4.6, 0.8, (5, 5)), "the runs show no significant one"),
                      (ablation.Gap("k", -6.0, -9.0, -3.0, 0.001, (5, 5)), "mean misclassified is significantly lower"),
                      (ablation.Gap("k", 24.0, math.nan, math.nan, math.nan, (1, 1)), "it could not be tested")):
        caption, dashed = _drawn(tmp_path, found, gap, "none.png", monkeypatch)
        assert "dashed" not in caption and said in caption and not dashed


def _full_factorial(effect_of: dict[str, float], seeds: dict[str, int] | None = None) -> dict:
    """Every cell of the factorial: 90 + the effects of its Keras-valued components + a seed's noise
    shared by all cells + a per-cell jitter; `seeds` gives the cells with a component at Keras's
    value more seeds than the others."""
    names = [c.name for c in COMPONENTS]
    table = {}
    for j, key in enumerate(product(("article", "keras"), repeat=len(names))):
        n = max([5] + [k for name, k in (seeds or {}).items() if key[names.index(name)] == "keras"])
        shift = sum(v for name, v in effect_of.items() if key[names.index(name)] == "keras")
        table[key] = pd.Series([90.0 + shift + 3.0 * ((s * 7) % 5 - 2) + 0.5 * JITTER[(s + j) % 5] for s in range(n)],
                               index=range(n))  # the jitter of each cell sums to 0 over seeds 0-4
    return table


def test_factorial_main_effects(tmp_path: Path) -> None:
    """Only a full factorial has main effects; write_ablation's cells are not one. In a full one,
    each main effect is the mean over seeds of (Keras side's cell mean - article side's), tested over
    the seeds: 5 seeds, not 16 cells x 5 runs a side."""
    write_ablation(tmp_path, "ablation_titanic", {"sampler": -10.0})
    found, _, _ = _found(tmp_path, "ablation_titanic")
    assert not any(e.design == ablation.MAIN for e in found)
    table = _full_factorial({"sampler": -10.0})
    main = {e.component: e for e in ablation.effects(table) if e.design == ablation.MAIN}
    assert set(main) == {c.name for c in COMPONENTS}
    assert main["sampler"].effect == pytest.approx(-10.0) and main["sampler"].n == (5, 5)
    i = [c.name for c in COMPONENTS].index("backprop")
    per_seed = (np.mean([v.to_numpy() for k, v in table.items() if k[i] == "keras"], axis=0)
                - np.mean([v.to_numpy() for k, v in table.items() if k[i] == "article"], axis=0))
    expected = scipy_stats.ttest_1samp(per_seed, 0.0)
    backprop = main["backprop"]
    assert (backprop.effect, backprop.p_value) == (pytest.approx(per_seed.mean()), pytest.approx(expected.pvalue))
    assert (backprop.low, backprop.high) == tuple(pytest.approx(v) for v in expected.confidence_interval(0.95))
    # Holm within the factorial's family of five, not with the other designs' tests
    raw = [main[c.name].p_value for c in COMPONENTS]
    assert [main[c.name].p_holm for c in COMPONENTS] == pytest.approx(list(stats.holm(raw)))


def test_main_effect_uses_the_seeds_every_cell_ran() -> None:
    """The cells with sampler at Keras's value kept 10 seeds, the others 5: the main effects use the
    5 seeds every cell ran, so the extra seeds of one side tilt nothing (backprop stays exactly 0)."""
    table = _full_factorial({"sampler": 20.0}, seeds={"sampler": 10})
    main = {e.component: e for e in ablation.effects(table) if e.design == ablation.MAIN}
    assert main["backprop"].effect == pytest.approx(0.0, abs=1e-12) and main["backprop"].n == (5, 5)
    five = {k: v[v.index < 5] for k, v in table.items()}
    as_found = [(e.effect, e.p_value) for e in ablation.effects(table)]
    assert as_found == [(e.effect, e.p_value) for e in ablation.effects(five)]
    assert main["sampler"].effect == pytest.approx(20.0) and main["sampler"].p_value < 1e-6


def test_section_on_the_page(tmp_path: Path) -> None:
    root = tmp_path / "results"
    write_synthetic_results(root)
    write_ablation(root, "ablation_mnist", {"backprop": -24.0})
    assert report.main([str(root)]) == 0
    text = (root / "report" / "index.html").read_text(encoding="utf-8")
    assert 'id="ablation"' in text and report_section.TITLE.replace("'", "&#x27;") in text
    assert "less accurate than TensorFlow" not in text  # a heading states no finding
    assert f"over the {len(COMPONENTS)} components tested): backprop (24 images lower" in text
    # measured in the article's claim's quantity and unit (results/reference/article.yaml)
    assert "mean misclassified is 24 images higher than with Keras" in text
    assert "as the article's claim <code>mnist_vs_tf_misclassified_gap</code> states it" in text
    assert "<th>p (Holm)</th>" in text
    assert "ablation_mnist-effects.png" not in text and "data:image/png;base64" in text
    # the Titanic ablation has no runs: the section says which experiment to run
    assert "No runs of ablation_titanic yet: run <code>make bench</code> and rebuild the report." in text


def test_share_of_gap_only_for_a_real_gap(tmp_path: Path) -> None:
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0})
    found, the_gap, _ = _found(tmp_path)
    shares = report_section.effects_frame(found, the_gap).set_index(["component", "switched"])["share of gap"]
    backprop = next(e for e in found if e.component == "backprop" and e.design == ablation.FROM_ARTICLE)
    assert shares[("backprop", ablation.FROM_ARTICLE)] == ablation_finding.share_text(backprop, the_gap)
    assert shares[("backprop", ablation.FROM_ARTICLE)].startswith("100% (95% CI ")
    # only the components the finding names: not backprop switched from Keras's algorithm (another
    # design), nor effects that are not significant (a share of noise), nor one that raises the measure
    named = [key for key, share in shares.items() if share != "—"]
    assert named == [("backprop", ablation.FROM_ARTICLE)]
    write_ablation(tmp_path / "raise", "ablation_mnist", {"backprop": -24.0, "dtype": 4.0})
    found, the_gap, _ = _found(tmp_path / "raise")
    shares = report_section.effects_frame(found, the_gap).set_index(["component", "switched"])["share of gap"]
    assert [key for key, share in shares.items() if share != "—"] == [("backprop", ablation.FROM_ARTICLE)]
    dtype = next(e for e in found if e.component == "dtype" and e.design == ablation.FROM_ARTICLE)
    assert dtype.effect == pytest.approx(4.0) and dtype.p_holm < ablation.ALPHA  # significant, but a raise
    none = ablation.Gap("Keras's algorithm in our MLP", 0.3, -4.0, 4.6, 0.8, (3, 3))
    assert (report_section.effects_frame(found, none)["share of gap"] == "—").all()


def test_the_same_sweep_twice_counts_each_seed_once(tmp_path: Path) -> None:
    """Two batches of the same ablation (build_report(all_runs=True)) give the intervals of one: each
    seed once per cell, as the reproduction table counts them (doubling the runs would narrow them)."""
    write_ablation(tmp_path / "once", "ablation_mnist", {"sampler": -10.0})
    for copy in ("a", "b"):
        write_ablation(tmp_path / "twice" / copy, "ablation_mnist", {"sampler": -10.0})
    once, twice = (prepared_runs.prepare(load_runs(roots)) for roots in
                   ([tmp_path / "once"], [tmp_path / "twice" / "a", tmp_path / "twice" / "b"]))
    assert len(twice) == 2 * len(once)
    assert {k: len(v) for k, v in ablation_cells.cells(twice).items()} == {k: len(v) for k, v in ablation_cells.cells(once).items()}
    first, second = ablation.effects(ablation_cells.cells(once)), ablation.effects(ablation_cells.cells(twice))
    assert [(e.effect, e.low, e.high, e.n) for e in second] == [(e.effect, e.low, e.high, e.n) for e in first]
    sampler = next(e for e in first if e.component == "sampler" and e.design == ablation.FROM_ARTICLE)
    article, switched = _article_and(ablation_cells.cells(once), "sampler")
    expected = scipy_stats.ttest_rel(switched, article)
    assert (sampler.low, sampler.high) == tuple(pytest.approx(v) for v in expected.confidence_interval(0.95))


def test_components_swept_together_show_as_one_algorithm_column(tmp_path: Path) -> None:
    """An ablation (or algorithm=article,keras) sweeps five settings at once: the tables and figures
    split the runs by the one `algorithm` label, not by six columns whose every combination would
    fill a legend."""
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0})
    runs = prepared_runs.prepare(load_runs([tmp_path]))
    assert prepared_runs.swept_params(runs) == ["algorithm"]
    mlp = runs[runs["impl"] == "mlp"]
    labels = set(mlp["algorithm"])
    assert {"article", "keras", "article, keras backprop", "article, keras sampler+adam+loss_gradient+dtype"} <= labels
    assert len(labels) == 2 + 2 * len(COMPONENTS)  # each cell its own label
    assert set(runs.loc[runs["impl"] == "keras", "algorithm"]) == {"keras"}
    summary = tables.summary_table(load_runs([tmp_path]))
    assert "algorithm" in summary and not algorithm_keys_in(summary)


def algorithm_keys_in(frame) -> list[str]:
    from harness.algorithm import KEYS
    return sorted(KEYS.intersection(frame.columns))


def test_one_component_swept_alone_keeps_its_own_column() -> None:
    import pandas as pd
    frame = pd.DataFrame({"experiment": "e", "dataset": "d", "impl": "mlp", "sampling": ["article", "shuffle"],
                          "algorithm": ["article", "article, keras sampler"]})
    assert prepared_runs.swept_params(frame) == ["sampling"]


def test_a_setting_the_label_does_not_show_keeps_its_columns() -> None:
    """Runs of one label that differ in a swept component setting (two Adam epsilons under
    Keras's algorithm both read 'keras') must not be merged: the columns stay; with a label per
    combination they collapse."""
    import pandas as pd
    frame = pd.DataFrame({"experiment": "e", "dataset": "d", "impl": "mlp",
                          "sampling": ["article", "shuffle", "article", "shuffle"],
                          "dtype": ["float32", "float32", "float64", "float64"],
                          "algorithm": ["same label"] * 4})
    assert prepared_runs.swept_params(frame) == ["sampling", "dtype"]
    frame["algorithm"] = ["a", "b", "c", "d"]
    assert prepared_runs.swept_params(frame) == ["algorithm"]


def test_keras_is_matched_on_the_components_it_varies() -> None:
    """Keras records sampling=shuffle whatever the sweep says: an MLP row with the article's
    sampler still finds the Keras group of its dtype, as it did per column."""
    import pandas as pd
    keys = [*tables.GROUP_KEYS, "algorithm"]

    def group(impl: str, label: str, sampling: str, dtype: str) -> tuple[tuple, pd.DataFrame]:
        key = ("e", "d", impl, "numpy" if impl == "mlp" else "tensorflow", label)
        return key, pd.DataFrame({"sampling": [sampling], "dtype": [dtype]})
    groups = dict([group("keras", "keras", "shuffle", "float32"), group("keras", "k64", "shuffle", "float64"),
                   group("mlp", "a32", "article", "float32"), group("mlp", "a64", "article", "float64")])
    mine32 = ("e", "d", "mlp", "numpy", "a32")
    mine64 = ("e", "d", "mlp", "numpy", "a64")
    assert tables._reference_group(mine32, groups, keys) is groups[("e", "d", "keras", "tensorflow", "keras")]
    assert tables._reference_group(mine64, groups, keys) is groups[("e", "d", "keras", "tensorflow", "k64")]


def test_a_lone_small_p_is_not_named_once_adjusted_for_the_components(tmp_path: Path) -> None:
    """backprop alone lowers misclassified by 3 (paired p about 0.012 at this noise): below 0.05 on
    its own, but the smallest of five components' p, so Holm's adjustment (x5, 0.06) does not name it."""
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -3.0})
    found, the_gap, table = _found(tmp_path)
    assert ablation.gap_state(the_gap) == ablation.REAL
    backprop = next(e for e in found if e.component == "backprop" and e.design == ablation.FROM_ARTICLE)
    article, switched = _article_and(table, "backprop")
    raw = scipy_stats.ttest_rel(switched, article).pvalue
    m = len(COMPONENTS)
    assert raw < ablation.ALPHA <= m * raw
    assert raw == min(e.p_value for e in found if e.design == ablation.FROM_ARTICLE)
    assert (backprop.p_value, backprop.p_holm) == (pytest.approx(raw), pytest.approx(m * raw))
    text = ablation_finding.sentence("ablation_mnist", found, the_gap)
    assert "no single component switched alone to Keras's significantly lowers it once p is adjusted (p adjusted by " \
           f"Holm's method over the {m} components tested; backprop (p={raw:.3g} alone, Holm p={m * raw:.3g}))." in text
    assert "significantly lowers it (" not in text
    frame = report_section.effects_frame(found, the_gap).set_index(["component", "switched"])
    assert frame.loc[("backprop", ablation.FROM_ARTICLE), "p (Holm)"] == pytest.approx(m * raw)


def test_titanic_ablation_is_measured_as_the_articles_gap_claim_states_it(tmp_path: Path) -> None:
    """Titanic's gap claim compares signed mean "error"s (as the article did); the ablation ranks
    accuracy, so it measures the size of each run's "error", |"error"| in passengers (claim_measures.SIGNED),
    not misclassified (equal in every cell here, no gap) nor the signed error (whose signs alternate
    over seeds, so its gap is not the 4 of |error|)."""
    from harness.reporting import article_numbers, claim_measures

    numbers = article_numbers.load_reference()
    measure, _ = ablation_cells.measure_of("ablation_titanic", numbers)
    assert measure == ablation.Measure("article_error", True, "passengers") and measure.name == '|"error"|'
    claim = next(n for n in numbers["numbers"] if n["id"] == ablation_cells.EXPLAINS["ablation_titanic"])
    assert claim_measures.gap_measure(claim) == ablation.Measure("article_error", False, "passengers")  # the claim: signed
    mnist = ablation.Measure("test_misclassified", False, "images")
    assert ablation_cells.measure_of("ablation_mnist", numbers) == (mnist, "")
    assert ablation_cells.measure_of("ablation_mnist", {}) == (
        None, "the reference numbers could not be loaded (the reproduction table says why)")
    assert ablation_cells.measure_of("ablation_mnist", {"numbers": [{"id": "other"}]}) == (
        None, "the reference numbers hold no claim mnist_vs_tf_misclassified_gap")
    write_ablation(tmp_path, "ablation_titanic", {"backprop": -4.0}, article=16.7, keras=12.7, column="article_error")
    runs = prepared_runs.prepare(load_runs([tmp_path]))
    table = ablation_cells.cells(runs, measure)
    article_cell = table[tuple("article" for _ in COMPONENTS)]
    assert article_cell.mean() == pytest.approx(16.7) and (article_cell > 0).all()
    keras = measure.values(runs[runs["impl"] == "keras"])
    the_gap = ablation.gap(table, keras, measure)
    assert the_gap.size == pytest.approx(4.0) and the_gap.measure == measure
    text = ablation_finding.sentence("ablation_titanic", ablation.effects(table), the_gap)
    assert 'algorithm\'s mean |"error"| is 4 passengers higher than with Keras\'s algorithm in our MLP' in text
    assert "backprop (4 passengers lower" in text
    assert ablation.gap(ablation_cells.cells(runs), keras).size == pytest.approx(0.0)  # misclassified shows no gap
    signed = ablation.Measure("article_error", False, "passengers")
    assert ablation.gap(ablation_cells.cells(runs, signed), signed.values(runs[runs["impl"] == "keras"])).size != \
        pytest.approx(4.0)


def test_without_the_claim_the_section_says_what_it_measures(tmp_path: Path) -> None:
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0})
    runs = prepared_runs.prepare(load_runs([tmp_path]))
    text = report_section.section_html(runs, {}, tmp_path / "figures")
    assert "The reference numbers could not be loaded (the reproduction table says why), so accuracy is measured " \
           "as each run's misclassified test rows, not as the gap this experiment explains " \
           "(<code>mnist_vs_tf_misclassified_gap</code>) states it." in text
    assert "mean misclassified is 24 test rows higher" in text
    other = report_section.section_html(runs, {"numbers": [{"id": "other"}]}, tmp_path / "figures")
    assert "The reference numbers hold no claim mnist_vs_tf_misclassified_gap, so" in other


def test_a_component_that_survives_and_one_that_does_not_are_both_reported(tmp_path: Path) -> None:
    """backprop closes 24 (named); loss_gradient closes 3 (p about 0.013 alone, not after Holm): the
    sentence names backprop and says loss_gradient was below 0.05 only alone."""
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0, "loss_gradient": -3.0})
    found, the_gap, _ = _found(tmp_path)
    text = ablation_finding.sentence("ablation_mnist", found, the_gap)
    lost = next(e for e in found if e.component == "loss_gradient" and e.design == ablation.FROM_ARTICLE)
    assert lost.p_value < ablation.ALPHA <= lost.p_holm
    assert "backprop (24 test rows lower" in text and not re.search(r"loss_gradient \([\d.]+ test rows lower", text)
    assert (f"; below 0.05 alone but not once adjusted: loss_gradient ({stats.p_is(lost.p_value)} alone, "
            f"Holm {stats.p_is(lost.p_holm)}). Switched alone the other way") in text


def test_a_component_that_raises_the_measure_is_not_named_as_closing_the_gap(tmp_path: Path) -> None:
    """backprop closes 24; dtype, switched alone, significantly raises misclassified by 20: the
    finding names backprop only (a raise cannot close a gap, and its share would be negative)."""
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0, "dtype": 20.0})
    found, the_gap, _ = _found(tmp_path)
    dtype = next(e for e in found if e.component == "dtype" and e.design == ablation.FROM_ARTICLE)
    assert dtype.effect == pytest.approx(20.0) and dtype.p_holm < ablation.ALPHA
    text = ablation_finding.sentence("ablation_mnist", found, the_gap)
    assert "backprop (24 test rows lower" in text and "dtype" not in text


def test_runs_that_did_not_record_the_measure_are_said_so(tmp_path: Path) -> None:
    """A Titanic ablation whose records lack article_error: no cells, no chart of NaN bars."""
    from harness.reporting import article_numbers

    write_ablation(tmp_path, "ablation_titanic", {"backprop": -24.0})  # misclassified only
    runs = prepared_runs.prepare(load_runs([tmp_path]))
    text = report_section.section_html(runs, article_numbers.load_reference(), tmp_path / "figures")
    assert "None of its ok runs recorded <code>article_error</code>, so there is nothing to compare." in text
    assert "<table" not in text and "nan" not in text


def test_titanic_section_falls_back_to_the_keras_library_on_abs_error(tmp_path: Path) -> None:
    """Three seeds a cell, Keras's-algorithm cell lost (its runs failed): the gap is against
    TensorFlow's three runs (Welch), in |"error"| too: |13.7|, |-16.7|, |19.7| against |10.7|,
    |-12.7|, |14.7| is 4 (signed, the signs alternate)."""
    from harness.reporting import article_numbers

    write_ablation(tmp_path, "ablation_titanic", {}, article=16.7, keras=12.7, seeds=3, column="article_error")
    runs = prepared_runs.prepare(load_runs([tmp_path]))
    all_keras = tuple("keras" for _ in COMPONENTS)
    runs = runs[[not (run["impl"] == "mlp" and ablation_cells.cell_of(run) == all_keras) for _, run in runs.iterrows()]]
    text = report_section.section_html(runs, article_numbers.load_reference(), tmp_path / "figures")
    assert ("ablation_titanic: the article&#x27;s algorithm&#x27;s mean |&quot;error&quot;| is 4 passengers "
            "higher than with TensorFlow/Keras, not significantly (95% CI") in text and "n=3 vs 3 runs)" in text
    assert "3 Keras run(s) (TensorFlow's mean |&quot;error&quot;|: 12.7)" in text  # |10.7|, |-12.7|, |14.7|
    assert ("each run's |&quot;error&quot;|, averaged over a cell's runs, so that lower is more accurate "
            "(the claim itself compares signed means, as the article did)") in text


def test_cells_are_paired_by_seed_label_not_by_position() -> None:
    """Seeds 0-4 in the article's cell, 4, 2, 0, 3 in the switched one (seed 1 lost, order shuffled):
    the pairs are the four shared seeds, matched by label."""
    article = pd.Series([10.0, 11.0, 12.0, 13.0, 14.0], index=[0, 1, 2, 3, 4])
    switched = pd.Series([14.0 - 3, 12.0 - 2, 10.0 - 1, 13.0 - 2.5], index=[4, 2, 0, 3])
    diff, low, high, p, n = ablation.paired(switched, article)
    expected = scipy_stats.ttest_rel([9.0, 10.0, 10.5, 11.0], [10.0, 12.0, 13.0, 14.0])  # seeds 0, 2, 3, 4
    assert n == 4 and diff == pytest.approx(-2.125) and p == pytest.approx(expected.pvalue)
    assert (low, high) == tuple(pytest.approx(v) for v in expected.confidence_interval(0.95))


def test_runs_without_a_seed_pair_with_none() -> None:
    runs = pd.DataFrame({"seed": [0.0, 1.0, math.nan, math.nan], "test_misclassified": [5.0, 6.0, 7.0, 8.0]})
    assert ablation_cells.MISCLASSIFIED.by_seed(runs).to_dict() == {0.0: 5.0, 1.0: 6.0}


def test_differences_without_spread_or_seeds_give_no_test() -> None:
    """Every seed 2 lower: t is undefined (no spread), so no p that Holm or the finding could read;
    two seeds give no interval (a test needs 3); cells sharing no seed give no effect row."""
    article = pd.Series([10.0, 12.0, 15.0], index=[0, 1, 2])
    assert ablation.paired(article - 2.0, article)[:4][1:] == pytest.approx([math.nan] * 3, nan_ok=True)
    assert ablation.paired(article - 2.0, article)[0] == pytest.approx(-2.0)
    two = ablation.paired(article.iloc[:2] + pd.Series([1.0, 3.0], index=[0, 1]), article.iloc[:2])
    assert two[4] == 2 and math.isnan(two[3]) and two[0] == pytest.approx(2.0)
    names = [c.name for c in COMPONENTS]
    base = tuple("article" for _ in names)
    table = {base: article, tuple("keras" if n == "sampler" else "article" for n in names):
             pd.Series([1.0, 2.0, 3.0], index=[7, 8, 9])}
    assert ablation.effects(table) == []


def test_the_gap_is_paired_unless_tensorflow_runs_stand_in() -> None:
    """Keras's-algorithm cell sharing fewer than 3 seeds with the article's: with TensorFlow's runs
    the gap is against them (Welch, its own run counts); without them it stays paired, untested."""
    names = [c.name for c in COMPONENTS]
    article = pd.Series([20.0, 22.0, 27.0], index=[0, 1, 2])
    keras_cell = pd.Series([10.0, 11.0, 12.0], index=[3, 4, 5])  # no seed in common
    table = {tuple("article" for _ in names): article, tuple("keras" for _ in names): keras_cell}
    library = [10.0, 12.0, 11.0, 13.0]
    welch = ablation.gap(table, library)
    expected = scipy_stats.ttest_ind(article, library, equal_var=False)
    assert (welch.against, welch.paired, welch.n) == ("TensorFlow/Keras", False, (3, 4))
    assert welch.p_value == pytest.approx(expected.pvalue) and ablation.gap_state(welch) == ablation.REAL
    assert "(95% CI" in ablation_finding.sentence("x", [], welch) and ", n=3 vs 4 runs)" in ablation_finding.sentence("x", [], welch)
    alone = ablation.gap({**table, tuple("keras" for _ in names): pd.Series([10.0, 11.0], index=[0, 1])}, [])
    assert (alone.against, alone.paired, alone.n) == ("Keras's algorithm in our MLP", True, (2, 2))
    assert ablation_finding.sentence("x", [], alone).endswith(
        "but the two cells share only 2 seeds, and a test needs 3; run the ablation with runs=3 or more (seeds per "
        "cell) for a finding.")
    nothing = ablation.gap({**table, tuple("keras" for _ in names): keras_cell}, [])
    assert ablation_finding.sentence("x", [], nothing) == ("x: no gap to explain yet: it needs runs of the article's algorithm "
                                                   "and of Keras's algorithm on the same seeds, or TensorFlow's own runs.")


def test_a_gap_against_tensorflow_follows_the_accuracy_columns_rule() -> None:
    """Independent runs take the one rule for two independent groups, stats.compare_means: four runs
    of 20 against four of 10, both constant, get the exact Mann-Whitney p = 2 / C(8, 4) = 2/70
    (they were "untested", no spread, while the summary's accuracy column tested the same case);
    three against three give 2/20 = 0.1, not significant, with no interval to quote."""
    names = [c.name for c in COMPONENTS]
    keras_cell = pd.Series([10.0, 11.0, 12.0], index=[7, 8, 9])  # no seed in common: TensorFlow stands in
    article = pd.Series([20.0] * 4, index=[0, 1, 2, 3])
    table = {tuple("article" for _ in names): article, tuple("keras" for _ in names): keras_cell}
    found = ablation.gap(table, [10.0] * 4)
    same = stats.compare_means(article, [10.0] * 4)
    assert (found.p_value, found.test) == (pytest.approx(2 / 70), stats.MANN_WHITNEY) == (same.p_value, same.test)
    assert ablation.gap_state(found) == ablation.REAL and math.isnan(found.low) and math.isnan(found.high)
    assert ("x: the article's algorithm's mean misclassified is 10 test rows higher than with TensorFlow/Keras "
            "(Mann-Whitney U, p=0.0286, n=4 vs 4 runs)") in ablation_finding.sentence("x", [], found)
    three = ablation.gap({**table, tuple("article" for _ in names): article.iloc[:3]}, [10.0] * 3)
    assert three.p_value == pytest.approx(0.1) and ablation.gap_state(three) == ablation.NOT_SIGNIFICANT
    assert ablation_finding.sentence("x", [], three) == (
        "x: the article's algorithm's mean misclassified is 10 test rows higher than with TensorFlow/Keras, not "
        "significantly (Mann-Whitney U, p=0.1, n=3 vs 3 runs): these runs show no significant gap, so no component "
        "can be said to explain one; more runs per cell may show one.")
    # with spread, Welch's t-test and its interval, as SciPy gives them
    spread = ablation.gap({**table, tuple("article" for _ in names): pd.Series([20.0, 22.0, 27.0])}, [10.0, 12.0, 11.0])
    expected = scipy_stats.ttest_ind([20.0, 22.0, 27.0], [10.0, 12.0, 11.0], equal_var=False)
    assert spread.test == stats.WELCH and spread.p_value == pytest.approx(expected.pvalue)
    assert (spread.low, spread.high) == tuple(pytest.approx(v) for v in expected.confidence_interval(0.95))


def test_a_gap_against_tensorflow_with_enough_runs_always_has_a_p() -> None:
    """Why the sentence has no "the runs have no spread" case: with MIN_RUNS runs a side, independent
    runs without spread get p=1 (identical) or the exact Mann-Whitney p, and with spread Welch's."""
    names = [c.name for c in COMPONENTS]
    keras_cell = pd.Series([10.0, 11.0, 12.0], index=[7, 8, 9])  # no seed in common: TensorFlow stands in
    for article, library, test in (([10.0] * 3, [10.0] * 3, "identical values"),
                                   ([20.0] * 3, [10.0] * 3, stats.MANN_WHITNEY),
                                   ([20.0] * 3, [10.0, 12.0, 11.0], stats.WELCH),
                                   ([20.0, 22.0, 27.0], [10.0] * 3, stats.WELCH)):
        table = {tuple("article" for _ in names): pd.Series(article), tuple("keras" for _ in names): keras_cell}
        found = ablation.gap(table, library)
        assert (found.paired, found.n, found.test) == (False, (3, 3), test)
        assert math.isfinite(found.p_value) and ablation.gap_state(found) != ablation.UNTESTED
        assert "no spread" not in ablation_finding.sentence("x", [], found)


def test_a_significant_gap_whose_switches_could_not_be_tested_says_so() -> None:
    """The two algorithms' cells share 3 seeds and differ significantly, but each switched cell ran
    2 seeds: no switch has an interval, so the finding does not say none closes the gap."""
    names = [c.name for c in COMPONENTS]
    article = pd.Series([90.0, 91.0, 93.0], index=[0, 1, 2])
    table = {tuple("article" for _ in names): article, tuple("keras" for _ in names): article - 20.0 + [0, 1, -1]}
    for name in names:
        table[tuple("keras" if n == name else "article" for n in names)] = pd.Series([80.0, 82.0], index=[0, 1])
    found, the_gap = ablation.effects(table), ablation.gap(table, [])
    assert ablation.gap_state(the_gap) == ablation.REAL and all(math.isnan(e.p_value) for e in found)
    assert ablation_finding.sentence("x", found, the_gap).endswith(
        "; no component's switch alone from the article's algorithm could be tested (each needs 3 seeds shared with "
        "the article's cell, and spread).")
    assert set(report_section.effects_frame(found, the_gap)[report_section.CI_COLUMN]) == {"—"}  # never "[nan, nan]"


def test_one_tested_component_is_not_adjusted_and_no_spread_is_said() -> None:
    names = [c.name for c in COMPONENTS]
    article = pd.Series([90.0, 91.0, 93.0, 95.0], index=[0, 1, 2, 3])
    table = {tuple("article" for _ in names): article,
             tuple("keras" for _ in names): article - 20.0 + [0, 1, -1, 0.5],
             tuple("keras" if n == "backprop" else "article" for n in names): article - 20.0 + [0.5, -0.5, 1, 0]}
    found, the_gap = ablation.effects(table), ablation.gap(table, [])
    text = ablation_finding.sentence("x", found, the_gap)
    assert ("(the only component tested, 4 untested): backprop (19.8 test rows lower" in text
            and "Holm" not in text)
    same = ablation.Gap("Keras's algorithm in our MLP", 4.0, math.nan, math.nan, math.nan, (3, 3))
    assert ablation_finding.sentence("x", [], same).endswith(
        "but the per-seed differences between the two cells have no spread, so no t-test applies.")


def test_effects_without_a_p_say_why_under_the_table(tmp_path: Path) -> None:
    """A switch that leaves every seed's measure as it was (MNIST's loss_gradient changes only the
    logged loss), one whose seeds all moved by the same amount, and too few seeds: each named with
    its reason; nothing when every effect was tested."""
    base = pd.Series([300.0, 250.0, 280.0], index=[0, 1, 2])
    article = tuple("article" for _ in COMPONENTS)
    keras = tuple("keras" for _ in COMPONENTS)
    table = {article: base, keras: base - [90.0, 110.0, 100.0]}
    def switched(name: str, base: str) -> tuple[str, ...]:
        return tuple(("keras" if base == "article" else "article") if c.name == name else base for c in COMPONENTS)

    for c in COMPONENTS:
        table[switched(c.name, "article")] = base + {"sampler": [5.0, -8.0, 20.0], "adam": [4.0, 4.0, 4.0],
                                                     "loss_gradient": [0.0, 0.0, 0.0]}.get(c.name, [1.0, 2.0, 9.0])
        table[switched(c.name, "keras")] = table[keras] + [3.0, -1.0, 7.0]
    table[switched("dtype", "article")] = table[switched("dtype", "article")].iloc[:2]
    note = report_section.untested_note(ablation.effects(table))
    assert note == ("Not tested: dtype (alone from the article's): fewer than 3 seeds in common, too few for a test; "
                    "loss_gradient (alone from the article's): the switch left every seed's measure as it was, so "
                    "there is no spread for a t-test; adam (alone from the article's): every seed differed by the "
                    "same 4, so there is no spread for a t-test.")
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0}, seeds=2)
    text = report_section.section_html(prepared_runs.prepare(load_runs([tmp_path])), {}, tmp_path / "figures")
    assert ("id='ablation-ablation_mnist-untested'>Not tested: sampler (alone from the article&#x27;s and alone "
            "from Keras&#x27;s), adam (") in text
    write_ablation(tmp_path / "five", "ablation_mnist", {"backprop": -24.0})
    text = report_section.section_html(prepared_runs.prepare(load_runs([tmp_path / "five"])), {}, tmp_path / "figures")
    assert "-untested'" not in text and "Not tested" not in text


def test_counts_of_a_thousand_and_more_are_written_out(tmp_path: Path) -> None:
    """One run near chance gives effects in the thousands: the table and sentence write 1634, not 1.63e+03."""
    write_ablation(tmp_path, "ablation_mnist", {"sampler": 1634.0, "backprop": -24.0})
    runs = prepared_runs.prepare(load_runs([tmp_path]))
    text = report_section.section_html(runs, {}, tmp_path / "figures")
    text = re.sub(r'src="data:[^"]*"', "", text)  # an inlined PNG's base64 may hold 'e+0' by chance
    assert "<td>1634</td>" in text and "e+0" not in text


def test_the_share_of_the_gap_has_its_fieller_interval_over_the_seeds(tmp_path: Path) -> None:
    """The share is -effect / gap, each seed's effect and gap from the same runs: its interval is the
    ratios R a paired t-test of (-effect - R gap) per seed does not reject, so at both ends p = 0.05."""
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0, "adam": -6.0})
    found, the_gap, table = _found(tmp_path)
    backprop = next(e for e in found if e.component == "backprop" and e.design == ablation.FROM_ARTICLE)
    ratio, low, high, n = ablation.share(backprop, the_gap)
    assert ratio == pytest.approx(0.8) and low < 0.8 < high and n == 5
    effects = np.array([-v for _, v in backprop.per_seed])
    gaps = np.array([v for _, v in the_gap.per_seed])
    for bound in (low, high):
        assert scipy_stats.ttest_1samp(effects - bound * gaps, 0.0).pvalue == pytest.approx(0.05)
    text = ablation_finding.sentence("ablation_mnist", found, the_gap)
    assert f"n=5 seeds: 80% (95% CI {low:.0%} to {high:.0%}) of the gap)" in text
    welch = ablation.Gap("TensorFlow/Keras", 30.0, 10.0, 50.0, 0.01, (5, 5), paired=False)
    assert ablation_finding.share_text(backprop, welch) == \
        "80% (no interval: the gap is against TensorFlow's own runs, not paired with the effect)"


def test_the_share_and_its_interval_rest_on_the_same_seeds_matched_by_label() -> None:
    """The effect measured on seeds 0-4, the gap on 0-3 (Keras's cell lost seed 4), listed in another
    order: the share and its interval both come from seeds 0-3, matched by label, and say so; too
    few seeds or a gap not told from 0 on them leave the interval out with the reason."""
    effect = ablation.Effect("backprop", "", ablation.FROM_ARTICLE, -39.0, -60.0, -16.0, 0.001, (5, 5),
                             per_seed=((3, -26.0), (0, -20.0), (4, -103.0), (2, -25.0), (1, -21.0)))
    gap = ablation.Gap("Keras's algorithm in our MLP", 23.5, 20.0, 27.0, 0.001, (4, 4),
                       per_seed=((0, 21.0), (1, 22.0), (2, 24.0), (3, 27.0)))
    ratio, low, high, n = ablation.share(effect, gap)
    expected = stats.ratio_interval_paired([20.0, 21.0, 25.0, 26.0], [21.0, 22.0, 24.0, 27.0])
    assert (ratio, low, high, n) == (pytest.approx(expected[0]), pytest.approx(expected[1]),
                                     pytest.approx(expected[2]), 4)
    assert low <= ratio <= high  # the share never falls outside its own interval
    assert ablation_finding.share_text(effect, gap) == \
        f"{ratio:.0%} (95% CI {low:.0%} to {high:.0%}, over the 4 seeds the effect and the gap share)"
    two = ablation.Effect("backprop", "", ablation.FROM_ARTICLE, -20.5, -30.0, -16.0, 0.001, (2, 2),
                          per_seed=((0, -20.0), (1, -21.0)))
    assert ablation_finding.share_text(two, gap) == "95% (too few seeds for an interval, over the 2 seeds the effect and the gap share)"
    noisy = ablation.Gap("Keras's algorithm in our MLP", 1.0, -50.0, 52.0, 0.9, (4, 4),
                         per_seed=((0, 40.0), (1, -38.0), (2, 35.0), (3, -33.0)))
    assert ablation_finding.share_text(effect, noisy).endswith("(95% CI unbounded, over the 4 seeds the effect and the gap share)")
    # the effect on fewer seeds than the gap: the share is on the effect's seeds, and says so
    few = ablation.Effect("backprop", "", ablation.FROM_ARTICLE, -22.0, -30.0, -16.0, 0.001, (3, 3),
                          per_seed=((0, -20.0), (1, -21.0), (2, -25.0)))
    wide = ablation.Gap("Keras's algorithm in our MLP", 40.0, 10.0, 70.0, 0.001, (5, 5),
                        per_seed=((0, 21.0), (1, 22.0), (2, 24.0), (3, 27.0), (4, 106.0)))
    assert ablation_finding.share_text(few, wide).endswith(", over the 3 seeds the effect and the gap share)")
    apart = ablation.Gap("Keras's algorithm in our MLP", 40.0, 10.0, 70.0, 0.001, (2, 2), per_seed=((7, 40.0), (8, 40.0)))
    assert ablation_finding.share_text(few, apart) == "— (the effect and the gap share no seed)"


def test_two_components_each_lowering_the_measure_are_both_named(tmp_path: Path) -> None:
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0, "sampler": -30.0})
    found, the_gap, _ = _found(tmp_path)
    text = ablation_finding.sentence("ablation_mnist", found, the_gap)
    assert ("; switched alone to Keras's, 2 components each significantly lower it (p adjusted by Holm's method "
            f"over the {len(COMPONENTS)} components tested; shares of single switches need not add up): "
            "sampler (30 test rows lower") in text
    assert "; backprop (24 test rows lower" in text
    assert (" Switched alone the other way, from Keras's algorithm to the article's, 2 components each significantly "
            "raise the mean misclassified (p adjusted by Holm's method over the 5 components tested): sampler (30 test "
            "rows higher") in text and "; backprop (24 test rows higher" in text


def test_effects_missing_from_the_table_and_equal_factorial_sides_are_named() -> None:
    """A component whose switched cell never ran has no row, yet is named; a factorial main effect of
    0 on every seed is worded for the design (the sides' averages), not as a switch."""
    def effect(name: str, design: str, value: float, p: float) -> ablation.Effect:
        return ablation.Effect(name, name, design, value, math.nan, math.nan, p, (3, 3))

    found = [effect(c.name, ablation.FROM_ARTICLE, 1.0, 0.5) for c in COMPONENTS if c.name != "dtype"]
    found += [effect(c.name, ablation.FROM_KERAS, 1.0, 0.5) for c in COMPONENTS if c.name not in ("dtype", "adam")]
    found += [effect(c.name, ablation.MAIN, 0.0 if c.name == "adam" else 1.0, math.nan if c.name == "adam" else 0.4)
              for c in COMPONENTS]
    assert report_section.untested_note(found) == (
        "Not tested: dtype (alone from the article's and alone from Keras's), adam (alone from Keras's): no runs of "
        "the switched cell on its base cell's seeds, so no row; adam (main effect (factorial)): the two sides' averages were equal on every seed, so there is "
        "no spread for a t-test.")


def test_the_reverse_switches_are_read_too(tmp_path: Path) -> None:
    """backprop lowers the measure by 24 from either side: switched from Keras's algorithm to the
    article's it raises it by 24, which the finding's second sentence names with its numbers."""
    write_ablation(tmp_path, "ablation_mnist", {"backprop": -24.0})
    found, the_gap, table = _found(tmp_path)
    keras_cell, switched = _article_and(table, "backprop", base="keras")
    expected = scipy_stats.ttest_rel(keras_cell, switched)
    reverse = next(e for e in found if e.component == "backprop" and e.design == ablation.FROM_KERAS)
    assert reverse.p_value == pytest.approx(expected.pvalue) and reverse.p_holm < ablation.ALPHA
    text = ablation_finding.sentence("ablation_mnist", found, the_gap)
    assert text.endswith(" Switched alone the other way, from Keras's algorithm to the article's, one component "
                         "significantly raises the mean misclassified (p adjusted by Holm's method over the "
                         f"{len(COMPONENTS)} components tested): backprop (24 test rows higher, 95% CI {number_text.fmt(-reverse.high)} to "
                         f"{number_text.fmt(-reverse.low)}, {stats.p_is(reverse.p_value)}, Holm {stats.p_is(reverse.p_holm)}, "
                         "n=5 seeds).")


@pytest.mark.parametrize("scale", [1.0, 1e-170, 1e200])
def test_paired_effect_is_the_t_test_of_the_per_seed_differences_at_any_scale(scale: float) -> None:
    """A paired effect's mean, 95% interval and p are the one-sample t-test of the per-seed
    differences against 0 (SciPy's ttest_1samp at an ordinary scale), and the same, scaled, for
    differences of any size: a test that squares them loses them below about 1e-162 (p 0) and
    above 1e154 (p 1)."""
    seeds = pd.Index([0, 1, 2, 3], name="seed")
    a = pd.Series([3.0, 5.0, 4.0, 9.0], index=seeds)
    b = pd.Series([1.0, 2.0, 4.5, 5.0], index=seeds)
    reference = scipy_stats.ttest_1samp((a - b).to_numpy(), 0.0)
    interval = reference.confidence_interval(0.95)
    mean, low, high, p, n = ablation.paired(a * scale, b * scale)
    assert n == 4
    assert mean == pytest.approx(2.125 * scale, rel=1e-12, abs=0)
    assert low == pytest.approx(interval.low * scale, rel=1e-12, abs=0)
    assert high == pytest.approx(interval.high * scale, rel=1e-12, abs=0)
    assert p == pytest.approx(reference.pvalue, rel=1e-10, abs=0)


def test_an_experiment_without_runs_names_the_command_that_runs_it(tmp_path: Path) -> None:
    """make bench runs ablation_titanic but leaves ablation_mnist out for its budget: the note of
    an ablation with no runs names make bench only for the one it runs, and the Makefile target
    for the other (which must exist and run that experiment)."""
    from harness import suite
    assert "ablation_titanic" in {step.experiment for step in suite.SUITE}
    assert suite.run_command("ablation_titanic") == "make bench"
    assert suite.run_command("ablation_mnist") == "make ablation-mnist"
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\nablation-mnist:", 1)[1].split("\n\n", 1)[0]
    assert "+experiment=ablation_mnist" in target
    write_ablation(tmp_path, "ablation_titanic", {})
    assert report.main([str(tmp_path)]) == 0
    text = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "No runs of ablation_mnist yet: run <code>make ablation-mnist</code> and rebuild the report." in text
