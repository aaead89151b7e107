"""Test-only hook, put on PYTHONPATH by tests/test_harness_command_end.py (and the tests that import its
HOOK), so faults happen on demand in the command and in a launcher's worker processes alike (they inherit
the environment):

- MLP_BENCH_TEST_FAIL_SEED=N: every run of seed N raises (a failed run);
- MLP_BENCH_TEST_SLOW_SEED=N: every run of seed N first sleeps a minute (time to press Ctrl-C), or
  MLP_BENCH_TEST_SLOW_S seconds when set;
- MLP_BENCH_TEST_FAIL_AT=N@LR: the run of seed N with learning rate LR raises (one job's failed run);
- MLP_BENCH_TEST_DISK_FULL_AT=N@LR: writing the record of seed N with learning rate LR is refused
  (ENOSPC: a write failure stops that job);
- MLP_BENCH_TEST_INTERRUPT_IN=module:function: calling that function raises KeyboardInterrupt,
  as a Ctrl-C landing there would;
- MLP_BENCH_TEST_PROBE_LOCK=1: the end-of-sweep merge first says on stderr whether the sweep
  folder's writer lock is held ("probe: sweep lock held" or "probe: sweep lock free");
- MLP_BENCH_TEST_FULL_AT_END=1: the end-of-sweep step's merge (harness.sweep_merge.finish_sweep) is refused
  (ENOSPC writing the sweep's runs.csv), while each job's own merge is not;
- MLP_BENCH_TEST_CRASH_AT=LR[,LR...]: each job (the task, harness.run.run, as it runs the config: run_config) with
  one of these learning rates raises RuntimeError before its runs, as a bug would (a job's real error, not a failed
  run);
- MLP_BENCH_TEST_UNREADABLE=SUFFIX: resume's reading of a record file whose path ends with SUFFIX
  (harness.records.read_record) fails with EIO, as a bad disk sector would;
- MLP_BENCH_TEST_SLOW_END_S=S: an interrupted run's end (harness.run.finish, which says the interrupted
  line) first sleeps S seconds, as a clean end slowed by a busy disk would;
- MLP_BENCH_TEST_NO_PIDFD=1: os.pidfd_open is missing, as on Linux before 5.3 (a job cannot watch its
  controller);
- MLP_BENCH_TEST_SH=PATH: submitit_local starts a controller under launcher `setup` lines with the
  shell PATH instead of /bin/sh (bash, say, where /bin/sh is dash).

Each patch is applied when its module is first imported, so the command starts as fast as without."""

import importlib.abc
import os
import sys

_PATCHES = {}


def _patch(module_name):
    def register(function):
        _PATCHES.setdefault(module_name, []).append(function)
        return function
    return register


def _wrap(module_name, name):
    """Replace `module_name.name` with what the decorated function makes of the real one."""
    def register(make):
        _patch(module_name)(lambda module: setattr(module, name, make(getattr(module, name))))
        return make
    return register


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in _PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        else:
            return None
        real = spec.loader.exec_module

        def exec_module(module):
            real(module)
            for patch in _PATCHES[name]:
                patch(module)
        spec.loader.exec_module = exec_module
        return spec


_fail, _slow = os.environ.get("MLP_BENCH_TEST_FAIL_SEED"), os.environ.get("MLP_BENCH_TEST_SLOW_SEED")
_fail_at, _full_at = os.environ.get("MLP_BENCH_TEST_FAIL_AT"), os.environ.get("MLP_BENCH_TEST_DISK_FULL_AT")
if _fail or _slow or _fail_at or _full_at:
    @_patch("harness.sweep")
    def _runs(module):
        import time
        real = module.measure_run

        def measure_run(impl, spec, ds, *, seed, **kwargs):
            if str(seed) == _slow:
                time.sleep(float(os.environ.get("MLP_BENCH_TEST_SLOW_S", "60")))
            if str(seed) == _fail or f"{seed}@{spec.learning_rate}" == _fail_at:
                raise RuntimeError(f"boom at seed {seed}")
            return real(impl, spec, ds, seed=seed, **kwargs)
        module.measure_run = measure_run
        write = module.write_record

        def write_record(run_dir, record, **kwargs):
            if f"{record['seed']}@{record['learning_rate']}" == _full_at:
                from harness.records import record_name
                from harness.write_failure import writing
                with writing(os.path.join(run_dir, "records", record_name(record))):
                    raise OSError(28, "No space left on device")
            return write(run_dir, record, **kwargs)
        module.write_record = write_record

_interrupt = os.environ.get("MLP_BENCH_TEST_INTERRUPT_IN")
if _interrupt:
    _module, _function = _interrupt.split(":")

    @_patch(_module)
    def _interrupted(module):
        def interrupt(*args, **kwargs):
            raise KeyboardInterrupt
        setattr(module, _function, interrupt)

if os.environ.get("MLP_BENCH_TEST_PROBE_LOCK"):
    @_wrap("harness.sweep_merge", "finish_sweep")
    def _probe(real):
        import fcntl

        def finish_sweep(sweep_dir, **kwargs):
            fd = os.open(os.path.join(sweep_dir, ".writer.lock"), os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                sys.stderr.write("probe: sweep lock free\n")
            except BlockingIOError:
                sys.stderr.write("probe: sweep lock held\n")
            finally:
                os.close(fd)
            return real(sweep_dir, **kwargs)
        return finish_sweep

if os.environ.get("MLP_BENCH_TEST_FULL_AT_END"):
    @_patch("harness.sweep_merge")
    def _full_at_end(module):
        def finish_sweep(sweep_dir, **kwargs):
            from harness.write_failure import WriteFailed
            raise WriteFailed(os.path.join(sweep_dir, "runs.csv"), OSError(28, "No space left on device"))
        module.finish_sweep = finish_sweep

_unreadable = os.environ.get("MLP_BENCH_TEST_UNREADABLE")
if _unreadable:
    @_wrap("harness.records", "read_record")
    def _unreadable_record(real):
        def read_record(path):
            if str(path).endswith(_unreadable):
                raise OSError(5, "Input/output error")
            return real(path)
        return read_record

_crash_at = os.environ.get("MLP_BENCH_TEST_CRASH_AT")
if _crash_at:
    @_wrap("harness.run", "run_config")
    def _crash(real):
        def run_config(cfg, *args, **kwargs):
            if str(cfg.model.learning_rate) in _crash_at.split(","):
                raise RuntimeError(f"job crashed at learning rate {cfg.model.learning_rate}")
            return real(cfg, *args, **kwargs)
        return run_config

_slow_end = os.environ.get("MLP_BENCH_TEST_SLOW_END_S")
if _slow_end:
    @_wrap("harness.run", "finish")
    def _slow_interrupted_end(real):
        import time

        def finish(outcome, *args, **kwargs):
            if outcome.interrupted:
                time.sleep(float(_slow_end))
            return real(outcome, *args, **kwargs)
        return finish

if os.environ.get("MLP_BENCH_TEST_NO_PIDFD") and hasattr(os, "pidfd_open"):
    del os.pidfd_open

_sh = os.environ.get("MLP_BENCH_TEST_SH")
if _sh:
    @_patch("submitit.local.local")
    def _shell(module):
        import subprocess

        class _Subprocess:
            def __getattr__(self, name):
                return getattr(subprocess, name)

            @staticmethod
            def Popen(command, *args, shell=False, **kwargs):
                return subprocess.Popen(command, *args, shell=shell, **({"executable": _sh} if shell else {}),
                                        **kwargs)
        module.subprocess = _Subprocess()

sys.meta_path.insert(0, _PatchAfterImport())
