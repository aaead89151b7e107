"""Saving and loading networks: one ``.npz`` file with the architecture (JSON), the flat weight
buffer in its own dtype (so the round trip is exact) and the optimizer's state. Pickling and
``copy.deepcopy`` go through the same two steps (``state``, ``restore``), so a deep copy is the
network saved and loaded again.

Files are read with ``allow_pickle=False``: nothing in them can run code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "mlp_impl.NN"
VERSION = 1


def state(net: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """What a saved file holds: the header (architecture, settings, the generator's state) and
    the arrays (weights and optimizer state; none while the network is unbuilt)."""
    header = {"format": FORMAT, "version": VERSION, **net.get_config()}
    header["rng_state"] = net._rng.bit_generator.state  # so a loaded network resumes the same draws
    arrays: dict[str, np.ndarray] = {}
    if net.built:
        header["widths"] = list(net.widths)
        arrays["params"] = np.array(net.backend.to_numpy(net.params))  # a copy, not the live buffer
        for key, value in net.optimizer.get_state(net.backend).items():
            arrays[f"optimizer/{key}"] = value
    return header, arrays


def save(net: Any, path: str | Path) -> None:
    """Write ``net`` to ``path`` exactly as named (no ``.npz`` appended)."""
    if not net.built:
        raise ValueError("the network has no weights yet: fit or build it before saving")
    header, arrays = state(net)
    with open(path, "wb") as handle:
        np.savez(handle, architecture=np.array(json.dumps(header)), **arrays)


def _read(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of a saved network, or ValueError for any other file."""
    not_saved = f"{path} is not a saved mlp_impl network ({{}}): pass a file written by NN.save"
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"no saved network at {path}: check the path") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(not_saved.format(type(exc).__name__)) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(not_saved.format("a single array, not an .npz archive"))
    with data:
        arrays = {key: data[key] for key in data.files}
    if "architecture" not in arrays or "params" not in arrays:
        raise ValueError(not_saved.format("no architecture/params"))
    try:
        header = json.loads(str(arrays.pop("architecture")))
    except json.JSONDecodeError:
        raise ValueError(not_saved.format("unreadable architecture header")) from None
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ValueError(f"{path} has format {header.get('format')!r} v{header.get('version')}, expected {FORMAT!r} v{VERSION}")
    return header, arrays


def load(path: str | Path, backend: str | None = None, cls: type | None = None) -> Any:
    """A new network of class ``cls`` (default ``NN``) rebuilt from ``path``, on ``backend``
    (default: the one it was saved from)."""
    header, arrays = _read(path)
    return restore(header, arrays, backend, source=path, cls=cls)


def restore(header: dict[str, Any], arrays: dict[str, np.ndarray], backend: str | None = None,
            source: Any = "the copied network", cls: type | None = None) -> Any:
    """A new network from what ``state`` returned (a file's contents, or a pickled or deep-copied
    network's), on ``backend`` (default: the one it came from), of class ``cls`` (default ``NN``;
    a subclass is built by ``NN.__init__``, whatever its own takes)."""
    from .layers import Dense
    from .network import NN
    from .optimizers import get as get_optimizer

    layers = [Dense(**config) for config in header["layers"]]
    optimizer = get_optimizer(header["optimizer"]["name"], **header["optimizer"]["config"])
    net = (cls or NN).__new__(cls or NN)
    NN.__init__(
        net,
        layers,
        loss=header["loss"],
        optimizer=optimizer,
        initializer=header["initializer"],
        dtype=header["dtype"],
        seed=header["seed"],
        backend=backend or header["backend"],
        sampling=header["sampling"],
        l1=header["l1"],
        l2=header["l2"],
        backprop=header.get("backprop", "standard"),
        loss_gradient=header.get("loss_gradient", "standard"),
        threads=header.get("threads"),
        kernels=header.get("kernels", "numpy"),
    )
    if "widths" in header:
        net.build(header["widths"][0])
        _copy_in(net, header, arrays, source)
    if "rng_state" in header:
        net._rng.bit_generator.state = header["rng_state"]
    return net


def load_weights(net: Any, path: str | Path) -> None:
    """Copy saved weights and optimizer state into ``net``; ValueError when architectures differ."""
    header, arrays = _read(path)
    saved = [(c["units"], c["activation"]) for c in header["layers"]]
    mine = [(layer.units, layer.activation) for layer in net.layers]
    if saved != mine or (net.built and header["widths"][0] != net.widths[0]):
        raise ValueError(
            f"{path} holds a network with widths {header['widths']} and activations "
            f"{[a for _, a in saved]}, which does not match this one: load it with NN.load instead"
        )
    net.build(header["widths"][0])
    _copy_in(net, header, arrays, path)


def _copy_in(net: Any, header: dict[str, Any], arrays: dict[str, np.ndarray], path: Any) -> None:
    params = arrays["params"]
    if params.shape != tuple(net.params.shape):
        raise ValueError(f"{path} has {params.size} parameters, the network {net.params.size}: the file is damaged")
    net.params[...] = net.backend.asarray(params, dtype=net.dtype)
    state = {key.split("/", 1)[1]: value for key, value in arrays.items() if key.startswith("optimizer/")}
    saved = header["optimizer"]
    # Another optimizer, or the same one with other settings (SGD without momentum has no
    # velocity), starts fresh: its state would not mean the same thing, and the state it had
    # belongs to the weights just replaced.
    if state and saved["name"] == net.optimizer.name and saved["config"] == net.optimizer.get_config():
        net.optimizer.set_state(net.backend, state)
    else:
        net.optimizer.reset()
