"""The page judges the MLP against the fastest configuration of each peer, naming it, with every ratio."""

from __future__ import annotations

import pandas as pd

from harness.reporting.peers import fastest_by_peer, fastest_peer_sentence, peer_of


def summary(**seconds: float) -> pd.DataFrame:
    backends = {"mlp": "numpy", "keras": "tensorflow", "keras_tuned": "tensorflow", "torch": "torch-cpu",
                "torch_compiled": "torch-cpu", "sklearn": "sklearn"}
    return pd.DataFrame([{"experiment": "titanic_vs_tf", "dataset": "titanic", "impl": impl,
                          "backend": backends[impl], "fit_seconds_median": s} for impl, s in seconds.items()])


def test_peer_of_groups_variants_and_keeps_unknown_names() -> None:
    assert [peer_of(n) for n in ("keras_tuned", "torch_compiled", "sklearn", "retired_impl")] == \
        ["keras", "torch", "sklearn", "retired_impl"]


def test_fastest_configuration_of_each_peer() -> None:
    fastest = fastest_by_peer(summary(mlp=1.0, keras=40.0, keras_tuned=10.0, torch=2.0, torch_compiled=0.5, sklearn=3.0))
    assert {peer: row["impl"] for peer, row in fastest.items()} == \
        {"keras": "keras_tuned", "torch": "torch_compiled", "sklearn": "sklearn"}


def test_sentence_names_the_fastest_forms_and_every_ratio() -> None:
    text = fastest_peer_sentence(summary(mlp=1.0, keras=40.0, keras_tuned=10.0, torch=2.0, torch_compiled=0.5,
                                         sklearn=4.0))
    assert text == ("mlp/numpy takes 0.025x keras, 0.1x keras_tuned, 0.5x torch, 2x torch_compiled, 0.25x sklearn "
                    "the median fit time; against the fastest configuration of each peer in this run (keras: "
                    "keras_tuned, sklearn: sklearn, torch: torch_compiled) it is not ahead of torch_compiled.")


def test_ahead_of_every_peer_only_when_faster_than_each_fastest_form() -> None:
    ahead = fastest_peer_sentence(summary(mlp=0.4, keras=40.0, keras_tuned=10.0, torch=2.0, torch_compiled=0.5))
    assert ahead.endswith("it is ahead of every peer.")
    # faster than eager torch but not than the compiled form: the plain form alone would say "ahead"
    behind = fastest_peer_sentence(summary(mlp=0.6, keras=40.0, keras_tuned=10.0, torch=2.0, torch_compiled=0.5))
    assert behind.endswith("it is not ahead of torch_compiled.")


def test_no_sentence_without_a_second_form_or_for_a_sweep() -> None:
    assert fastest_peer_sentence(summary(mlp=1.0, keras=40.0, torch=2.0)) == ""
    twice = pd.concat([summary(mlp=1.0, keras=4.0, keras_tuned=2.0)] * 2)
    assert fastest_peer_sentence(twice) == ""
