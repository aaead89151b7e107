"""Test-only hook, put on PYTHONPATH by tests/test_harness_disk_full.py: os.replace and os.link
fail with ENOSPC when their destination ends with $MLP_BENCH_TEST_FAIL_WRITE, as on a full disk."""

import errno
import os

_suffix = os.environ.get("MLP_BENCH_TEST_FAIL_WRITE")
if _suffix:
    def _failing(real):
        def call(src, dst, *args, **kwargs):
            if os.fspath(dst).endswith(_suffix):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(src, dst, *args, **kwargs)
        return call

    os.replace = _failing(os.replace)
    os.link = _failing(os.link)
