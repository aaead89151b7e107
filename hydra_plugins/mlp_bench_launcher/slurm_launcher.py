"""`hydra/launcher=slurm`: the class Hydra instantiates; the behaviour is harness.slurm_launcher's."""

try:
    from harness.slurm_launcher import CleanEndSlurmLauncher
except ImportError:  # no hydra-submitit-launcher (the `cluster` extra): Hydra scans this module on every start
    CleanEndSlurmLauncher = None

if CleanEndSlurmLauncher is not None:
    class SlurmLauncher(CleanEndSlurmLauncher):
        """hydra-submitit-launcher's SLURM launcher with a clean end for refused and unfinished jobs."""
