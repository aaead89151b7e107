"""The from-scratch MLP (mlp_impl) built from a ModelSpec, trained and measured for one record."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import time
from typing import Any

import numpy as np

from .measure import PeakMemory, classification_fields
from .spec import ModelSpec, check_output_pairing


def check_available(backend: str) -> None:
    """Raise a one-line ValueError when `backend` cannot run here (CuPy missing, no driver, no device)."""
    if backend != "cupy":
        return
    if importlib.util.find_spec("cupy") is None:
        raise ValueError("backend=cupy needs a usable GPU: CuPy is not installed; install it with "
                         "pip install -e '.[gpu]' on a CUDA machine, or use backend=numpy")
    from mlp_impl.backend import gpu_status
    usable, reason = gpu_status()
    if not usable:
        raise ValueError(f"backend=cupy needs a usable GPU: {reason}; use backend=numpy or a machine with a CUDA GPU")


def check_kernels(spec: ModelSpec, backend: str) -> None:
    """Refuse, before any run, fused kernels that cannot run here (no Numba, or backend=cupy):
    mlp_impl's own rule, named by the config keys."""
    if spec.kernels == "numpy":
        return
    from mlp_impl import fused
    try:
        fused.require(backend)
    except ValueError as ex:
        raise ValueError(f"model.kernels={spec.kernels} with backend={backend}: {ex}") from None


def check_settings(kernels: str = "numpy") -> None:
    """A variant's kernels (mlp_fused: Numba's) must run here, refused before any run otherwise."""
    if kernels != "numpy":
        from mlp_impl import fused
        try:
            fused.require("numpy")
        except ValueError as ex:
            raise ValueError(f"impls=[mlp_fused]: {ex}") from None


def check_plan(spec: ModelSpec, ds: Any) -> None:
    """Refuse, before any run, an output activation the MLP's fused loss cannot follow, or a loss
    the chosen loss gradient does not have."""
    check_output_pairing(spec)
    from mlp_impl.losses import check_gradient
    try:
        check_gradient(spec.loss, spec.loss_gradient)
    except ValueError as ex:
        raise ValueError(f"impls=[mlp] cannot train model.loss={spec.loss} with model.loss_gradient="
                         f"{spec.loss_gradient}: {ex}") from None


def build_optimizer(spec: ModelSpec) -> Any:
    """The mlp_impl optimizer named by the spec, with the spec's settings."""
    import mlp_impl
    if spec.optimizer == "sgd":
        return mlp_impl.SGD(momentum=spec.momentum)
    adam = mlp_impl.Adam if spec.optimizer == "adam" else mlp_impl.AMSGrad
    return adam(epsilon=spec.adam_epsilon, variant=spec.adam_variant)


def build_network(spec: ModelSpec, n_features: int, *, seed: int, dtype: str, backend: str, sampling: str) -> Any:
    """An mlp_impl.NN with the spec's layers; the input width comes from the data."""
    import mlp_impl
    layers = [mlp_impl.Dense(layer.units, activation=layer.activation, **({"input_dim": n_features} if i == 0 else {}))
              for i, layer in enumerate(spec.layers)]
    return mlp_impl.NN(layers=layers, loss=spec.loss, optimizer=build_optimizer(spec), initializer=spec.initializer,
                       dtype=dtype, seed=seed, backend=backend, sampling=sampling, l1=spec.l1, l2=spec.l2,
                       backprop=spec.backprop, threads=spec.threads, kernels=spec.kernels,
                       loss_gradient=spec.loss_gradient)



def train_and_evaluate(spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
                       progress: bool, kernels: str | None = None) -> dict[str, Any]:
    """Fit on ds.x_train, time fit and predict (GPU synchronized before each clock stop), evaluate on the test set."""
    from mlp_impl import get_backend
    from .progress import EpochBar
    device = get_backend(backend)
    spec = dataclasses.replace(spec, kernels=kernels or spec.kernels)
    with contextlib.ExitStack() as stack:
        # on the GPU the peak counts the weights and optimizer state too, as torch-cuda's does
        device_peak = stack.enter_context(_device_peak()) if backend == "cupy" else None
        net = build_network(spec, ds.n_features, seed=seed, dtype=dtype, backend=backend, sampling=sampling)
        compile_seconds = _compile(spec.kernels, dtype)
        mem = device_peak or stack.enter_context(PeakMemory())
        bar = stack.enter_context(EpochBar(spec.epochs, enabled=progress))
        epoch_ends: list[float] = []

        def on_epoch(*_: Any) -> bool:
            epoch_ends.append(time.perf_counter())
            bar.update()
            return False  # a true value would stop training early

        device.synchronize()
        fit_start = time.perf_counter()
        history = net.fit(ds.x_train, ds.y_train, epochs=spec.epochs, learning_rate=spec.learning_rate,
                          sample_size=spec.batch_size, include_logs=False, callback=on_epoch)
        device.synchronize()
        fit_seconds = time.perf_counter() - fit_start
        start = time.perf_counter()
        proba = np.asarray(net.predict(ds.x_test))  # predict returns host memory: the copy ends the GPU work
        predict_seconds = time.perf_counter() - start
        metrics = net.evaluate(ds.x_test, ds.y_test)
    record: dict[str, Any] = {
        "backend": backend, "device": device.device_name(), "threads": net.fit_threads if backend == "numpy" else None,
        "fit_seconds": fit_seconds, "predict_seconds": predict_seconds,
        "first_epoch_seconds": (epoch_ends[0] - fit_start) if epoch_ends else None,
        "kernels": spec.kernels, "compile_seconds": compile_seconds,
        "epoch_losses": [float(v) for v in history], "test_loss": float(metrics["loss"]),
        "peak_memory_mb": mem.mb,
    }
    record.update(classification_fields(proba, ds.y_test, ds.task))
    return record


def _device_peak() -> Any:
    """CuPy's high-water mark of device bytes in use (experiments.models.device_memory)."""
    from .device_memory import DevicePeak
    return DevicePeak()


def _compile(kernels: str, dtype: str) -> float | None:
    """Compile the fused kernels ahead of the timed fit (as torch_compiled's compilation; Keras's
    tracing and XLA compilation stay inside its fit_seconds and show as first_epoch_seconds); the
    seconds it took, or None with NumPy's kernels (nothing to compile)."""
    if kernels == "numpy":
        return None
    from mlp_impl import fused
    return fused.warm_up(dtype)
