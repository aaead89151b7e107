"""`hydra/launcher=submitit_local`: the class Hydra instantiates; the behaviour is harness.local_launcher's
(whose use_for_submitit_local points that name at this class)."""

try:
    from harness.local_launcher import CleanEndLocalLauncher
except ImportError:  # no hydra-submitit-launcher (the `cluster` extra): Hydra scans this module on every start
    CleanEndLocalLauncher = None

if CleanEndLocalLauncher is not None:
    class LocalLauncher(CleanEndLocalLauncher):
        """hydra-submitit-launcher's local launcher whose Ctrl-C ends as every launcher's does."""
