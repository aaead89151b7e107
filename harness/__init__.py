"""The Hydra application that runs, records and reports the experiments."""
