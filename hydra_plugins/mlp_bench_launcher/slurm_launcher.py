"""`hydra/launcher=slurm`: the class Hydra instantiates; the behaviour is harness.slurm_launcher's."""

from harness.slurm_launcher import CleanEndSlurmLauncher


class SlurmLauncher(CleanEndSlurmLauncher):
    """hydra-submitit-launcher's SLURM launcher with a clean end for refused and unfinished jobs."""
