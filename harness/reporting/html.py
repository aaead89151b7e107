"""One self-contained HTML page: figures embedded as base64 PNG, inline CSS, no script, no network."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.reporting import stats, verdicts
from harness.reporting.figures import FigureFile

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:1240px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{margin-top:0;font-size:1.7em}h2{border-bottom:2px solid #dde3ea;padding-bottom:4px;margin-top:2.2em}
h3{margin-top:1.6em;font-size:1.1em;color:#33415c}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.86em}
th,td{border:1px solid #d5dbe3;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7}tr:nth-child(even) td{background:#fafbfc}
.wide{overflow-x:auto}.muted{color:#5b6577}.small{font-size:.85em}
figure{margin:12px 0 22px}figure img{max-width:100%;border:1px solid #e2e6ec}
figcaption{font-size:.88em;color:#4a5568;margin-top:4px}
.verdict{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;white-space:nowrap}
.v-reproduced{background:#d8f3dc;color:#1b4332}.v-better{background:#d6e9fb;color:#0b3c6b}
.v-worse{background:#fde2e1;color:#7a1c17}.v-differs{background:#ffe8cc;color:#7a4100}
.v-not-comparable{background:#e9ecef;color:#343a40}.v-consistent{background:#d8f3dc;color:#1b4332}
.v-too-few-runs{background:#fff3bf;color:#5c4400}.v-not-measured{background:#f1f3f5;color:#868e96}
nav ul{columns:3;padding-left:1.2em}pre{background:#f3f5f8;padding:10px;overflow-x:auto;font-size:.82em}
details{margin:8px 0}summary{cursor:pointer;font-weight:600;color:#33415c}
.note{background:#fff8e1;border-left:4px solid #f0b429;padding:6px 10px;margin:8px 0}
"""


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
    environment: dict[str, Any] | None = None
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


def reproduction_html(table: pd.DataFrame) -> str:
    """The reproduction table with coloured verdicts and a count per verdict."""
    if table.empty:
        return '<p class="muted">No reference numbers loaded.</p>'
    counts = table["verdict"].value_counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    rows = []
    for _, r in table.iterrows():
        reason = esc(r["reason"]) + (f'<br><span class="muted small">{esc(r["note"])}</span>' if r["note"] else "")
        rows.append(f"<tr><td>{esc(r['figure'])}</td><td>{esc(r['quantity'])}</td><td>{esc(r['article'])}</td>"
                    f"<td>{esc(r['ours'])}</td><td>{esc(_test_text(r))}</td><td>{verdict_html(r['verdict'])}</td>"
                    f"<td>{reason}</td><td>{esc(r['experiment'])}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("article's figure", "quantity", "article", "ours", "test, p",
                                               "verdict", "reason", "our experiment"))
    return (f"<p>{esc(summary)}.</p><div class='wide'><table id='reproduction-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _test_text(row: pd.Series) -> str:
    """'Welch t-test ..., p=0.031' (the test that made the verdict; empty for numbers not judged)."""
    p = row.get("p_value")
    test = str(row.get("test") or "")
    return f"{test}; p={p:.3g}" if test and p is not None and p == p else test


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


def _codes(paths: list[str]) -> str:
    """Paths as comma-separated <code> elements."""
    return ", ".join(f"<code>{esc(p)}</code>" for p in paths)


def section_html(section: Section) -> str:
    """One experiment: where its runs are, setup, tables, figures, config and environment."""
    parts = [f'<section id="{anchor(section.experiment)}"><h2>{esc(section.experiment)}</h2>']
    parts.append(f"<p class='muted small'>Runs from {_codes(section.batches)}</p>")
    parts += [f'<p class="note">{esc(note)}</p>' for note in section.notes]
    if section.older:
        parts.append(f"<p class='muted small'>{len(section.older)} earlier run folder(s) of this experiment are not "
                     f"included (only the latest is reported): {_codes(section.older)}</p>")
    parts.append("<h3>Setup (from the run records)</h3>" + table_html(section.setup))
    title = "Summary" + (f" per {', '.join(section.swept)} (a sweep)" if section.swept else "")
    link = f' <a class="small" href="{esc(section.csv_href)}">CSV with every statistic</a>' if section.csv_href else ""
    parts.append(f"<h3>{esc(title)}</h3>{link}" + table_html(section.summary_view))
    if section.left_out is not None and not section.left_out.empty:
        parts.append("<h3>Runs left out of the statistics</h3>" + table_html(section.left_out))
    parts.append("<h3>Figures</h3>" + "".join(image_html(f) for f in section.figures)
                 if section.figures else "<p class='muted'>No figure: the runs recorded no values to plot.</p>")
    config = f"<pre>{esc(section.config_text)}</pre>" if section.config_text else \
        "<p class='muted'>No config.yaml in the run folder; the setup table above is taken from the records.</p>"
    parts.append(f"<details><summary>Config</summary>{config}</details>")
    if section.environment:
        rows = pd.DataFrame(_environment_rows(section.environment), columns=["field", "value"])
        environment = table_html(rows)
    else:
        environment = ("<p class='muted'>No environment.json in the run folder; "
                       "devices as recorded: see the setup table.</p>")
    parts.append(f"<details><summary>Environment</summary>{environment}</details></section>")
    return "\n".join(parts)


def method_html() -> str:
    """How the numbers are computed, stated once at the end of the page."""
    return f"""<h2 id="method">How the numbers are computed</h2><ul>
<li>Only runs with status <code>ok</code> enter a statistic; the others are counted in "runs ok/all" and named.</li>
<li>A table row holds one implementation at one value of every setting that differs between the runs (as the records
hold it, or the run folders' config.yaml). Within a row each seed counts once: a run repeated by several jobs of a sweep
(a value that implementation does not use) is kept once, the latest finished; the others are counted in "repeats left out".</li>
<li>Fit time: median and interquartile range (IQR) over seeds. Accuracy, misclassified and the article's
"error": mean and a 95% percentile bootstrap interval of the mean, in brackets (none for a single run;
{stats.N_RESAMPLES:,} resamples, seed {stats.BOOTSTRAP_SEED}, so a rebuilt report shows the same interval); the
sample standard deviation is in the CSV tables.</li>
<li>time / keras: median fit time divided by Keras's median in the same experiment (below 1 = faster than Keras),
with a bootstrap interval that resamples both groups.</li>
<li>Accuracy against Keras: two-sided {stats.WELCH} (no equal-variance assumption; defined when one group has
no spread); when neither group has any spread, p = 1 for equal values and {stats.MANN_WHITNEY} otherwise. The test used is named in each row; significant at p &lt; {stats.ALPHA}.</li>
<li>Titanic "error" (the article's): actual survivors in the test set minus predicted survivors; it is not the
number of misclassified passengers, which is reported beside it.</li>
<li>Verdicts (the article's numbers, harness/reporting/verdicts.py): a mean the article published over N runs is
compared with our runs by a two-sided t-test using our standard deviation s for both groups (the article gives no
spread: it is assumed equal to ours), t = (mean − theirs) / (s·√(1/n+1/N)) with our n−1 degrees of freedom, since s is
our estimate alone; a single published run (a printed epoch loss) by our runs'
95% prediction interval for one more run, mean ± t<sub>n−1</sub>·s·√(1+1/n); the article's accuracy gap (its MLP
minus Keras) by our gap, all four groups' spreads taken as ours (Satterthwaite degrees of freedom over our two variance
estimates, from our run counts); a ratio the
article gave only as a range (its times read off a figure) by whether our 95% percentile bootstrap interval of the
ratio of medians overlaps it. <i>consistent</i> =
no difference at p &lt; {stats.ALPHA} (not a proof of equality); <i>better</i> / <i>worse</i> = a significant
difference in the number's direction; <i>differs</i> = significant where no direction is better; the Titanic "error"
is judged on |error| run by run, so over- and under-predictions do not cancel; <i>too few runs (n=…)</i> below
{verdicts.MIN_RUNS} runs; a fixed bound only where its reason is given beside it; <i>not comparable</i> = hardware-bound,
or our setup or algorithm differs (the components are named); <i>not measured</i> = no successful run. Intervals
of the verdicts on means, gaps and single runs are t-intervals, chosen over the BCa bootstrap for their coverage at
2–20 runs (docs/verdicts.md); the time ratio's is the percentile bootstrap of the ratio of medians.
A number made by the article's algorithm is judged only on MLP runs whose algorithm is all of the article's
(harness.algorithm); its head-to-head claims pair them with the Keras runs of the same experiment.</li>
<li>Timings taken under a parallel launcher (several runs sharing the CPU) are marked and not judged.</li></ul>"""


def page(sections: list[Section], reproduction: pd.DataFrame, *, title: str, generated: str,
         roots: list[str], reference_note: str = "", extra: tuple[tuple[str, str, str], ...] = ()) -> str:
    """The whole page; `extra` holds (anchor, title, html) sections shown after the reproduction table."""
    toc = "".join(f'<li><a href="#{anchor(s.experiment)}">{esc(s.experiment)}</a></li>' for s in sections)
    toc += "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t, _ in extra)
    body = "\n".join(section_html(s) for s in sections) or "<p class='muted'>No runs recorded yet.</p>"
    ref_note = f'<p class="note">{esc(reference_note)}</p>' if reference_note else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{CSS}</style></head><body><main>
<h1>{esc(title)}</h1>
<p class="muted">Generated {esc(generated)} from the run records under {_codes(roots)}.
A from-scratch MLP (NumPy/CuPy) measured against Keras and other peers, over several seeds, beside the numbers
published in the article "Intuitively untangling the Multilayer Perceptron".</p>
<nav><b>Experiments</b><ul>{toc}<li><a href="#reproduction">Reproduction table</a></li>
<li><a href="#method">How the numbers are computed</a></li></ul></nav>
<h2 id="reproduction">Reproduction: the article's numbers and ours</h2>{ref_note}
{reproduction_html(reproduction)}
{"".join(part for _, _, part in extra)}
{body}
{method_html()}
</main></body></html>
"""
