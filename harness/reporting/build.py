"""Build the report: tables, figures and the page, from the records on disk alone.

`update_report(run_dir)` is what the harness calls at the end of every experiment run;
`build_report(roots)` is what `python -m harness.report` calls.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.atomic_write import atomic_write_text
from harness.machine import RateSpread
from harness.records import UnreadableRecord
from harness.runs_table import is_ok, load_runs
from harness.reporting import (ablation_section, article_numbers, batches, claims_section, html, machine_rate,
                               number_text, prepared_runs, publish, reference, tables)
from harness.reporting.figures import FigureFile, label
from harness.reporting.figures_article import figures_for
from harness.reporting.peers import fastest_peer_sentence

REPORT_DIRNAME = "report"
TITLE = "mlp-bench: from-scratch MLP against Keras, and the article's numbers"
SETUP_FIELDS = ("dataset", "variant", "layers", "activations", "loss", "optimizer", "learning_rate",
                "batch_size", "epochs", "initializer", "sampling", "dtype", "l1", "l2",
                "n_train", "n_test", "device", "launcher")


def setup_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The setup of each implementation as recorded (values joined when they vary), plus the seeds."""
    rows = []
    for (impl, backend), group in runs.groupby(["impl", "backend"], dropna=False, sort=True):
        row: dict[str, Any] = {"impl": impl, "backend": backend}
        for column in SETUP_FIELDS:
            values = [v for v in group[column].dropna().unique()]
            row[column] = ", ".join(sorted(number_text.fmt(v, 6) for v in values)) if values else None
        seeds = sorted(int(s) for s in pd.to_numeric(group["seed"], errors="coerce").dropna().unique())
        row["seeds"] = ", ".join(map(str, seeds))
        rows.append(row)
    frame = pd.DataFrame(rows).dropna(axis=1, how="all")
    # One column per implementation, one row per setting: fits the page however many settings.
    labels = [label(r["impl"], r["backend"]) for r in rows]
    per_impl = frame.drop(columns=["impl", "backend"], errors="ignore").T.set_axis(labels, axis=1)
    return per_impl.rename_axis("setting").reset_index()


def _job_config_text(folder: str) -> str | None:
    """config.yaml of a job folder, else the resolved config kept in its environment.json."""
    text = batches.read_config_text(folder)
    if text is None:
        environment = batches.read_environment(folder)
        config = environment.get("config") or environment.get("resolved_config") if isinstance(environment, dict) else None
        text = yaml.safe_dump(config, sort_keys=False) if isinstance(config, dict) else None
    return text


def _shown_from_one_job(folders: list[str], reader: Any, as_mapping: Any) -> tuple[Any, str | None]:
    """What `reader` gives of the first job folder that has it, shown for the whole batch, and the
    label that says which job it is of how many, and what differs across the jobs' `as_mapping`s."""
    found = batches.first_present(folders, reader)
    if found is None:
        return None, None
    mappings = [as_mapping(value) for value in map(reader, folders) if value is not None]
    return found[1], batches.job_label(found[0], folders, [m for m in mappings if isinstance(m, dict)])


def _environment_fields(environment: Any) -> Any:
    """An environment as the page's table shows it: the resolved config is shown (and compared) as the Config."""
    if not isinstance(environment, dict):
        return environment
    return {key: value for key, value in environment.items() if key not in ("config", "resolved_config")}


def _section(experiment: str, runs: pd.DataFrame, older: list[str], out_dir: Path,
             root_dirs: list[Path]) -> tuple[html.Section, pd.DataFrame]:
    """Tables, figures and metadata of one experiment; returns the section and its summary."""
    summary = tables.summary_table(runs)
    swept = prepared_runs.swept_params(prepared_runs.prepare(runs))
    # Figures split a sweep by its config settings too, and count each run once, as the table does.
    shown = prepared_runs.with_settings(runs)
    shown = shown[~prepared_runs.repeated_runs(shown, tables.GROUP_KEYS + swept)]
    name = html.anchor(experiment)
    csv_path = out_dir / "tables" / f"{name.removeprefix('exp-')}.csv"
    atomic_write_text(csv_path, summary.to_csv(index=False))
    folders = sorted(runs["run_dir"].unique())
    config_text, config_label = _shown_from_one_job(folders, _job_config_text, yaml.safe_load)
    environment, environment_label = _shown_from_one_job(folders, batches.read_environment, _environment_fields)
    section = html.Section(
        experiment=experiment, batches=[_relative(b, root_dirs) for b in sorted(runs["batch"].unique())],
        summary_view=tables.display_table(summary), setup=setup_table(runs),
        figures=_figures(experiment, shown, summary, swept, out_dir / "figures"), swept=swept,
        config_text=config_text, config_label=config_label, environment=environment,
        environment_label=environment_label,
        older=[_relative(o, root_dirs) for o in older], csv_href=os.path.relpath(csv_path, out_dir),
        notes=_notes(summary, runs, swept), left_out=_left_out(shown))
    return section, summary


def _figures(experiment: str, runs: pd.DataFrame, summary: pd.DataFrame, swept: list[str],
             out_dir: Path) -> list[FigureFile]:
    """Figures of an experiment, drawn per data set when it ran several (the smoke experiment)."""
    datasets = runs["dataset"].dropna().unique()
    if len(datasets) <= 1:
        return figures_for(experiment, runs, summary, swept, out_dir)
    made = []
    for dataset in sorted(datasets):
        part = runs[runs["dataset"] == dataset]
        made += figures_for(f"{experiment} ({dataset})", part, summary[summary["dataset"] == dataset],
                            swept, out_dir)
    return made


def _left_out(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose status is not ok, with the error they recorded (first line, shortened)."""
    bad = runs[~is_ok(runs)]
    columns = ["impl", "backend", "seed", "status", "diverged_epoch", "error"]
    frame = bad[columns].copy()
    frame["error"] = frame["error"].map(lambda e: None if e is None or pd.isna(e) else str(e).splitlines()[0][:300])
    return frame.dropna(axis=1, how="all")


def _notes(summary: pd.DataFrame, runs: pd.DataFrame, swept: list[str]) -> list[str]:
    """Facts a reader must know before reading the numbers of a section."""
    notes = []
    excluded = int(summary["n_excluded"].sum()) if "n_excluded" in summary else 0
    if excluded:
        total = int(summary["n_runs"].sum())
        notes.append(f"{excluded} of {total} runs did not finish with status ok and are excluded from "
                     "every statistic (see the 'excluded' column).")
    timing = sorted({n for n in summary.get("timing_note", []) if n})
    if timing:
        notes.append("Runs were " + "; ".join(timing) + ": they shared the CPU, so their fit times are "
                     "not comparable to runs timed one at a time.")
    spread = machine_rate.changed_spread(runs)
    if spread is not None and not timing:  # shared CPU: said above
        notes.append(_speed_change(spread))
    notes += machine_rate.forced_kernels_notes(runs)
    if swept:
        jobs = runs["run_dir"].nunique()
        notes.append(f"This is a sweep over {', '.join(swept)} ({jobs} job folder(s)); rows are per value.")
    notes += _peer_sentences(summary, swept)
    repeats = int(summary["n_repeats"].sum()) if "n_repeats" in summary else 0
    if repeats:
        notes.append(f"{repeats} run(s) repeat another of the same implementation, settings and seed (jobs of a "
                     "sweep over a value that implementation does not use): each seed counts once, the latest.")
    return notes


def _speed_change(spread: RateSpread) -> str:
    """The section's warning that the machine's speed, or its load, may have changed while its runs
    were timed, with the two measurements in the order they were taken."""
    measured = machine_rate.changed_rate(spread)
    return (f"{measured[0].upper()}{measured[1:]}: the machine's speed, or the load on it, may have changed while "
            "they were timed, so fit times taken at different moments of this section may not be comparable, "
            "and its speed verdicts may show that change rather than the implementations'.")


def _peer_sentences(summary: pd.DataFrame, swept: list[str]) -> list[str]:
    """The sentence judging the MLP against each peer's fastest form (reporting.peers); for a sweep
    one per combination of the swept settings whose rows hold peers (the head-to-head experiments are two-job sweeps: only the job with
    Keras's algorithm runs the peers), prefixed with the settings it is about."""
    if not swept:
        sentence = fastest_peer_sentence(summary)
        return [sentence] if sentence else []
    keys = [c for c in swept if c in summary]
    if not keys:
        return []
    notes = []
    for values, group in summary.groupby(keys, dropna=False, sort=True):
        sentence = fastest_peer_sentence(group.reset_index(drop=True))
        if sentence:
            values = values if isinstance(values, tuple) else (values,)
            where = ", ".join(f"{k}={number_text.fmt(v, 6)}" for k, v in zip(keys, values))
            notes.append(f"With {where}: {sentence}")
    return notes


def _relative(path: str, roots: list[Path]) -> str:
    """A run folder shown relative to the results root it came from."""
    for root in roots:
        try:
            return str(Path(path).resolve().relative_to(root.resolve().parent))
        except ValueError:
            continue
    return str(path)


def build_report(roots: list[str | os.PathLike], out_dir: str | os.PathLike | None = None, *,
                 all_runs: bool = False, reference_path: str | os.PathLike | None = None) -> Path:
    """Rebuild tables, figures and index.html from every record under `roots`; returns index.html.

    `out_dir` defaults to `<first root>/report`. Only the latest batch of each experiment is
    reported unless `all_runs` is true. The new report is built aside and swapped in complete
    (harness.reporting.publish): a failed write leaves the previous one intact.
    """
    root_dirs = [Path(r) for r in roots]
    out = Path(out_dir) if out_dir is not None else root_dirs[0] / REPORT_DIRNAME
    runs, older = batches.select_latest(batches.load_batches(root_dirs), all_runs=all_runs)
    with publish.staged(out) as stage:
        _write_report(stage, runs, older, root_dirs, reference_path)
    return out / publish.PAGE


def _write_report(out: Path, runs: pd.DataFrame, older: dict[str, list[str]], root_dirs: list[Path],
                  reference_path: str | os.PathLike | None) -> None:
    """Tables, figures and the page of the selected runs, written into `out`."""
    sections, summaries = [], []
    for experiment, part in runs.groupby("experiment", sort=True, dropna=False):
        section, summary = _section(str(experiment), part, older.get(str(experiment), []), out, root_dirs)
        sections.append(section)
        summaries.append(summary)
    summary = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame()
    reproduction, note = _reproduction(summary, runs, reference_path)
    atomic_write_text(out / "tables" / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(out / "tables" / "reproduction.csv", reproduction.to_csv(index=False))
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    prepared = prepared_runs.prepare(runs) if not runs.empty else runs
    numbers = _numbers(reference_path)
    extra = tuple((section.ANCHOR, section.TITLE, section.section_html(prepared, numbers, out / "figures"))
                  for section in (claims_section, ablation_section))
    page = html.page(sections, reproduction, title=TITLE, generated=generated,
                     roots=[str(r) for r in root_dirs], reference_note=note, extra=extra,
                     impls=list(runs["impl"].dropna().astype(str).unique()) if "impl" in runs else [])
    atomic_write_text(out / publish.PAGE, page)


def _numbers(reference_path: str | os.PathLike | None) -> dict[str, Any]:
    """article.yaml's content, {} when it is missing (the reproduction table then says why)."""
    try:
        return article_numbers.load_reference(reference_path)
    except ValueError:
        return {}


def _reproduction(summary: pd.DataFrame, runs: pd.DataFrame,
                  reference_path: str | os.PathLike | None) -> tuple[pd.DataFrame, str]:
    """The reproduction table, or an empty one with the reason when the reference is missing."""
    try:
        numbers = article_numbers.load_reference(reference_path)
    except ValueError as error:
        return pd.DataFrame(columns=["verdict"]), str(error)
    return reference.reproduction_table(summary, runs, numbers), ""


def unreadable_record_said(unreadable: UnreadableRecord, out: Path, *, command: str = "report",
                           again: str = "build the report again") -> str:
    """The report's one line for a record it cannot read (harness.records.read_records raises it rather than
    leave a record that may be good out of the tables): the file, the OS's error, the fix and `again`, how to
    build the report then; and, as the records are read before anything of the new report is written, that
    the previous report in `out` stays. `command`: who says it."""
    return unreadable.said(command, f"{again}; {publish.kept(out)}")


def update_report(run_dir: str | os.PathLike, results_root: str | os.PathLike | None = None, *,
                  echo: bool = True) -> Path:
    """After a run: summary.csv beside the runs, the summary on the terminal, the page rebuilt.

    `results_root` is the folder whose every experiment the page gathers; by default the
    nearest ancestor of `run_dir` named `results`, else `<root>` of Hydra's own layout
    (`<root>/<experiment>/<timestamp>/`), else (a freely chosen `hydra.run.dir`) the run's own
    folder, or its sweep folder for a multirun job (batches.report_root). Returns the path of
    index.html (`<results_root>/report/`).
    For a sweep job, the merged summary.csv of the whole sweep is written to the sweep folder too.
    """
    run_dir = Path(run_dir)
    batch = batches.batch_root(run_dir)
    summary = tables.summary_table(load_runs([batch]))
    tables.write_tables(summary, run_dir)
    if batch != run_dir.resolve():
        tables.write_tables(summary, batch)
    root = Path(results_root) if results_root is not None else batches.report_root(run_dir)
    index = build_report([root])
    if echo:
        print(tables.terminal_text(summary))
        print(f"report: {index}")
    return index
