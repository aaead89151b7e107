"""The network: ``NN(layers, loss, optimizer)`` with the article's ``fit``/``predict`` API.

All kernels and biases live in one flat buffer (layer l is the contiguous block [W_l; b_l] of
shape (in + 1, out)) and all gradients in a second buffer of the same layout, so optimizers and
penalties touch whole buffers and the per-step work is a fixed list of in-place calls
(see ``training.Workspace``).
"""

from __future__ import annotations

import contextlib
import copy
import functools
from typing import Any, Callable, Sequence

import numpy as np


from . import activations, initializers, interrupts, losses, optimizers, parallel, pcg64, validation
from . import sampling as sampling_schemes
from .backend import Backend, get_backend
from .layers import Dense
from .regularizers import Penalty
from .training import Workspace


# standard: all gradients from the step's starting weights (Keras); article: its Layer.backward
BACKPROP = ("standard", "article")
# numpy: one NumPy call per elementwise pass (the reference); fused: Numba loops (see ``fused``)
KERNELS = ("numpy", "fused")


class NN:
    """A multilayer perceptron trained by minibatch gradient descent.

    Parameters mirror the article (``layers``, ``loss``, ``optimizer``) plus what it leaves
    implicit: weight ``initializer``, ``dtype`` (float32 or float64), ``seed`` of the network's
    own random generator (weights and minibatches; no global random state), ``backend``
    ("numpy" or "cupy"), minibatch ``sampling`` ("shuffle", "article", "sequential") and the
    L1/L2 kernel penalties ``l1``/``l2``, the update order ``backprop`` ("standard", or
    "article": each layer updated before the error for the layer below is computed, see BACKPROP),
    the output delta ``loss_gradient`` ("standard", or "article": the article's loss derivatives,
    see ``losses``),
    and ``threads``: how many CPU threads a training step splits its minibatch rows over (NumPy,
    standard backprop; see ``parallel``). None picks as many as BLAS has cores when a step is large
    enough to pay, 1 keeps every step on one thread. Results agree across thread counts up to
    float rounding and are reproducible for a given count. ``kernels`` ("numpy" or "fused") picks
    how the elementwise work runs: NumPy calls, or one Numba loop per fused piece of work
    (``fused``: CPU only, needs Numba). Both give the same steps up to float rounding.
    """

    # A training set up to this size is copied once per fit with a ones column appended, which
    # saves two small calls per step; a larger one is used in place (no copy of, say, MNIST).
    AUGMENT_MAX_BYTES = 1 << 23

    def __init__(
        self,
        layers: Sequence[Dense],
        loss: str = "mse",
        optimizer: str | optimizers.Optimizer | None = None,
        initializer: str = "xavier",
        dtype: str = "float32",
        seed: int | None = None,
        backend: str = "numpy",
        sampling: str = "shuffle",
        l1: float = 0.0,
        l2: float = 0.0,
        backprop: str = "standard",
        threads: int | None = None,
        kernels: str = "numpy",
        loss_gradient: str = "standard",
    ) -> None:
        self.kernels = kernels = validation.known_name("kernels", kernels, KERNELS)
        self.layers = _check_layers(layers)
        self.threads = None if threads is None else validation.positive_int("threads", threads)
        if kernels == "fused":
            from . import fused

            fused.require(backend)
        self.backprop = validation.known_name("backprop", backprop, BACKPROP)
        self.loss = losses.get(loss)
        losses.check_pairing(self.loss, self.layers[-1].activation)
        self.loss_gradient = losses.check_gradient(self.loss, loss_gradient)
        self.optimizer = optimizers.get("sgd" if optimizer is None else optimizer)
        initializers.get(initializer)
        self.initializer = initializer
        self.dtype = validation.float_dtype(dtype)
        self.seed = validation.seed(seed)
        self._generator = np.random.default_rng(self.seed)  # read through ``_rng``
        self.sampling = sampling_schemes.get(sampling)
        self.penalty = Penalty(l1, l2)
        if kernels == "fused":
            self.optimizer, self.penalty = fused.optimizer(self.optimizer), fused.Penalty(l1, l2)
        self.backend: Backend = get_backend(backend)
        self.built = False
        self._workspaces: dict[tuple[int, bool], Workspace] = {}
        self._split_steps: dict[tuple[int, bool, int], parallel.SplitStep] = {}
        self.fit_threads: int | None = None  # threads the last fit's largest steps ran on
        self.fit_whole_epochs: bool | None = None  # whether the last fit ran each epoch as one fused call
        self._fitting = False  # a fit is running (its callback may not start another)
        if self.layers[0].input_dim is not None:
            self.build(self.layers[0].input_dim)

    @property
    def _rng(self) -> np.random.Generator:
        """The network's generator (weights, minibatch orders), up to date: a fused fit draws the
        orders from a copy of its state and writes it back when it is read (``pcg64.release``),
        not after every epoch (docs/fused_kernels.md)."""
        pcg64.release(self._generator)
        return self._generator

    def __copy__(self) -> "NN":
        """A shallow copy, as Python's: a built network's copy shares its weights, optimizer and
        generator (fitting either trains both; ``copy.deepcopy`` gives an independent network).
        Unbuilt, there are no weights to share yet: the copy gets its own layers, optimizer and
        penalty, so building one leaves the other's weights alone, but the generator is still
        shared, so which is built or fitted first changes both one's draws. The generator comes up
        to date (say in a fit's callback), and the copy is not being fitted, whatever the original is."""
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__dict__, _generator=self._rng, _fitting=False)
        if not self.built:
            twin.layers = [copy.copy(layer) for layer in self.layers]
            twin.optimizer, twin.penalty = self.optimizer.clone(), copy.copy(self.penalty)
            twin._workspaces, twin._split_steps = {}, {}
        return twin

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as ``save`` writes it (``serialization.state``: settings, weights, optimizer and
        generator state), rebuilt by ``serialization.restore`` into a network of its own class,
        with the attributes set on it from outside and what its last fit was (``_extras``)."""
        from . import serialization

        header, arrays = serialization.state(self)
        return serialization.restore, (header, arrays, None, "the pickled network", type(self)), self._extras()

    def __deepcopy__(self, memo: dict[int, Any]) -> "NN":
        """As pickled (``__reduce__``), and what the network shares with its neighbours in the
        copied container stays shared in the copy: its layers, optimizer, penalty, buffers and
        generator are the copy's (a layer copied beside its network is the copy's layer)."""
        from . import serialization

        twin = serialization.restore(*serialization.state(self), cls=type(self))
        memo[id(self)] = twin
        parts = [(self.optimizer, twin.optimizer), (self.penalty, twin.penalty), (self._generator, twin._generator),
                 *zip(self.layers, twin.layers)]
        if self.built:
            parts += [(self.params, twin.params), (self.grads, twin.grads)]
        for mine, theirs in parts:
            memo[id(mine)] = theirs
        twin.__dict__.update(copy.deepcopy(self._extras(), memo))
        return twin

    def _extras(self) -> dict[str, Any]:
        """What a copy rebuilt from the saved state lacks: attributes set on this network from
        outside (a subclass's own among them), and what its last fit was."""
        extras = {key: value for key, value in self.__dict__.items() if key not in _own_attributes()}
        return {**extras, "fit_threads": self.fit_threads, "fit_whole_epochs": self.fit_whole_epochs}

    # ----------------------------------------------------------------- building
    def build(self, input_dim: int) -> None:
        """Allocate and initialise the weights for ``input_dim`` input features (draws on the CPU
        from the network's generator, then one move to the device)."""
        input_dim = validation.positive_int("input_dim", input_dim)
        if self.built:
            if input_dim != self.widths[0]:
                raise ValueError(f"network is built for {self.widths[0]} inputs, got {input_dim}: pass matching data")
            return
        widths = [input_dim] + [layer.units for layer in self.layers]
        offsets = np.cumsum([0] + [(i + 1) * o for i, o in zip(widths[:-1], widths[1:])])
        host = np.zeros(int(offsets[-1]))
        mask = np.zeros(int(offsets[-1]))
        for l, layer in enumerate(self.layers):
            fan_in, fan_out, start = widths[l], widths[l + 1], int(offsets[l])
            init = initializers.get(layer.kernel_initializer or self.initializer)
            host[start : start + fan_in * fan_out] = init(self._rng, fan_in, fan_out).ravel()
            mask[start : start + fan_in * fan_out] = 1.0
        bk, xp = self.backend, self.backend.xp
        self.widths = widths
        self.params = bk.asarray(host.astype(self.dtype))
        self.grads = xp.zeros_like(self.params)
        self._block_shapes = [(i + 1, o) for i, o in zip(widths[:-1], widths[1:])]
        self.block_ranges = [(int(offsets[l]), int(offsets[l + 1])) for l in range(len(self._block_shapes))]
        self.param_blocks = self.blocks_of(self.params)
        self.grad_blocks = self.blocks_of(self.grads)
        for layer, block in zip(self.layers, self.param_blocks):
            layer.input_dim = layer.input_dim or block.shape[0] - 1
            layer.bind(block[:-1], block[-1], bk)
        self.optimizer.build(bk, self.params, self.grads)
        self.penalty.build(bk, self.params, self.grads, bk.asarray(mask.astype(self.dtype)))
        self.built = True

    def blocks_of(self, flat: Any) -> list[Any]:
        """Per-layer (in + 1, out) views [W; b] of a flat buffer laid out like the parameters."""
        return [flat[start:stop].reshape(shape) for (start, stop), shape in zip(self.block_ranges, self._block_shapes)]

    @property
    def n_params(self) -> int:
        """Number of trainable parameters (kernels and biases)."""
        return int(self.params.size) if self.built else 0

    # ----------------------------------------------------------------- training
    def fit(
        self,
        x: Any,
        y: Any,
        epochs: int,
        learning_rate: float = 0.01,
        sample_size: int = 32,
        include_logs: bool = False,
        callback: Callable[[int, float], Any] | None = None,
    ) -> list[float]:
        """Train; return the mean training loss of each epoch (Python floats, read from the
        device once per epoch). ``sample_size`` is the minibatch size. ``callback(epoch, loss)``
        runs after each epoch; a true return value stops training. It may save or copy the
        network, not fit it: a fit started from the callback is refused. Ctrl-C stops the fit once
        the step it lands in has ended, never inside one (``interrupts``)."""
        if self._fitting:
            raise ValueError("NN.fit was called while this network is being fitted (from its callback?): return "
                             "True from the callback to stop that fit, then call fit again")
        epochs = validation.positive_int("epochs", epochs)
        learning_rate = validation.positive_float("learning_rate", learning_rate)
        sample_size = validation.positive_int("sample_size", sample_size)
        if callback is not None and not callable(callback):
            raise ValueError(f"callback must be callable(epoch, loss) or None, got {callback!r}")
        x_dev, y_dev = self._training_arrays(x, y)
        sampler = sampling_schemes.Sampler(self.sampling, x_dev.shape[0], sample_size, self._rng, self.backend)
        augmented = x_dev.shape[1] > self.widths[0]
        whole = self._whole_epoch(sampler.batch_size)
        threads = {m: 1 if whole else self._step_threads(m) for m in set(sampler.sizes)}
        self.fit_threads = max(threads.values())
        self.fit_whole_epochs = whole is not None
        history: list[float] = []
        with parallel.cpu_threads(max(threads.values())) as pool, contextlib.ExitStack() as stack:
            self._fitting = True
            stack.callback(setattr, self, "_fitting", False)
            whole_epoch = None if whole is None else stack.enter_context(
                whole.epochs(x_dev, y_dev, sampler, learning_rate))
            steps = stack.enter_context(interrupts.held_during_steps())  # Ctrl-C never halves a step
            for epoch in range(epochs):
                if whole_epoch is not None:
                    steps.begin()
                    total: Any = whole_epoch()
                    steps.end()
                else:
                    total = 0.0
                    for idx in sampler.epoch():
                        m = idx.shape[0]
                        steps.begin()
                        if threads[m] > 1:
                            loss = self._split_step(m, augmented, threads[m]).step(x_dev, y_dev, idx, learning_rate, pool)
                        else:
                            ws = self._workspaces.get((m, augmented)) or self._workspace(m, augmented)
                            loss = ws.step(x_dev, y_dev, idx, learning_rate)
                        total = total + loss * m
                        steps.end()
                loss = float(total) / sampler.examples_per_epoch
                history.append(loss)
                if include_logs:
                    print(f"epoch {epoch + 1}/{epochs} loss: {loss:.6f}")
                if callback is not None and callback(epoch, loss):
                    break
        return history

    def gradients(self, x: Any, y: Any) -> tuple[float, list[np.ndarray]]:
        """Loss (plus penalty) and its gradients [dW1, db1, ...] on the whole of (x, y), without
        updating anything: the training step's own backward pass (the fused whole-epoch kernel's
        where a full batch would run there), exposed for checking."""
        x_dev, y_dev = self._training_arrays(x, y)
        n = x_dev.shape[0]
        whole = self._whole_epoch(n)
        if whole is not None:
            loss = whole.gradients(x_dev, y_dev)
        else:
            idx = self.backend.asarray(np.arange(n))
            loss = float(Workspace(self, n, x_dev.shape[1] > self.widths[0]).compute(x_dev, y_dev, idx))
        grads = []
        for block in self.grad_blocks:
            host = np.array(self.backend.to_numpy(block))
            grads += [host[:-1], host[-1]]
        return loss, grads

    def _whole_epoch(self, batch_size: int) -> Any:
        """The fused one-call epoch for this batch size (``fused.WholeEpoch``), or None: only fused
        kernels with small steps qualify; the rest run step by step."""
        if self.kernels != "fused":
            return None
        from . import fused

        return fused.WholeEpoch(self, batch_size) if fused.WholeEpoch.fits(self, batch_size) else None

    def _workspace(self, m: int, augmented: bool) -> Workspace:
        ws = self._workspaces[m, augmented] = Workspace(self, m, augmented)
        return ws

    def _split_step(self, m: int, augmented: bool, threads: int) -> parallel.SplitStep:
        """The cached split step for this batch size and thread count (built on first use)."""
        key = (m, augmented, threads)
        if key not in self._split_steps:
            self._split_steps[key] = parallel.SplitStep(self, m, augmented, threads)
        return self._split_steps[key]

    def _step_threads(self, m: int) -> int:
        """Threads a step of m rows runs on: 1 unless NumPy with the standard backprop."""
        if self.backend.name != "numpy" or self.backprop != "standard":
            return 1
        if self.kernels == "fused" and not fused_splits():
            return 1
        return parallel.split_threads(self.threads, m, self.n_params)

    def _training_arrays(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Validated, C-contiguous device arrays in the network's dtype, y 2-D; x gets a ones
        column when small (``AUGMENT_MAX_BYTES``), else it is not copied when already fit."""
        bk, xp = self.backend, self.backend.xp
        x = validation.features(bk, x, self.widths[0] if self.built else self.layers[0].input_dim, self.dtype)
        y = validation.targets(bk, y, x.shape[0], self.layers[-1].units, self.loss, self.dtype)
        self.build(x.shape[1])
        n, d = x.shape
        if n * (d + 1) * self.dtype.itemsize <= self.AUGMENT_MAX_BYTES:
            x_dev = xp.empty((n, d + 1), dtype=self.dtype)
            x_dev[:, :d] = bk.asarray(x)
            x_dev[:, d] = 1
        else:
            x_dev = xp.ascontiguousarray(bk.asarray(x, dtype=self.dtype))
        return x_dev, xp.ascontiguousarray(bk.asarray(y, dtype=self.dtype))

    # ----------------------------------------------------------------- inference
    def _features(self, x: Any) -> Any:
        """Checked inference input (the network must have weights)."""
        if not self.built:
            raise ValueError("the network has no weights yet: call fit, build(input_dim) or set_weights first")
        return validation.features(self.backend, x, self.widths[0], self.dtype)

    def _logits(self, x: Any) -> Any:
        """Output-layer pre-activations for checked features ``x`` (device array); allocates."""
        bk = self.backend
        a = bk.asarray(x, dtype=self.dtype)
        for l, layer in enumerate(self.layers):
            z = a @ layer.W
            z += layer.b
            if l == len(self.layers) - 1:
                return z
            a = activations.get(layer.activation).apply(bk, z)
        raise AssertionError("unreachable")

    def predict(self, x: Any) -> np.ndarray:
        """Network outputs for ``x`` as a host NumPy array of shape (n, output units)."""
        z = self._logits(self._features(x))
        return self.backend.to_numpy(activations.get(self.layers[-1].activation).apply(self.backend, z))

    def evaluate(self, x: Any, y: Any) -> dict[str, Any]:
        """Loss plus penalty, accuracy and misclassified count on (x, y). The loss is the standard
        one, as ``fit`` reports it with ``loss_gradient="standard"``; with "article", ``fit``
        reports the article's form (the log of p plus a small epsilon, ``losses``), which differs
        where p nears 0 or 1.

        Classes are read as in Keras: one output unit means p > 0.5 is class 1, several mean argmax.
        """
        bk, xp = self.backend, self.backend.xp
        x = self._features(x)  # x and y both checked before the forward pass runs
        y = bk.asarray(validation.targets(bk, y, x.shape[0], self.layers[-1].units, self.loss, self.dtype),
                       dtype=self.dtype)
        z = self._logits(x)
        value, p = losses.evaluate_loss(bk, self.loss, self.layers[-1].activation, z, y)
        if self.penalty.active:
            value = value + self.penalty.loss()
        if p.shape[1] == 1:
            wrong = int(xp.count_nonzero((p > 0.5) != (y > 0.5)))
        else:
            wrong = int(xp.count_nonzero(xp.argmax(p, axis=1) != xp.argmax(y, axis=1)))
        n = int(p.shape[0])
        return {"loss": float(value), "accuracy": (n - wrong) / n, "misclassified": wrong}

    # ----------------------------------------------------------------- weights
    def get_weights(self) -> list[np.ndarray]:
        """Host copies [W1, b1, W2, b2, ...], kernels of shape (in, out) like Keras's."""
        if not self.built:
            return []
        out: list[np.ndarray] = []
        for layer in self.layers:
            out += [np.array(self.backend.to_numpy(layer.W)), np.array(self.backend.to_numpy(layer.b))]
        return out

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Copy [W1, b1, ...] (Keras layout) into the network, building it when needed. Every
        array is checked first, so a rejected call changes nothing (and builds nothing)."""
        weights = [validation.as_array(self.backend, "weights", w) for w in weights]
        if len(weights) != 2 * len(self.layers):
            raise ValueError(f"expected {2 * len(self.layers)} arrays [W1, b1, ...], got {len(weights)}")
        input_dim = self.widths[0] if self.built else self.layers[0].input_dim
        if input_dim is None:  # unbuilt, no declared input: W1's rows say it
            input_dim = weights[0].shape[0] if weights[0].ndim == 2 and weights[0].shape[0] > 0 else "inputs"
        widths = [input_dim] + [layer.units for layer in self.layers]
        for l in range(len(self.layers)):
            for label, arr, shape in ((f"W{l + 1}", weights[2 * l], (widths[l], widths[l + 1])),
                                      (f"b{l + 1}", weights[2 * l + 1], (widths[l + 1],))):
                if tuple(arr.shape) != shape:
                    raise ValueError(f"{label} has shape {tuple(arr.shape)}, expected ({', '.join(map(str, shape))}"
                                     f"{',' if len(shape) == 1 else ''}): pass [W1, b1, ...] with kernels of "
                                     "shape (inputs, units) as get_weights returns them")
                validation.finite(self.backend, label, arr, fix="pass finite weights", dtype=self.dtype)
        if not self.built:
            self.build(input_dim)
        for l, layer in enumerate(self.layers):
            layer.W[...] = self.backend.asarray(weights[2 * l], dtype=self.dtype)
            layer.b[...] = self.backend.asarray(weights[2 * l + 1], dtype=self.dtype)

    def save(self, path: Any) -> None:
        """Write architecture, weights and optimizer to one ``.npz`` file (exact round trip)."""
        from .serialization import save

        save(self, path)

    def load_weights(self, path: Any) -> None:
        """Load weights (and optimizer state) saved from a network of the same architecture;
        ValueError when the file describes another network."""
        from .serialization import load_weights

        load_weights(self, path)

    @classmethod
    def load(cls, path: Any, backend: str | None = None) -> "NN":
        """Rebuild a saved network as this class (on ``backend``, default the saved one)."""
        from .serialization import load

        return load(path, backend=backend, cls=cls)

    def get_config(self) -> dict[str, Any]:
        """Everything but the weights: enough to rebuild the network."""
        return {
            "layers": [layer.get_config() for layer in self.layers],
            "loss": self.loss,
            "optimizer": {"name": self.optimizer.name, "config": self.optimizer.get_config()},
            "initializer": self.initializer,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "backend": self.backend.name,
            "sampling": self.sampling,
            "l1": self.penalty.l1,
            "l2": self.penalty.l2,
            "backprop": self.backprop,
            "loss_gradient": self.loss_gradient,
            "threads": self.threads,
            "kernels": self.kernels,
        }

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"NN([{inner}], loss={self.loss!r}, optimizer={self.optimizer!r})"


@functools.lru_cache(maxsize=None)
def _own_attributes() -> frozenset[str]:
    """The attributes a built network sets itself: those a copy rebuilt from the saved state has anew."""
    return frozenset(NN([Dense(1, input_dim=1)]).__dict__)


def fused_splits() -> bool:
    """Whether fused steps may be split over rows (``fused.splits``; Numba imported only here)."""
    from . import fused

    return fused.splits()


def _check_layers(layers: Sequence[Dense]) -> list[Dense]:
    """The layer list, checked: non-empty, all Dense, widths that chain."""
    try:
        given = [] if isinstance(layers, Dense) else list(layers)
    except TypeError:  # not a sequence at all
        given = []
    if not given:
        raise ValueError("layers must be a non-empty list of Dense/Layer objects")
    layers = [copy.copy(layer) for layer in given]  # a layer list can seed several networks
    for l, layer in enumerate(layers):
        if not isinstance(layer, Dense):
            raise ValueError(f"layer {l + 1} is {type(layer).__name__}, not Dense/Layer: build layers with Dense(units, ...)")
        previous = layers[l - 1].units if l else None
        if previous is not None and layer.input_dim is not None and layer.input_dim != previous:
            raise ValueError(
                f"layer {l + 1} takes {layer.input_dim} inputs but layer {l} gives {previous}: "
                f"make Layer({previous}, ...) or use Dense(units) to infer it"
            )
    return layers
