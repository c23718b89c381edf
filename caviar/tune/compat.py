"""Every private Ray Tune name caviar touches, each behind one small named function.

Ray marks what may be depended on (``@PublicAPI``/``@DeveloperAPI``); the names here are not
marked, so any Ray upgrade may move or change them. Keeping them in one module, each used through
one function, means an upgrade breaks in one place, and tests/tune/test_compat.py checks every one
against the pinned Ray (2.60) with the shape caviar relies on (attributes, signatures).

The names, and why caviar needs each:

* ``async_hyperband._Bracket`` and its ``_rungs``: the iterations ASHA decides at, as Ray
  computes them (the report draws them; ``asha_rungs``).
* ``HyperBandScheduler._s_max_1`` and ``_get_r0``: HyperBand's first milestone of each band
  (``hyperband_first_milestones``).
* ``AsyncHyperBandScheduler._trial_info``: the fused sweep's ASHA forgets a bundle trial it never
  scheduled (``asha_forget``).
* ``HyperBandScheduler._hyperbands`` and ``hyperband._Bracket.finished``/``current_trials``/
  ``cleanup_full``: a finished bracket whose paused trials Ray never stopped is ended
  (``end_finished_brackets``).
* ``HyperBandScheduler._trial_info`` and ``hyperband._Bracket._live_trials``: restored brackets
  are brought in step with the restored trial list (``reconcile_hyperband``).
* ``MedianStoppingRule._results``: a restarted trial's history is cut back (``median_history``).
* ``train._internal.session._FutureTrainingResult`` and ``PopulationBasedTraining._trial_state``:
  a checkpoint PBT asked a trial for, still being saved when the state was saved, is a future of
  the driver that made it; a resumed PBT takes the trial's last checkpoint instead
  (``is_pending_save``, ``pbt_trial_states``).
* ``SearchGenerator._counter``, ``_total_samples``, ``_finished``: a restored or grown search's
  progress (``generator_progress``, ``set_generator_progress``).
* ``OptunaSearch._ot_study`` and ``_ot_trials``: a torn snapshot's trials told to TPE
  (``optuna_trials``).
* ``execution.tune_controller.TuneController.CKPT_FILE_TMPL``: the experiment snapshot's file
  name (``experiment_state_pattern``).
* ``search.sample._BackwardsCompatibleNumpyRng`` and ``Function._CallSampler``: caviar's own
  samplers inside Ray domains (``numpy_rng``, ``call_sampler``).
* ``Tuner._local_tuner._tune_config``: the TuneConfig of a restored Tuner, which ``caviar
  extend``/``continue`` change (``restored_tune_config``).
* ``Trial.storage.trial_dir_name`` and ``Trial.init_local_path``: a trial the sweep ended before
  it started gets its directory name, without which Tune's ResultGrid fails at the end of ``fit``
  (``name_trial_dir``).
* An attribute set on a ``Trial``: why caviar stopped it, for the results table
  (``set_trial_note``, ``trial_note``); Ray's Trial has no field for a caller's notes.

The cluster's private names (``ray._private``, ``ray._raylet``) are in ``caviar.cluster.compat``.
"""

from __future__ import annotations

from typing import Any


def asha_rungs(grace_period: int, max_t: int, reduction_factor: float, bracket: int) -> list[int]:
    """The milestones of ASHA bracket ``bracket``, from Ray's own ``_Bracket`` (largest first)."""
    from ray.tune.schedulers.async_hyperband import _Bracket

    return [int(m) for m, _ in _Bracket(grace_period, max_t, reduction_factor, bracket)._rungs]


def hyperband_first_milestones(max_t: int, reduction_factor: float) -> list[int]:
    """Each HyperBand band's first milestone, as Ray's ``HyperBandScheduler`` computes it."""
    from ray.tune.schedulers import HyperBandScheduler

    band = HyperBandScheduler(max_t=max_t, reduction_factor=reduction_factor)
    return [int(band._get_r0(s)) for s in range(band._s_max_1)]  # type: ignore[no-untyped-call]


def asha_forget(scheduler: Any, trial_id: str) -> None:
    """Drop ``trial_id`` from an ASHA scheduler's trial-to-bracket map (it never reported there)."""
    scheduler._trial_info.pop(trial_id, None)


def end_finished_brackets(scheduler: Any, tune_controller: Any) -> bool:
    """Stop the paused trials of every finished HyperBand bracket with no trial running; whether
    any was stopped.

    Ray stops them only while it processes a result (``_process_bracket``). A trial whose last
    result came with ``done`` (its function returned as Tune fetched the result) reaches the
    scheduler through ``on_trial_complete`` alone, and ``on_trial_remove`` skips a bracket that has
    finished: the trials paused at its last milestone then wait forever, and Tune's loop spins.
    """
    from ray.tune.experiment import Trial

    ended = False
    for band in scheduler._hyperbands:
        for bracket in band:
            if bracket is None or not bracket.finished():
                continue
            statuses = {trial.status for trial in bracket.current_trials()}
            if Trial.PAUSED in statuses and Trial.RUNNING not in statuses:
                bracket.cleanup_full(tune_controller)
                ended = True
    return ended


def reconcile_hyperband(scheduler: Any, tune_controller: Any) -> None:
    """Bring HyperBand's restored brackets in step with the restored trial list, the truth.

    Tune's snapshot is several files written one after another, so after a kill -9 the
    scheduler's state can be ahead of the trial list or behind it. Ahead: a trial its bracket
    had already let go (cut, or done at max_t) that the list still has to run; Ray's HyperBand
    failed on its first result (``assert trial in self._live_trials``). It is stopped now, as the
    bracket decided, with the rows it had stored. Behind: a trial the list has finished, still
    live in its bracket, which then waited for it forever; it leaves the bracket.
    """
    finished = ("TERMINATED", "ERROR")
    let_go = []
    for trial, (bracket, _) in scheduler._trial_info.items():
        live = trial in bracket._live_trials
        if trial.status in finished and live:
            bracket.cleanup_trial(trial)
        elif trial.status not in finished and not live:
            let_go.append(trial)
    for trial in let_go:
        tune_controller.stop_trial(trial)


def median_history(scheduler: Any) -> dict[Any, list[dict[str, Any]]]:
    """The median stopping rule's per-trial results (Trial -> results), changed in place."""
    history: dict[Any, list[dict[str, Any]]] = scheduler._results
    return history


def is_pending_save(value: Any) -> bool:
    """Whether ``value`` is PBT's future of a checkpoint it asked a trial to save."""
    from ray.train._internal.session import _FutureTrainingResult

    return isinstance(value, _FutureTrainingResult)


def pbt_trial_states(scheduler: Any) -> dict[Any, Any]:
    """PBT's per-trial state (Trial -> ``_PBTTrialState``, with ``last_checkpoint``)."""
    states: dict[Any, Any] = scheduler._trial_state
    return states


def generator_progress(generator: Any) -> tuple[int, int]:
    """A SearchGenerator's (trials created, trials it makes in all)."""
    return int(generator._counter), int(generator._total_samples)


def set_generator_progress(
    generator: Any, created: int | None = None, total: int | None = None
) -> None:
    """Set a SearchGenerator's trials created and/or its total; it is finished when they meet."""
    if created is not None:
        generator._counter = created
    if total is not None:
        generator._total_samples = total
    generator._finished = generator._counter >= generator._total_samples


def optuna_trials(searcher: Any) -> tuple[Any, dict[str, Any]] | None:
    """An OptunaSearch's (study, trial_id -> Optuna trial); None before it made its study."""
    study = getattr(searcher, "_ot_study", None)
    if study is None:
        return None
    trials: dict[str, Any] = searcher._ot_trials
    return study, trials


def experiment_state_pattern() -> str:
    """The glob of Tune's experiment snapshot files (``experiment_state-*.json``)."""
    from ray.tune.execution.tune_controller import TuneController

    return str(TuneController.CKPT_FILE_TMPL.format("*"))


def numpy_rng(random_state: Any) -> Any:
    """Ray's random state as the wrapper its samplers draw from (``.random(size)``)."""
    from ray.tune.search.sample import _BackwardsCompatibleNumpyRng

    if isinstance(random_state, _BackwardsCompatibleNumpyRng):
        return random_state
    return _BackwardsCompatibleNumpyRng(random_state)


def call_sampler() -> type:
    """The sampler class of Ray's ``Function`` domain (``tune.sample_from``), to subclass."""
    from ray.tune.search.sample import Function

    sampler: type = Function._CallSampler  # type: ignore[attr-defined]
    return sampler


def restored_tune_config(tuner: Any) -> Any:
    """The ``TuneConfig`` a restored ``tune.Tuner`` will run with (changed in place).

    ``Tuner.restore`` takes no ``TuneConfig``: the search algorithm, the scheduler and the time
    budget come back from the pickle Tune wrote when the sweep started, and Ray offers no public
    way to change them.
    """
    from ray import tune

    config = getattr(getattr(tuner, "_local_tuner", None), "_tune_config", None)
    if not isinstance(config, tune.TuneConfig):
        raise RuntimeError(
            "this Ray's Tuner keeps its TuneConfig elsewhere; growing a sweep needs Ray 2.60's"
        )
    return config


def name_trial_dir(trial: Any) -> bool:
    """Give a trial that never started its directory name (Tune names it as the trial starts);
    whether it had none. Ray's ``Trial.path`` raises for a trial without one, and the ResultGrid
    that ``Tuner.fit`` returns reads the path of every trial."""
    if trial.storage.trial_dir_name:
        return False
    trial.init_local_path()
    return True


def set_trial_note(trial: Any, name: str, value: Any) -> None:
    """Leave ``value`` on a Tune ``Trial`` under ``name`` (for the results callback to read)."""
    setattr(trial, name, value)


def trial_note(trial: Any, name: str, default: Any = None) -> Any:
    """What ``set_trial_note`` left on ``trial`` under ``name``, else ``default``."""
    return getattr(trial, name, default)
