"""Which of our runs judge each of the article's numbers, and why runs cannot judge it ("not
comparable", "not measured").

A number is judged on the ok runs of its entry's implementation and backend in the first listed
experiment whose runs are the article's algorithm and setup (``select_runs``). A number the
article's algorithm made (`algorithm: article`) is judged only on MLP runs whose algorithm
`harness.algorithm.classify` calls 'article': a run of Keras's algorithm, or a mixed one, is another
experiment, and the reason names the components that differ. The entry's `config` is the article's
whole setup; runs with another value, or that do not record one, are another setup
(``_config_reason``). A head-to-head claim (a time ratio, an accuracy gap) pairs those runs with
the Keras runs of the same experiment, whose setup the same rule checks, less the settings the
article states for its MLP alone (``_keras_reason``). A sweep, hardware-bound numbers, another
backend and a parallel launcher for a time also block a verdict (``blocking_reason``).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from harness.algorithm import classify, differing
from harness.records import SHARED_CPU_LAUNCHERS
from harness.reporting import settings
from harness.reporting.claim_measures import PAIRED, TIME_MEASURES
from harness.reporting.prepared_runs import swept_params

# Settings the article states for its MLP alone: its TensorFlow side kept Keras's own initializer
# (article.yaml's header), so a paired claim does not ask them of our Keras runs. A fact about the
# article, not about our implementations: every adapter honours `initializer` (Keras maps it by name,
# experiments/models/keras_model.py's kernel_initializer), and experiments.models.spec.MLP_ONLY
# (backprop, loss_gradient), the settings only our MLP implements, is another list.
ARTICLE_MLP_ONLY = frozenset({"initializer"})


def algorithm_of(runs: pd.DataFrame) -> pd.Series:
    """'article', 'keras' or 'mixed' for each run, from its settings (harness.algorithm.classify)."""
    return pd.Series([classify(settings.run_settings(run)) for _, run in runs.iterrows()],
                     index=runs.index, dtype=object)


def _algorithm_reason(mine: pd.DataFrame) -> str:
    """Why runs are not the article's algorithm: the components in which they differ from it."""
    names = sorted({name for _, run in mine.iterrows() for name in differing(settings.run_settings(run))})
    return f"our runs use another algorithm: they differ from the article's in {', '.join(names)}"


def ok_runs(entry: dict[str, Any], runs: pd.DataFrame, experiment: str, backend: str | None = None,
            impl: str | None = None) -> pd.DataFrame:
    """The experiment's ok runs of the entry's impl (or `impl`) and backend (or `backend`)."""
    mine = runs[(runs["experiment"] == experiment) & runs["ok"]]
    impl = impl or entry.get("impl")
    mine = mine[mine["impl"] == impl] if impl else mine
    backend = backend or entry.get("backend")
    return mine[mine["backend"] == backend] if backend else mine


def select_runs(entry: dict[str, Any], runs: pd.DataFrame) -> tuple[str, pd.DataFrame, str]:
    """(experiment, runs, reason not comparable) of the first listed experiment whose ok runs of the
    entry's impl and backend are the article's algorithm and setup; else of the first with such
    runs, with the reason; ('', no runs, '') when none ran."""
    found: tuple[str, pd.DataFrame, str] | None = None
    for experiment in entry.get("experiments", []):
        mine = ok_runs(entry, runs, experiment)
        if mine.empty:
            continue
        reason = ""
        if entry.get("algorithm") == "article":
            article = mine[algorithm_of(mine) == "article"]
            reason, mine = ("", article) if len(article) else (_algorithm_reason(mine), mine)
        reason = reason or _config_reason(entry, mine)
        if not reason:
            return experiment, mine, ""
        found = found or (experiment, mine, reason)
    return found or ("", runs.iloc[0:0], "")


def _config_reason(entry: dict[str, Any], mine: pd.DataFrame, whose: str = "our") -> str:
    """'our setup differs: epochs=20 (article: 1000)' for each `config` setting the runs `mine` do not
    share (the entry states the article's whole setup: data, network, penalty and optimizer; a setting
    the runs do not record is never assumed); '' when all match. `whose` names the runs: the one rule
    checks the MLP's runs and, for a paired claim, Keras's (``_keras_reason``)."""
    problems = []
    for key, wanted in (entry.get("config") or {}).items():
        values = set(mine[key].dropna().unique()) if key in mine else \
            {v for _, run in mine.iterrows() if (v := settings.run_settings(run).get(key)) is not None}
        others = sorted(_show(v) for v in values if not _equal(v, wanted))
        if others:
            problems.append(f"{key}={', '.join(others)} (article: {_show(wanted)})")
        elif not values:
            problems.append(f"{key} not recorded (article: {_show(wanted)})")
    return f"{whose} setup differs: {'; '.join(problems)}" if problems else ""


def _keras_reason(entry: dict[str, Any], keras: pd.DataFrame) -> str:
    """Why the Keras runs a paired claim (a gap, a time ratio) compares with are not the article's
    setup, by ``_config_reason`` over the entry's config less ARTICLE_MLP_ONLY; '' when they are,
    or when the entry pairs none."""
    if entry["measure"] not in PAIRED:
        return ""
    config = {key: value for key, value in (entry.get("config") or {}).items() if key not in ARTICLE_MLP_ONLY}
    return _config_reason({**entry, "config": config}, keras, "our Keras runs'")


def _show(value: Any) -> str:
    """20.0 -> '20' (record fields read back as floats)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _equal(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
        try:
            return math.isclose(float(ours), float(theirs), rel_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return str(ours) == str(theirs)


def blocking_reason(entry: dict[str, Any], mine: pd.DataFrame, keras: pd.DataFrame) -> str:
    """Why a measured number cannot be judged (setup, sweep, hardware, backend, launcher); '' when it can."""
    swept = swept_params(mine)
    if swept:
        return f"the latest runs hold several configurations (a sweep over {', '.join(swept)}); see the sweep table"
    if entry.get("comparable") is False:
        return entry.get("reason", "depends on the article's hardware")
    required, backends = entry.get("backend_required"), sorted(set(mine["backend"].dropna()))
    if required and backends != [required]:
        why = " (without a GPU, the pairing is NumPy against Keras)" if required == "cupy" else ""
        return f"the article's MLP ran on {required}; our runs used {', '.join(backends)}{why}"
    launchers = set(pd.concat([mine["launcher"], keras["launcher"]]).dropna()) & set(SHARED_CPU_LAUNCHERS)
    if entry["measure"] in TIME_MEASURES and launchers:
        return f"timed under a parallel launcher ({', '.join(sorted(launchers))})"
    if entry["measure"] in PAIRED and keras.empty:
        return "needs successful keras runs in the same experiment"
    return _keras_reason(entry, keras)


def unmeasured_reason(entry: dict[str, Any], runs: pd.DataFrame) -> str:
    """Why no runs matched: no runs of the experiments at all, or none of the entry's impl or backend."""
    wanted = " or ".join(entry.get("experiments", []))
    ran = runs[runs["experiment"].isin(entry.get("experiments", [])) & runs["ok"]] if len(runs) else runs
    impl, backend = entry.get("impl"), entry.get("backend")
    if ran.empty:
        return f"no successful runs of {wanted} yet"
    if impl and not ran["impl"].eq(impl).any():
        return f"no successful {impl} runs yet ({_runs_of(entry, runs, ran, 'are of', ran['impl'])})"
    ran = ran[ran["impl"] == impl] if impl else ran
    return (f"no successful runs on the {backend} backend yet "
            f"({_runs_of(entry, runs, ran, 'used', ran['backend'], impl)})")


def _runs_of(entry: dict[str, Any], runs: pd.DataFrame, ran: pd.DataFrame, verb: str, values: pd.Series,
             impl: str | None = None) -> str:
    """'the runs of mnist_vs_tf used numpy; mnist_gpu has no runs': what the entry's experiments that
    ran (`ran`, their successful runs, of `impl` where given) hold, and which of them have no successful
    runs of `impl`, no successful runs, or none at all, never counting an experiment that did not run
    among those that did."""
    experiments = entry.get("experiments", [])
    with_runs = [e for e in experiments if ran["experiment"].eq(e).any()]
    said = f"the runs of {' or '.join(with_runs)} {verb} {_listed(values)}"
    for experiment in experiments:
        if experiment not in with_runs:
            of = runs[runs["experiment"] == experiment] if len(runs) else runs
            kind = (f"successful {impl} " if impl and of["ok"].any() else "successful " if len(of) else "")
            said += f"; {experiment} has no {kind}runs"
    return said


def _listed(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values.dropna()}))
