"""Input checks that run before any work, each failing with a one-line ValueError that names
the problem and the fix."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # for annotations only: backend.get_backend looks its names up here
    from .backend import Backend

DTYPES = ("float32", "float64")


def positive_int(label: str, value: Any) -> int:
    """``value`` as an int >= 1, or ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{label} must be a positive integer, got {value!r}")
    return int(value)


def positive_float(label: str, value: Any) -> float:
    """``value`` as a finite float > 0, or ValueError."""
    if not _real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{label} must be a finite number > 0, got {value!r}")
    return float(value)


def _real(value: Any) -> bool:
    """A real number (NumPy scalars too), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def non_negative_float(label: str, value: Any) -> float:
    """``value`` as a finite float >= 0, or ValueError (penalty coefficients)."""
    if not _real(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")
    return float(value)


def seed(value: Any) -> int | None:
    """A generator seed: None or an int >= 0, or ValueError."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0):
        raise ValueError(f"seed must be None or an integer >= 0, got {value!r}")
    return None if value is None else int(value)


def fraction(label: str, value: Any) -> float:
    """``value`` as a float in [0, 1), or ValueError (momentum, Adam's betas)."""
    if not _real(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"{label} must be in [0, 1), got {value!r}")
    return float(value)


def known_name(kind: str, name: Any, names: Sequence[str], aliases: Mapping[str, str] | None = None) -> str:
    """The canonical name ``name`` stands for (any case, or an alias), or ValueError listing
    ``names``: the one lookup of every registry (a list or a dict given as a name is refused
    as unknown, not by a TypeError from the lookup)."""
    key = name.lower() if isinstance(name, str) else None
    if aliases and key in aliases:
        key = aliases[key]
    if key not in names:
        raise ValueError(f"unknown {kind} {name!r}: use one of {', '.join(names)}")
    return key


def float_dtype(dtype: Any) -> np.dtype:
    """float32 or float64 as a NumPy dtype in the machine's byte order (">f8" is float64 too, and
    the fused kernels compile for native data alone), or ValueError (None too: NumPy reads it
    as float64)."""
    try:
        resolved = None if dtype is None else np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    return np.dtype(resolved.name)


def as_array(bk: Backend, label: str, a: Any) -> Any:
    """``a`` as a numeric array (a device array stays on the device), or ValueError."""
    if bk.name == "cupy" and isinstance(a, bk.xp.ndarray):
        arr = a
    else:
        try:
            arr = np.asarray(a)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{label} is not array-like ({exc}): pass a numeric NumPy array") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{label} has dtype {arr.dtype}, not numbers: pass a numeric array (encode text columns first)")
    return arr


def features(bk: Backend, x: Any, input_dim: int | None, dtype: Any = None) -> Any:
    """Checked 2-D feature matrix ``x`` with ``input_dim`` columns (when known), within the
    range of the network's ``dtype`` (when given)."""
    x = as_array(bk, "x", x)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (examples, features), got shape {tuple(x.shape)}: reshape it, e.g. x.reshape(len(x), -1)")
    if x.shape[0] < 1:
        raise ValueError("x has no rows: pass at least one example")
    if x.shape[1] < 1:
        raise ValueError("x has no columns: pass at least one feature")
    if input_dim is not None and x.shape[1] != input_dim:
        raise ValueError(f"x has {x.shape[1]} features but the network's first layer takes {input_dim}: pass matching columns or change input_dim")
    finite(bk, "x", x, dtype=dtype)
    return x


def targets(bk: Backend, y: Any, n_rows: int, units: int, loss: str, dtype: Any = None) -> Any:
    """Checked 2-D target matrix (1-D ``y`` becomes one column) matching ``x`` and the loss,
    within the range of the network's ``dtype`` (when given)."""
    y = as_array(bk, "y", y)
    if y.ndim == 1 and units == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != units:
        raise ValueError(f"y has shape {tuple(y.shape)} but the output layer has {units} units: pass y of shape (n, {units}) (one-hot for classes)")
    if y.shape[0] != n_rows:
        raise ValueError(f"x has {n_rows} rows but y has {y.shape[0]}: pass the same number of examples in x and y")
    finite(bk, "y", y, dtype=dtype)
    xp = _module(bk, y)
    if loss == "binary_crossentropy" and bool(xp.any((y < 0) | (y > 1))):
        raise ValueError("binary_crossentropy needs targets in [0, 1]: encode y as 0/1 labels")
    if loss == "categorical_crossentropy" and (bool(xp.any(y < 0))
                                               or not bool(xp.allclose(y.sum(axis=1), 1.0, atol=1e-4))):
        raise ValueError("categorical_crossentropy needs one-hot (or probability) rows in y, entries >= 0 "
                         "summing to 1: one-hot encode y")
    return y


def finite(bk: Backend, label: str, a: Any, fix: str = "clean or impute them before training",
           dtype: Any = None) -> None:
    """ValueError when ``a`` holds NaN or infinity, or, given the network's ``dtype``, a value
    beyond its range (finite in float64, infinite once cast to float32)."""
    if a.dtype.kind != "f" or not a.size:
        return
    # min and max propagate NaN and expose inf without a temporary as large as the data
    low, high = float(a.min()), float(a.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{label} contains NaN or infinite values: {fix}")
    largest = float(np.finfo(dtype).max) if dtype is not None else math.inf
    if max(-low, high) > largest:
        raise ValueError(f"{label} holds values beyond {np.dtype(dtype).name}'s range (magnitude above "
                         f"{largest:.4g}): scale them or use dtype='float64'")


def _module(bk: Backend, a: Any) -> Any:
    """The array module that owns ``a`` (host data is checked on the host, before any copy)."""
    return np if isinstance(a, np.ndarray) else bk.xp
