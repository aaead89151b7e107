"""The ablation's cells as options of the Hydra group `ablation_cell`, built from harness.algorithm.

A cell is the from-scratch MLP with each algorithm component at the article's or at Keras's value
(`harness.algorithm.overrides`), so the list of components is written once, in harness.algorithm,
and a component added there gets its cells here without a new config file. The options are put in
Hydra's ConfigStore (`register`), next to the peer's YAML options in conf/ablation_cell/ (Keras
ignores the MLP-only components, so it runs once per ablation, not once per cell).

Names say the reference and the components switched from it to the other one, taking whichever
reference needs fewer switches: `mlp_article`, `mlp_keras`, `mlp_article-backprop`,
`mlp_keras-sampler-dtype`. The report identifies a cell by its runs' component values, never by
this name.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from .algorithm import COMPONENTS, overrides

GROUP = "ablation_cell"
NAMES = tuple(c.name for c in COMPONENTS)


def cell_name(switched: frozenset[str] | set[str] | tuple[str, ...]) -> str:
    """The option name of the MLP cell with ``switched`` components at Keras's value (the rest at
    the article's)."""
    switched = set(switched)
    unknown = switched - set(NAMES)
    if unknown:
        raise ValueError(f"unknown algorithm component(s) {sorted(unknown)}: use {', '.join(NAMES)}")
    if 2 * len(switched) <= len(NAMES):
        return "-".join(["mlp_article", *(n for n in NAMES if n in switched)])
    return "-".join(["mlp_keras", *(n for n in NAMES if n not in switched)])


def cell_node(switched: frozenset[str] | set[str] | tuple[str, ...]) -> dict[str, Any]:
    """The cell's settings (impls=[mlp] and every component's key), as a nested config."""
    node = OmegaConf.to_container(OmegaConf.from_dotlist(overrides("article", tuple(switched))))
    return {"impls": ["mlp"], **node}


def every_combination() -> list[frozenset[str]]:
    """All 2^k cells (Titanic: cheap enough to run every interaction)."""
    return [frozenset(c) for r in range(len(NAMES) + 1) for c in combinations(NAMES, r)]


def one_at_a_time() -> list[frozenset[str]]:
    """Both references, each with one component switched to the other's value (MNIST: 2k + 2 cells)."""
    everything = frozenset(NAMES)
    return [frozenset(), everything, *(frozenset({n}) for n in NAMES), *(everything - {n} for n in NAMES)]


def register() -> None:
    """Put every MLP cell in Hydra's ConfigStore as `ablation_cell=<name>` (idempotent)."""
    store = ConfigStore.instance()
    for switched in every_combination():
        store.store(group=GROUP, name=cell_name(switched), node=cell_node(switched), package="_global_")
