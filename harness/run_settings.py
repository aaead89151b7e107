"""The settings a run was made with, as one flat mapping of dotted config keys.

Every record carries its invocation's settings (`settings`), so tables, verdicts and sweep
summaries are computed from records alone; the run folder's config.yaml stays for people, for
`resume` and for `rerun`. Keys that only choose which runs to make, or where data is read from,
are not settings of a run.
"""

from __future__ import annotations

from typing import Any, Iterable

# Keys of how an invocation reports and measures around its runs: neither a setting of a run nor
# bound to a folder (resume may change them).
BOOKKEEPING = frozenset({"quiet", "resume", "epoch_bar", "report", "measure_rate"})
# Keys that choose which runs to make, how they are shown, or where data comes from: not how a run trains.
NOT_SETTINGS = BOOKKEEPING | {"impls", "runs", "seeds", "seed", "data.root", "data.download", "data.verify"}


def dotted_settings(config: Any, *, expand_lists: bool = False, prefix: str = "") -> dict[str, Any]:
    """A nested config (a config.yaml's content) as {"model.epochs": 3, ...}, so a setting can be
    named and compared by its key; lists are one value unless `expand_lists` ("model.layers.0.units")."""
    if isinstance(config, dict):
        items: Iterable[tuple[Any, Any]] = config.items()
    elif expand_lists and isinstance(config, list):
        items = enumerate(config)
    else:
        return {prefix: config}
    flat: dict[str, Any] = {}
    for key, value in items:
        flat.update(dotted_settings(value, expand_lists=expand_lists, prefix=f"{prefix}.{key}" if prefix else str(key)))
    return flat


# The machine's measured matmul rates a record carries (keys of environment.json, under this prefix):
# facts about where the run ran, not settings that split a summary.
MACHINE_PREFIX = "machine."
MACHINE_RATES = ("matmul_gflops_float32", "gpu_matmul_gflops_float32")
# Each rate's status, "measured", "skipped (...)", "failed (...)" or "not measured (...)": why a
# record may carry no rate (CPU, then GPU)
RATE_STATUSES = ("matmul_rate_status", "gpu_matmul_rate_status")
# Which kernels NumPy's OpenBLAS ran the CPU's products on, and whether the environment forced them
# (harness.blas_kernels.kernels)
BLAS_KERNELS = ("blas_kernels", "blas_kernels_set_by", "blas_kernels_by_itself")


def machine_settings(environment: dict[str, Any]) -> dict[str, Any]:
    """The invocation's matmul rates (measured before its runs), their statuses and NumPy's BLAS kernels
    as record settings."""
    return {MACHINE_PREFIX + key: environment.get(key) for key in (*MACHINE_RATES, *RATE_STATUSES, *BLAS_KERNELS)}


def run_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The settings of a resolved config (a plain dict), as a record stores them."""
    return {key: value for key, value in dotted_settings(config).items() if key not in NOT_SETTINGS}
