"""scikit-learn estimators as trainables: ``trainable: sklearn:sklearn.linear_model.Ridge``.

The space's keys are the estimator's constructor parameters (``alpha: grid(logspace(-4, 4, 100))``).
The data is the sweep's ``data:`` as it is (unscaled: put scaling in the estimator if it needs it),
split as the mlp splits it: ``data.folds: K`` gives K folds (the same ``KFold(K, shuffle=True,
random_state=data.seed)`` a GridSearchCV can take), else one ``val_fraction`` split. Each report
carries ``val_<scorer>``, the mean over folds of a scikit-learn scorer (``scoring:``; by default the
estimator's own score: ``r2`` for regressors, ``accuracy`` for classifiers), ``n_params`` (the
fitted model's coefficients or tree nodes) and ``fit_time_s``.

``epochs: N`` in the space (a caviar knob, not a constructor parameter) makes an estimator with
``partial_fit`` (one pass per epoch) or ``warm_start`` (``n_estimators`` grown in N steps, else one
more fit from the last solution per epoch) report N times, so ASHA can cut it. Others report once.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from caviar.trainables.data import DataSpec, load_arrays, split_indices

if TYPE_CHECKING:
    from caviar.trainables.protocol import TrainContext

PREFIX = "sklearn:"
EPOCHS = "epochs"
SEED = "seed"
OTHER_METRICS = ("n_params", "fit_time_s")


def is_estimator_path(name: str) -> bool:
    """Whether a spec's ``trainable:`` names a scikit-learn estimator class."""
    return name.startswith(PREFIX)


def estimator_class(name: str) -> type:
    """The estimator class ``sklearn:package.module.Class`` names; ValueError if it is none."""
    path = name.removeprefix(PREFIX)
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        raise ValueError(f"expected 'sklearn:package.module.Class', got {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import module {module_name!r}: {error}") from None
    found = getattr(module, class_name, None)
    if found is None:
        raise ValueError(f"module {module_name!r} has no attribute {class_name!r}")
    from sklearn.base import BaseEstimator

    if not (inspect.isclass(found) and issubclass(found, BaseEstimator) and hasattr(found, "fit")):
        raise ValueError(f"{path!r} is not a scikit-learn estimator (a class with fit)")
    return found


def constructor_params(cls: type) -> set[str]:
    """The parameters the estimator's constructor takes (what ``get_params`` lists)."""
    return set(cls._get_param_names())  # type: ignore[attr-defined]


def default_scorer(cls: type) -> str:
    """The scorer equal to the estimator's own ``score``: r2 for regressors, else accuracy."""
    from sklearn.base import RegressorMixin, is_regressor

    try:
        regressor = is_regressor(cls())
    except Exception:  # a constructor that needs arguments (meta-estimators): go by the class
        regressor = issubclass(cls, RegressorMixin)
    return "r2" if regressor else "accuracy"


def incremental(cls: type) -> str | None:
    """How the estimator trains in steps: ``partial_fit``, ``warm_start``, or None."""
    if hasattr(cls, "partial_fit"):
        return "partial_fit"
    if "warm_start" in constructor_params(cls):
        return "warm_start"
    return None


def reported_metrics(cls: type, scoring: Sequence[str]) -> list[str]:
    """The metrics a trial of this estimator reports."""
    return [f"val_{s}" for s in (scoring or [default_scorer(cls)])] + list(OTHER_METRICS)


def check_scorer(name: str) -> None:
    """ValueError naming the closest scorer if scikit-learn has none called ``name``."""
    from sklearn.metrics import get_scorer_names

    names = get_scorer_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"{name!r} is not a scikit-learn scorer{hint}")


def check_space(cls: type, names: Sequence[str]) -> None:
    """ValueError ``"<key>: ..."`` for a space key the estimator does not take."""
    params = constructor_params(cls)
    for name in names:
        if name == SEED or name in params:
            continue
        if name == EPOCHS:
            if incremental(cls) is None:
                raise ValueError(
                    f"{name}: {cls.__name__} has neither partial_fit nor warm_start, "
                    "so it trains in one step; drop epochs"
                )
            continue
        close = difflib.get_close_matches(name, sorted(params), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"{name}: not a parameter of {cls.__name__}{hint}")


def parameter_count(model: Any) -> int | None:
    """How big a fitted model is: its coefficient entries, or its trees' nodes (None: unknown)."""
    total, found = 0, False
    for attribute in ("coef_", "intercept_", "coefs_", "intercepts_", "dual_coef_"):
        value = getattr(model, attribute, None)
        if value is None:
            continue
        arrays = value if isinstance(value, list) else [value]
        total += int(sum(np.size(a) for a in arrays))
        found = True
    tree = getattr(model, "tree_", None)
    if tree is not None:
        total += int(tree.node_count)
        found = True
    members = getattr(model, "estimators_", None)
    if members is not None:
        for member in np.asarray(members, dtype=object).ravel():
            count = parameter_count(member)
            if count is not None:
                total += count
                found = True
    return total if found else None


class EstimatorTrainable:
    """``train(config, ctx)`` for one estimator class; a class so that Ray can pickle it."""

    def __init__(self, name: str, scoring: Sequence[str] = ()) -> None:
        self.name = name
        self.scoring = tuple(scoring)
        estimator_class(name)  # fail where it is named, not in the worker

    def __call__(self, config: Mapping[str, Any], ctx: TrainContext) -> None:
        spec: DataSpec | None = getattr(ctx, "_data_spec", None)
        if spec is None:
            raise RuntimeError("a scikit-learn trainable needs data: the sweep declares none")
        train_estimator(self.name, self.scoring, config, spec, ctx.report)


def train_estimator(
    name: str,
    scoring: Sequence[str],
    config: Mapping[str, Any],
    data: DataSpec,
    report: Callable[..., None],
) -> None:
    """Fit the estimator on each split and report the mean validation scores (see the module)."""
    from sklearn.base import clone, is_classifier
    from sklearn.metrics import get_scorer

    cls = estimator_class(name)
    params = {k: v for k, v in config.items() if k not in (EPOCHS, SEED)}
    if (
        SEED in config
        and "random_state" in constructor_params(cls)
        and "random_state" not in config
    ):
        params["random_state"] = int(config[SEED])
    epochs = int(config.get(EPOCHS, 0) or 0)
    how = incremental(cls) if epochs else None
    if how == "warm_start":
        params["warm_start"] = True
    x, y, _, _ = load_arrays(data)
    splits = split_indices(data)
    scorers = {s: get_scorer(s) for s in (scoring or [default_scorer(cls)])}
    models = [clone(cls(**params)) for _ in splits]
    classes = np.unique(y) if is_classifier(models[0]) else None
    target = int(params.get("n_estimators", 0) or 0)
    for step in range(1, max(1, epochs) + 1):
        started = time.perf_counter()
        for model, (train, _) in zip(models, splits, strict=True):
            if how == "partial_fit":
                extra = {"classes": classes} if classes is not None and step == 1 else {}
                model.partial_fit(x[train], y[train], **extra)
            else:
                if how == "warm_start" and target:
                    model.set_params(n_estimators=max(1, round(target * step / epochs)))
                model.fit(x[train], y[train])
        fit_time = time.perf_counter() - started
        metrics: dict[str, Any] = {
            f"val_{s}": float(
                np.mean(
                    [scorer(m, x[val], y[val]) for m, (_, val) in zip(models, splits, strict=True)]
                )
            )
            for s, scorer in scorers.items()
        }
        count = parameter_count(models[0])
        if count is not None:
            metrics["n_params"] = count
        metrics["fit_time_s"] = fit_time
        report(**metrics)


def estimator_tune_trainable(
    name: str, data: DataSpec | None, scoring: Sequence[str], cpus_per_trial: float
) -> Callable[[dict[str, Any]], None]:
    """The Ray Tune function trainable of an estimator sweep (as ``adapter.as_tune_trainable``)."""
    from caviar.trainables.adapter import trainable_config
    from caviar.trainables.context import TrialContext

    trainable = EstimatorTrainable(name, scoring)

    def run_trial(config: dict[str, Any]) -> None:
        from threadpoolctl import threadpool_limits

        from caviar.trainables.context import worker_threads

        ctx = TrialContext(data)
        with threadpool_limits(worker_threads(cpus_per_trial)):  # BLAS/OpenMP: the trial's CPUs
            trainable(trainable_config(config), ctx)

    run_trial.__name__ = name.removeprefix(PREFIX).replace(".", "_")
    return run_trial
