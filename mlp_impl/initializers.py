"""Kernel initializers: each draws a float64 (fan_in, fan_out) kernel from a NumPy generator.

Draws happen on the CPU from the network's own ``np.random.default_rng(seed)`` and are then
cast and moved to the device, so NumPy and CuPy runs with one seed start from identical weights.
Biases always start at zero (as in the article and in Keras).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import validation

Initializer = Callable[[np.random.Generator, int, int], np.ndarray]


def xavier(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """The article's Xavier: normal with mean 0 and std sqrt(2 / (fan_in + fan_out)), untruncated."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / (fan_in + fan_out))


def glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Keras's default kernel initializer: uniform on +-sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out))


def he(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """He normal for relu layers: mean 0, std sqrt(2 / fan_in), untruncated."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Uniform on +-0.05, Keras's RandomUniform default."""
    return rng.uniform(-0.05, 0.05, (fan_in, fan_out))


def zeros(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """All zeros: only useful for tests and the linear model (a network cannot break symmetry)."""
    return np.zeros((fan_in, fan_out))


_REGISTRY: dict[str, Initializer] = {
    "xavier": xavier,
    "glorot_uniform": glorot_uniform,
    "he": he,
    "uniform": uniform,
    "zeros": zeros,
}
NAMES = tuple(_REGISTRY)


def get(name: str) -> Initializer:
    """The initializer called ``name``; ValueError lists the valid names."""
    return _REGISTRY[validation.known_name("initializer", name, NAMES)]
