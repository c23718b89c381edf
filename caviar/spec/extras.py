"""The spec's objectives, trackers and scikit-learn parts, checked like the rest of the spec.

- ``metric: [val_loss, n_params]`` with ``mode: [min, min]``: a multi-objective sweep. The first
  metric is the one schedulers, ``coarse_to_fine`` and ``confirm`` use.
- ``mlflow: {tracking_uri, experiment}`` and ``tensorboard: {logdir}``: options of the trackers
  that ``loggers:`` names.
- ``trainable: sklearn:<class path>``: the space's keys must be the estimator's constructor
  parameters, ``metric`` one it reports, ``scoring:`` scikit-learn scorer names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from caviar.errors import SpecError, shown
from caviar.objective import MODES, Mode, as_mode
from caviar.search_spaces import Space
from caviar.spec.packages import LOGGERS, missing_tracker

TRACKER_OPTIONS: dict[str, dict[str, type]] = {
    "mlflow": {"tracking_uri": str, "experiment": str},
    "tensorboard": {"logdir": str},
}


def parse_objectives(raw: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[Mode, ...]]:
    """``metric``/``mode``: one name and one mode, or two lists of the same length."""
    metric = raw.get("metric")
    mode = raw.get("mode", "min")
    if metric is None:
        raise SpecError("metric", "required key is missing")
    if isinstance(metric, list):
        if not metric:
            raise SpecError("metric", "a list of metrics needs at least one name")
        for index, name in enumerate(metric):
            if not isinstance(name, str) or not name:
                raise SpecError(f"metric[{index}]", f"must be a string, got {shown(name)}")
            if metric.index(name) != index:
                raise SpecError(f"metric[{index}]", f"{shown(name)} is listed twice")
        if not isinstance(mode, list):
            raise SpecError(
                "mode",
                f"with a list of {len(metric)} metrics give a list of {len(metric)} modes "
                f"such as [min, max], got {shown(mode)}",
            )
        if len(mode) != len(metric):
            raise SpecError(
                "mode", f"{len(mode)} modes for {len(metric)} metrics: give one mode per metric"
            )
        for index, value in enumerate(mode):
            if value not in MODES:
                raise SpecError(f"mode[{index}]", f"must be 'min' or 'max', got {shown(value)}")
        return tuple(metric), tuple(as_mode(m) for m in mode)
    if not isinstance(metric, str):
        raise SpecError("metric", f"must be a string or a list of strings, got {shown(metric)}")
    if isinstance(mode, list):
        raise SpecError(
            "mode", f"a list of modes needs a list of metrics, got metric {shown(metric)}"
        )
    if not isinstance(mode, str):
        raise SpecError("mode", f"must be a string, got {shown(mode)}")
    if mode not in MODES:
        raise SpecError("mode", f"must be 'min' or 'max', got {shown(mode)}")
    return (metric,), (as_mode(mode),)


def parse_loggers(value: Any) -> tuple[str, ...]:
    """``loggers: [tensorboard, mlflow, wandb]``: known names, once each, their package installed."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise SpecError("loggers", f"must be a list such as [tensorboard], got {shown(value)}")
    for index, name in enumerate(value):
        if not isinstance(name, str) or name not in LOGGERS:
            raise SpecError(
                f"loggers[{index}]", f"must be one of {', '.join(LOGGERS)}, got {shown(name)}"
            )
        if value.index(name) != index:
            raise SpecError(f"loggers[{index}]", f"{name!r} is listed twice")
        missing = missing_tracker(name)
        if missing is not None:
            raise SpecError(f"loggers[{index}]", missing)
    return tuple(value)


def parse_tracker_options(
    raw: Mapping[str, Any], loggers: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """``mlflow:`` and ``tensorboard:`` mappings, each only next to its name in ``loggers``."""
    found: dict[str, dict[str, Any]] = {}
    for name, allowed in TRACKER_OPTIONS.items():
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise SpecError(name, f"must be a mapping such as {{{next(iter(allowed))}: ...}}")
        if name not in loggers:
            raise SpecError(name, f"options for a tracker that is off: add {name} to loggers")
        for key, option in value.items():
            if key not in allowed:
                raise SpecError(
                    f"{name}.{key}", f"unknown key (known: {', '.join(sorted(allowed))})"
                )
            if not isinstance(option, allowed[key]) or not option:
                raise SpecError(f"{name}.{key}", f"must be a non-empty string, got {shown(option)}")
        found[name] = dict(value)
    return found


def parse_scoring(value: Any, trainable: str) -> tuple[str, ...]:
    """``scoring: r2`` or a list of scikit-learn scorer names; only for sklearn trainables."""
    from caviar.trainables.estimator import check_scorer, is_estimator_path

    if value is None:
        return ()
    if not is_estimator_path(trainable):
        raise SpecError("scoring", "scores scikit-learn trainables (trainable: sklearn:...) only")
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise SpecError("scoring", f"must be a scorer name or a list of them, got {shown(value)}")
    for index, name in enumerate(names):
        path = "scoring" if isinstance(value, str) else f"scoring[{index}]"
        if not isinstance(name, str):
            raise SpecError(path, f"must be a string, got {shown(name)}")
        try:
            check_scorer(name)
        except ValueError as error:
            raise SpecError(path, str(error)) from None
    return tuple(names)


def check_estimator(
    trainable: str, space: Space, metrics: Sequence[str], scoring: Sequence[str]
) -> None:
    """The space's keys are constructor parameters and every metric is one the estimator reports."""
    from caviar.errors import nested_error
    from caviar.trainables.estimator import check_space, estimator_class, reported_metrics

    try:
        cls = estimator_class(trainable)
    except ValueError as error:
        raise SpecError("trainable", str(error)) from None
    try:
        check_space(cls, list(space))
    except ValueError as error:
        raise nested_error("space", error) from None
    reported = reported_metrics(cls, scoring)
    for index, metric in enumerate(metrics):
        if metric not in reported:
            path = "metric" if len(metrics) == 1 else f"metric[{index}]"
            raise SpecError(
                path,
                f"{cls.__name__} reports {', '.join(reported)}, not {shown(metric)} "
                "(scoring: names other scikit-learn scorers)",
            )
