"""The page's section on the article's head-to-head claims, drawn as the article drew them: its MLP
with its own algorithm against Keras in the same experiment (the three-panel figure), and its
printed epoch losses as reference curves over ours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import figures as fg
from harness.reporting import comparable_runs, html
from harness.reporting.figures_article import comparison
from harness.reporting.number_text import mean_text
from harness.reporting.prepared_runs import repeated_runs
from harness.reporting.stats import describe_mean, finite, range_of

TITLE = "The article's claims, as it made them"
ANCHOR = "claims"
HEAD_TO_HEAD = ("titanic_vs_tf", "mnist_vs_tf")


def article_pairing(runs: pd.DataFrame, experiment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(MLP runs of the article's algorithm, Keras runs) of one experiment, ok runs only, each seed
    once (the latest run), as the reproduction table counts them."""
    mine = runs[(runs["experiment"] == experiment) & runs["ok"]] if len(runs) else runs
    if mine.empty:
        return mine, mine
    mlp = mine[mine["impl"] == "mlp"]
    mlp = mlp[comparable_runs.algorithm_of(mlp) == "article"]
    keras = mine[mine["impl"] == "keras"]
    return (mlp[~repeated_runs(mlp, ["impl", "backend"])] if len(mlp) else mlp,
            keras[~repeated_runs(keras, ["impl", "backend"])] if len(keras) else keras)


def _head_to_head(runs: pd.DataFrame, experiment: str, out_dir: Path) -> str:
    mlp, keras = article_pairing(runs, experiment)
    if mlp.empty or keras.empty:
        missing = "MLP runs of the article's algorithm" if mlp.empty else "Keras runs"
        return (f"<p class='note'>{html.esc(experiment)}: no {missing} yet, so its head-to-head figure is not drawn "
                f"(run <code>python -m harness +experiment={html.esc(experiment)}</code>).</p>")
    figure = comparison(pd.concat([mlp, keras]), f"{experiment}, the article's algorithm",
                        out_dir / f"{experiment}-article-vs-keras.png")
    backends = sorted(set(mlp["backend"].dropna()))
    note = ""
    if experiment.startswith("mnist") and "cupy" not in backends:
        note = (f"<p class='note'>The article's MNIST MLP ran on CuPy (a GPU); ours here ran on "
                f"{html.esc(', '.join(backends))}, which computes the same but times differently.</p>")
    table = ""
    if experiment.startswith("titanic"):
        table = ("<p>The article's Titanic \"error\" (actual minus predicted survivors) three ways: the article "
                 "published its signed mean, which the verdicts test; its sign lets over- and under-predictions "
                 "cancel, so mean |error| and misclassified are shown beside it.</p>"
                 + html.table_html(error_measures(mlp, keras)))
    return note + html.image_html(figure) + table


def error_measures(mlp: pd.DataFrame, keras: pd.DataFrame) -> pd.DataFrame:
    """The Titanic "error" three ways, side by side: signed mean (the article's statistic, which the
    verdicts test; over- and under-predictions cancel), mean |error| and misclassified, each with its
    95% t-interval."""
    rows = []
    for name, group in (("mlp, the article's algorithm", mlp), ("keras", keras)):
        row = {"implementation": name, "runs": len(group)}
        for header, values, within in (
                ('signed mean "error"', _column(group, "article_error"), range_of("article_error")),
                ('mean |"error"|', np.abs(_column(group, "article_error")), range_of("article_error", absolute=True)),
                ("misclassified", _column(group, "test_misclassified"), range_of("test_misclassified"))):
            described = describe_mean(values, within=within)
            row[header] = mean_text(described["mean"], described["ci_low"], described["ci_high"])
        rows.append(row)
    return pd.DataFrame(rows)


def _column(group: pd.DataFrame, column: str) -> np.ndarray:
    return finite(pd.to_numeric(group[column], errors="coerce"))


def loss_reference(runs: pd.DataFrame, curve: dict[str, Any], out_dir: Path) -> fg.FigureFile | None:
    """Our epoch losses (the article's algorithm, the curve's backend) under the article's printed ones."""
    found = pd.DataFrame()
    for experiment in curve.get("experiments", []):
        mlp, _ = article_pairing(runs, experiment)
        found = mlp[mlp["backend"] == curve["backend"]] if len(mlp) else mlp
        if len(found):
            break
    if found.empty:
        return None
    fig, (ax,) = fg.new_figure(8, 4.0)
    for _, run in found.iterrows():
        values = fg.losses(run["epoch_losses"])
        ax.plot(np.arange(1, values.size + 1), values, color=fg.colour("mlp"), alpha=0.5)
    epochs = sorted(int(e) for e in curve["epochs"])
    # markers alone: a line would draw the epochs between those it printed
    ax.plot(epochs, [curve["epochs"][e] for e in epochs], "k*", markersize=10, label="article (printed)")
    ax.plot([], [], color=fg.colour("mlp"), label=f"ours, one line per seed (n={len(found)})")
    fg.log_scale(ax)
    ax.set(xlabel="epoch", ylabel="training loss", title=f"{curve['figure']}: our runs of {found['experiment'].iloc[0]}")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    path = out_dir / f"article-loss-{curve['id']}.png"
    fg.save(fig, path)
    return fg.FigureFile(path, f"{curve['figure']}: epoch losses against the article's",
                         "Stars: the losses the article printed (it printed only some epochs, of one run). "
                         "The article's first-epoch loss is judged in the reproduction table against our "
                         "prediction interval.")


def section_html(runs: pd.DataFrame, numbers: dict[str, Any], out_dir: Path) -> str:
    """The whole section (runs prepared by prepared_runs.prepare; `numbers` is article.yaml's content)."""
    parts = [f'<h2 id="{ANCHOR}">{html.esc(TITLE)}</h2>',
             "<p>The article compared its MLP, with its own algorithm, against Keras in the same experiment. "
             "Its time ratio and its accuracy gap are judged as such in the reproduction table; here are the "
             "article's three panels (runtime, misclassified, mean error) drawn from our runs.</p>"]
    parts += [_head_to_head(runs, experiment, out_dir) for experiment in HEAD_TO_HEAD]
    curves = [loss_reference(runs, curve, out_dir) for curve in numbers.get("curves", [])]
    parts += [html.image_html(figure) for figure in curves if figure is not None]
    if not any(curves):
        parts.append("<p class='muted'>No MNIST runs of the article's algorithm yet: the article's printed losses "
                     "are drawn over ours once mnist_cpu (or mnist_gpu) has run.</p>")
    return "\n".join(parts)
