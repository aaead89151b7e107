"""`torch_compiled`: PyTorch on the CPU as its performance guide advises, beside plain eager `torch`.

Two changes from eager, nothing else (same network, loss, fused optimizer and minibatches):
- `torch.compile` of the network where a step is large enough for it to pay (`compiles`; on the
  GPU always): TorchInductor generates fused C++ kernels (Triton kernels on the GPU) for the
  forward and backward pass; the optimizer is already one fused kernel. Compilation happens in a
  warm-up forward and backward pass on each batch shape before the fit clock starts (the
  gradients are dropped, so the weights are untouched) and is recorded as `compile_seconds`, not
  hidden in `fit_seconds`; a run that did not compile records None. Compiling needs the compiler
  it runs (`compiler_for`: Inductor's C++ compiler on the CPU, Triton's C compiler on the GPU):
  without it a plan with steps to compile is refused before any run (`check_compiler`); one
  whose steps all run eager is not.
- intra-op threads chosen by the step's size with the rule the from-scratch MLP uses for its
  row split (`mlp_impl.parallel.split_threads`): the guide's advice is one thread per physical
  core for large operations and fewer where each operation is too small to share; Titanic's
  100-row steps get one thread, MNIST's 1,000-row steps every core.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from mlp_impl.parallel import split_threads

from .adapter import Unavailable

# Rows x parameters of a step from which the compiled step is used on the CPU. Measured at the
# suite's two sizes (docs/peers.md): Titanic's 100 x 136 ran 1.65 times slower compiled than eager
# on the same one thread; MNIST's 1000 x 476,490 ran even with eager. The bound lies between them
# (the MLP's work per thread for its row split), not tuned further.
COMPILE_MIN_WORK = 1 << 27


@dataclass(frozen=True)
class Compiler:
    """The compiler torch.compile runs on one device: $`variable` alone when it is set (even empty),
    else the first of `names` found on the PATH; `kind` is the language it compiles; `includes` the
    folders its build searches for Python's C headers."""
    kind: str
    variable: str
    names: tuple[str, ...]
    includes: tuple[Path, ...]  # where its build looks for Python.h (-I), which the code it compiles includes

    def found(self) -> bool:
        """Whether the one that would be run is installed."""
        if self.variable in os.environ:
            wanted = os.environ[self.variable]
            return bool(wanted) and shutil.which(wanted) is not None
        return any(shutil.which(name) for name in self.names)

    def missing(self) -> tuple[str, str]:
        """(what is missing, the fix) when it is not `found`."""
        if self.variable not in os.environ:
            it = "it" if len(self.names) == 1 else "one"
            return f"{' or '.join(self.names)} not found", f"install {it} (apt-get install {self.names[0]})"
        wanted = os.environ[self.variable]  # run alone: installing a default would change nothing
        missing = f"{self.variable}={wanted} not found" if wanted else f"{self.variable} is empty"
        in_order = ", else ".join(self.names) + ("," if len(self.names) > 1 else "")  # "gcc, else clang,"
        fix = f"set {self.variable} to an installed {self.kind} compiler or unset it (then {in_order} is run)"
        return missing, fix


def compiler_for(backend: str) -> Compiler:
    """The compiler torch.compile (torch 2.13.0) runs for `backend`. On the CPU, Inductor builds C++
    kernels with $CXX, else g++ (clang++ on macOS): torch._inductor.config.cpp.cxx, run by
    cpp_builder.get_cpp_compiler. On the GPU it generates Triton kernels and a Python wrapper
    (config.cpp_wrapper is off), so no C++ compiler runs; but each Triton kernel's metadata asks
    Triton's driver for the target (codegen/triton.py inductor_meta_common ->
    torch.utils._triton.triton_backend), and the CUDA driver builds its module from driver.c
    (backends/nvidia/driver.py CudaUtils) with $CC, else gcc, else clang. That rule mirrors `_build`
    in triton/runtime/build.py of triton 3.7.1, the version torch 2.13.0's CUDA wheels pin: Triton
    exposes no function for it. Both builds include Python.h: Inductor's CPU kernels are Python
    extensions (codecache.CppPythonBindingsCodeCache), searched for in sysconfig's include path and
    posix_prefix's (cpp_builder._get_python_related_args); Triton's module in the default scheme's,
    Debian's posix_local read as posix_prefix (`_build`). A Triton cache that already holds the
    module (~/.triton/cache) would need neither; the check asks anyway, the safe side."""
    if backend == "torch-cuda":
        return Compiler("C", "CC", ("gcc", "clang"), (_include("posix_prefix" if _DEFAULT == "posix_local" else _DEFAULT),))
    return Compiler("C++", "CXX", ("clang++",) if sys.platform == "darwin" else ("g++",),
                    tuple(dict.fromkeys((_include(_DEFAULT), _include("posix_prefix")))))


_DEFAULT = sysconfig.get_default_scheme()


def _include(scheme: str) -> Path:
    """sysconfig's folder of Python's C headers in `scheme`."""
    return Path(sysconfig.get_paths(scheme=scheme)["include"])


def check_compiler(spec: Any, ds: Any, backend: str) -> None:
    """Unavailable when the plan's steps compile (`plan_compiles`) and the compiler torch.compile
    runs for `backend` (`compiler_for`) is not installed. Steps that run eager need none."""
    if not plan_compiles(spec, ds, backend):
        return
    compiler = compiler_for(backend)
    rows, n_params = step_size(spec, ds)
    where = "on the GPU, for Triton" if backend == "torch-cuda" else f"{rows}-row steps of {n_params:,} parameters"
    if not compiler.found():
        missing, fix = compiler.missing()
        raise Unavailable(f"impls=[torch_compiled] needs a {compiler.kind} compiler for torch.compile ({where}; "
                          f"{missing}): {fix}, or drop torch_compiled from impls")
    if not any((folder / "Python.h").is_file() for folder in compiler.includes):
        raise Unavailable(f"impls=[torch_compiled] needs Python's C headers for torch.compile ({where}; no Python.h "
                          f"in {' or '.join(map(str, compiler.includes))}): install them (apt-get install "
                          f"python3-dev), or drop torch_compiled from impls")


def compiles(batch_size: int, n_params: int) -> bool:
    """Whether steps of `batch_size` rows of a network of `n_params` parameters are compiled on the CPU."""
    return batch_size * n_params >= COMPILE_MIN_WORK


def parameter_count(spec: Any, n_features: int) -> int:
    """Weights and biases of the network `spec` builds on `n_features` inputs (torch_model.build_network)."""
    widths = spec.widths(n_features)
    return sum((n_in + 1) * n_out for n_in, n_out in zip(widths[:-1], widths[1:]))


def step_size(spec: Any, ds: Any) -> tuple[int, int]:
    """(rows of a full step, parameters of the network): what `compiles` and `step_threads` read."""
    return min(spec.batch_size, len(ds.x_train)), parameter_count(spec, ds.n_features)


def plan_compiles(spec: Any, ds: Any, backend: str) -> bool:
    """Whether runs of `spec` on `ds` compile: on the GPU always, on the CPU where `compiles`
    (the rule compile_for follows, so the plan's check and the runs agree)."""
    return backend == "torch-cuda" or compiles(*step_size(spec, ds))


def step_threads(batch_size: int, n_params: int) -> int:
    """Intra-op threads for steps of `batch_size` rows of a network with `n_params` parameters."""
    return split_threads(None, batch_size, n_params)


@contextlib.contextmanager
def intra_op_threads(torch: Any, threads: int) -> Iterator[None]:
    """torch's intra-op thread count set for the duration (it is process-wide: eager runs that
    follow keep torch's default)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def compile_network(torch: Any, body: Any, loss_fn: Any, x: Any, y: Any, batch_sizes: set[int]) -> tuple[Any, float]:
    """(compiled body, seconds spent compiling): one warm-up forward and backward pass per batch
    size, gradients then dropped, so training starts from the same weights as eager torch."""
    compiled = torch.compile(body, dynamic=False)
    start = time.perf_counter()
    for size in sorted(batch_sizes):
        loss_fn(compiled(x[:size]), y[:size]).backward()
    for parameter in body.parameters():
        parameter.grad = None
    return compiled, time.perf_counter() - start


def compile_for(run: Any, spec: Any, ds: Any, stack: contextlib.ExitStack) -> tuple[Any, float | None]:
    """(the body to train, seconds spent compiling it; the eager body and None where the step is
    too small to compile, `compiles`); the tuned thread count is set on `stack`, so it stays for
    the fit and is restored when the run's session closes it."""
    torch, n = run.torch, len(ds.x_train)
    b, n_params = step_size(spec, ds)
    sizes = {b, n % b or b}  # every batch has one of these sizes, whatever the sampling
    cpu = run.device.type == "cpu"
    threads = step_threads(b, n_params) if cpu else torch.get_num_threads()
    stack.enter_context(intra_op_threads(torch, threads))
    if not plan_compiles(spec, ds, "torch-cpu" if cpu else "torch-cuda"):
        return run.body, None
    x, y = run.tensor(ds.x_train[:b]), run.tensor(run.to_target(ds.y_train[:b]))
    return compile_network(torch, run.body, run.loss_fn, x, y, sizes)
