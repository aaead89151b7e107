"""The implementations a config may name in `impls=[...]`, looked up by name through `get`."""

from __future__ import annotations

from .implementation import Implementation
from .keras_model import Keras
from .linreg_model import LinearRegressionAdapter
from .mlp_model import MLP
from .sklearn_model import Sklearn
from .torch_model import Torch

IMPLEMENTATIONS: dict[str, Implementation] = {
    impl.name: impl
    for impl in (
        Implementation("mlp", ("numpy", "cupy"), MLP()),
        # the from-scratch MLP with its elementwise work in fused Numba loops (docs/fused_kernels.md)
        Implementation("mlp_fused", ("numpy",), MLP(kernels="fused"), family="mlp"),
        Implementation("keras", ("tensorflow",), Keras(), fixed_sampling="shuffle"),
        # Keras as its documentation advises for small models (see keras_model.fit_tuned)
        Implementation("keras_tuned", ("tensorflow",), Keras(tuned=True), fixed_sampling="shuffle", family="keras"),
        Implementation("torch", ("torch-cpu", "torch-cuda"), Torch(), gpu_backend="torch-cuda"),
        # torch.compile of the network and threads by step size (see torch_compiled.py)
        Implementation("torch_compiled", ("torch-cpu", "torch-cuda"), Torch(compiled=True), gpu_backend="torch-cuda",
                       family="torch"),
        Implementation("sklearn", ("sklearn",), Sklearn(), fixed_sampling="shuffle"),
        Implementation("linreg", ("numpy",), LinearRegressionAdapter(), fixed_sampling="full-batch"),
    )
}
# Backends a user may request with `backend=...` (each implementation takes those it has).
REQUESTABLE_BACKENDS: tuple[str, ...] = ("numpy", "cupy")


def names() -> list[str]:
    """Registered implementation names, for error messages and docs."""
    return list(IMPLEMENTATIONS)


def get(name: str) -> Implementation:
    """The implementation registered as `name`; ValueError listing the valid names otherwise."""
    try:
        return IMPLEMENTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown implementation '{name}'; valid: {', '.join(IMPLEMENTATIONS)} "
                         f"(e.g. impls=[mlp,keras])") from None
