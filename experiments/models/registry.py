"""The implementations a config may name in `impls=[...]`, looked up by name through `get`."""

from __future__ import annotations

from .implementation import Implementation

IMPLEMENTATIONS: dict[str, Implementation] = {
    impl.name: impl
    for impl in (
        Implementation("mlp", ("numpy", "cupy"), "experiments.models.mlp_model"),
        # the from-scratch MLP with its elementwise work in fused Numba loops (docs/fused_kernels.md)
        Implementation("mlp_fused", ("numpy",), "experiments.models.mlp_model", settings=(("kernels", "fused"),),
                       family="mlp"),
        Implementation("keras", ("tensorflow",), "experiments.models.keras_model", fixed_sampling="shuffle"),
        # Keras as its documentation advises for small models (see keras_model.fit_tuned)
        Implementation("keras_tuned", ("tensorflow",), "experiments.models.keras_model", fixed_sampling="shuffle",
                       settings=(("tuned", True),), family="keras"),
        Implementation("torch", ("torch-cpu", "torch-cuda"), "experiments.models.torch_model",
                       gpu_backend="torch-cuda"),
        # torch.compile of the network and threads by step size (see torch_compiled.py)
        Implementation("torch_compiled", ("torch-cpu", "torch-cuda"), "experiments.models.torch_model",
                       gpu_backend="torch-cuda", settings=(("compiled", True),), family="torch"),
        Implementation("sklearn", ("sklearn",), "experiments.models.sklearn_model", fixed_sampling="shuffle"),
        Implementation("linreg", ("numpy",), "experiments.models.linreg_model", fixed_sampling="full-batch"),
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
