"""Typed config schema (dataclasses in Hydra's ConfigStore): a wrong key or type fails at start.

`conf/config.yaml` lists `bench_schema` first in its defaults, so every YAML value and every
command-line override is checked against these dataclasses when Hydra composes the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig

from experiments.models.spec import ModelSpec
from mlp_impl.sampling import NAMES as SAMPLINGS
from mlp_impl.validation import DTYPES


@dataclass
class LayerConfig:
    """One Dense layer (hidden or output)."""

    units: int = MISSING
    activation: str = MISSING


@dataclass
class ModelConfig:
    """Becomes an experiments.models.ModelSpec, shared by every implementation."""

    input_dim: Optional[int] = None     # checked against the data's features; None: taken from the data
    layers: list[LayerConfig] = field(default_factory=list)
    loss: str = MISSING
    optimizer: str = MISSING
    learning_rate: float = MISSING
    batch_size: int = MISSING
    epochs: int = MISSING
    # defaults are ModelSpec's own, so a default lives in one place (spec.py says what each means)
    initializer: str = ModelSpec.initializer
    momentum: float = ModelSpec.momentum
    adam_epsilon: float = ModelSpec.adam_epsilon
    adam_variant: str = ModelSpec.adam_variant
    l1: float = ModelSpec.l1
    l2: float = ModelSpec.l2
    backprop: str = ModelSpec.backprop          # mlp only: standard | article
    loss_gradient: str = ModelSpec.loss_gradient  # mlp only: standard | article
    threads: Optional[int] = ModelSpec.threads  # mlp only: CPU threads a step splits its rows over; None: auto
    kernels: str = ModelSpec.kernels            # mlp only: numpy | fused (Numba, CPU; docs/fused_kernels.md)


@dataclass
class DataConfig:
    """Arguments of experiments.data.load_dataset."""

    name: str = MISSING                 # titanic | mnist | drujba
    variant: Optional[str] = None       # None: the data set's default variant
    root: Optional[str] = None          # None: $MLP_BENCH_DATA_DIR, else the user cache
    split: str = "article"              # titanic: article | stratified
    seed: Optional[int] = 0             # split / synthetic-data seed; null: each run's own seed
    n: int = 100                        # drujba: training points
    limit_train: Optional[int] = None   # keep the first rows only (smoke runs)
    limit_test: Optional[int] = None
    download: bool = True               # fetch a missing file into the user cache
    verify: bool = True                 # check local files' checksums (false: a modified copy on purpose)


@dataclass
class KerasConfig:
    """Keras-only settings."""

    deterministic: bool = True          # tf.config.experimental.enable_op_determinism()


@dataclass
class BenchConfig:
    """The whole run: which implementations, seeds and settings, on which data and model."""

    name: str = MISSING                 # experiment name; results/<name>/<timestamp>/
    impls: list[str] = field(default_factory=lambda: ["mlp"])
    backend: str = "numpy"              # the from-scratch MLP's backend: numpy | cupy
    dtype: str = "float32"
    sampling: str = "shuffle"           # mini-batch sampling of the from-scratch MLP
    runs: int = 1                       # seeds 0..runs-1 unless `seeds` or `seed` is given
    seeds: Optional[list[int]] = None
    seed: Optional[int] = None          # one seed (for Hydra sweeps: -m seed='range(20)')
    # Shortcuts for model.<key> (sweeps read better as learning_rate=0.001,0.01); null: model's value.
    learning_rate: Optional[float] = None
    batch_size: Optional[int] = None
    epochs: Optional[int] = None
    quiet: bool = False                 # no progress bars
    resume: bool = False                # run only the seeds missing from hydra.run.dir
    epoch_bar: Optional[bool] = None    # null: an epoch bar when a run is long (> 1e10 FLOPs)
    warmup: Optional[bool] = None       # untimed warm-up fit first; null: GPU implementations only
    report: bool = True                 # rebuild the HTML report after the runs (harness.reporting)
    measure_rate: bool = True           # the matmul rate before and after the runs (harness.machine); false: skipped
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    keras: KerasConfig = field(default_factory=KerasConfig)


MODEL_ALIASES = ("learning_rate", "batch_size", "epochs")


def apply_aliases(cfg: DictConfig) -> DictConfig:
    """Copy the top-level shortcuts that are set (learning_rate=0.01) onto `model`, in place.

    Why: the issue's sweeps (`-m learning_rate=0.001,0.01,0.02`) name hyperparameters without the
    `model.` prefix. A set shortcut wins over the experiment's model value; both stay in config.yaml.
    """
    for key in MODEL_ALIASES:
        value = cfg.get(key)
        if value is not None:
            cfg.model[key] = value
    return cfg


def register() -> None:
    """Put the schema in Hydra's ConfigStore (idempotent)."""
    ConfigStore.instance().store(name="bench_schema", node=BenchConfig)
    from harness import ablation  # the ablation's MLP cells, built from harness.algorithm
    ablation.register()


register()
