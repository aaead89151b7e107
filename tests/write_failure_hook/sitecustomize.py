"""Test-only hook, put on PYTHONPATH by tests/test_harness_disk_full.py: writes to a path ending with
$MLP_BENCH_TEST_FAIL_WRITE fail with ENOSPC, as on a full disk: os.replace and os.link (the
harness's atomic writes move a finished temporary file into place), and a file opened for
writing (Hydra's own .hydra/ files and multirun.yaml), whose open succeeds and whose writes fail
with no file name, as the kernel reports a full disk."""

import builtins
import errno
import io
import os

_suffix = os.environ.get("MLP_BENCH_TEST_FAIL_WRITE")
if _suffix:
    def _full(path=None) -> OSError:
        if path is None:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))

    def _failing(real):
        def call(src, dst, *args, **kwargs):
            if os.fspath(dst).endswith(_suffix):
                raise _full(dst)
            return real(src, dst, *args, **kwargs)
        return call

    class _FullDisk:
        """A file opened for writing on a full disk: every write fails."""

        def __init__(self, file):
            self._file = file

        def write(self, data):
            raise _full()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()
            return False

        def __getattr__(self, name):
            return getattr(self._file, name)

    def _failing_open(real):
        def call(file, mode="r", *args, **kwargs):
            opened = real(file, mode, *args, **kwargs)
            if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+") \
                    and os.fspath(file).endswith(_suffix):
                return _FullDisk(opened)
            return opened
        return call

    os.replace = _failing(os.replace)
    os.link = _failing(os.link)
    builtins.open = io.open = _failing_open(builtins.open)
