"""The from-scratch MLP against every configuration of each peer, and the fastest of each.

Each peer (Keras, PyTorch, scikit-learn) may run in several forms in one experiment: as the
article ran it (`keras`, `torch`) and as its experts would (`keras_tuned`, `torch_compiled`).
"Ahead of every peer" is judged against the fastest configuration of each peer measured in the
same run (lowest median fit time), and the sentence names which one that was, with the ratio
against every form so both stay visible. Sentences are generated from the numbers they state.
"""

from __future__ import annotations

import pandas as pd

from harness.reporting.tables import fmt

SUBJECT = "mlp"  # the implementation judged against the peers, in each of its forms (mlp, mlp_fused)


def peer_of(impl: str) -> str:
    """The peer an implementation belongs to (keras_tuned -> keras); itself when not registered."""
    from experiments.models import registry
    try:
        return registry.get(impl).peer
    except ValueError:  # records of an implementation no longer registered
        return impl


def fastest_by_peer(rows: pd.DataFrame) -> dict[str, pd.Series]:
    """For each peer other than the subject, the row of its fastest configuration (median fit time)."""
    peers = rows[(rows["impl"].map(peer_of) != SUBJECT) & rows["fit_seconds_median"].notna()]
    return {peer: group.loc[group["fit_seconds_median"].idxmin()]
            for peer, group in peers.groupby(peers["impl"].map(peer_of), sort=True)}


def _counts(mine: pd.Series, others: pd.DataFrame) -> str:
    """' (medians of ok runs: mlp 10, keras 10, ...)': every finding states its n."""
    if "n_ok" not in mine:
        return ""
    rows = [mine, *(row for _, row in others.iterrows())]
    return " (medians of ok runs: " + ", ".join(f"{row['impl']} {int(row['n_ok'])}" for row in rows) + ")"


def fastest_peer_sentence(summary: pd.DataFrame) -> str:
    """One sentence per subject row of an experiment's summary (one row per implementation and
    backend; '' for a sweep or when a peer has no second form to choose from)."""
    if summary.empty or summary.duplicated(["dataset", "impl", "backend"]).any():
        return ""
    fastest = fastest_by_peer(summary)
    if not any((summary["impl"].map(peer_of) == peer).sum() > 1 for peer in fastest):
        return ""
    others = summary[summary["impl"].map(peer_of) != SUBJECT]
    sentences = []
    mlp_forms = summary[(summary["impl"].map(peer_of) == SUBJECT) & summary["fit_seconds_median"].notna()]
    for _, mine in mlp_forms.iterrows():  # each form of the MLP (mlp, mlp_fused) on its own
        ratios = ", ".join(f"{fmt(mine['fit_seconds_median'] / row['fit_seconds_median'])}x {row['impl']}"
                           for _, row in others.iterrows())
        behind = [row["impl"] for row in fastest.values() if mine["fit_seconds_median"] >= row["fit_seconds_median"]]
        verdict = "ahead of every peer" if not behind else f"not ahead of {', '.join(behind)}"
        sentences.append(f"{mine['impl']}/{mine['backend']} takes {ratios} the median fit time{_counts(mine, others)}; "
                         f"against the fastest "
                         f"configuration of each peer in this run ("
                         + ", ".join(f"{peer}: {row['impl']}" for peer, row in fastest.items())
                         + f") it is {verdict}.")
    return " ".join(sentences)
