"""Synthetic run records shaped like real results, for the report's tests.

Deterministic values (functions of the seed), written through `harness.records.write_record`
exactly as the harness writes them, laid out like a results folder: single run folders, one
sweep (multirun) folder with a parallel launcher, and one diverged run. Never mixed with real
results: everything goes under the folder passed in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.records import write_record

STAMP = "2026-01-01T00:00:00.000+00:00"


def _titanic(experiment: str, impl: str, seed: int, **extra: Any) -> dict[str, Any]:
    """A Titanic run; Keras a little slower and more accurate, like in the article."""
    keras = impl == "keras"
    predicted = 80 + (seed * 3) % 11 + (5 if keras else 0)
    return dict(experiment=experiment, impl=impl, backend="tensorflow" if keras else "numpy",
                device="Synthetic CPU", dtype="float32", sampling="shuffle" if keras else "article",
                dataset="titanic", variant="article", seed=seed, layers="7-15-1", activations="relu,sigmoid",
                loss="binary_crossentropy", optimizer="adam", learning_rate=0.01, batch_size=100, epochs=5,
                initializer="glorot_uniform" if keras else "xavier", n_train=600, n_test=281,
                fit_seconds=(3.0 if keras else 0.6) + 0.05 * seed, first_epoch_seconds=0.2, predict_seconds=0.01,
                epoch_losses=[0.7 - 0.05 * e - 0.01 * seed for e in range(5)], test_loss=0.45,
                test_accuracy=(0.80 if keras else 0.78) + 0.004 * seed, test_misclassified=60 - seed,
                predicted_positives=predicted, actual_positives=101, article_error=101 - predicted,
                status="ok", launcher="basic", started_at=STAMP, finished_at=STAMP) | extra


def _mnist(impl: str, seed: int) -> dict[str, Any]:
    keras = impl == "keras"
    return dict(experiment="mnist_vs_tf", impl=impl, backend="tensorflow" if keras else "numpy",
                device="Synthetic CPU", dataset="mnist", variant="mnist", seed=seed, layers="784-512-128-64-10",
                activations="relu,relu,relu,softmax", loss="categorical_crossentropy", optimizer="adam",
                learning_rate=0.01, batch_size=100, epochs=2, n_train=300, n_test=100,
                fit_seconds=(2.0 if keras else 1.0) + 0.1 * seed, epoch_losses=[1.5 - 0.1 * seed, 0.6],
                test_accuracy=0.85 + 0.01 * seed, test_misclassified=15 - seed, status="ok",
                launcher="basic", started_at=STAMP, finished_at=STAMP)


def _drujba(seed: int) -> dict[str, Any]:
    steps = np.arange(1, 51)
    return dict(experiment="drujba_linreg", impl="linreg", backend="numpy", dataset="drujba", variant="article",
                seed=seed, epochs=50, fit_seconds=0.001, fitted_w=1930.0 + seed, fitted_b=10.0 + seed,
                epoch_losses=list(1e9 / steps), status="ok", launcher="basic",
                started_at=STAMP, finished_at=STAMP)


def write_synthetic_results(root: str | Path) -> dict[str, Path]:
    """Write a results folder with six experiments under `root`; returns their run folders."""
    root = Path(root)
    dirs = {name: root / name / "2026-01-01_00-00-00" for name in
            ("titanic_vs_tf", "titanic_sgd", "mnist_vs_tf", "drujba_linreg")}
    for seed in range(4):
        write_record(dirs["titanic_vs_tf"], _titanic("titanic_vs_tf", "mlp", seed))
        write_record(dirs["titanic_vs_tf"], _titanic("titanic_vs_tf", "keras", seed))
        write_record(dirs["titanic_sgd"], _titanic("titanic_sgd", "mlp", seed, optimizer="sgd"))
    write_record(dirs["titanic_vs_tf"], _titanic("titanic_vs_tf", "mlp", 4, status="diverged",
                                                 diverged_epoch=3, test_accuracy=0.38, fit_seconds=0.1))
    for seed in range(3):
        write_record(dirs["mnist_vs_tf"], _mnist("mlp", seed))
        write_record(dirs["mnist_vs_tf"], _mnist("keras", seed))
        write_record(dirs["drujba_linreg"], _drujba(seed))
    sweep = root / "titanic_adam" / "multirun" / "2026-01-01_00-00-00"
    for job, rate in enumerate((0.002, 0.02, 0.2)):
        for seed in range(3):
            write_record(sweep / str(job), _titanic("titanic_adam", "mlp", seed, learning_rate=rate,
                                                    launcher="joblib", test_accuracy=0.7 + rate + 0.01 * seed))
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n", encoding="utf-8")
    dirs["titanic_adam"] = sweep
    dirs["smoke"] = _write_smoke(root / "smoke" / "2026-01-01_00-00-00")
    return dirs


def _write_smoke(folder: Path) -> Path:
    """Like the harness's smoke experiment: one sweep, one job per data set, one experiment name."""
    for seed in range(2):
        for impl in ("mlp", "keras"):
            write_record(folder / "0-titanic", _titanic("smoke", impl, seed))
            write_record(folder / "1-mnist", _mnist(impl, seed) | {"experiment": "smoke"})
        write_record(folder / "2-drujba", _drujba(seed) | {"experiment": "smoke"})
    (folder / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n", encoding="utf-8")
    return folder


def _nested(dotted: dict[str, Any]) -> dict[str, Any]:
    """{"model.backprop": "article"} -> {"model": {"backprop": "article"}} (a config.yaml's shape)."""
    out: dict[str, Any] = {}
    for key, value in dotted.items():
        *parents, leaf = key.split(".")
        node = out
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return out


JITTER = (-1.0, 0.0, 1.0, 0.5, -0.5)


def write_ablation(root: str | Path, experiment: str, effects: dict[str, float], *, article: float = 90.0,
                   keras: float = 60.0, seeds: int = 5, column: str = "test_misclassified") -> Path:
    """An ablation sweep as the harness leaves it: one job folder per cell (the article's algorithm,
    Keras's, and each component switched alone from either), each with its config.yaml, plus Keras.

    Misclassified of seed s in job j's cell = `article` + the `effects` of the components at Keras's
    value + noise(s) + (1 + j % 3) JITTER[(s + j) % 5]: the seed's noise is shared by every cell (as a
    seed's draws make its runs alike across cells), the jitter differs between cells and sums to 0
    over five seeds (so over seeds 0-4 a difference of cells is exactly the effects' sum, and its per-seed
    differences vary for a paired test); Keras's runs are `keras` + noise(s). Noise over seeds
    0-4: -2, 0, 2, -1, 1; JITTER -1, 0, 1, 0.5, -0.5. With
    `column="article_error"` that value is Titanic's "error" instead, its sign alternating over
    seeds (a signed mean would cancel), and misclassified is 50 + noise(s) in every run."""
    import yaml

    from harness.algorithm import COMPONENTS, IMPLIED

    folder = Path(root) / experiment / "multirun" / "2026-01-01_00-00-00"
    names = [c.name for c in COMPONENTS]
    cells = [tuple(base for _ in names) for base in ("article", "keras")]
    cells += [tuple(("keras" if n == name else "article") for n in names) for name in names]
    cells += [tuple(("article" if n == name else "keras") for n in names) for name in names]
    noise = [(s * 7) % 5 - 2 for s in range(seeds)]
    for job, cell in enumerate(dict.fromkeys(cells)):
        values = {c.key: getattr(c, side) for c, side in zip(COMPONENTS, cell)}
        adam = cell[names.index("adam")] if "adam" in names else "keras"
        values.update({key: pair[0 if adam == "article" else 1] for key, pair in IMPLIED.items()})
        job_dir = folder / str(job)
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / "config.yaml").write_text(yaml.safe_dump(_nested({"name": experiment, **values})), encoding="utf-8")
        shift = sum(effects.get(n, 0.0) for n, side in zip(names, cell) if side == "keras")
        for seed in range(seeds):
            write_record(job_dir, dict(experiment=experiment, impl="mlp", backend="numpy", seed=seed, status="ok",
                                       sampling=values.get("sampling"), dtype=values.get("dtype"),
                                       **_ablation_measure(column, article + shift + noise[seed]
                                                           + (1 + job % 3) * JITTER[(seed + job) % 5], seed),
                                       launcher="joblib", started_at=STAMP, finished_at=STAMP))
    keras_dir = folder / str(len(dict.fromkeys(cells)))
    for seed in range(seeds):
        write_record(keras_dir, dict(experiment=experiment, impl="keras", backend="tensorflow", seed=seed, status="ok",
                                     sampling="shuffle", dtype="float32",
                                     **_ablation_measure(column, keras + noise[seed], seed),
                                     launcher="joblib", started_at=STAMP, finished_at=STAMP))
    (folder / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n", encoding="utf-8")
    return folder


def _ablation_measure(column: str, value: float, seed: int) -> dict[str, float]:
    """The record fields of one ablation run whose measure is `value` in `column`."""
    if column == "test_misclassified":
        return {"test_misclassified": value}
    return {"article_error": value if seed % 2 == 0 else -value, "test_misclassified": 50 + (seed * 7) % 5 - 2}


def write_head_to_head(root: str | Path, experiment: str, mlp: list[float], keras: list[float], *,
                       mlp_seconds: float = 1.0, keras_seconds: float = 5.0) -> Path:
    """One experiment where the MLP runs the article's whole algorithm (config.yaml from
    harness.algorithm) and Keras runs beside it: misclassified per seed from `mlp` and `keras`, the
    Titanic "error" equal to misclassified minus 50 (so it has both signs), fit times + 0.1 s per seed;
    the article's setup for MNIST or Titanic (by the experiment's name)."""
    import yaml

    from harness.algorithm import COMPONENTS, IMPLIED

    folder = Path(root) / experiment / "2026-01-01_00-00-00"
    mnist = experiment.startswith("mnist")
    setup = dict(dataset="mnist", variant="mnist", n_train=60000, n_test=10000, layers="784-512-128-64-10",
                 activations="relu,relu,relu,softmax", loss="categorical_crossentropy", epochs=10, batch_size=1000) \
        if mnist else dict(dataset="titanic", variant="article", n_train=600, n_test=281, layers="7-15-1",
                           activations="relu,sigmoid", loss="binary_crossentropy", epochs=1000, batch_size=100)
    setup |= dict(optimizer="adam", learning_rate=0.01, initializer="xavier", l1=0.0, l2=0.0)
    values = {c.key: c.article for c in COMPONENTS} | {key: pair[0] for key, pair in IMPLIED.items()}
    values["data.split"] = "article"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(_nested({"name": experiment, **values})), encoding="utf-8")
    for impl, misclassified, seconds in (("mlp", mlp, mlp_seconds), ("keras", keras, keras_seconds)):
        for seed, value in enumerate(misclassified):
            write_record(folder, dict(
                experiment=experiment, impl=impl, backend="tensorflow" if impl == "keras" else "numpy", seed=seed,
                status="ok", **setup,
                sampling="shuffle" if impl == "keras" else values.get("sampling"),
                dtype="float32" if impl == "keras" else values.get("dtype"), fit_seconds=seconds + 0.1 * seed,
                test_misclassified=value, article_error=value - 50, epoch_losses=[4.0 - 0.1 * seed, 0.05],
                launcher="basic", started_at=STAMP, finished_at=STAMP))
    return folder
