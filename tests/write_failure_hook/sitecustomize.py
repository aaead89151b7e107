"""Test-only hook, put on PYTHONPATH by tests/test_harness_disk_full.py: writes to a path ending with
$MLP_BENCH_TEST_FAIL_WRITE fail with ENOSPC, as on a full disk: os.replace and os.link (the
harness's atomic writes) and open() for writing (Hydra's own .hydra/ files and multirun.yaml)."""

import builtins
import errno
import io
import os

_suffix = os.environ.get("MLP_BENCH_TEST_FAIL_WRITE")
if _suffix:
    def _full(path) -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))

    def _failing(real):
        def call(src, dst, *args, **kwargs):
            if os.fspath(dst).endswith(_suffix):
                raise _full(dst)
            return real(src, dst, *args, **kwargs)
        return call

    def _failing_open(real):
        def call(file, mode="r", *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+") \
                    and os.fspath(file).endswith(_suffix):
                raise _full(file)
            return real(file, mode, *args, **kwargs)
        return call

    os.replace = _failing(os.replace)
    os.link = _failing(os.link)
    builtins.open = io.open = _failing_open(builtins.open)
