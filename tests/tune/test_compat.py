"""Every private Ray name caviar touches still exists in the pinned Ray, with the shape relied on.

One test per name in caviar.tune.compat and caviar.cluster.compat: a Ray upgrade that moves or
changes one fails here, in one place, instead of somewhere deep in a sweep.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

import numpy as np
import pytest
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import AsyncHyperBandScheduler, MedianStoppingRule
from ray.tune.search import SearchGenerator
from ray.tune.search.sample import Function

from caviar.cluster import compat as cluster_compat
from caviar.search import snapshot
from caviar.search.continuation import PAUSED
from caviar.search_spaces import Space
from caviar.tune import compat
from caviar.tune.searchers import SpaceSearcher


def test_asha_rungs_come_from_rays_bracket() -> None:
    from ray.tune.schedulers.async_hyperband import _Bracket

    assert list(inspect.signature(_Bracket).parameters)[:4] == [
        "min_t",
        "max_t",
        "reduction_factor",
        "s",
    ]
    assert compat.asha_rungs(1, 16, 4, 0) == [16, 4, 1]  # largest first, as Ray keeps them
    assert compat.asha_rungs(1, 16, 4, 1) == [16, 4]


def test_hyperband_first_milestones() -> None:
    assert compat.hyperband_first_milestones(27, 3) == [27, 9, 3, 1]


def test_asha_keeps_its_trial_to_bracket_map_by_trial_id() -> None:
    asha = AsyncHyperBandScheduler(metric="m", mode="min", max_t=4)
    assert asha._trial_info == {}
    asha._trial_info["t1"] = asha._brackets[0]
    compat.asha_forget(asha, "t1")
    compat.asha_forget(asha, "never-there")
    assert asha._trial_info == {}


def test_pbt_keeps_pending_saves_as_futures_in_its_trial_states() -> None:
    from ray.train._internal.session import _FutureTrainingResult
    from ray.tune.schedulers import PopulationBasedTraining
    from ray.tune.schedulers.pbt import _PBTTrialState

    assert compat.is_pending_save(_FutureTrainingResult(None))  # type: ignore[arg-type]
    assert not compat.is_pending_save(None)
    pbt = PopulationBasedTraining(metric="m", mode="min", hyperparam_mutations={"x": [1, 2]})
    trial = Trial("t", stub=True, trial_id="t0")
    compat.pbt_trial_states(pbt)[trial] = _PBTTrialState(trial)
    assert pbt._trial_state[trial].last_checkpoint is None  # the attribute a resume sets


def test_median_rule_keeps_per_trial_results() -> None:
    rule = MedianStoppingRule(metric="m", mode="min")
    history = compat.median_history(rule)
    history["trial"].append({"training_iteration": 1})  # a defaultdict(list), changed in place
    assert rule._results["trial"] == [{"training_iteration": 1}]


def test_search_generator_progress() -> None:
    generator = SearchGenerator(SpaceSearcher(Space.from_dict({"x": "uniform(0, 1)"}), 0, 3))
    assert compat.generator_progress(generator) == (0, 0)
    compat.set_generator_progress(generator, total=3)
    assert not generator.is_finished()
    compat.set_generator_progress(generator, created=3)
    assert compat.generator_progress(generator) == (3, 3) and generator.is_finished()


def test_optuna_search_keeps_its_study_and_trials() -> None:
    from caviar.tune.optuna_search import tpe_searcher

    searcher = tpe_searcher(Space.from_dict({"x": "uniform(0, 1)"}), 0, "m", "min")
    found = compat.optuna_trials(searcher)
    assert found is not None
    study, trials = found
    assert trials == {} and hasattr(study, "ask")
    searcher.suggest("t1")
    assert set(compat.optuna_trials(searcher)[1]) == {"t1"}  # type: ignore[index]


def test_experiment_state_file_names(tmp_path: Path) -> None:
    from ray.tune.impl.tuner_internal import _TUNER_PKL

    pattern = compat.experiment_state_pattern()
    assert pattern == f"{snapshot.STATE_PREFIX}-*{snapshot.STATE_SUFFIX}"
    assert _TUNER_PKL == snapshot.TUNER_FILE
    (tmp_path / "experiment_state-2026-01-01_00-00-00.json").write_text("{}")
    assert len(list(tmp_path.glob(pattern))) == 1


def test_rays_numpy_rng_wrapper() -> None:
    rng = compat.numpy_rng(np.random.default_rng(0))
    assert compat.numpy_rng(rng) is rng
    assert rng.random(3).shape == (3,)
    assert 0 <= compat.numpy_rng(None).random() < 1


def test_function_domains_call_sampler() -> None:
    sampler = compat.call_sampler()
    assert sampler is Function._CallSampler  # type: ignore[attr-defined]
    assert "sample" in vars(sampler) or hasattr(sampler, "sample")
    domain = Function(lambda config: 1)
    assert isinstance(domain.get_sampler(), sampler)


def test_a_restored_tuners_tune_config(tmp_path: Path) -> None:
    tuner = tune.Tuner(
        lambda config: None,
        tune_config=tune.TuneConfig(num_samples=2),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="x"),
    )
    config = compat.restored_tune_config(tuner)
    assert isinstance(config, tune.TuneConfig) and config.num_samples == 2
    with pytest.raises(RuntimeError, match="keeps its TuneConfig elsewhere"):
        compat.restored_tune_config(object())


def test_notes_on_a_trial() -> None:
    trial = Trial("__fake", config={}, stub=True)
    assert compat.trial_note(trial, "caviar_x") is None
    compat.set_trial_note(trial, "caviar_x", "why")
    assert compat.trial_note(trial, "caviar_x") == "why"
    assert Trial.PAUSED == PAUSED  # the status caviar continue writes into Tune's snapshot


@pytest.mark.xdist_group("ray")
def test_a_trial_that_never_started_gets_the_directory_name_its_path_needs(
    tmp_path: Path, ray_local: None
) -> None:
    from ray.train._internal.storage import StorageContext

    storage = StorageContext(storage_path=str(tmp_path), experiment_dir_name="sweep")
    trial = Trial("__fake", config={}, storage=storage, stub=True)
    with pytest.raises(RuntimeError, match="trial_dir_name"):
        _ = trial.path  # what Tune's ResultGrid reads for every trial at the end of fit
    assert compat.name_trial_dir(trial)
    assert trial.path and not compat.name_trial_dir(trial)  # once named, left as it is


def test_cluster_bootstrap_address() -> None:
    from ray._private import services

    assert compat_signature(services.canonicalize_bootstrap_address)[0] == "addr"
    assert cluster_compat.bootstrap_address("local") is None
    assert cluster_compat.bootstrap_address("10.1.2.3:6379") == "10.1.2.3:6379"
    local = cluster_compat.bootstrap_address("127.0.0.1:6379")  # this machine's node address
    assert local is not None and local.endswith(":6379")


def test_cluster_auth_names() -> None:
    from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

    assert callable(Config.initialize)
    assert "ignore_auth_mode" in compat_signature(AuthenticationTokenLoader.instance().has_token)
    assert isinstance(cluster_compat.has_auth_token(), bool)


def test_cluster_upload_walk(tmp_path: Path) -> None:
    (tmp_path / "keep.py").write_text("x = 1\n")
    (tmp_path / "skip.env").write_text("SECRET=1\n")
    assert cluster_compat.ignore_gitignore_env() == "RAY_RUNTIME_ENV_IGNORE_GITIGNORE"
    assert ".git" in cluster_compat.default_upload_excludes()
    seen: list[str] = []
    cluster_compat.walk_upload(
        tmp_path,
        [cluster_compat.exclude_matcher(tmp_path, ["*.env"])],
        lambda path: seen.append(path.name) if path.is_file() else None,
        include_gitignore=True,
        logger=logging.getLogger(__name__),
    )
    assert seen == ["keep.py"]


def test_worker_setup_hook_is_a_runtime_env_field() -> None:
    assert cluster_compat.worker_setup_hook_key() in cluster_compat.runtime_env_fields()


def compat_signature(function: object) -> list[str]:
    try:
        return list(inspect.signature(function).parameters)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a Cython function without a signature: its docstring
        doc = getattr(function, "__doc__", "") or ""
        return [name for name in ("ignore_auth_mode",) if name in doc]


def test_hyperband_brackets_can_be_ended() -> None:
    from ray.tune.schedulers import HyperBandScheduler
    from ray.tune.schedulers.hyperband import _Bracket

    scheduler = HyperBandScheduler(max_t=6, reduction_factor=2)
    assert isinstance(scheduler._hyperbands, list)
    assert all(callable(getattr(_Bracket, name)) for name in ("finished", "current_trials"))
    assert list(inspect.signature(_Bracket.cleanup_full).parameters) == ["self", "tune_controller"]
    assert compat.end_finished_brackets(scheduler, None) is False  # no bracket yet
