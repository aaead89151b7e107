"""The from-scratch MLP against every configuration of each peer, and the fastest of each.

Each peer (Keras, PyTorch, scikit-learn) may run in several forms in one experiment: as the
article ran it (`keras`, `torch`) and as its experts would (`keras_tuned`, `torch_compiled`).
"Ahead" is judged against the fastest configuration of each peer measured in the same run
(lowest median fit time), and the sentence names which one that was, with the ratio against
every form so both stay visible. The verdict against each fastest form is statistical
(`speed_verdict`): the ratio of median fit times with its 95% bootstrap interval, "ahead" only
when the whole interval lies below 1, and none below stats.RATIO_MIN_RUNS runs a side (below it
that interval gives false verdicts more often than the 5% it claims). Sentences are generated from the numbers they state.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from harness.reporting import stats
from harness.reporting.number_text import fmt, ratio_bound_text
from harness.reporting.verdicts import TOO_FEW

SUBJECT = "mlp"  # the implementation judged against the peers, in each of its forms (mlp, mlp_fused)
PHRASES = {"ahead": "ahead of", "behind": "behind", "not distinguishable": "not distinguishable from",
           TOO_FEW: "not judged (too few runs) against"}


@dataclass(frozen=True)
class SpeedVerdict:
    """Median fit time of one side over the other's, its 95% bootstrap interval and what it shows."""

    ratio: float
    low: float
    high: float
    n: tuple[int, int]
    word: str  # "ahead", "behind", "not distinguishable" or verdicts.TOO_FEW

    def text(self, peer: str) -> str:
        interval = "" if self.word == TOO_FEW else \
            f", 95% CI {ratio_bound_text(self.low)}-{ratio_bound_text(self.high)}"
        return f"{PHRASES[self.word]} {peer} ({fmt(self.ratio)}x{interval}, n={self.n[0]} vs {self.n[1]})"


def speed_verdict(mine: Any, theirs: Any) -> SpeedVerdict:
    """The one rule for "faster": ahead when the interval of the ratio of medians lies wholly
    below 1, behind when wholly above, otherwise not distinguishable; no verdict under
    stats.RATIO_MIN_RUNS runs a side, where that interval gives false verdicts more often than
    its 5%. Medians and a bootstrap interval, as for every time ratio on the page."""
    a, b = stats.finite(mine), stats.finite(theirs)
    ratio, low, high = stats.ratio_of_medians_ci(a, b)
    if min(a.size, b.size) < stats.RATIO_MIN_RUNS or math.isnan(low) or math.isnan(high):
        word = TOO_FEW
    elif high < 1:
        word = "ahead"
    elif low > 1:
        word = "behind"
    else:
        word = "not distinguishable"
    return SpeedVerdict(ratio, low, high, (int(a.size), int(b.size)), word)


def peer_of(impl: str) -> str:
    """The peer an implementation belongs to (keras_tuned -> keras); itself when not registered."""
    from experiments.models import registry
    try:
        return registry.get(impl).peer
    except ValueError:  # records of an implementation no longer registered
        return impl


def implementations(impls: Sequence[str]) -> list[tuple[str, str, str]]:
    """(name, the peer it is a form of, how it is run and timed) of each of `impls` the registry knows, in the
    registry's order (an implementation no longer registered, in old records, is left out)."""
    from experiments.models import registry
    wanted = set(impls)
    return [(impl.name, impl.peer, impl.how) for impl in registry.IMPLEMENTATIONS.values() if impl.name in wanted]


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


def _runs(row: pd.Series) -> tuple[float, ...]:
    """A summary row's ok fit times (tables' fit_seconds_runs), also as summary.csv writes them
    ("(1.0, 2.0)"); none when the row lacks them."""
    values = row.get("fit_seconds_runs")
    try:
        values = ast.literal_eval(values) if isinstance(values, str) else values
        return tuple(float(v) for v in values) if isinstance(values, (tuple, list)) else ()
    except (ValueError, TypeError, SyntaxError):  # not a list of numbers: no runs to judge
        return ()


def fastest_peer_sentence(summary: pd.DataFrame) -> str:
    """One sentence per subject row of an experiment's summary (one row per implementation and
    backend; '' for a sweep or when a peer has no second form to choose from)."""
    if summary.empty or summary.duplicated(["dataset", "impl", "backend"]).any():
        return ""
    fastest = fastest_by_peer(summary)
    if not any((summary["impl"].map(peer_of) == peer).sum() > 1 for peer in fastest):
        return ""
    others = summary[summary["impl"].map(peer_of) != SUBJECT]
    sentences, judged = [], 0
    mlp_forms = summary[(summary["impl"].map(peer_of) == SUBJECT) & summary["fit_seconds_median"].notna()]
    for _, mine in mlp_forms.iterrows():  # each form of the MLP (mlp, mlp_fused) on its own
        ratios = ", ".join(f"{fmt(mine['fit_seconds_median'] / row['fit_seconds_median'])}x {row['impl']}"
                           for _, row in others.iterrows())
        verdicts = {row["impl"]: speed_verdict(_runs(mine), _runs(row)) for row in fastest.values()}
        judged += sum(verdict.word != TOO_FEW for verdict in verdicts.values())
        not_ahead = [impl for impl, verdict in verdicts.items() if verdict.word != "ahead"]
        conclusion = ("ahead of each peer's fastest configuration" if not not_ahead
                      else f"not shown ahead of {', '.join(not_ahead)}")
        sentences.append(f"{mine['impl']}/{mine['backend']} takes {ratios} the median fit time{_counts(mine, others)}. "
                         f"Against the fastest configuration of each peer in this run (ratio of medians, "
                         f"ahead when its 95% bootstrap interval lies below 1) it is "
                         + "; ".join(verdict.text(impl) for impl, verdict in verdicts.items())
                         + f": {conclusion}.")
    return " ".join(sentences + ([family_text(judged)] if judged > 1 else []))


def family_text(count: int) -> str:
    """What `count` speed verdicts, each read from its own 95% interval, claim together: "ahead of
    each" needs every interval of a form, so it errs no more often than one of them; read one by
    one, Bonferroni's bound on a chance finding among them grows with the count."""
    return (f"These {count} verdicts each read their own 95% interval: \"ahead of each peer's fastest "
            f"configuration\" needs every interval of a form below 1, so it is wrong no more often than "
            f"one interval is (5%); read one by one, the chance that any of the {count} is a chance finding "
            f"is at most {fmt(min(100.0, 5.0 * count))}% (Bonferroni).")
