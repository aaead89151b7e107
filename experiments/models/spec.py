"""One model description shared by every implementation, so no network is written twice by hand.

The Hydra config's `model` node becomes a `ModelSpec`; each implementation (the from-scratch
MLP, Keras, ...) builds its own network from it. Names are validated here, once, against
mlp_impl's own registries (the reference vocabulary every other implementation maps from).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

from mlp_impl import activations, initializers, losses, optimizers
from mlp_impl.network import BACKPROP as BACKPROPS  # "article" updates each layer before propagating

ACTIVATIONS = activations.NAMES
LOSSES = losses.NAMES
OPTIMIZERS = optimizers.NAMES
INITIALIZERS = initializers.NAMES
ADAM_VARIANTS = optimizers.ADAM_VARIANTS


@dataclass
class LayerSpec:
    """One Dense layer: its width and activation (the input width comes from the data)."""

    units: int
    activation: str


@dataclass
class ModelSpec:
    """Architecture and training hyperparameters, independent of any library."""

    layers: list[LayerSpec]
    loss: str
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    initializer: str = "xavier"
    momentum: float = 0.0
    adam_epsilon: float = 1e-7
    adam_variant: str = "keras"
    l1: float = 0.0
    l2: float = 0.0
    backprop: str = "standard"       # mlp only; "article" = update each layer, then propagate
    loss_gradient: str = "standard"  # mlp only; "article" = the article's loss derivative (mlp_impl.losses)
    threads: int | None = None       # mlp only; CPU threads a step splits its rows over, None = auto
    kernels: str = "numpy"           # mlp only; numpy (reference) | fused (Numba loops, CPU only)

    def widths(self, n_features: int) -> list[int]:
        """Every layer width including the input, e.g. [7, 15, 1]."""
        return [n_features, *(layer.units for layer in self.layers)]

    def layers_label(self, n_features: int) -> str:
        """The record's `layers` field, e.g. "7-15-1"."""
        return "-".join(str(w) for w in self.widths(n_features))

    def activations_label(self) -> str:
        """The record's `activations` field, e.g. "relu,sigmoid"."""
        return ",".join(layer.activation for layer in self.layers)


def _check_name(kind: str, value: str, valid: tuple[str, ...], key: str) -> None:
    if value not in valid:
        raise ValueError(f"unknown {kind} '{value}' at {key}; valid: {', '.join(valid)}")


def check_positive(key: str, value: Any, kind: type) -> None:
    """A config number that must be > 0 (an int where `kind` is int), refused naming its key."""
    # `not value > 0` also refuses NaN; ints are checked as given, before any conversion
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0 or not math.isfinite(value):
        what = "integer" if kind is int else "number"
        raise ValueError(f"{key} must be a positive {what}, got {value!r}; set {key}=<positive {what}>")


def _as_float(key: str, value: Any) -> float:
    """A config number as float (an int is fine), or a one-line error naming the key."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number, got {value!r}; set {key}=<number>")
    return float(value)


def spec_from_config(model: Mapping[str, Any]) -> ModelSpec:
    """Build and validate a ModelSpec from the config's `model` node (a plain mapping).

    Raises a one-line ValueError naming the bad key and the fix, before any work starts.
    """
    if not model["layers"]:
        raise ValueError("model.layers is empty; give at least the output layer, e.g. [{units: 1, activation: sigmoid}]")
    for i, layer in enumerate(model["layers"]):
        check_positive(f"model.layers[{i}].units", layer["units"], int)
        _check_name("activation", layer["activation"], ACTIVATIONS, f"model.layers[{i}].activation")
    layers = [LayerSpec(layer["units"], layer["activation"]) for layer in model["layers"]]
    # keys the config leaves out take ModelSpec's own defaults (written once, on the dataclass)
    values = {f.name: model[f.name] for f in fields(ModelSpec) if f.name != "layers" and f.name in model}
    for key in ("learning_rate", "momentum", "adam_epsilon", "l1", "l2"):
        if key in values:
            values[key] = _as_float(f"model.{key}", values[key])
    spec = ModelSpec(layers=layers, **values)
    _check_name("loss", spec.loss, LOSSES, "model.loss")
    _check_name("optimizer", spec.optimizer, OPTIMIZERS, "model.optimizer")
    _check_name("initializer", spec.initializer, INITIALIZERS, "model.initializer")
    _check_name("adam variant", spec.adam_variant, ADAM_VARIANTS, "model.adam_variant")
    _check_name("backprop", spec.backprop, BACKPROPS, "model.backprop")
    from mlp_impl.network import KERNELS
    _check_name("kernels", spec.kernels, KERNELS, "model.kernels")
    from mlp_impl.losses import GRADIENTS
    _check_name("loss gradient", spec.loss_gradient, GRADIENTS, "model.loss_gradient")
    check_positive("model.learning_rate", spec.learning_rate, float)
    check_positive("model.batch_size", spec.batch_size, int)
    check_positive("model.epochs", spec.epochs, int)
    if spec.threads is not None:
        check_positive("model.threads", spec.threads, int)
    for key in ("momentum", "l1", "l2"):
        if not getattr(spec, key) >= 0 or not math.isfinite(getattr(spec, key)):
            raise ValueError(f"model.{key} must be >= 0, got {getattr(spec, key)}; set model.{key}=0 or a positive value")
    _check_optimizer_settings(spec)
    return spec


def _check_optimizer_settings(spec: ModelSpec) -> None:
    """Momentum and Adam's epsilon by mlp_impl's own rules (its optimizers' constructors), so each
    rule is written once; the network itself is built only inside a run, too late to refuse."""
    from mlp_impl import optimizers
    settings = (("momentum", lambda: optimizers.SGD(momentum=spec.momentum), "a value in [0, 1), e.g. 0.9"),
                ("adam_epsilon", lambda: optimizers.Adam(epsilon=spec.adam_epsilon, variant=spec.adam_variant),
                 "a small positive number, e.g. 1e-7"))
    for key, build, fix in settings:
        try:
            build()
        except ValueError as ex:
            raise ValueError(f"model.{key}={getattr(spec, key)} is out of range ({ex}); set model.{key} to {fix}") from None


def check_output_pairing(spec: ModelSpec, impl: str = "mlp") -> None:
    """The from-scratch MLP (``impl``, as named in impls) fuses its output activation with the
    cross-entropies, so it refuses a pairing (e.g. binary_crossentropy after relu) that Keras or
    PyTorch would still run: mlp_impl's own rule, named by the config keys."""
    from mlp_impl.losses import check_pairing
    last = f"model.layers[{len(spec.layers) - 1}].activation"
    try:
        check_pairing(spec.loss, spec.layers[-1].activation)
    except ValueError as ex:
        raise ValueError(f"impls=[{impl}] cannot train model.loss={spec.loss} after {last}="
                         f"{spec.layers[-1].activation}: {ex}") from None


# The MLP-only parts of the article's algorithm: (spec field, its value in the standard algorithm).
MLP_ONLY = (("backprop", "standard"), ("loss_gradient", "standard"))


def check_standard_algorithm(spec: ModelSpec, impl: str) -> None:
    """A peer library trains with the standard backprop order and loss gradient only: refuse the
    article's before any run, rather than run another algorithm than the config (and so the
    records) would say."""
    for key, standard in MLP_ONLY:
        value = getattr(spec, key)
        if value != standard:
            raise ValueError(f"impls=[{impl}] cannot follow model.{key}={value} (only the from-scratch MLP has it); "
                             f"set model.{key}={standard} or drop {impl} from impls")


def check_against_data(spec: ModelSpec, n_features: int, n_outputs: int, n_train: int, task: str) -> None:
    """Reject a model that cannot fit the data: output width, loss vs task, batch size vs rows."""
    if spec.layers[-1].units != n_outputs:
        raise ValueError(f"the output layer has {spec.layers[-1].units} units but the data has {n_outputs} "
                         f"output(s); set the last model.layers units to {n_outputs}")
    if spec.batch_size > n_train:
        raise ValueError(f"model.batch_size={spec.batch_size} is larger than the training set ({n_train} rows); "
                         f"set model.batch_size <= {n_train}")
    expected = {"binary": ("binary_crossentropy", "mse", "mae"), "multiclass": ("categorical_crossentropy", "mse", "mae"),
                "regression": ("mse", "mae")}.get(task)
    if expected is not None and spec.loss not in expected:
        raise ValueError(f"model.loss={spec.loss} does not suit a {task} task; use one of {', '.join(expected)}")


def matmul_flops(spec: ModelSpec, n_features: int, samples_per_epoch: int) -> int:
    """Forward + backward matmul FLOPs of a whole fit (2*in*out per sample forward, twice that
    backward except the input gradient of the first layer), the figure the record's `flops` holds."""
    widths = spec.widths(n_features)
    per_sample = 0
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        per_sample += 2 * n_in * n_out  # forward
        per_sample += 2 * n_in * n_out  # weight gradient
        if i > 0:
            per_sample += 2 * n_in * n_out  # gradient w.r.t. the layer input
    return per_sample * samples_per_epoch * spec.epochs


def samples_per_epoch(n_train: int, batch_size: int, sampling: str) -> int:
    """Rows processed per epoch: the article's sampler draws ceil(n/b) full batches; others visit each row once."""
    if sampling == "article":
        return -(-n_train // batch_size) * batch_size
    return n_train
