"""The `algorithm` config group, the experiments that run the article's algorithm, the head-to-head
sweeps and the ablation's cells compose to the intended settings; peers refuse what they cannot
follow. Expected values come from harness.algorithm.COMPONENTS (read, never copied) and from the
article's printed code (eps 1e-8 in its Adam, NumPy's float64)."""

from __future__ import annotations

from functools import lru_cache
from itertools import product
from types import SimpleNamespace

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import harness.config  # noqa: F401  (registers the schema and the ablation cells)
from experiments.models import mlp_model, registry
from experiments.models.spec import ModelSpec, spec_from_config
from harness import ablation
from harness.algorithm import COMPONENTS, IMPLIED, classify, differing
from harness.precheck import CONF_DIR, _job_overrides
from harness.run_settings import dotted_settings

ARTICLE_EXPERIMENTS = ("titanic_sgd", "titanic_adam", "titanic_vs_tf_article", "mnist_cpu", "mnist_gpu")


def _compose(*overrides: str, hydra: bool = False):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra)


def _settings(cfg) -> dict:
    container = OmegaConf.to_container(cfg, resolve=False)
    container.pop("hydra", None)
    return dotted_settings(container)


@lru_cache(maxsize=None)
def _jobs(experiment: str) -> list[dict]:
    """Each job of the experiment's own sweep, as flattened settings."""
    base = _compose(f"+experiment={experiment}", "hydra.mode=MULTIRUN", hydra=True)
    jobs = _job_overrides([f"+experiment={experiment}"], base, True)
    return [_settings(_compose(*job)) for job in jobs]


@pytest.mark.parametrize("reference", ["article", "keras"])
def test_algorithm_group_sets_every_component(reference: str) -> None:
    settings = _settings(_compose("+experiment=titanic_sgd", f"algorithm={reference}"))
    for c in COMPONENTS:
        assert str(settings[c.key]) == str(getattr(c, reference)), c.key
    for key, (article, keras) in IMPLIED.items():
        assert settings[key] == (article if reference == "article" else keras)
    assert classify(settings) == reference


def test_article_values_are_the_printed_codes() -> None:
    """The article's Adam default epsilon=1e-8 and NumPy's default float64, independent of COMPONENTS."""
    cfg = _compose("+experiment=titanic_adam")
    assert cfg.model.adam_epsilon == 1e-8 and cfg.dtype == "float64" and cfg.sampling == "article"
    assert (cfg.model.adam_variant, cfg.model.backprop, cfg.model.loss_gradient) == ("article",) * 3


def test_default_is_keras_algorithm_and_components_stay_overridable() -> None:
    assert classify(_settings(_compose("+experiment=drujba_linreg"))) == "keras"
    one = _settings(_compose("+experiment=titanic_sgd", "model.backprop=standard"))
    assert classify(one) == "mixed" and differing(one, "article") == ["backprop"]


@pytest.mark.parametrize("name", ARTICLE_EXPERIMENTS)
def test_article_experiments_run_the_whole_article_algorithm(name: str) -> None:
    assert classify(_settings(_compose(f"+experiment={name}"))) == "article"


@pytest.mark.parametrize("name", ["titanic_vs_tf", "mnist_vs_tf"])
def test_head_to_head_runs_both_algorithms_in_one_sweep(name: str) -> None:
    jobs = _jobs(name)
    assert [(j["impls"], classify(j)) for j in jobs] == [
        (["mlp", "mlp_fused", "keras", "keras_tuned", "torch", "torch_compiled", "sklearn"], "keras"), (["mlp"], "article")]
    assert all(j["name"] == name for j in jobs)


def _cells(experiment: str) -> tuple[list[tuple], list[dict]]:
    jobs = _jobs(experiment)
    mlp = [tuple(str(j[c.key]) for c in COMPONENTS) for j in jobs if j["impls"] == ["mlp"]]
    peers = [j for j in jobs if j["impls"] != ["mlp"]]
    return mlp, peers


def test_ablation_titanic_has_every_combination_once_plus_keras() -> None:
    mlp, peers = _cells("ablation_titanic")
    every = {tuple(str(v) for v in values) for values in product(*((c.article, c.keras) for c in COMPONENTS))}
    assert len(mlp) == 2 ** len(COMPONENTS) == 32 and set(mlp) == every
    assert [(p["impls"], classify(p)) for p in peers] == [(["keras"], "keras")]


def test_ablation_mnist_switches_one_component_at_a_time_from_each_reference() -> None:
    mlp, peers = _cells("ablation_mnist")
    article = tuple(str(c.article) for c in COMPONENTS)
    keras = tuple(str(c.keras) for c in COMPONENTS)
    assert len(mlp) == len(set(mlp)) == 2 * len(COMPONENTS) + 2 == 12
    for ref, other in ((article, keras), (keras, article)):
        assert ref in mlp
        for i in range(len(COMPONENTS)):  # ref with component i from the other algorithm
            assert ref[:i] + (other[i],) + ref[i + 1:] in mlp
    assert [(p["impls"], classify(p)) for p in peers] == [(["keras"], "keras")]


def test_ablation_cells_keep_adam_epsilon_with_its_variant() -> None:
    for j in _jobs("ablation_titanic"):
        assert j["model.adam_epsilon"] == IMPLIED["model.adam_epsilon"][0 if j["model.adam_variant"] == "article" else 1]


def test_cell_names() -> None:
    assert ablation.cell_name(()) == "mlp_article"
    assert ablation.cell_name({c.name for c in COMPONENTS}) == "mlp_keras"
    assert ablation.cell_name({"backprop"}) == "mlp_article-backprop"
    assert ablation.cell_name({c.name for c in COMPONENTS} - {"dtype"}) == "mlp_keras-dtype"
    with pytest.raises(ValueError, match="unknown algorithm component"):
        ablation.cell_name({"momentum"})


TITANIC = {"layers": [{"units": 15, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
           "loss": "binary_crossentropy", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 100,
           "epochs": 3}
DS = SimpleNamespace(task="binary", x_train=[[0.0] * 7] * 600, n_features=7)  # Titanic's shape (torch_compiled reads it)


def check_plan(impl: str, spec: ModelSpec) -> None:
    registry.get(impl).adapter.check_plan(spec, DS, registry.get(impl).backends[0])


@pytest.mark.parametrize("impl", ["keras", "keras_tuned", "torch", "torch_compiled", "sklearn"])
@pytest.mark.parametrize("key", ["backprop", "loss_gradient"])
def test_peers_refuse_the_mlp_only_components(impl: str, key: str) -> None:
    """Each form is named as the user named it in impls (keras_tuned, not keras)."""
    spec = spec_from_config({**TITANIC, key: "article"})
    with pytest.raises(ValueError) as info:
        check_plan(impl, spec)
    assert str(info.value) == (f"impls=[{impl}] cannot follow model.{key}=article (only the from-scratch MLP has it); "
                               f"set model.{key}=standard or drop {impl} from impls")
    check_plan(impl, spec_from_config(TITANIC)) if impl != "sklearn" else None  # negative control


@pytest.mark.parametrize("impl", ["keras", "keras_tuned"])
def test_keras_refuses_the_articles_adam(impl: str) -> None:
    with pytest.raises(ValueError, match=r"^Keras's Adam adds epsilon to the uncorrected sqrt\(v\) and has no "
                                         rf"adam_variant=article; use model.adam_variant=keras or drop {impl} from impls$"):
        check_plan(impl, spec_from_config({**TITANIC, "adam_variant": "article", "adam_epsilon": 1e-8}))
    check_plan("keras", spec_from_config({**TITANIC, "optimizer": "sgd", "adam_variant": "article"}))


def test_loss_gradient_is_validated_and_passed_to_the_mlp() -> None:
    with pytest.raises(ValueError, match="unknown loss gradient 'late' at model.loss_gradient; valid: standard, article"):
        spec_from_config({**TITANIC, "loss_gradient": "late"})
    spec = spec_from_config({**TITANIC, "loss_gradient": "article"})
    assert mlp_model.build_network(spec, 7, seed=0, dtype="float64", backend="numpy",
                                   sampling="article").loss_gradient == "article"
    relu_out = {**TITANIC, "layers": [{"units": 15, "activation": "relu"}, {"units": 1, "activation": "relu"}]}
    for impl in ("mlp", "mlp_fused"):
        with pytest.raises(ValueError, match=rf"^impls=\[{impl}\] cannot train model.loss=mae with model.loss_gradient=article"):
            check_plan(impl, spec_from_config({**TITANIC, "loss": "mae", "loss_gradient": "article"}))
        with pytest.raises(ValueError, match=rf"^impls=\[{impl}\] cannot train model.loss=binary_crossentropy after"):
            check_plan(impl, spec_from_config(relu_out))
