"""The HTML page: a section per experiment, the reproduction table, only links that resolve."""

from __future__ import annotations

import base64
import html
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness import report
from harness.records import write_record
from harness.reporting import update_report
from synthetic_results import write_synthetic_results

EXPERIMENTS = ("titanic_vs_tf", "titanic_sgd", "titanic_adam", "mnist_vs_tf", "drujba_linreg", "smoke")


class Links(HTMLParser):
    """Collects every src/href and every id of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.refs.append(value)
            if name == "id" and value:
                self.ids.add(value)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("html") / "results"
    dirs = write_synthetic_results(root)
    (dirs["titanic_vs_tf"] / "config.yaml").write_text("name: titanic_vs_tf\nruns: 10\n")
    (dirs["titanic_vs_tf"] / "environment.json").write_text(json.dumps(
        {"python": "3.12.0", "packages": {"numpy": "2.4.6"}, "cpu": "Synthetic CPU", "git": {"commit": "abc123"}}))
    assert report.main([str(root)]) == 0
    return root / "report" / "index.html", dirs


def test_page_has_every_section_and_the_reproduction_table(built: tuple[Path, dict[str, Path]]) -> None:
    index, _ = built
    text = index.read_text(encoding="utf-8")
    parser = Links()
    parser.feed(text)
    for experiment in EXPERIMENTS:
        assert f"exp-{experiment}" in parser.ids, experiment
    assert {"reproduction", "reproduction-table", "method"} <= parser.ids
    for verdict in ("reproduced", "not comparable", "not measured"):
        assert f'v-{verdict.replace(" ", "-")}' in text
    assert "Welch t-test" in text and "1 diverged" in text
    assert "parallel launcher (joblib)" in text


def test_no_family_note_without_a_tested_verdict(built: tuple[Path, dict[str, Path]]) -> None:
    """The synthetic results judge no number by a test's p, so no note reads them as a family."""
    index, _ = built
    assert "reproduction-family" not in index.read_text(encoding="utf-8")


def test_every_reference_resolves(built: tuple[Path, dict[str, Path]]) -> None:
    index, _ = built
    parser = Links()
    parser.feed(index.read_text(encoding="utf-8"))
    images = [r for r in parser.refs if r.startswith("data:image/png;base64,")]
    assert len(images) >= 15
    for ref in parser.refs:
        assert not ref.startswith(("http:", "https:", "//")), f"page needs the network: {ref}"
        if ref.startswith("data:"):
            assert base64.b64decode(ref.split(",", 1)[1])[:4] == b"\x89PNG"
        elif ref.startswith("#"):
            assert ref[1:] in parser.ids, ref
        else:
            assert (index.parent / ref).is_file(), ref


def test_config_and_environment_shown_when_present(built: tuple[Path, dict[str, Path]]) -> None:
    index, _ = built
    text = index.read_text(encoding="utf-8")
    assert "runs: 10" in text and "abc123" in text and "packages.numpy" in text
    assert "No environment.json in the run folder" in text  # the other experiments have none


def test_a_config_or_hydra_file_that_is_not_utf8_leaves_the_report_whole(tmp_path: Path) -> None:
    """A config.yaml that is not UTF-8 text (or not the YAML mapping of settings a run writes:
    harness.settings_file) is passed over like a missing one, and so is a job's .hydra/hydra.yaml: the
    page is built, saying it has no config it can read."""
    root = tmp_path / "results"
    dirs = write_synthetic_results(root)
    (dirs["titanic_vs_tf"] / "config.yaml").write_bytes(b"name: titanic_vs_tf\nruns: \xff\n")
    (dirs["titanic_sgd"] / "config.yaml").write_text("42\n")
    (dirs["mnist_vs_tf"] / ".hydra").mkdir()
    (dirs["mnist_vs_tf"] / ".hydra" / "hydra.yaml").write_bytes(b"\xff\n")
    assert report.main([str(root)]) == 0
    text = (root / "report" / "index.html").read_text(encoding="utf-8")
    assert "exp-titanic_vs_tf" in text and "exp-mnist_vs_tf" in text
    assert text.count("No config.yaml in the run folder that the report can read") == len(EXPERIMENTS)


def test_tables_written_beside_the_report(built: tuple[Path, dict[str, Path]]) -> None:
    index, _ = built
    tables_dir = index.parent / "tables"
    assert {"summary.csv", "reproduction.csv", "titanic_vs_tf.csv"} <= {p.name for p in tables_dir.iterdir()}


def test_update_report_after_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dirs = write_synthetic_results(tmp_path / "results")
    index = update_report(dirs["titanic_vs_tf"])
    assert index == (tmp_path / "results" / "report" / "index.html").resolve()
    assert (dirs["titanic_vs_tf"] / "summary.csv").is_file()
    out = capsys.readouterr().out
    assert "== titanic_vs_tf ==" in out and str(index) in out
    assert "exp-mnist_vs_tf" in index.read_text(encoding="utf-8")  # the page gathers every experiment


def test_update_report_for_a_sweep_job(tmp_path: Path) -> None:
    dirs = write_synthetic_results(tmp_path / "results")
    update_report(dirs["titanic_adam"] / "1", echo=False)
    assert (dirs["titanic_adam"] / "1" / "summary.csv").is_file()
    merged = (dirs["titanic_adam"] / "summary.csv").read_text()
    assert merged.count("\n") == 4  # header + one row per learning rate


def test_free_run_dir_gets_its_own_report(tmp_path: Path) -> None:
    run = tmp_path / "my-run"
    write_record(run, dict(experiment="smoke", impl="mlp", dataset="titanic", seed=0, status="ok",
                           fit_seconds=0.1, test_accuracy=0.8, epoch_losses=[0.7, 0.6]))
    assert update_report(run, echo=False) == (run / "report" / "index.html").resolve()


def test_report_cli_rejects_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        report.main([str(tmp_path / "missing")])
    assert exit_info.value.code == 2


BAD_REPORT_ARGUMENTS = {
    "missing reference": (["--reference", "{tmp}/nope.yaml"], "reference numbers not found at {tmp}/nope.yaml; "),
    "malformed reference": (["--reference", "{tmp}/bad.yaml"], "{tmp}/bad.yaml is not valid YAML"),
    "entry without value": (["--reference", "{tmp}/no_value.yaml"], "{tmp}/no_value.yaml: x has no value"),
    "out is a file": (["--out", "{tmp}/afile"], "output folder {tmp}/afile is a file; choose another --out"),
    "out under a file": (["--out", "{tmp}/afile/report"],
                         "output folder {tmp}/afile/report cannot be written ({tmp}/afile is a file); "),
}


@pytest.mark.parametrize("case", list(BAD_REPORT_ARGUMENTS))
def test_report_cli_refuses_a_bad_reference_or_out_in_one_line(tmp_path: Path, case: str,
                                                               capsys: pytest.CaptureFixture) -> None:
    """A --reference or --out the user gave that cannot work: one line naming it, exit 2, nothing written."""
    (tmp_path / "bad.yaml").write_text("numbers: [a, b\n", encoding="utf-8")
    (tmp_path / "no_value.yaml").write_text("numbers:\n  - id: x\n    measure: fitted_w_mean\n", encoding="utf-8")
    (tmp_path / "afile").write_text("kept", encoding="utf-8")
    results = tmp_path / "results"
    write_record(results / "run", dict(experiment="smoke", impl="mlp", dataset="titanic", seed=0, status="ok",
                                       fit_seconds=0.1, test_accuracy=0.8, epoch_losses=[0.7, 0.6]))
    before = sorted(results.rglob("*"))
    args, problem = BAD_REPORT_ARGUMENTS[case]
    with pytest.raises(SystemExit) as exit_info:
        report.main([str(results), *(a.format(tmp=tmp_path) for a in args)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith(f"error: {problem.format(tmp=tmp_path)}") and err.count("\n") == 1, err
    assert sorted(results.rglob("*")) == before and (tmp_path / "afile").read_text(encoding="utf-8") == "kept"


def test_empty_results_still_give_a_page(tmp_path: Path) -> None:
    assert report.main([str(tmp_path)]) == 0
    assert "No runs recorded yet" in (tmp_path / "report" / "index.html").read_text(encoding="utf-8")


def test_smoke_sweep_of_data_sets_gets_figures_per_data_set(built: tuple[Path, dict[str, Path]]) -> None:
    index, _ = built
    names = {p.name for p in (index.parent / "figures").iterdir()}
    assert {"smoke-titanic-vs-keras.png", "smoke-mnist-vs-keras.png", "smoke-drujba-fit.png"} <= names
    summary = (index.parent / "tables" / "smoke.csv").read_text()
    assert summary.count("\n") == 6  # header + titanic mlp/keras + mnist mlp/keras + drujba linreg


def test_every_summary_column_is_explained_in_the_method() -> None:
    """The page's summary columns that carry a computed figure are each explained under "How the
    numbers are computed", the interval of a mean as the t-interval the verdicts use too."""
    from harness.reporting import html as page_html

    method = page_html.method_html()
    for column in ("Fit time: median and interquartile range", "GFLOP/s (of best matmul rate)", "peak MB",
                   "time / keras", "article error (signed)", "95% t-interval of the mean"):
        assert column in method, column
    assert "percentile bootstrap interval of the mean" not in method


def test_a_sweep_s_config_and_environment_say_which_job_they_come_from(tmp_path: Path) -> None:
    """A sweep's Config and Environment blocks show one job's files: each says which job, of how
    many, and in which settings the jobs' configs differ; a single run folder's say nothing more."""
    from synthetic_results import _titanic

    root = tmp_path / "results"
    sweep = root / "titanic_vs_tf" / "multirun" / "2026-01-01_00-00-00"
    jobs = {"0-keras": ("keras", "float32", "shuffle"), "1-article": ("mlp", "float64", "article")}
    for job, (impl, dtype, sampling) in jobs.items():
        (sweep / job).mkdir(parents=True)
        (sweep / job / "config.yaml").write_text(
            f"name: titanic_vs_tf\nimpls: [{impl}]\ndtype: {dtype}\nsampling: {sampling}\nruns: 3\n"
            f"model:\n  epochs: 5\n  backprop: {sampling}\n", encoding="utf-8")
        (sweep / job / "environment.json").write_text(json.dumps({"cpu": "Synthetic CPU", "load_average": len(job)}))
        for seed in range(3):
            write_record(sweep / job, _titanic("titanic_vs_tf", impl, seed, dtype=dtype, sampling=sampling))
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n", encoding="utf-8")
    single = root / "titanic_sgd" / "2026-01-01_00-00-00"
    for seed in range(3):
        write_record(single, _titanic("titanic_sgd", "mlp", seed, optimizer="sgd"))
    (single / "config.yaml").write_text("name: titanic_sgd\nruns: 3\n", encoding="utf-8")
    assert report.main([str(root)]) == 0
    text = (root / "report" / "index.html").read_text(encoding="utf-8")
    assert ("Config of job 0-keras, 1 of 2 jobs; the others differ in: dtype, impls, model.backprop, "
            "sampling</summary>") in text
    assert "Environment of job 0-keras, 1 of 2 jobs; the others differ in: load_average</summary>" in text
    section = text[text.index('id="exp-titanic_sgd"'):]
    assert "<summary>Config</summary>" in section[:section.index("</section>")]


def test_a_job_label_with_one_readable_file_claims_no_comparison() -> None:
    """Only the shown job's file could be read: the label says the others could not be, not that they are the same."""
    from harness.reporting import batches

    assert batches.job_label("/s/0-keras", ["/s/0-keras", "/s/1-article"], [{"a": 1}]) == (
        "of job 0-keras, 1 of 2 jobs; the other jobs' files could not be read")
    assert batches.job_label("/s/0-keras", ["/s/0-keras", "/s/1-article"], [{"a": 1}, {"a": 2}]) == (
        "of job 0-keras, 1 of 2 jobs; the others differ in: a")


def test_the_method_says_how_each_implementation_on_the_page_is_run(built: tuple[Path, dict[str, Path]]) -> None:
    """The speed sentences name forms of the peers (keras_tuned, torch_compiled, mlp_fused): the page says what each
    is and how it is timed, for the implementations its runs hold and no other, from the registry's one line."""
    import re

    from experiments.models import registry
    from harness.runs_table import load_runs
    index, dirs = built
    text = re.sub(r"\s+", " ", html.unescape(index.read_text(encoding="utf-8")))
    method = text[text.index('id="method"'):]
    shown = set(load_runs(list(dirs.values()))["impl"])
    assert shown and set(registry.IMPLEMENTATIONS) - shown  # some registered implementations have no runs here
    for impl in registry.IMPLEMENTATIONS.values():
        line = f"<li><b>{impl.name}</b>{f' (a form of {impl.peer})' if impl.peer != impl.name else ''}: "
        assert (line in method) == (impl.name in shown), impl.name
        if impl.name in shown:
            assert impl.how in method, impl.name


def test_every_registered_implementation_says_how_it_is_run() -> None:
    from experiments.models import registry
    assert all(impl.how.strip() for impl in registry.IMPLEMENTATIONS.values())


def test_a_peers_tuned_form_is_listed_as_a_form_of_that_peer() -> None:
    """In the registry's order whatever the runs' order; a name the registry no longer holds is left out."""
    from harness.reporting import html as page_html
    from harness.reporting import peers
    listed = peers.implementations(["keras_tuned", "gone", "mlp"])
    assert [(name, peer) for name, peer, _ in listed] == [("mlp", "mlp"), ("keras_tuned", "keras")]
    text = page_html._TEMPLATES.get_template("method.html.j2").render(implementations=listed,
                                                                     **page_html.METHOD_SETTINGS)
    assert "<li><b>keras_tuned</b> (a form of keras): Keras as its documentation advises" in text
    assert "<li><b>mlp</b>: the from-scratch MLP" in text
