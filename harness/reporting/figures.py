"""Figures common to every experiment: loss curves, time and accuracy per run, sweeps.

Figures are drawn on `matplotlib.figure.Figure` objects (Agg canvas, no pyplot state), so
building a report never opens a window, needs no display and leaks no figures between calls.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from harness.runs_table import is_ok
from harness.write_failure import writing
from harness.reporting.number_text import fmt
from harness.reporting.stats import finite
from harness.reporting.tables import REFERENCE_IMPL

DPI = 100
IMPL_COLOURS = {"mlp": "#1f77b4", "keras": "#ff7f0e", "torch": "#2ca02c", "sklearn": "#d62728",
                "mlp_fused": "#aec7e8", "keras_tuned": "#ffbb78", "torch_compiled": "#98df8a"}  # other forms: lighter
BACKEND_SHADES = {"cupy": 0.55, "torch-cuda": 0.55}


@dataclass(frozen=True)
class FigureFile:
    """A written figure and what the page says about it."""

    path: Path
    title: str
    caption: str


def new_figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, list[Any]]:
    """A Figure with `ncols` axes side by side, sized in inches at DPI."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def save(fig: Figure, path: Path) -> Path:
    """Write the PNG atomically (a concurrent reader never sees half a file); an OSError is raised
    as WriteFailed naming `path`."""
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
        os.close(fd)
        try:
            fig.savefig(tmp, format="png", dpi=DPI)
            os.replace(tmp, path)
            os.chmod(path, 0o644)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path


def label(impl: Any, backend: Any) -> str:
    """'mlp (numpy)': implementation with its backend, as in the tables."""
    return f"{impl} ({backend})" if isinstance(backend, str) and backend else str(impl)


def colour(impl: Any, backend: Any = None) -> Any:
    """One colour per implementation; a GPU backend gets a darker shade of it."""
    from matplotlib.colors import to_rgb

    base = np.array(to_rgb(IMPL_COLOURS.get(str(impl), "#7f7f7f")))
    return tuple(base * BACKEND_SHADES.get(str(backend), 1.0))


def log_scale(ax: Any) -> None:
    """Log y axis with plain tick labels (0.04, not 4x10^-2); minor ticks are labelled only when
    the data spans less than two decades, where major ticks alone would be too few to read off."""
    ax.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.yaxis.set_major_formatter(plain)
    low, high = ax.get_ylim()
    if low > 0 and high / low < 100:
        ax.yaxis.set_minor_formatter(plain if high / low < 10 else
                                     FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else ""))
        ax.tick_params(axis="y", which="minor", labelsize="x-small")
    else:
        ax.yaxis.set_minor_formatter(NullFormatter())


LOG_SPAN = 20  # positive values spanning more than this factor are drawn on a log axis


def spans_widely(values: Any) -> bool:
    """Whether positive values span more than LOG_SPAN times: on a linear axis the smaller would
    lie flat at 0 (Keras's 50 s fits beside the MLP's half second)."""
    found = finite(values)
    return bool(found.size and found.min() > 0 and found.max() / found.min() > LOG_SPAN)


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs with status ok, ordered by implementation and seed (the 'experiment' axis)."""
    ok = runs[is_ok(runs)]
    return ok.sort_values(["impl", "backend", "seed"], na_position="last", kind="stable")


def by_label(runs: pd.DataFrame) -> list[tuple[str, str, Any, pd.DataFrame]]:
    """Groups of runs per implementation and backend: (label, impl, backend, runs); Keras last."""
    groups = []
    for (impl, backend), group in runs.groupby(["impl", "backend"], dropna=False, sort=True):
        groups.append((label(impl, backend), impl, backend, group))
    return sorted(groups, key=lambda g: (g[1] == REFERENCE_IMPL, g[0]))


def losses(value: Any) -> np.ndarray:
    """A run's epoch_losses as a float array (empty when absent)."""
    if isinstance(value, str):
        value = json.loads(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return np.array([], dtype=float)
    return np.asarray([np.nan if v is None else v for v in value], dtype=float)


def excluded_note(runs: pd.DataFrame) -> str:
    """' (2 runs not ok, excluded)' for figure titles."""
    bad = int((~is_ok(runs)).sum())
    return f" ({bad} run{'s' if bad != 1 else ''} not ok, excluded)" if bad else ""


def _curve_groups(runs: pd.DataFrame, split_by: list[str]) -> list[tuple[str, Any, pd.DataFrame]]:
    """(label, colour, runs) per implementation, or per implementation and swept value."""
    if not split_by:
        return [(name, colour(impl, backend), group) for name, impl, backend, group in by_label(runs)]
    groups = runs.groupby(["impl", "backend", *split_by], dropna=False, sort=True)
    return [(f"{label(key[0], key[1])}, " + ", ".join(f"{p}={v}" for p, v in zip(split_by, key[2:])),
             f"C{i % 10}", group) for i, (key, group) in enumerate(groups)]


def loss_curves(runs: pd.DataFrame, experiment: str, path: Path,
                split_by: list[str] | None = None) -> FigureFile | None:
    """Mean training loss per epoch over seeds, with the min–max band, per implementation
    (and per swept config value, so a sweep's curves are not averaged together)."""
    groups = _curve_groups(ok_runs(runs), split_by or [])
    below = len(groups) > MAX_LEGEND_INSIDE  # an ablation's many cells: the legend goes under the axes
    fig, (ax,) = new_figure(13 if below else 9, 3.8 + (0.16 * math.ceil(len(groups) / 2) if below else 0))
    drawn, positive = False, True
    for name, line_colour, group in groups:
        curves = [c for c in map(losses, group["epoch_losses"]) if c.size]
        if not curves:
            continue
        width = max(c.size for c in curves)
        matrix = np.full((len(curves), width), np.nan)
        for i, curve in enumerate(curves):
            matrix[i, :curve.size] = curve
        epochs = np.arange(1, width + 1)
        with np.errstate(all="ignore"):
            mean, low, high = np.nanmean(matrix, 0), np.nanmin(matrix, 0), np.nanmax(matrix, 0)
        ax.plot(epochs, mean, color=line_colour, label=f"{name}, mean of {len(curves)} seeds")
        ax.fill_between(epochs, low, high, color=line_colour, alpha=0.2, linewidth=0)
        positive &= bool(np.nanmin(matrix) > 0)
        drawn = True
    if not drawn:
        return None
    if positive:
        log_scale(ax)
    ax.set(xlabel="epoch", ylabel="training loss (mean over the epoch)",
           title=f"{experiment}: training loss per epoch{excluded_note(runs)}\nband: lowest to highest seed")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if below:
        fig.legend(loc="outside lower center", ncols=2, fontsize="x-small")
    else:
        ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3)
    save(fig, path)
    return FigureFile(path, "Training loss per epoch",
                      "Line: mean over seeds; shaded band: lowest to highest seed at each epoch.")


def strip(ax: Any, runs: pd.DataFrame, column: str) -> bool:
    """Every run's value as a dot per implementation, with a bar at the median."""
    drawn = False
    for i, (name, impl, backend, group) in enumerate(by_label(ok_runs(runs))):
        values = pd.to_numeric(group[column], errors="coerce").dropna().to_numpy(float)
        if values.size == 0:
            continue
        jitter = np.linspace(-0.15, 0.15, values.size) if values.size > 1 else np.zeros(1)
        ax.scatter(i + jitter, values, color=colour(impl, backend), s=18, zorder=3)
        ax.hlines(np.median(values), i - 0.3, i + 0.3, color="black", linewidth=1.5, zorder=4)
        ax.text(i, np.median(values), f" {fmt(float(np.median(values)))}", va="bottom", fontsize="small")
        drawn = True
    names = [g[0] for g in by_label(ok_runs(runs))]
    ax.set_xticks(range(len(names)), names, rotation=15)
    ax.grid(axis="y", alpha=0.3)
    return drawn


def generic(runs: pd.DataFrame, experiment: str, path: Path) -> FigureFile | None:
    """Fit time and test accuracy of every run, per implementation and backend."""
    fig, (left, right) = new_figure(10, 3.8, ncols=2)
    drawn = strip(left, runs, "fit_seconds")
    drawn |= strip(right, runs, "test_accuracy")
    if not drawn:
        return None
    left.set(ylabel="fit time (s)", title="Fit time per run (bar: median)")
    right.set(ylabel="test accuracy", title="Test accuracy per run (bar: median)")
    fig.suptitle(f"{experiment}{excluded_note(runs)}")
    save(fig, path)
    return FigureFile(path, "Time and accuracy per run", "Each dot is one seed; the black bar is the median.")


def sweep_lines(summary: pd.DataFrame, others: list[str]) -> list[tuple[str, Any, pd.DataFrame]]:
    """(label, colour, rows) per implementation and backend, and per combination of the `others`
    swept settings: joining rows of different combinations would draw a zig-zag through them."""
    if not others:
        return [(label(impl, backend), colour(impl, backend), part)
                for (impl, backend), part in summary.groupby(["impl", "backend"], dropna=False, sort=True)]
    groups = summary.groupby(["impl", "backend", *others], dropna=False, sort=True)
    return [(f"{label(key[0], key[1])}, " + ", ".join(f"{p}={fmt(v)}" for p, v in zip(others, key[2:])),
             f"C{i % 10}", part) for i, (key, part) in enumerate(groups)]


MAX_LEGEND_INSIDE = 10  # more loss curves get their legend under the axes
MAX_FLAT_CATEGORIES = 6  # more text values on a sweep's axis are written upright


def _upright_names(values: pd.Series) -> set[str] | None:
    """A sweep axis's text values when there are too many to lie flat, else None."""
    names = {str(v) for v in values}
    numeric = pd.to_numeric(values, errors="coerce").notna().all()
    return names if not numeric and len(names) > MAX_FLAT_CATEGORIES else None


def _sweep_axis(ax: Any, summary: pd.DataFrame, param: str, y: str, low: str, high: str,
                others: list[str]) -> None:
    """One line per implementation (and combination of the other swept settings) of `y` against
    the swept value, with error bars low..high; markers alone for text values (no order joins them)."""
    values = summary[param]
    numeric = pd.to_numeric(values, errors="coerce").notna().all()
    categories = sorted({str(v) for v in values})
    for name, line_colour, part in sweep_lines(summary, others):
        part = part.sort_values(param)
        x = part[param].astype(float) if numeric else part[param].map(lambda v: categories.index(str(v)))
        yerr = np.vstack([part[y] - part[low], part[high] - part[y]]).clip(min=0)
        ax.errorbar(x, part[y], yerr=np.nan_to_num(yerr), marker="o", capsize=3, color=line_colour, label=name,
                    linestyle="-" if numeric else "none")
    if numeric and values.astype(float).gt(0).all() and values.astype(float).max() / values.astype(float).min() > 10:
        ax.set_xscale("log")
    if not numeric:  # many names (an ablation's cells) stand upright, small
        upright = _upright_names(values) is not None
        ax.set_xticks(range(len(categories)), categories, rotation=90 if upright else 0,
                      fontsize="x-small" if upright else None)
    ax.set_xlabel(param)
    ax.grid(alpha=0.3)


def sweep(summary: pd.DataFrame, experiment: str, param: str, path: Path,
          others: list[str] | None = None) -> FigureFile:
    """Accuracy (mean, 95% CI) and fit time (median, IQR) against one swept config value; one line
    per combination of the `others` swept settings."""
    others = [o for o in others or [] if o != param and o in summary]
    upright = _upright_names(summary[param])
    # room below the axes for the longest upright name (about 0.07 inch a character at x-small)
    fig, (left, right) = new_figure(10, 3.8 + (0.07 * max(map(len, upright)) if upright else 0), ncols=2)
    _sweep_axis(left, summary, param, "accuracy_mean", "accuracy_ci_low", "accuracy_ci_high", others)
    _sweep_axis(right, summary, param, "fit_seconds_median", "fit_seconds_q25", "fit_seconds_q75", others)
    left.set(ylabel="test accuracy", title="Accuracy: mean, 95% t-interval")
    note = "; ".join(sorted({n for n in summary["timing_note"] if n}))
    log = spans_widely(summary[["fit_seconds_median", "fit_seconds_q25", "fit_seconds_q75"]])
    if log:
        log_scale(right)
    right.set(ylabel="fit time (s, log scale)" if log else "fit time (s)",
              title="Fit time: median, IQR" + (f"\n{note}" if note else ""))
    left.legend(fontsize="small")
    fig.suptitle(f"{experiment}: sweep over {param}")
    save(fig, path)
    caption = f"Each point aggregates the seeds run at one value of {param}."
    if others:
        caption += f" One line per value of {', '.join(others)}."
    if note:
        caption += f" Runs were {note}: they shared the CPU, so the fit times are not comparable to sequential runs."
    return FigureFile(path, f"Sweep over {param}", caption)
