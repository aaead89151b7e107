"""The page's ablation section (the article's algorithm against Keras's, component by component): chart, table,
computed sentence, per ablation experiment (harness.reporting.ablation_cells reads the runs into cells,
harness.reporting.ablation does the arithmetic, harness.reporting.ablation_finding writes the sentence)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.algorithm import COMPONENTS
from harness.reporting import ablation, ablation_cells, ablation_finding
from harness.reporting import figures as fg
from harness.reporting import html, stats
from harness.reporting.claim_measures import Measure
from harness.reporting.number_text import fmt
from harness.reporting.prepared_runs import repeated_runs
from harness.suite import run_command

TITLE = "The article's algorithm against Keras's, component by component"
ANCHOR = "ablation"
DESIGN_COLOURS = {ablation.FROM_ARTICLE: "#1f77b4", ablation.FROM_KERAS: "#ff7f0e", ablation.MAIN: "#2ca02c"}
CI_COLUMN = "95% CI (not adjusted)"


def chart(experiment: str, found: list[ablation.Effect], the_gap: ablation.Gap, path: Path) -> fg.FigureFile:
    """Each component's effect on the gap's measure with its 95% interval, one bar per design."""
    names = list(dict.fromkeys(e.component for e in found))
    designs = [d for d in DESIGN_COLOURS if any(e.design == d for e in found)]
    fig, (ax,) = fg.new_figure(11, 0.6 + 0.55 * len(names) * max(1, len(designs)) ** 0.5)
    height = 0.8 / max(1, len(designs))
    for i, design in enumerate(designs):
        rows = {e.component: e for e in found if e.design == design}
        y = [names.index(n) + (i - (len(designs) - 1) / 2) * height for n in rows]
        values = np.array([rows[n].effect for n in rows])
        errors = np.array([[rows[n].effect - rows[n].low for n in rows], [rows[n].high - rows[n].effect for n in rows]])
        ax.barh(y, values, height=height, xerr=np.nan_to_num(errors), color=DESIGN_COLOURS[design], label=design,
                capsize=3)
    state = ablation.gap_state(the_gap)
    if state == ablation.REAL:
        ax.axvline(-the_gap.size, color="black", linestyle="--",
                   label=f"closes the whole gap to {the_gap.against} ({fmt(the_gap.size)} {the_gap.measure.unit})")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    measure = the_gap.measure
    ax.set(xlabel=f"change in mean {measure.name} ({measure.unit}) when the component takes Keras's value",
           title=f"{experiment}: effect of each component (95% CI)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: bars fill the axes
    ax.grid(axis="x", alpha=0.3)
    fg.save(fig, path)
    closing = {ablation.REAL: " The dashed line is the effect that would close the whole gap between the article's "
                              "algorithm and Keras's.",
               ablation.UNTESTED: " No line marks the gap: it could not be tested.",
               ablation.REVERSED: f" No line marks a gap: the article's algorithm's mean {measure.name} is "
                                  "significantly lower.",
               ablation.NOT_SIGNIFICANT: " No line marks the gap: the runs show no significant one."}[state]
    return fg.FigureFile(path, f"{experiment}: each component's effect on mean {measure.name}",
                         f"Negative = Keras's value lowers mean {measure.name}. Error bars: 95% intervals of "
                         "the mean per-seed difference, not adjusted for the number of components." + closing)


def effects_frame(found: list[ablation.Effect], the_gap: ablation.Gap) -> pd.DataFrame:
    """The table of the section: one row per component and design; the share of the gap only for the
    components the finding names (``ablation_finding.closes``), when there is a significant gap to share: the share of
    an effect not told from zero would be noise in percent."""
    real = ablation.gap_state(the_gap) == ablation.REAL
    effect = effect_column(the_gap.measure)
    columns = ["component", "switched", effect, CI_COLUMN, "p", "p (Holm)", "seeds", "share of gap"]
    rows = [{"component": e.component, "switched": e.design, effect: e.effect,
             CI_COLUMN: f"[{fmt(e.low)}, {fmt(e.high)}]" if math.isfinite(e.low) and math.isfinite(e.high) else "—",
             "p": e.p_value, "p (Holm)": e.p_holm, "seeds": e.n[0],
             "share of gap": ablation_finding.share_text(e, the_gap) if real and ablation_finding.closes(e) else "—"}
            for e in found]
    return pd.DataFrame(rows, columns=columns)


def untested_note(found: list[ablation.Effect]) -> str:
    """Why effects have no p, one clause per reason: a switched cell with no runs on its base cell's
    seeds (no row at all), too few seeds in common, or the same difference on every seed (t is
    undefined; 0 on every seed: the switch left every seed's measure as it was, or in the factorial
    the two sides' averages were equal). '' when every effect was tested."""
    missing = [ablation.Effect(c.name, c.label, design, math.nan, math.nan, math.nan, math.nan, (0, 0))
               for design in (ablation.FROM_ARTICLE, ablation.FROM_KERAS) if any(e.design == design for e in found)
               for c in COMPONENTS if not any(e.design == design and e.component == c.name for e in found)]
    few = [e for e in found if e.n[0] < stats.MIN_RUNS]
    flat = [e for e in found if e.n[0] >= stats.MIN_RUNS and not math.isfinite(e.p_value)]
    parts = []
    if missing:
        parts.append(f"{_listed(missing)}: no runs of the switched cell on its base cell's seeds, so no row")
    if few:
        parts.append(f"{_listed(few)}: fewer than {stats.MIN_RUNS} seeds in common, too few for a test")
    for value, factorial in sorted({(e.effect, e.design == ablation.MAIN) for e in flat}):
        group = [e for e in flat if (e.effect, e.design == ablation.MAIN) == (value, factorial)]
        what = (f"every seed differed by the same {fmt(float(value))}" if value != 0 else
                "the two sides' averages were equal on every seed" if factorial else
                "the switch left every seed's measure as it was")
        parts.append(f"{_listed(group)}: {what}, so there is {stats.NO_SPREAD}")
    return "; ".join(f"Not tested: {part}" if i == 0 else part for i, part in enumerate(parts)) + ("." if parts else "")


def _listed(found: list[ablation.Effect]) -> str:
    """'loss_gradient (alone from the article's and alone from Keras's)', components in table order."""
    names = list(dict.fromkeys(e.component for e in found))
    return ", ".join(f"{name} ({' and '.join(e.design for e in found if e.component == name)})" for name in names)


def effect_column(measure: Measure) -> str:
    """The table's effect column, e.g. 'effect on mean misclassified (images)'."""
    return f"effect on mean {measure.name} ({measure.unit})"


def _part(experiment: str, runs: pd.DataFrame, out_dir: Path, numbers: dict[str, Any]) -> str:
    """One ablation experiment: sentence, chart, table; or which experiment to run."""
    mine = runs[runs["experiment"] == experiment] if len(runs) else runs
    if mine.empty or not mine["ok"].any():
        return (f"<h3>{html.esc(experiment)}</h3><p class='note'>No runs of {html.esc(experiment)} yet: run "
                f"<code>{html.esc(run_command(experiment))}</code> and rebuild the report.</p>")
    measure, why_not = ablation_cells.measure_of(experiment, numbers)
    claim = html.esc(ablation_cells.EXPLAINS[experiment])
    measured = (f"Accuracy is measured as the article's claim <code>{claim}</code> states it: each run's "
                f"{html.esc(measure.name)}, averaged over a cell's runs." if measure and not measure.absolute else
                f"Accuracy is measured in the quantity of the article's claim <code>{claim}</code>, as a size: each "
                f"run's {html.esc(measure.name)}, averaged over a cell's runs, so that lower is more accurate (the "
                f"claim itself compares signed means, as the article did)." if measure else
                f"{html.esc(why_not[0].upper() + why_not[1:])}, so accuracy is measured as each run's "
                f"{ablation_cells.MISCLASSIFIED.name} test rows, not as the gap this experiment explains "
                f"(<code>{claim}</code>) states it.")
    measure = measure or ablation_cells.MISCLASSIFIED
    table = ablation_cells.cells(mine, measure)
    keras_runs = mine[(mine["impl"] == "keras") & mine["ok"]]
    if len(keras_runs):  # each seed once, the latest
        keras_runs = keras_runs[~repeated_runs(keras_runs, ["impl", "backend"])]
    keras = measure.values(keras_runs)
    if not table and not keras.size:
        return (f"<h3>{html.esc(experiment)}</h3><p class='note'>{measured} None of its ok runs recorded "
                f"<code>{html.esc(measure.column)}</code>, so there is nothing to compare.</p>")
    found, the_gap = ablation.effects(table), ablation.gap(table, keras, measure)
    parts = [f"<h3>{html.esc(experiment)}</h3>",
             f"<p id='{ANCHOR}-{html.esc(experiment)}-finding'><b>{html.esc(ablation_finding.sentence(experiment, found, the_gap))}</b></p>",
             f"<p class='muted small'>{measured} {len(table)} cell(s) of the MLP "
             f"({sum(len(v) for v in table.values())} runs) and {keras.size} Keras run(s) (TensorFlow's mean "
             f"{html.esc(measure.name)}: {fmt(float(np.mean(keras)) if keras.size else math.nan, 4)}).</p>"]
    if found:
        parts.append(html.image_html(chart(experiment, found, the_gap, out_dir / f"{experiment}-effects.png")))
        view = effects_frame(found, the_gap)
        view[effect_column(measure)] = view[effect_column(measure)].map(fmt)
        for column in ("p", "p (Holm)"):
            view[column] = view[column].map(lambda v: "—" if pd.isna(v) else stats.p_text(v))
        parts.append(html.table_html(view))
        untested = untested_note(found)
        if untested:
            parts.append(f"<p class='muted small' id='{ANCHOR}-{html.esc(experiment)}-untested'>{html.esc(untested)}</p>")
    else:
        parts.append("<p class='muted'>The runs hold no pair of cells that differ in one component only.</p>")
    return "\n".join(parts)


def section_html(runs: pd.DataFrame, numbers: dict[str, Any], out_dir: Path) -> str:
    """The whole section (runs prepared by prepared_runs.prepare; `numbers`: the article's reference numbers,
    whose gap claims say how each experiment measures accuracy)."""
    body = "\n".join(_part(experiment, runs, out_dir, numbers) for experiment in ablation_cells.EXPERIMENTS)
    method = (f"<p class='muted small'>Cells are told apart by their runs' component values "
              f"(harness.algorithm.COMPONENTS). Accuracy is measured in the quantity of the article's accuracy gap "
              f"that the experiment explains (named under each heading). An effect is the difference of its means, "
              f"Keras's value minus the article's, taken seed by seed: every cell runs the same seeds, so a seed's "
              f"runs in two cells are a pair, and the seeds, not the runs, are the independent observations. Its "
              f"95% interval and two-sided p come from a t-test of the "
              f"per-seed differences (not adjusted for the number of components); a main effect averages each "
              f"side's cells per seed first. p (Holm) adjusts each design's p over its components by "
              f"Holm's method, so that the chance of calling any of them significant when none has an effect stays "
              f"under {stats.ALPHA}. The finding "
              f"names the components whose switch alone from the article's algorithm lowers the measure with a "
              f"Holm-adjusted p &lt; {stats.ALPHA}, each with its share of the gap between the article's algorithm "
              f"and Keras's in our MLP (against TensorFlow's own runs, by Welch's test, when those two cells share "
              f"fewer than {stats.MIN_RUNS} seeds and TensorFlow has {stats.MIN_RUNS} runs) and that share's "
              f"95% interval (Fieller's, over the seeds the effect and the gap share, none against TensorFlow's own runs; "
              f"not adjusted for the number of "
              f"components; it may pass 100%: the switch alone then lowers the measure by more than the gap); a "
              f"second sentence names "
              f"those whose switch alone from Keras's algorithm to the article's raises it with a Holm-adjusted "
              f"p &lt; {stats.ALPHA}. An effect or gap "
              f"needs {stats.MIN_RUNS} seeds (or runs a side) and some spread for an interval.</p>")
    return f'<h2 id="{ANCHOR}">{html.esc(TITLE)}</h2>{method}\n{body}'
