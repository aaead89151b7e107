"""The article's figures, regenerated from our runs, and the choice of figures per experiment.

- against TensorFlow (Titanic, MNIST): runtime per experiment, misclassifications per
  experiment, mean "error" (Titanic) or misclassified (MNIST) per implementation (three panels);
- Titanic: predicted survivors per experiment against the actual number, mean error in the title;
- Drujba housing: the training and test points with the true, fitted and least-squares lines,
  and the loss over the steps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from matplotlib.ticker import MaxNLocator

from harness.reporting import batches
from harness.reporting import figures as fg
from harness.reporting.stats import describe_mean, finite, range_of
from harness.reporting.number_text import fmt, mean_text
from harness.reporting.tables import REFERENCE_IMPL

# The article's generating function, F(x) = 1837.5x + U(0, 10000) + 14376.52, and its fit.
DRUJBA_TRUE_W, DRUJBA_TRUE_B, DRUJBA_NOISE = 1837.5, 14376.52, 10000.0
ARTICLE_FIT_W, ARTICLE_FIT_B = 1933.30, 10.81


def _per_run(ax: Any, runs: pd.DataFrame, column: str) -> None:
    """One line of markers per implementation: value of each run, in seed order."""
    for name, impl, backend, group in fg.by_label(fg.ok_runs(runs)):
        values = pd.to_numeric(group[column], errors="coerce").to_numpy(float)
        ax.plot(_run_axis(group), values, marker="o", color=fg.colour(impl, backend), label=name)
    ax.set_xlabel("experiment (seed)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def _run_axis(group: pd.DataFrame) -> np.ndarray:
    """x position of each run: its seed (same seed, same place for every implementation)."""
    seeds = pd.to_numeric(group["seed"], errors="coerce").to_numpy(float)
    return seeds if np.isfinite(seeds).all() else np.arange(1, len(group) + 1, dtype=float)


def _mean_bars(ax: Any, runs: pd.DataFrame, column: str) -> None:
    """Mean of `column` per implementation with its 95% t-interval."""
    groups = fg.by_label(fg.ok_runs(runs))
    for i, (name, impl, backend, group) in enumerate(groups):
        values = finite(group[column])
        if values.size == 0:
            continue
        described = describe_mean(values, within=range_of(column))
        mean, low, high = described["mean"], described["ci_low"], described["ci_high"]
        err = None if np.isnan(low) else [[max(mean - low, 0)], [max(high - mean, 0)]]
        ax.bar(i, mean, yerr=err, capsize=5, color=fg.colour(impl, backend))
        ax.text(i + 0.05, mean, f" {fmt(float(mean))}", ha="left", va="bottom", fontsize="small")
    ax.set_xticks(range(len(groups)), [g[0] for g in groups], rotation=15)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.grid(axis="y", alpha=0.3)


def comparison(runs: pd.DataFrame, experiment: str, path: Path) -> fg.FigureFile:
    """Runtime and misclassifications per experiment, and per implementation the mean of the
    article's Titanic "error" or, without it (MNIST), of the misclassified test samples."""
    fig, (time_ax, miss_ax, mean_ax) = fg.new_figure(13, 4.0, ncols=3)
    _per_run(time_ax, runs, "fit_seconds")
    log = fg.spans_widely(fg.ok_runs(runs)["fit_seconds"])
    if log:
        fg.log_scale(time_ax)  # a 100x gap would flatten the faster implementation to a line at 0
    time_ax.set(ylabel="fit time (s, log scale)" if log else "fit time (s)", title="Runtime per experiment")
    time_ax.legend(fontsize="small")
    _per_run(miss_ax, runs, "test_misclassified")
    miss_ax.set(ylabel="misclassified test samples", title="Misclassifications per experiment")
    article = pd.to_numeric(runs["article_error"], errors="coerce").notna().any()
    column = "article_error" if article else "test_misclassified"
    _mean_bars(mean_ax, runs, column)
    ylabel = '"error" = actual − predicted survivors' if article else "misclassified test samples"
    mean_of = 'mean "error"' if article else "mean misclassified"
    mean_ax.set(ylabel=ylabel, title=f"{mean_of.capitalize()} (95% CI)")  # longer would overflow the figure
    fig.suptitle(f"{experiment}: from-scratch MLP against TensorFlow/Keras{fg.excluded_note(runs)}")
    fg.save(fig, path)
    what = 'the article\'s "error" (actual minus predicted survivors)' if article else "misclassified test samples"
    return fg.FigureFile(path, f"Against TensorFlow: runtime, misclassifications, {mean_of}",
                         f"The article's three panels. Right: mean of {what}, error bars a 95% t-interval of the mean.")


def survivors(runs: pd.DataFrame, experiment: str, path: Path) -> fg.FigureFile | None:
    """Predicted survivors of each experiment beside the actual number (the article's Titanic plot)."""
    ok = fg.ok_runs(runs)
    actual = finite(ok["actual_positives"])
    groups = [g for g in fg.by_label(ok) if finite(g[3]["predicted_positives"]).size]
    if not groups or actual.size == 0:
        return None
    fig, (ax,) = fg.new_figure(9, 3.8)
    width = 0.8 / len(groups)
    titles = []
    for i, (name, impl, backend, group) in enumerate(groups):
        predicted = pd.to_numeric(group["predicted_positives"], errors="coerce").to_numpy(float)
        x = _run_axis(group) + (i - (len(groups) - 1) / 2) * width
        ax.bar(x, predicted, width=width, color=fg.colour(impl, backend), label=name)
        titles.append(f"{name}: mean error {_mean_error_text(actual[0] - predicted)}")
    ax.axhline(actual[0], color="black", linestyle="--", label=f"actual survivors ({actual[0]:g})")
    ax.set(xlabel="experiment (seed)", ylabel="predicted survivors in the test set",
           title=f"{experiment}{fg.excluded_note(runs)}\n" + "\n".join(titles))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(ax.get_ylim()[1], actual[0]) * 1.25)
    ax.legend(fontsize="small", loc="upper center", ncol=len(groups) + 1)
    ax.grid(axis="y", alpha=0.3)
    fg.save(fig, path)
    return fg.FigureFile(path, "Predicted survivors per experiment",
                         "Mean error = actual survivors minus the mean number predicted to survive "
                         '(the article\'s "error"), with its 95% t-interval in brackets and the number of runs n.')


def _mean_error_text(errors: np.ndarray) -> str:
    """'16.5 [10.34, 22.66], n=4': the mean "error" of some runs as the page gives every mean."""
    described = describe_mean(errors, within=range_of("article_error"))
    return f"{mean_text(described['mean'], described['ci_low'], described['ci_high'])}, n={finite(errors).size}"


def _drujba_data(seed: int, n_train: Any = None) -> tuple[tuple[np.ndarray, np.ndarray],
                                                          tuple[np.ndarray, np.ndarray], dict] | None:
    """The Drujba data of one run, regenerated (same seed and size); None when the data module
    is unavailable. Returns (x, y) of the training points, (x, y) of the test points (the fit
    never saw them) and the data set's meta."""
    try:
        from experiments.data import load_dataset

        options = {} if n_train is None or pd.isna(n_train) else {"n": int(n_train)}
        ds = load_dataset("drujba", seed=int(seed), **options)
    except Exception:  # the data module may be missing or changed: plot what records allow
        return None
    train = np.ravel(ds.x_train), np.ravel(ds.y_train)
    test = np.ravel(ds.x_test), np.ravel(ds.y_test)
    return train, test, dict(getattr(ds, "meta", {}) or {})


def _data_options(run: pd.Series) -> tuple[Any, Any]:
    """(seed, n) the run's data was drawn with: the config's data.seed and data.n when the run
    folder has a config (the harness draws one data set for every run seed unless data.seed is
    null), else the record's seed and n_train."""
    seed, n = run.get("seed"), run.get("n_train")
    text = batches.read_config_text(run["run_dir"]) if isinstance(run.get("run_dir"), str) else None
    data = (yaml.safe_load(text) or {}).get("data") if text else None
    if isinstance(data, dict):
        seed = data.get("seed") if data.get("seed") is not None else seed
        n = data.get("n", n)
    return seed, n


def _drujba_fit_panel(ax: Any, runs: pd.DataFrame) -> str:
    """Data with true and fitted lines when the data can be regenerated, else the fitted (w, b)."""
    run = runs.iloc[0]
    seed, n = _data_options(run)
    data = None if seed is None or pd.isna(seed) else _drujba_data(seed, n)
    w, b = float(np.ravel(run["fitted_w"])[0]), float(np.ravel(run["fitted_b"])[0])
    if data is None:
        fits = runs[["fitted_w", "fitted_b"]].map(lambda v: float(np.ravel(v)[0]))
        ax.scatter(fits["fitted_w"], fits["fitted_b"], label="ours, one per seed")
        ax.scatter([ARTICLE_FIT_W], [ARTICLE_FIT_B], marker="*", s=120, color="black", label="article")
        ax.set(xlabel="fitted w", ylabel="fitted b", title="Fitted parameters (data not available)")
        ax.legend(fontsize="small")
        return "The data could not be regenerated (experiments.data unavailable): fitted parameters only."
    (x, y), (x_test, y_test), meta = data
    slope, intercept = float(meta.get("slope", DRUJBA_TRUE_W)), float(meta.get("intercept", DRUJBA_TRUE_B))
    noise = float((meta.get("noise") or [0.0, DRUJBA_NOISE])[-1])
    every_x = np.concatenate([x, x_test])
    grid = np.linspace(every_x.min(), every_x.max(), 50)
    ax.scatter(x, y, s=10, color="grey", alpha=0.7, label=f"{x.size} training points")
    ax.scatter(x_test, y_test, s=14, facecolors="none", edgecolors="#9467bd",
               label=f"{x_test.size} test points (not fitted)")
    ax.fill_between(grid, slope * grid + intercept, slope * grid + intercept + noise, color="#2ca02c",
                    alpha=0.25, label=f"true: {slope:.10g}x + {intercept:.10g} + U(0, {noise:.10g})")
    ax.plot(grid, w * grid + b, color="#1f77b4", label=f"fitted: {w:.2f}x + {b:.2f}")
    ax.plot(grid, ARTICLE_FIT_W * grid + ARTICLE_FIT_B, "--", color="black", label="article: 1933.30x + 10.81")
    # The converged answer beside the 50-step one (gradient descent has barely moved the intercept):
    # the minimum of the loss it descends, over the training points alone.
    ls_w, ls_b = np.polyfit(x, y, 1)
    ax.plot(grid, ls_w * grid + ls_b, ":", color="#d62728",
            label=f"least squares of the training points: {ls_w:.2f}x + {ls_b:.2f}")
    ax.set(xlabel="x (size)", ylabel="y (price)",
           title=f"Data (data seed {int(seed)}) and lines (run seed {run['seed']:g})")
    ax.legend(fontsize="small")
    return (f"Left: the data (regenerated with data seed {int(seed)}: grey the training points, hollow the "
            f"test points the fit never saw), the band it was drawn from, the 50-step fit of run seed "
            f"{run['seed']:g}, the least-squares line of the training points (where gradient descent would "
            "end) and the article's fit.")


def drujba(runs: pd.DataFrame, experiment: str, path: Path) -> fg.FigureFile | None:
    """Linear regression: data with the true and fitted line, and the loss over the steps."""
    ok = fg.ok_runs(runs)
    ok = ok[ok["fitted_w"].notna() & ok["fitted_b"].notna()]
    if ok.empty:
        return None
    fig, (fit_ax, loss_ax) = fg.new_figure(11, 4.0, ncols=2)
    caption = _drujba_fit_panel(fit_ax, ok)
    for _, run in ok.iterrows():
        curve = fg.losses(run["epoch_losses"])
        if curve.size:
            loss_ax.plot(np.arange(1, curve.size + 1), curve, alpha=0.7, label=f"seed {run['seed']:g}")
    if np.all(finite(np.concatenate([fg.losses(v) for v in ok["epoch_losses"]] or [np.ones(1)])) > 0):
        fg.log_scale(loss_ax)
    loss_ax.set(xlabel="gradient-descent step", ylabel="loss (mean squared error)", title="Loss over the steps")
    loss_ax.grid(alpha=0.3)
    if len(ok) <= 10:
        loss_ax.legend(fontsize="small")
    fig.suptitle(f"{experiment}: linear regression by gradient descent{fg.excluded_note(runs)}")
    fg.save(fig, path)
    return fg.FigureFile(path, "Linear regression: fit and loss", caption + " Right: loss per step, one line per seed.")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "figure"


def figures_for(experiment: str, runs: pd.DataFrame, summary: pd.DataFrame,
                swept: list[str], out_dir: Path) -> list[fg.FigureFile]:
    """Every figure for one experiment's runs, written as PNGs into `out_dir`."""
    name = _slug(experiment)
    impls = set(runs["impl"].dropna())
    titanic = runs["dataset"].eq("titanic").any() or runs["article_error"].notna().any()
    made: list[fg.FigureFile | None] = []
    if REFERENCE_IMPL in impls and len(impls) > 1 and not swept:
        made.append(comparison(runs, experiment, out_dir / f"{name}-vs-keras.png"))
    if titanic and not swept:
        made.append(survivors(runs, experiment, out_dir / f"{name}-survivors.png"))
    if runs["fitted_w"].notna().any():
        made.append(drujba(runs, experiment, out_dir / f"{name}-fit.png"))
    elif not any(made) and not swept:
        made.append(fg.generic(runs, experiment, out_dir / f"{name}-runs.png"))
    if not runs["fitted_w"].notna().any():
        made.append(fg.loss_curves(runs, experiment, out_dir / f"{name}-loss.png", split_by=swept))
    for param in swept:
        made.append(fg.sweep(summary, experiment, param, out_dir / f"{name}-sweep-{_slug(param)}.png",
                             others=[other for other in swept if other != param]))
    return [m for m in made if m is not None]
