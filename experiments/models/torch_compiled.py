"""`torch_compiled`: PyTorch on the CPU as its performance guide advises, beside plain eager `torch`.

Two changes from eager, nothing else (same network, loss, fused optimizer and minibatches):
- `torch.compile` of the network where a step is large enough for it to pay (`compiles`; on the
  GPU always): TorchInductor generates fused C++ kernels for the forward and backward pass; the
  optimizer is already one fused kernel. Compilation happens in a warm-up forward and backward
  pass on each batch shape before the fit clock starts (the gradients are dropped, so the weights
  are untouched) and is recorded as `compile_seconds`, not hidden in `fit_seconds`; a run that
  did not compile records None. Inductor needs a C++ compiler: without one the variant refuses
  before any run.
- intra-op threads chosen by the step's size with the rule the from-scratch MLP uses for its
  row split (`mlp_impl.parallel.split_threads`): the guide's advice is one thread per physical
  core for large operations and fewer where each operation is too small to share; Titanic's
  100-row steps get one thread, MNIST's 1,000-row steps every core.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from typing import Any, Iterator

from mlp_impl.parallel import split_threads

COMPILERS = ("g++", "c++", "clang++")
# Rows x parameters of a step from which the compiled step is used on the CPU. Measured at the
# suite's two sizes (docs/peers.md): Titanic's 100 x 136 ran 1.65 times slower compiled than eager
# on the same one thread; MNIST's 1000 x 476,490 ran even with eager. The bound lies between them
# (the MLP's work per thread for its row split), not tuned further.
COMPILE_MIN_WORK = 1 << 27


def check_compiler() -> None:
    """ValueError when torch.compile cannot work here: TorchInductor's CPU code needs a C++ compiler."""
    wanted = os.environ.get("CXX")
    if not (shutil.which(wanted) if wanted else any(shutil.which(c) for c in COMPILERS)):
        raise ValueError(f"impls=[torch_compiled] needs a C++ compiler for torch.compile "
                         f"({wanted or 'g++, c++ or clang++'} not found): install one (apt-get install g++) "
                         f"or drop torch_compiled from impls")


def compiles(batch_size: int, n_params: int) -> bool:
    """Whether steps of `batch_size` rows of a network of `n_params` parameters are compiled on the CPU."""
    return batch_size * n_params >= COMPILE_MIN_WORK


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
    b = min(spec.batch_size, n)
    sizes = {b, n % b or b}  # every batch has one of these sizes, whatever the sampling
    n_params = sum(p.numel() for p in run.body.parameters())
    cpu = run.device.type == "cpu"
    threads = step_threads(b, n_params) if cpu else torch.get_num_threads()
    stack.enter_context(intra_op_threads(torch, threads))
    if cpu and not compiles(b, n_params):
        return run.body, None
    x, y = run.tensor(ds.x_train[:b]), run.tensor(run.to_target(ds.y_train[:b]))
    return compile_network(torch, run.body, run.loss_fn, x, y, sizes)
