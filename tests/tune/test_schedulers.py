"""Scheduler construction and PBT's explore step, without Ray processes."""

from __future__ import annotations

import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import (
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    TrialScheduler,
)

from caviar.search_spaces import Space, integer, loguniform, pow2, reverse_loguniform, uniform
from caviar.spec.model import scheduler_spec
from caviar.tune.schedulers import (
    ConfirmationPassThrough,
    SpaceExplorer,
    build_scheduler,
    perturb,
    ray_scheduler,
)


def test_every_scheduler_is_rays_own_with_the_spec_options() -> None:
    asha = ray_scheduler(
        build_scheduler(
            scheduler_spec(
                "asha", {"max_t": 9, "grace_period": 2, "reduction_factor": 3, "brackets": 2}
            )
        )
    )
    assert isinstance(asha, AsyncHyperBandScheduler)
    assert asha._max_t == 9 and len(asha._brackets) == 2
    hyperband = ray_scheduler(
        build_scheduler(scheduler_spec("hyperband", {"max_t": 27, "reduction_factor": 3}))
    )
    assert isinstance(hyperband, HyperBandScheduler) and hyperband._eta == 3
    median = ray_scheduler(
        build_scheduler(
            scheduler_spec(
                "median", {"grace_period": 2, "min_samples_required": 4, "hard_stop": False}
            )
        )
    )
    assert isinstance(median, MedianStoppingRule)
    assert median._grace_period == 2 and median._min_samples_required == 4
    assert not median._hard_stop
    assert isinstance(build_scheduler(scheduler_spec("fifo", {})), FIFOScheduler)
    space = Space.from_dict({"lr": "loguniform(1e-4, 1)"})
    pbt = ray_scheduler(
        build_scheduler(
            scheduler_spec(
                "pbt",
                {
                    "perturbation_interval": 3,
                    "quantile_fraction": 0.5,
                    "resample_probability": 0.1,
                    "hyperparam_mutations": ("lr",),
                },
            ),
            space,
        )
    )
    assert isinstance(pbt, PopulationBasedTraining)
    assert pbt._perturbation_interval == 3 and pbt._quantile_fraction == 0.5
    assert isinstance(pbt._custom_explore_fn, SpaceExplorer)
    assert pbt._custom_explore_fn.resample_probability == 0.1


def test_confirmation_trials_bypass_early_stopping_only_when_asked() -> None:
    wrapped = build_scheduler(scheduler_spec("asha", {"max_t": 4}), confirm=True)
    assert isinstance(wrapped, ConfirmationPassThrough)
    assert isinstance(ray_scheduler(wrapped), AsyncHyperBandScheduler)
    assert isinstance(build_scheduler(scheduler_spec("fifo", {}), confirm=True), FIFOScheduler)


@pytest.mark.parametrize(
    ("dist", "value", "factor", "expected"),
    [
        (loguniform(1e-4, 1), 0.01, 1.2, 0.012),
        (loguniform(1e-4, 1), 0.9, 1.2, 1.0),  # clipped at the upper bound
        (reverse_loguniform(0.9, 0.999), 0.99, 1.2, 0.988),  # 1 - x is scaled
        (reverse_loguniform(0.9, 0.999), 0.995, 0.8, 0.996),
        (reverse_loguniform(0.9, 0.999), 0.9, 1.2, 0.9),  # never below the lower bound
        (uniform(0, 0.5), 0.1, 0.8, 0.08),
        (integer(1, 10), 2, 1.2, 3),  # a small integer still moves
        (integer(1, 10), 10, 1.2, 10),
        (pow2(16, 256), 64, 1.2, 64 * 1.2),
    ],
)
def test_perturb_keeps_each_scale_and_the_bounds(
    dist: object, value: float, factor: float, expected: float
) -> None:
    moved = perturb(dist, value, factor)  # type: ignore[arg-type]
    if isinstance(expected, float) and not float(expected).is_integer():
        if dist == pow2(16, 256):
            assert moved in (64, 128)
            return
        assert moved == pytest.approx(expected)
    else:
        assert moved == expected
    assert dist.contains(moved)  # type: ignore[attr-defined]


def test_explorer_perturbs_named_params_within_the_space_and_fixes_conditions() -> None:
    space = Space.from_dict(
        {
            "optimizer": 'choice("sgd", "adam")',
            "momentum": {"sample": "reverse_loguniform(0.9, 0.999)", "when": {"optimizer": "sgd"}},
            "lr": "loguniform(1e-4, 1)",
            "units": 32,
        }
    )
    explore = SpaceExplorer(space, ["optimizer", "momentum", "lr"], resample_probability=0.3)
    config = {"optimizer": "sgd", "momentum": 0.99, "lr": 0.01, "units": 32, "seed": 5}
    changed = set()
    for _ in range(200):
        new = explore(config)
        assert new["units"] == 32 and new["seed"] == 5
        space.validate({k: v for k, v in new.items() if k != "seed" and v is not None})
        assert (new["momentum"] is not None) == (new["optimizer"] == "sgd")
        changed |= {k for k in config if new[k] != config[k]}
        config = new
    assert changed >= {"optimizer", "momentum", "lr"}


def test_asha_rungs_survive_a_snapshot_and_restore() -> None:
    import pickle
    from types import SimpleNamespace

    from caviar.tune.schedulers import SchedulerStateCallback

    spec = scheduler_spec("asha", {"max_t": 9, "grace_period": 1, "reduction_factor": 3})
    wrapper = build_scheduler(spec)
    running = wrapper.inner  # type: ignore[attr-defined]  # Ray's, in ResumableScheduler
    bracket = running._brackets[0]
    for trial_id, value in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        running._trial_info[trial_id] = bracket
        bracket.on_result(SimpleNamespace(trial_id=trial_id), 1, value)  # type: ignore[arg-type]
    state = pickle.loads(pickle.dumps(SchedulerStateCallback(wrapper).get_state()))

    wrapped = pickle.loads(pickle.dumps(build_scheduler(spec)))  # as Tuner.restore gets it
    SchedulerStateCallback(wrapped).set_state(state)
    wrapped.choose_trial_to_run(SimpleNamespace(get_trials=list))  # the state lands on first use
    restored = wrapped.inner
    assert restored._trial_info["a"] is restored._brackets[0]
    assert restored._brackets[0]._rungs == bracket._rungs
    assert SchedulerStateCallback(build_scheduler(scheduler_spec("fifo", {}))).get_state() is None


def test_pbt_history_restored_into_the_new_trial_objects_of_a_resume() -> None:
    """The fast slice of tests/tune/test_scheduler_resume.py's PBT kill test: PBT's perturbation
    count, per-trial state and explore RNG come back keyed to the Trials a resume recreates."""
    import pickle
    from types import SimpleNamespace

    from ray.train._internal.session import _FutureTrainingResult
    from ray.tune.experiment import Trial

    from caviar.tune.resumable import find_resumable
    from caviar.tune.schedulers import SchedulerStateCallback

    space = Space.from_dict({"lr": "loguniform(1e-4, 1)"})
    spec = scheduler_spec("pbt", {"perturbation_interval": 2, "hyperparam_mutations": ("lr",)})

    def trials() -> list[Trial]:
        return [
            Trial("t", config={"lr": 0.01 * (i + 1)}, trial_id=f"t{i}", stub=True) for i in range(3)
        ]

    running, before = build_scheduler(spec, space), trials()
    running.set_search_properties("loss", "min")  # as the TuneConfig hands them over
    for trial in before:
        running.on_trial_add(SimpleNamespace(search_alg=None), trial)
    pbt = ray_scheduler(running)
    pbt._num_perturbations = 2  # as two exploits leave it
    pbt._trial_state[before[1]].last_perturbation_time = 4
    pbt._trial_state[before[1]].last_score = -0.25
    pbt._trial_state[before[2]].last_checkpoint = _FutureTrainingResult(None)  # type: ignore[arg-type]
    pbt._custom_explore_fn({"lr": 0.01})  # the explorer's RNG moves on
    moved = pbt._custom_explore_fn.rng.bit_generator.state
    state = pickle.loads(pickle.dumps(SchedulerStateCallback(running).get_state()))

    resumed, after = pickle.loads(pickle.dumps(build_scheduler(spec, space))), trials()
    resumed.set_search_properties("loss", "min")
    SchedulerStateCallback(resumed).set_state(state)
    for trial in after:  # Tune re-adds the restored trials: new objects, the same ids
        resumed.on_trial_add(SimpleNamespace(search_alg=None), trial)
    resumable = find_resumable(resumed)
    assert resumable is not None
    resumable.ready()
    restored = ray_scheduler(resumed)
    assert restored._num_perturbations == 2
    assert restored._trial_state[after[1]].last_perturbation_time == 4
    assert restored._trial_state[after[1]].last_score == -0.25
    assert set(restored._trial_state) == set(after)
    # A save in flight when the state was saved died with its driver: the trial's last checkpoint.
    assert restored._trial_state[after[2]].last_checkpoint is after[2].checkpoint
    assert restored._custom_explore_fn.rng.bit_generator.state == moved  # not restarted
    assert SpaceExplorer(space, ("lr",)).rng.bit_generator.state != moved


class _Controller:
    """The one call of Tune's controller that HyperBand makes here: ``stop_trial``."""

    def __init__(self) -> None:
        self.stopped: list[str] = []

    def stop_trial(self, trial: Trial) -> None:
        self.stopped.append(trial.trial_id)
        trial.status = Trial.TERMINATED


def _last_trial_completes_with_done(scheduler: TrialScheduler) -> tuple[Trial, _Controller]:
    """Four trials in HyperBand's first bracket (max_t 6, factor 2: no halving, all run to 6).
    The first reaches 6 and is paused for the others; each other trial's last result comes with
    ``done`` (its function returned as Tune fetched it), which Tune hands to
    ``on_trial_complete`` only. Returns the paused trial and the controller."""
    scheduler.set_search_properties("score", "max")
    controller = _Controller()
    trials = [Trial("t", config={}, trial_id=f"t{k}", stub=True) for k in range(4)]
    for trial in trials:
        scheduler.on_trial_add(controller, trial)
        trial.status = Trial.RUNNING
    first, *others = trials
    for iteration in range(1, 7):
        decision = scheduler.on_trial_result(
            controller, first, {"training_iteration": iteration, "score": 1.0}
        )
    assert decision == TrialScheduler.PAUSE  # at the bracket's milestone, waiting for the rest
    first.status = Trial.PAUSED
    for trial in others:
        for iteration in range(1, 6):
            scheduler.on_trial_result(
                controller, trial, {"training_iteration": iteration, "score": 0.5}
            )
        trial.status = Trial.TERMINATED
        done = {"training_iteration": 6, "score": 0.5, "done": True}
        scheduler.on_trial_complete(controller, trial, done)
    return first, controller


def test_a_hyperband_bracket_that_finishes_on_a_completion_stops_its_paused_trials() -> None:
    """The fault matrix's hung resume (never-hyperband-kill9x2): Ray's HyperBand left the paused
    trial paused once its bracket finished through on_trial_complete, and Tune spun forever."""
    options = {"max_t": 6, "reduction_factor": 2}
    ray = HyperBandScheduler(time_attr="training_iteration", **options)
    paused, controller = _last_trial_completes_with_done(ray)
    assert ray.choose_trial_to_run(controller) is None
    assert controller.stopped == [] and paused.status == Trial.PAUSED  # Ray's own: stuck
    scheduler = build_scheduler(scheduler_spec("hyperband", options))
    paused, controller = _last_trial_completes_with_done(scheduler)
    assert controller.stopped == []  # the completion alone changes nothing, as in Ray
    assert scheduler.choose_trial_to_run(controller) is None  # Tune looks for a trial to run
    assert controller.stopped == [paused.trial_id] and paused.status == Trial.TERMINATED


def test_restored_hyperband_brackets_follow_the_restored_trial_list() -> None:
    """A torn snapshot (kill -9): the bracket state ahead of the trial list (b: let go in the
    state, still to run in the list: Ray failed on its first result) and behind it (d: finished
    in the list, live in the state: the bracket waited for it)."""
    import pickle

    from ray import cloudpickle

    from caviar.tune.schedulers import SchedulerStateCallback

    spec = scheduler_spec("hyperband", {"max_t": 6, "reduction_factor": 2})
    running = build_scheduler(spec)
    running.set_search_properties("score", "max")
    controller = _Controller()
    trials = {k: Trial("t", config={}, trial_id=k, stub=True) for k in "abcd"}
    for trial in trials.values():
        running.on_trial_add(controller, trial)
        trial.status = Trial.RUNNING
        running.on_trial_result(controller, trial, {"training_iteration": 1, "score": 1.0})
    trials["b"].status = Trial.PAUSED
    controller.stop_trial(trials["b"])
    running.on_trial_remove(controller, trials["b"])  # as Tune's stop_trial tells it
    state = pickle.loads(pickle.dumps(SchedulerStateCallback(running).get_state()))

    restored = pickle.loads(cloudpickle.dumps(build_scheduler(spec)))  # as Tuner.restore has it
    SchedulerStateCallback(restored).set_state(state)
    statuses = {"a": Trial.PENDING, "b": Trial.PENDING, "c": Trial.PENDING, "d": Trial.TERMINATED}
    again = {k: Trial("t", config={}, trial_id=k, stub=True) for k in statuses}
    for key, trial in again.items():
        trial.status = statuses[key]
        restored.on_trial_add(controller, trial)
    controller.stopped.clear()
    restored.choose_trial_to_run(controller)  # the state lands on first use
    hyperband = ray_scheduler(restored)
    bracket, _ = hyperband._trial_info[again["a"]]
    assert {trial.trial_id for trial in bracket._live_trials} == {"a", "c"}  # d is done
    assert controller.stopped == ["b"]  # let go before the kill: stopped, as the bracket decided
    result = {"training_iteration": 2, "score": 1.0}
    assert restored.on_trial_result(controller, again["a"], result) == TrialScheduler.CONTINUE
