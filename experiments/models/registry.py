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
        Implementation("mlp", ("numpy", "cupy"), MLP(), how=(
            "the from-scratch MLP (mlp_impl), by default with NumPy's kernels (model.kernels): each elementwise "
            "step a NumPy call, a CuPy one on the GPU; on the CPU the matrix products on NumPy's BLAS and, with "
            "the standard backprop order, a large step's rows split over the cores")),
        # the from-scratch MLP with its elementwise work in fused Numba loops (docs/fused_kernels.md)
        Implementation("mlp_fused", ("numpy",), MLP(kernels="fused"), family="mlp", how=(
            "the same MLP with its elementwise work in fused Numba loops and, for a small network with a "
            "cross-entropy head and the standard backprop order, its whole epoch in one compiled call; compiled "
            "before the clock starts (compile_seconds, outside the fit time)")),
        Implementation("keras", ("tensorflow",), Keras(), fixed_sampling="shuffle", how=(
            "Keras as the article ran it: plain model.fit on the arrays, one step per call, by default with op "
            "determinism on (keras.deterministic) so that runs repeat bitwise; its tracing falls in the first "
            "epoch, inside the fit time, as in the article's timing")),
        # Keras as its documentation advises for small models (see keras_model.fit_tuned)
        Implementation("keras_tuned", ("tensorflow",), Keras(tuned=True), fixed_sampling="shuffle", family="keras",
                       how=("Keras as its documentation advises for small models: a shuffled, batched, repeated "
                            "tf.data pipeline fitted as one long epoch, one epoch's steps per execution, XLA, op "
                            "determinism off; traced and compiled before the clock starts (compile_seconds)")),
        Implementation("torch", ("torch-cpu", "torch-cuda"), Torch(), gpu_backend="torch-cuda", how=(
            "eager PyTorch: a hand-written loop over in-memory tensors, torch's default threads (every core)")),
        # torch.compile of the network and threads by step size (see torch_compiled.py)
        Implementation("torch_compiled", ("torch-cpu", "torch-cuda"), Torch(compiled=True), gpu_backend="torch-cuda",
                       family="torch", how=(
                           "PyTorch as its performance guide advises: torch.compile of the network (on the CPU "
                           "where a step is large enough for it to pay, else eager, with intra-op threads chosen by "
                           "the step's size); compiled before the clock starts (compile_seconds)")),
        Implementation("sklearn", ("sklearn",), Sklearn(), fixed_sampling="shuffle", how=(
            "scikit-learn's MLPClassifier (MLPRegressor for regression), fed the run's dtype; it has no faster "
            "mode")),
        Implementation("linreg", ("numpy",), LinearRegressionAdapter(), fixed_sampling="full-batch", how=(
            "the article's linear regression by full-batch gradient descent, in NumPy")),
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
