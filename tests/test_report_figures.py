"""Every figure is drawn from smoke-like records and is a valid PNG of sensible size."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from harness.records import write_record
from harness.runs_table import load_runs
from harness.reporting import figures, figures_article, prepared_runs, tables
from harness.reporting.number_text import mean_text
from synthetic_results import _titanic, write_synthetic_results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fig") / "results"
    write_synthetic_results(root)
    return root


def _figures(results: Path, experiment: str, out: Path) -> dict[str, Path]:
    runs = load_runs([results / experiment])
    summary = tables.summary_table(runs)
    swept = prepared_runs.swept_params(prepared_runs.prepare(runs))
    made = figures_article.figures_for(experiment, runs, summary, swept, out)
    return {f.path.name: f.path for f in made}


def assert_png(path: Path, min_width: int = 600, min_height: int = 250) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    image = imread(path)
    height, width = image.shape[:2]
    assert min_width <= width <= 2000 and min_height <= height <= 1200, (path, image.shape)
    assert 10_000 < path.stat().st_size < 1_000_000, path
    assert np.unique(image.reshape(-1, image.shape[-1]), axis=0).shape[0] > 20, f"{path} is nearly uniform"


@pytest.mark.parametrize("experiment, expected", [
    ("titanic_vs_tf", {"titanic_vs_tf-vs-keras.png", "titanic_vs_tf-survivors.png", "titanic_vs_tf-loss.png"}),
    ("mnist_vs_tf", {"mnist_vs_tf-vs-keras.png", "mnist_vs_tf-loss.png"}),
    ("titanic_sgd", {"titanic_sgd-survivors.png", "titanic_sgd-loss.png"}),
    ("drujba_linreg", {"drujba_linreg-fit.png"}),
    ("titanic_adam", {"titanic_adam-sweep-learning_rate.png", "titanic_adam-loss.png"}),
])
def test_article_figures(results: Path, tmp_path: Path, experiment: str, expected: set[str]) -> None:
    made = _figures(results, experiment, tmp_path)
    assert set(made) == expected
    for path in made.values():
        assert_png(path)


def test_generic_figure_for_any_other_experiment(results: Path, tmp_path: Path) -> None:
    runs = load_runs([results / "mnist_vs_tf"])
    runs["experiment"] = "mnist_cpu"
    runs = runs[runs["impl"] == "mlp"]
    made = figures_article.figures_for("mnist_cpu", runs, tables.summary_table(runs), [], tmp_path)
    assert {f.path.name for f in made} == {"mnist_cpu-runs.png", "mnist_cpu-loss.png"}
    for figure in made:
        assert_png(figure.path)


def test_drujba_without_the_data_module(results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(figures_article, "_drujba_data", lambda seed, n_train=None: None)
    made = _figures(results, "drujba_linreg", tmp_path)
    assert_png(made["drujba_linreg-fit.png"])


def test_no_figure_when_every_run_failed(results: Path, tmp_path: Path) -> None:
    runs = load_runs([results / "titanic_sgd"])
    runs["status"] = "failed"
    made = figures_article.figures_for("titanic_sgd", runs, tables.summary_table(runs), [], tmp_path)
    assert made == []


def test_two_swept_settings_draw_one_line_per_other_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """learning rate x batch size: one line per batch size against the learning rate (and the other
    way round), never one zig-zag line through all four combinations."""
    sweep_dir = tmp_path / "titanic_adam" / "multirun" / "2026-01-01_00-00-00"
    for job, (rate, batch) in enumerate([(0.002, 50), (0.002, 100), (0.02, 50), (0.02, 100)]):
        for seed in range(3):
            accuracy = 0.6 + (0.2 if batch == 100 else 0) + rate + 0.01 * seed
            write_record(sweep_dir / str(job), _titanic("titanic_adam", "mlp", seed, learning_rate=rate,
                                                        batch_size=batch, test_accuracy=accuracy))
    drawn: dict[str, Figure] = {}
    monkeypatch.setattr(figures, "save", lambda fig, path: drawn.setdefault(path.name, fig) and path)
    runs = load_runs([sweep_dir])
    swept = prepared_runs.swept_params(prepared_runs.prepare(runs))
    assert swept == ["learning_rate", "batch_size"]
    figures_article.figures_for("titanic_adam", runs, tables.summary_table(runs), swept, tmp_path)
    by_rate = drawn["titanic_adam-sweep-learning_rate.png"].axes[0]
    lines = {c.get_label(): c.lines[0] for c in by_rate.containers}
    assert sorted(lines) == ["mlp (numpy), batch_size=100", "mlp (numpy), batch_size=50"]
    assert lines["mlp (numpy), batch_size=50"].get_xdata().tolist() == [0.002, 0.02]
    np.testing.assert_allclose(lines["mlp (numpy), batch_size=50"].get_ydata().astype(float), [0.612, 0.63])
    np.testing.assert_allclose(lines["mlp (numpy), batch_size=100"].get_ydata().astype(float), [0.812, 0.83])
    by_batch = drawn["titanic_adam-sweep-batch_size.png"].axes[0]
    lines = {c.get_label(): c.lines[0] for c in by_batch.containers}
    assert sorted(lines) == ["mlp (numpy), learning_rate=0.002", "mlp (numpy), learning_rate=0.02"]
    np.testing.assert_allclose(lines["mlp (numpy), learning_rate=0.02"].get_ydata().astype(float), [0.63, 0.83])


def _drawn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Figure]:
    """The figures the report draws, by file name, kept instead of saved."""
    drawn: dict[str, Figure] = {}
    monkeypatch.setattr(figures, "save", lambda fig, path: drawn.setdefault(path.name, fig) and path)
    return drawn


def test_drujba_least_squares_line_is_that_of_the_training_points(results: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Gradient descent minimises the loss over the training points alone, so the line drawn as
    "where gradient descent would end" is fitted to them; the test points are drawn apart."""
    from experiments.data import load_dataset
    drawn = _drawn(monkeypatch)
    runs = load_runs([results / "drujba_linreg"])
    made = figures_article.drujba(runs, "drujba_linreg", tmp_path / "fit.png")
    ax = drawn["fit.png"].axes[0]
    ds = load_dataset("drujba", seed=int(re.search(r"data seed (\d+)", ax.get_title()).group(1)))
    x_train, y_train, x_test, y_test = (np.ravel(a) for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test))
    w, b = np.polyfit(x_train, y_train, 1)
    assert f"least squares of the training points: {w:.2f}x + {b:.2f}" in [line.get_label() for line in ax.lines]
    points = {c.get_label(): c.get_offsets() for c in ax.collections if " points" in c.get_label()}
    assert set(points) == {f"{x_train.size} training points", f"{x_test.size} test points (not fitted)"}
    np.testing.assert_array_equal(points[f"{x_train.size} training points"], np.column_stack([x_train, y_train]))
    np.testing.assert_array_equal(points[f"{x_test.size} test points (not fitted)"], np.column_stack([x_test, y_test]))
    assert "the least-squares line of the training points (where gradient descent would end)" in made.caption


@pytest.mark.parametrize("experiment, title", [("mnist_vs_tf", "Mean misclassified (95% CI)"),
                                               ("titanic_vs_tf", 'Mean "error" (95% CI)')])
def test_head_to_head_right_panel_is_titled_by_what_it_plots(results: Path, tmp_path: Path, experiment: str,
                                                             title: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """On this page "error" is the article's Titanic quantity: MNIST's panel of misclassified
    images is not titled an error."""
    drawn = _drawn(monkeypatch)
    made = figures_article.comparison(load_runs([results / experiment]), experiment, tmp_path / "vs.png")
    assert drawn["vs.png"].axes[2].get_title() == title
    assert title.split(" (")[0].lower() in made.title.lower()
    _assert_titles_fit(drawn["vs.png"])


def _assert_titles_fit(fig: Figure) -> None:
    """Every panel's title lies inside the figure and over no neighbouring panel's."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # as save() draws it: the constrained layout is made at drawing
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]
    for i, ax in enumerate(fig.axes):
        title = ax.title.get_window_extent(renderer)
        assert 0 <= title.x0 and title.x1 <= fig.bbox.x1, (ax.get_title(), title, fig.bbox)
        for j, other in enumerate(boxes):
            if j != i:
                assert title.x1 <= other.x0 or title.x0 >= other.x1 or title.y0 >= other.y1, ax.get_title()


def test_the_article_s_printed_losses_are_markers_without_a_line(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The article printed the losses of epochs 1, 2, 9 and 10 only: a line through them would draw
    epochs it never printed."""
    from harness.reporting import claims_section
    from synthetic_results import write_head_to_head

    drawn = _drawn(monkeypatch)
    write_head_to_head(tmp_path, "mnist_cpu", mlp=[300, 310, 320], keras=[250, 260, 270])
    curve = {"id": "mnist_cpu", "figure": "MNIST, CPU", "experiments": ["mnist_cpu"], "backend": "numpy",
             "epochs": {1: 4.08, 2: 0.32, 9: 0.048, 10: 0.038}}
    runs = prepared_runs.prepare(load_runs([tmp_path]))
    assert claims_section.loss_reference(runs, curve, tmp_path) is not None
    (printed,) = [line for line in drawn["article-loss-mnist_cpu.png"].axes[0].lines
                  if line.get_label() == "article (printed)"]
    assert printed.get_linestyle() == "None" and printed.get_marker() == "*"
    assert printed.get_xdata().tolist() == [1, 2, 9, 10]


def _category_sweep(root: Path, keras_seconds: float) -> tuple[pd.DataFrame, list[str]]:
    """A sweep over the optimizer (a text value), Keras's fits taking `keras_seconds`, the MLP's 0.6 s."""
    sweep_dir = root / "titanic_vs_tf" / "multirun" / "2026-01-01_00-00-00"
    for job, optimizer in enumerate(("sgd", "adam")):
        for impl in ("mlp", "keras"):
            for seed in range(3):
                seconds = (keras_seconds if impl == "keras" else 0.6) + 0.05 * seed
                write_record(sweep_dir / str(job), _titanic("titanic_vs_tf", impl, seed, optimizer=optimizer,
                                                            fit_seconds=seconds))
    runs = load_runs([sweep_dir])
    return runs, prepared_runs.swept_params(prepared_runs.prepare(runs))


def test_a_sweep_over_text_values_draws_markers_without_lines(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Text values ("adam", "sgd") have no order between them, so nothing joins them; a numeric
    sweep's values do (test_two_swept_settings_draw_one_line_per_other_value)."""
    drawn = _drawn(monkeypatch)
    runs, swept = _category_sweep(tmp_path, keras_seconds=3.0)
    assert swept == ["optimizer"]
    figures_article.figures_for("titanic_vs_tf", runs, tables.summary_table(runs), swept, tmp_path)
    for ax in drawn["titanic_vs_tf-sweep-optimizer.png"].axes:
        lines = [container.lines[0] for container in ax.containers]
        assert len(lines) == 2 and all(line.get_linestyle() == "None" and line.get_marker() == "o" for line in lines)
        assert ax.get_yscale() == "linear"  # fit times 0.6 to 3.1 s: within 20x


def test_a_sweep_s_fit_times_spanning_more_than_20x_are_drawn_on_a_log_scale(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Keras at 50 s and the MLP at 0.6 s: on a linear axis the MLP would lie flat at 0."""
    drawn = _drawn(monkeypatch)
    runs, swept = _category_sweep(tmp_path, keras_seconds=50.0)
    figures_article.figures_for("titanic_vs_tf", runs, tables.summary_table(runs), swept, tmp_path)
    accuracy, times = drawn["titanic_vs_tf-sweep-optimizer.png"].axes
    assert (accuracy.get_yscale(), times.get_yscale()) == ("linear", "log")
    assert times.get_ylabel() == "fit time (s, log scale)"


def test_survivors_titles_give_each_mean_error_its_n_and_t_interval(results: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """titanic_sgd's four seeds predict 80, 83, 86 and 89 survivors of 101: errors 21, 18, 15, 12."""
    from scipy import stats as scipy_stats

    drawn = _drawn(monkeypatch)
    figures_article.survivors(load_runs([results / "titanic_sgd"]), "titanic_sgd", tmp_path / "s.png")
    half = scipy_stats.t.ppf(0.975, 3) * np.std([21, 18, 15, 12], ddof=1) / 2
    title = drawn["s.png"].axes[0].get_title()
    assert title.endswith(f"mlp (numpy): mean error {mean_text(16.5, 16.5 - half, 16.5 + half)}, n=4"), title
