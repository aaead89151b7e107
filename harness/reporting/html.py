"""One self-contained HTML page: figures embedded as base64 PNG, inline CSS, no script, no network.

The page's structure is in Jinja2 templates (templates/: page, section, reproduction table,
method, CSS); this module gives them their data and the fragments other sections reuse (a table,
a figure, a verdict badge), escaped.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import jinja2
import pandas as pd
from markupsafe import Markup

from harness.reporting import multiple_testing, peers, stats, verdicts
from harness.reporting.figures import FigureFile



@dataclass
class Section:
    """Everything the page shows for one experiment."""

    experiment: str
    batches: list[str]
    summary_view: pd.DataFrame
    setup: pd.DataFrame
    figures: list[FigureFile]
    swept: list[str] = field(default_factory=list)
    config_text: str | None = None
    config_label: str | None = None  # which job of a sweep the config is of (batches.job_label)
    environment: dict[str, Any] | None = None
    environment_label: str | None = None  # the same for the environment
    older: list[str] = field(default_factory=list)
    csv_href: str | None = None
    notes: list[str] = field(default_factory=list)
    left_out: pd.DataFrame | None = None  # runs whose status is not ok, with their error


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def anchor(experiment: str) -> str:
    return "exp-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in str(experiment))


def table_html(frame: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table (missing values as '—')."""
    return '<div class="wide">' + frame.to_html(index=False, escape=True, na_rep="—", border=0) + "</div>"


def image_html(figure: FigureFile) -> str:
    """The PNG embedded as a data URI, so the page is one file that works offline."""
    data = base64.b64encode(Path(figure.path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{esc(figure.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption><b>{esc(figure.title)}.</b> {esc(figure.caption)}</figcaption></figure>")


def verdict_html(verdict: str) -> str:
    kind = verdict.split(" (")[0]  # "too few runs (n=2)" is styled as "too few runs"
    return f'<span class="verdict v-{esc(kind.replace(" ", "-"))}">{esc(verdict)}</span>'


def _reproduction_rows(table: pd.DataFrame) -> tuple[list[dict[str, Any]], str, str]:
    """The reproduction table's rows for the template, a count per verdict ('3 consistent, 1 worse')
    and the note on its tests as one family (multiple_testing.family_note)."""
    if table.empty:
        return [], "", ""
    counts = ", ".join(f"{n} {v}" for v, n in table["verdict"].value_counts().items())
    p_values = pd.to_numeric(table["p_value"], errors="coerce")
    rows = [{**r, "test": _test_text(pd.Series(r)) + adjusted}
            for r, adjusted in zip(table.to_dict("records"), multiple_testing.row_notes(p_values.tolist()))]
    names = [f"{r['figure']}: {r['quantity']}" for r in rows]  # as the table shows the row
    judged = table["verdict"].isin((*verdicts.JUDGED, verdicts.NOT_SHOWN))  # read from an interval or a bound
    counts += multiple_testing.tally_note(p_values.tolist(), table["verdict"].isin(verdicts.DIFFERENCES).tolist())
    family = multiple_testing.family_note(p_values.tolist(), names, interval_read=int((judged & p_values.isna()).sum()),
                                          no_spread=int((table["verdict"] == verdicts.UNTESTED).sum()))
    return rows, counts, family


def _test_text(row: pd.Series) -> str:
    """'Welch t-test ..., p=0.031' (the test that made the verdict; empty for numbers not judged)."""
    p = row.get("p_value")
    test = str(row.get("test") or "")
    return f"{test}; {stats.p_is(p)}" if test and p is not None and p == p else test


def _environment_rows(environment: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested environment.json flattened to (key, value) rows; the resolved config is shown elsewhere."""
    rows = []
    for key, value in environment.items():
        if key in ("config", "resolved_config"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_environment_rows(value, f"{name}."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                rows.extend(_environment_rows(item, f"{name}[{i}]."))
        elif isinstance(value, list):
            rows.append((name, " ".join(map(str, value)) if key == "argv" else ", ".join(map(str, value))))
        else:
            rows.append((name, "—" if value is None else str(value)))
    return rows


def environment_table(environment: dict[str, Any]) -> str:
    """environment.json as a two-column table (the resolved config is shown elsewhere)."""
    return table_html(pd.DataFrame(_environment_rows(environment), columns=["field", "value"]))


def _markup(fragment: Any) -> Any:
    """A fragment helper as a template filter: its (escaped) HTML goes in as it is."""
    return lambda value: Markup(fragment(value))


_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("harness.reporting", "templates"),
                                autoescape=True, undefined=jinja2.StrictUndefined,
                                trim_blocks=True, lstrip_blocks=True)
_TEMPLATES.filters.update(anchor=anchor, table=_markup(table_html), figure=_markup(image_html),
                          verdict=_markup(verdict_html), environment_table=_markup(environment_table))
# What "How the numbers are computed" states, from the code that does it.
METHOD_SETTINGS = {"n_resamples": stats.N_RESAMPLES, "bootstrap_seed": stats.BOOTSTRAP_SEED, "welch": stats.WELCH,
                   "mann_whitney": stats.MANN_WHITNEY, "alpha": stats.ALPHA, "min_runs": stats.MIN_RUNS,
                   "ratio_min_runs": stats.RATIO_MIN_RUNS}


def method_html() -> str:
    """How the numbers are computed, stated once at the end of the page."""
    return _TEMPLATES.get_template("method.html.j2").render(implementations=[], **METHOD_SETTINGS)


def page(sections: list[Section], reproduction: pd.DataFrame, *, title: str, generated: str,
         roots: list[str], reference_note: str = "", extra: tuple[tuple[str, str, str], ...] = (),
         impls: Sequence[str] = ()) -> str:
    """The whole page; `extra` holds (anchor, title, html) sections shown after the reproduction table;
    `impls` the implementations whose runs it shows, each said with how it is run (``peers.implementations``)."""
    rows, counts, family = _reproduction_rows(reproduction)
    return _TEMPLATES.get_template("page.html.j2").render(
        sections=sections, reproduction=rows, counts=counts, family=family, title=title, generated=generated,
        roots=roots, reference_note=reference_note, extra=extra, implementations=peers.implementations(impls),
        **METHOD_SETTINGS)
