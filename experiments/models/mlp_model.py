"""The from-scratch MLP (mlp_impl) built from a ModelSpec: its adapter for the harness."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
from typing import Any, Callable, Iterator

import numpy as np

from .adapter import Adapter, Session
from .spec import ModelSpec, check_output_pairing


def _fused_refused(backend: str, named: str) -> None:
    """mlp_impl's rule for fused kernels (Numba installed, the CPU), refused in the config's words."""
    from mlp_impl import fused
    try:
        fused.require(backend)
    except ValueError as ex:
        raise ValueError(f"{named}: {ex}") from None


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


class MLP(Adapter):
    """mlp_impl's NN; `kernels` set for a variant (mlp_fused: "fused") overrides model.kernels."""

    def __init__(self, kernels: str | None = None) -> None:
        self.kernels = kernels

    def check_available(self, backend: str) -> None:
        """backend=cupy needs CuPy and a usable GPU; a fused variant needs Numba."""
        if backend == "cupy":
            if importlib.util.find_spec("cupy") is None:
                raise ValueError("backend=cupy needs a usable GPU: CuPy is not installed; install it with "
                                 "pip install -e '.[gpu]' on a CUDA machine, or use backend=numpy")
            from mlp_impl.backend import gpu_status
            usable, reason = gpu_status()
            if not usable:
                raise ValueError(f"backend=cupy needs a usable GPU: {reason}; use backend=numpy or a machine "
                                 f"with a CUDA GPU")
        if self.kernels:
            _fused_refused("numpy", f"impls=[{self.name}]")

    def check_plan(self, spec: ModelSpec, ds: Any, backend: str) -> None:
        """Fused kernels where they cannot run, an output activation the MLP's fused loss cannot
        follow, or a loss the chosen loss gradient does not have."""
        if spec.kernels != "numpy":
            _fused_refused(backend, f"model.kernels={spec.kernels} with backend={backend}")
        check_output_pairing(spec, self.name)
        from mlp_impl.losses import check_gradient
        try:
            check_gradient(spec.loss, spec.loss_gradient)
        except ValueError as ex:
            raise ValueError(f"impls=[{self.name}] cannot train model.loss={spec.loss} with model.loss_gradient="
                             f"{spec.loss_gradient}: {ex}") from None

    def start(self, spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
              **options: Any) -> "MLPSession":
        return MLPSession(dataclasses.replace(spec, kernels=self.kernels or spec.kernels), ds, seed=seed,
                          dtype=dtype, sampling=sampling, backend=backend)


class MLPSession(Session):
    """A built network (and, for fused kernels, compiled kernels) ready to fit."""

    def __init__(self, spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str) -> None:
        from mlp_impl import get_backend
        self.spec, self.ds, self.backend = spec, ds, backend
        self.device = get_backend(backend)
        # on the GPU the peak counts the weights and optimizer state too, as torch-cuda's does
        self._device_peak = _device_peak().__enter__() if backend == "cupy" else None
        try:
            self.net = build_network(spec, ds.n_features, seed=seed, dtype=dtype, backend=backend, sampling=sampling)
            self.compile_seconds = _compile(spec.kernels, dtype)
        except BaseException:
            self.close()
            raise

    def memory(self) -> Any:
        return None if self._device_peak is None else _until_exit(self._device_peak)

    def synchronize(self) -> None:
        self.device.synchronize()

    def fit(self, on_epoch: Callable[[], None]) -> list[float]:
        def callback(*_: Any) -> bool:
            on_epoch()
            return False  # a true value would stop training early

        spec = self.spec
        return self.net.fit(self.ds.x_train, self.ds.y_train, epochs=spec.epochs, learning_rate=spec.learning_rate,
                            sample_size=spec.batch_size, include_logs=False, callback=callback)

    def predict(self) -> np.ndarray:
        return np.asarray(self.net.predict(self.ds.x_test))  # host memory: the copy ends the GPU work

    def fields(self, predicted: np.ndarray) -> dict[str, Any]:
        metrics = self.net.evaluate(self.ds.x_test, self.ds.y_test)
        return {"backend": self.backend, "device": self.device.device_name(),
                "threads": self.net.fit_threads if self.backend == "numpy" else None,
                "kernels": self.spec.kernels, "whole_epoch_kernel": self.net.fit_whole_epochs,
                "test_loss": float(metrics["loss"])}

    def close(self) -> None:
        if self._device_peak is not None and self._device_peak.mb is None:
            self._device_peak.__exit__(None, None, None)


@contextlib.contextmanager
def _until_exit(peak: Any) -> Iterator[Any]:
    """The already entered DevicePeak, left when the harness's measurement ends."""
    try:
        yield peak
    finally:
        peak.__exit__(None, None, None)


def _device_peak() -> Any:
    """CuPy's high-water mark of device bytes in use (experiments.models.device_memory)."""
    from .device_memory import DevicePeak
    return DevicePeak()


def _compile(kernels: str, dtype: str) -> float | None:
    """Compile the fused kernels ahead of the timed fit, as torch_compiled and keras_tuned compile
    theirs (plain keras traces inside its fit_seconds, shown as first_epoch_seconds); the seconds
    it took, or None with NumPy's kernels (nothing to compile)."""
    if kernels == "numpy":
        return None
    from mlp_impl import fused
    return fused.warm_up(dtype)
