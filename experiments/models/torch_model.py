"""The equivalent PyTorch network (nn.Sequential of Linear + activations), built from the same ModelSpec.

Why a hand-written loop and not a DataLoader: the data sets fit in memory, so tensors are converted
once (inside the fit clock, as the other implementations convert theirs), minibatches are gathered
with `index_select`, gradients are dropped with `zero_grad(set_to_none=True)` and the epoch loss is
summed on the device and read once per epoch (no per-step `.item()` synchronization). Threads are
left at torch's default (all cores). PyTorch is imported lazily, so choosing `mlp` never loads it.

Numerics: losses are Keras's. After a sigmoid or softmax output both cross-entropies take the
logits (binary -> `binary_cross_entropy_with_logits`, categorical -> `cross_entropy`, class-index
targets when one-hot), because Keras reads the logits behind those activations even after the
"wrong" one of the two. Other outputs get the activation and the plain loss: probabilities
clipped to [1e-7, 1 - 1e-7], and for categorical cross-entropy each row first divided by its
sum. L1/L2 penalties go on the kernels only, added to the loss as in mlp_impl and Keras. Adam
follows the spec's `adam_variant` (see `build_optimizer`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from mlp_impl.backend import cpu_model

from .adapter import Adapter, Session
from .spec import ModelSpec, check_standard_algorithm

_CLIP = 1e-7  # Keras's epsilon for probabilities fed to a cross-entropy
_KERAS_LOGITS = ("sigmoid", "softmax")  # outputs whose logits Keras's cross-entropies read


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as ex:
        raise ValueError(f"PyTorch cannot be imported ({ex}): pip install -e '.[peers]' or drop torch and "
                         f"torch_compiled from impls") from None
    return torch


def _activation(torch: Any, name: str) -> Any:
    """The nn module for an activation name; None for linear (nothing to apply)."""
    nn = torch.nn
    return {"linear": lambda: None, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
            "softmax": lambda: nn.Softmax(dim=1)}[name]()


def initialize(torch: Any, weight: Any, name: str) -> None:
    """Fill a Linear weight (out, in) in place like mlp_impl's initializer `name`.

    xavier is the article's normal with std sqrt(2/(in+out)) = xavier_normal_; glorot_uniform =
    xavier_uniform_; he = kaiming_normal_ (std sqrt(2/in)); uniform on +-0.05; zeros.
    """
    init = torch.nn.init
    {"xavier": lambda w: init.xavier_normal_(w), "glorot_uniform": lambda w: init.xavier_uniform_(w),
     "he": lambda w: init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu"),
     "uniform": lambda w: init.uniform_(w, -0.05, 0.05), "zeros": lambda w: init.zeros_(w)}[name](weight)


def build_network(torch: Any, spec: ModelSpec, n_features: int) -> tuple[Any, Any]:
    """(body, output activation): body is every layer but the output activation, which is returned
    separately (None for linear) so the loss can take logits. Weights are drawn on the CPU."""
    modules: list[Any] = []
    widths = spec.widths(n_features)
    for layer, n_in in zip(spec.layers, widths[:-1]):
        linear = torch.nn.Linear(n_in, layer.units)
        with torch.no_grad():
            initialize(torch, linear.weight, spec.initializer)
            linear.bias.zero_()
        modules.append(linear)
        act = _activation(torch, layer.activation)
        if act is not None:
            modules.append(act)
    output = modules.pop() if spec.layers[-1].activation != "linear" else None
    return torch.nn.Sequential(*modules), output


def _class_index(y: np.ndarray) -> np.ndarray:
    """One-hot rows to class indices (what `cross_entropy` takes fastest)."""
    return y.argmax(axis=1).astype(np.int64)


def make_loss(torch: Any, spec: ModelSpec, output: Any, y_train: np.ndarray
              ) -> tuple[Callable[[Any, Any], Any], Callable[[np.ndarray], np.ndarray]]:
    """(loss(logits, target), y -> target), computed as Keras computes it.

    Keras 3 keeps the logits behind a sigmoid or softmax output and a cross-entropy reads them
    whichever of the two activations it follows, so both cross-entropies take the logits after
    either one: the fused forms (class-index targets when the training targets are one-hot).
    Any other output: activation, then the plain loss."""
    F, act = torch.nn.functional, spec.layers[-1].activation
    same = lambda y: y  # noqa: E731
    if spec.loss == "binary_crossentropy" and act in _KERAS_LOGITS:
        return F.binary_cross_entropy_with_logits, same
    if spec.loss == "categorical_crossentropy" and act in _KERAS_LOGITS:
        one_hot = bool(np.all((y_train == 0) | (y_train == 1)) and np.all(y_train.sum(axis=1) == 1))
        return F.cross_entropy, _class_index if one_hot else same  # soft targets: probabilities
    apply = output if output is not None else same
    if spec.loss == "mse":
        return (lambda z, t: F.mse_loss(apply(z), t)), same
    if spec.loss == "mae":
        return (lambda z, t: F.l1_loss(apply(z), t)), same
    if spec.loss == "binary_crossentropy":
        return (lambda z, t: F.binary_cross_entropy(apply(z).clamp(_CLIP, 1 - _CLIP), t)), same
    return (lambda z, t: categorical_crossentropy(apply(z), t)), same


def categorical_crossentropy(p: Any, t: Any) -> Any:
    """Keras's categorical cross-entropy on probabilities (outputs other than sigmoid or softmax):
    each row is divided by its sum before clipping to [1e-7, 1 - 1e-7], as Keras does."""
    p = p / p.sum(dim=1, keepdim=True)
    return -(t * p.clamp(_CLIP, 1 - _CLIP).log()).sum(dim=1).mean()


def make_penalty(spec: ModelSpec, body: Any) -> Callable[[], Any] | None:
    """l1 * sum|W| + l2 * sum(W^2) over the kernels (not biases), or None when both are zero."""
    if not (spec.l1 or spec.l2):
        return None
    kernels = [m.weight for m in body if hasattr(m, "weight")]

    def penalty() -> Any:
        total = 0.0
        for w in kernels:
            if spec.l2:
                total = total + spec.l2 * w.square().sum()
            if spec.l1:
                total = total + spec.l1 * w.abs().sum()
        return total
    return penalty


def build_optimizer(torch: Any, spec: ModelSpec, params: Any) -> Any:
    """torch.optim with the spec's settings, `fused=True` (one kernel for all parameters: about 30%
    faster per Titanic step on the CPU than the default foreach path, same update rule).

    Adam: torch adds eps to the bias-corrected sqrt(v_hat), which is `adam_variant="article"` as
    is. Keras and mlp_impl's default ("keras") add it to the uncorrected sqrt(v); that update is
    torch's with eps_t = eps / sqrt(1 - beta_2^t) at step t, so for "keras" a step pre-hook sets
    the group's eps before each step (the fused kernel is kept). Without it the two differ by that
    factor in eps: 31.6x at step 1, 3.2x at step 100, 1.26x at step 1,000.
    """
    optim = torch.optim
    if spec.optimizer == "sgd":
        return optim.SGD(params, lr=spec.learning_rate, momentum=spec.momentum, fused=True)
    optimizer = optim.Adam(params, lr=spec.learning_rate, eps=spec.adam_epsilon,
                           amsgrad=spec.optimizer == "amsgrad", fused=True)
    if spec.adam_variant == "keras":
        optimizer.register_step_pre_hook(keras_epsilon(spec.adam_epsilon))
    return optimizer


def keras_epsilon(epsilon: float) -> Callable[[Any, Any, Any], None]:
    """A step pre-hook that sets each group's eps to epsilon / sqrt(1 - beta_2^t) for step t.

    Counts its own steps (reading torch's step tensor would wait for the GPU); every step of
    `fit` updates all parameters, so the count is torch's.
    """
    steps = 0

    def set_eps(optimizer: Any, args: Any, kwargs: Any) -> None:
        nonlocal steps
        steps += 1
        for group in optimizer.param_groups:
            group["eps"] = epsilon / math.sqrt(1.0 - group["betas"][1] ** steps)
    return set_eps


def epoch_batches(torch: Any, n: int, batch_size: int, sampling: str, gen: Any) -> Callable[[], list[Any]]:
    """A function giving the next epoch's minibatch index tensors, as in mlp_impl.sampling:
    shuffle (one randperm per epoch, last partial batch kept), sequential, or article (ceil(n/b)
    batches, each drawn independently without replacement)."""
    b, device = min(batch_size, n), gen.device
    if sampling == "sequential":
        fixed = list(torch.arange(n, device=device).split(b))
        return lambda: fixed
    if sampling == "shuffle":
        return lambda: list(torch.randperm(n, generator=gen, device=device).split(b))
    if sampling == "article":  # drawn on the CPU: a randperm of all n rows per batch is O(n) each
        count = math.ceil(n / b)
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=gen, device=device)))

        def draws() -> list[Any]:
            rows = np.concatenate([rng.choice(n, b, replace=False) for _ in range(count)])
            return list(torch.from_numpy(rows).to(device).split(b))
        return draws
    raise ValueError(f"unknown sampling '{sampling}'; valid: shuffle, article, sequential")


def fit(body: Any, loss_fn: Callable[[Any, Any], Any], optimizer: Any, x: Any, y: Any,
        batches: Callable[[], list[Any]], epochs: int, penalty: Callable[[], Any] | None = None,
        on_epoch: Callable[[], None] | None = None) -> list[float]:
    """Train; return the mean (row-weighted) training loss of each epoch, penalty included."""
    history: list[float] = []
    for _ in range(epochs):
        total = x.new_zeros(())
        rows = 0
        for idx in batches():
            loss = loss_fn(body(x.index_select(0, idx)), y.index_select(0, idx))
            if penalty is not None:
                loss = loss + penalty()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            m = idx.shape[0]
            total.add_(loss.detach(), alpha=m)
            rows += m
        history.append(total.item() / rows)  # the one host read of the epoch
        if on_epoch is not None:
            on_epoch()
    return history


@dataclass
class Setup:
    """Everything a run needs, built before the clock starts."""

    torch: Any
    device: Any
    dtype: str
    body: Any
    output: Any
    loss_fn: Callable[[Any, Any], Any]
    to_target: Callable[[np.ndarray], np.ndarray]
    penalty: Callable[[], Any] | None
    optimizer: Any
    batches: Callable[[], list[Any]]

    def tensor(self, a: np.ndarray) -> Any:
        """`a` on the run's device (floats in the run's dtype), sharing host memory where it can."""
        a = a.astype(self.dtype, copy=False) if a.dtype.kind == "f" else a
        if not (a.flags.writeable and a.flags.c_contiguous):  # torch shares memory only with writable arrays
            a = np.array(a, order="C")
        return self.torch.from_numpy(a).to(device=self.device)

    def sync(self) -> None:
        """Wait for queued GPU work (before a clock stops); nothing to wait for on the CPU."""
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)


def prepare(spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str) -> Setup:
    """Seeded network, loss, penalty, optimizer and minibatch schedule on the backend's device."""
    torch = _import_torch()
    device = torch.device("cuda" if backend == "torch-cuda" else "cpu")
    torch.manual_seed(seed)  # initial weights, drawn on the CPU so both devices start alike
    body, output = build_network(torch, spec, ds.n_features)
    body.to(device=device, dtype={"float32": torch.float32, "float64": torch.float64}[dtype])
    loss_fn, to_target = make_loss(torch, spec, output, ds.y_train)
    gen = torch.Generator(device=device).manual_seed(seed)
    return Setup(torch, device, dtype, body, output, loss_fn, to_target, make_penalty(spec, body),
                 build_optimizer(torch, spec, body.parameters()),
                 epoch_batches(torch, len(ds.x_train), spec.batch_size, sampling, gen))


class Torch(Adapter):
    """nn.Sequential with a hand-written loop; `compiled`: the torch_compiled variant (torch_compiled.py)."""

    def __init__(self, compiled: bool = False) -> None:
        self.compiled = compiled

    def check_available(self, backend: str) -> None:
        """PyTorch installed (torch-cpu asks without importing it) and CUDA for torch-cuda (the
        compiled variant's compiler is checked by check_plan: only steps that compile need one)."""
        if importlib.util.find_spec("torch") is None:
            raise ValueError(f"impls=[{self.name}] needs PyTorch, which is not installed: pip install -e '.[peers]' "
                             f"(pins torch==2.13.0) or drop {self.name} from impls")
        if backend == "torch-cuda":
            torch = _import_torch()
            if not torch.cuda.is_available():
                raise ValueError(f"{self.name} on the GPU (backend=cupy) needs CUDA, but torch.cuda.is_available() is "
                                 f"False (torch {torch.__version__}); use backend=numpy for torch on the CPU")

    def check_plan(self, spec: ModelSpec, ds: Any, backend: str) -> None:
        """The article's backprop order and loss gradient (autograd has neither; adam_variant it
        follows); for the compiled variant, the compiler torch.compile runs where its steps compile."""
        check_standard_algorithm(spec, self.name)
        if self.compiled:
            from .torch_compiled import check_compiler
            check_compiler(spec, ds, backend)

    def start(self, spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
              **options: Any) -> "TorchSession":
        run = prepare(spec, ds, seed=seed, dtype=dtype, sampling=sampling, backend=backend)
        session = TorchSession(run, spec, ds)
        if self.compiled:
            from .torch_compiled import compile_for
            try:
                session.body, session.compile_seconds = compile_for(run, spec, ds, session.settings)
            except BaseException:
                session.close()
                raise
        return session


class TorchSession(Session):
    """A seeded network, loss, optimizer and batch schedule on its device; `body` is what fit
    trains (run.body, or its compiled form sharing run.body's weights)."""

    def __init__(self, run: Setup, spec: ModelSpec, ds: Any) -> None:
        self.run, self.spec, self.ds, self.body = run, spec, ds, run.body
        self.cuda = run.device.type == "cuda"
        self.settings = contextlib.ExitStack()  # process-wide settings made for this run, undone by close()
        self._logits: Any = None

    def memory(self) -> Any:
        return _CudaPeak(self.run) if self.cuda else None

    def synchronize(self) -> None:
        self.run.sync()

    def fit(self, on_epoch: Callable[[], None]) -> list[float]:
        run = self.run
        x, y = run.tensor(self.ds.x_train), run.tensor(run.to_target(self.ds.y_train))  # conversion is part of the fit
        return fit(self.body, run.loss_fn, run.optimizer, x, y, run.batches, self.spec.epochs, run.penalty, on_epoch)

    def predict(self) -> np.ndarray:
        run = self.run
        with run.torch.inference_mode():
            self._logits = z = run.body(run.tensor(self.ds.x_test))
            return (run.output(z) if run.output is not None else z).cpu().numpy()  # the copy ends the GPU work

    def fields(self, predicted: np.ndarray) -> dict[str, Any]:
        run, torch = self.run, self.run.torch
        with torch.inference_mode():
            test_loss = run.loss_fn(self._logits, run.tensor(run.to_target(self.ds.y_test)))
            test_loss = float(test_loss + (run.penalty() if run.penalty else 0.0))
        return {"backend": "torch-cuda" if self.cuda else "torch-cpu",
                "device": torch.cuda.get_device_name(run.device) if self.cuda else cpu_model(),
                "threads": None if self.cuda else torch.get_num_threads(), "test_loss": test_loss}

    def close(self) -> None:
        self.settings.close()


class _CudaPeak:
    """torch's own high-water mark of device memory allocated during the run, weights included."""

    def __init__(self, run: Setup) -> None:
        self.run, self.mb = run, None

    def __enter__(self) -> "_CudaPeak":
        self.run.torch.cuda.reset_peak_memory_stats(self.run.device)
        return self

    def __exit__(self, *exc: object) -> None:
        self.mb = round(self.run.torch.cuda.max_memory_allocated(self.run.device) / 2**20, 3)
