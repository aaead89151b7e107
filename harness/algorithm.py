"""The training algorithm as named components: the article's choice and Keras's for each.

"The article's algorithm" is every component at its article value; "Keras's algorithm" every one
at its Keras value. The config group `algorithm` (conf/algorithm/{article,keras}.yaml) sets them
all at once; each stays overridable on its own (e.g. `model.backprop=standard`). Tables, the
reproduction verdicts and the ablation read a run's algorithm from these keys alone, so this is
the one list of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Component:
    """One way the article's training differs from Keras's, and the config key that selects it."""

    name: str
    key: str  # dotted config key, as in a run's flattened settings
    article: Any
    keras: Any
    label: str  # what a reader sees in a table or chart


COMPONENTS: tuple[Component, ...] = (
    Component("sampler", "sampling", "article", "shuffle",
              "minibatch sampler (independent draw per step vs one shuffle per epoch)"),
    Component("adam", "model.adam_variant", "article", "keras",
              "Adam (eps 1e-8 on the corrected moments vs Keras's eps 1e-7)"),
    Component("backprop", "model.backprop", "article", "standard",
              "backprop order (each layer updated before it passes the error down)"),
    Component("loss_gradient", "model.loss_gradient", "article", "standard",
              "loss derivative (the article's BCE derivative and scaling vs the fused logit gradient)"),
    Component("dtype", "dtype", "float64", "float32", "float precision"),
)

# Keys the article's Adam variant also implies (its epsilon); set with the component, never judged alone.
IMPLIED: dict[str, tuple[Any, Any]] = {"model.adam_epsilon": (1e-8, 1e-7)}


def component(name: str) -> Component:
    """The component called ``name``; ValueError lists the valid names."""
    for c in COMPONENTS:
        if c.name == name:
            return c
    raise ValueError(f"unknown algorithm component {name!r}: use one of {', '.join(c.name for c in COMPONENTS)}")


def _same(a: Any, b: Any) -> bool:
    return str(a) == str(b)


def classify(settings: Mapping[str, Any]) -> str:
    """'article' when every component is at its article value, 'keras' when every one is at
    Keras's, else 'mixed'. ``settings`` is a run's flattened settings (dotted keys)."""
    values = [settings.get(c.key) for c in COMPONENTS]
    if all(_same(v, c.article) for v, c in zip(values, COMPONENTS)):
        return "article"
    if all(_same(v, c.keras) for v, c in zip(values, COMPONENTS)):
        return "keras"
    return "mixed"


def describe(settings: Mapping[str, Any]) -> str:
    """A run's algorithm in a few words, for a table or a legend: 'article', 'keras', or the
    article's with the components it takes from Keras ('article, keras sampler+adam'), any other
    value named. Components a run does not record (a peer's) are left out."""
    known = [(c, settings[c.key]) for c in COMPONENTS if settings.get(c.key) is not None]
    if not known:
        return "unknown"
    if all(_same(v, c.article) for c, v in known):
        return "article"
    if all(_same(v, c.keras) for c, v in known):
        return "keras"
    from_keras = [c.name for c, v in known if _same(v, c.keras)]
    other = [f"{c.name}={v}" for c, v in known if not _same(v, c.keras) and not _same(v, c.article)]
    return ", ".join(["article", *([f"keras {'+'.join(from_keras)}"] if from_keras else []), *other])


# Config keys that move with the algorithm's components (a sweep over `algorithm=` sets them all).
KEYS: frozenset[str] = frozenset([c.key for c in COMPONENTS] + list(IMPLIED))


def differing(settings: Mapping[str, Any], reference: str = "article") -> list[str]:
    """Names of the components whose value in ``settings`` is not ``reference``'s ('article' or 'keras')."""
    if reference not in ("article", "keras"):
        raise ValueError(f"reference must be 'article' or 'keras', got {reference!r}")
    return [c.name for c in COMPONENTS if not _same(settings.get(c.key), getattr(c, reference))]


def overrides(reference: str, switched: tuple[str, ...] = ()) -> list[str]:
    """Hydra overrides for ``reference``'s algorithm with the ``switched`` components taken from
    the other one (the ablation's cells)."""
    other = "keras" if reference == "article" else "article"
    out = []
    for c in COMPONENTS:
        value = getattr(c, other if c.name in switched else reference)
        out.append(f"{c.key}={value}")
        if c.name == "adam":
            out.append(f"model.adam_epsilon={IMPLIED['model.adam_epsilon'][0 if value == 'article' else 1]}")
    unknown = set(switched) - {c.name for c in COMPONENTS}
    if unknown:
        raise ValueError(f"unknown algorithm component(s) {sorted(unknown)}: use {', '.join(c.name for c in COMPONENTS)}")
    return out
