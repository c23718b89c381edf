"""The sweep spec: parsed once from YAML (or a dict) into frozen, typed objects.

Every check happens here, before Ray starts: unknown keys, wrong types, impossible values, each
reported as ``SpecError("space.lr", "loguniform: low must be > 0, got 0")``. After parsing, the rest
of caviar trusts the spec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from caviar.errors import SpecError
from caviar.search_spaces import Choice, Constant, Integer, Space
from caviar.trainables.adapter import BUILTIN, resolve
from caviar.trainables.data import DataSpec

ALGORITHMS = ("random", "grid")
SCHEDULERS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "fifo": {},
    "asha": {"max_t": int, "grace_period": int, "reduction_factor": (int, float), "brackets": int},
    "hyperband": {"max_t": int, "reduction_factor": (int, float)},
    "median": {"grace_period": int, "min_samples_required": int},
}
MLP_METRICS = {"train_loss", "val_loss", "val_accuracy", "lr", "epoch_time_s"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TOP_KEYS = {
    "name",
    "trainable",
    "data",
    "metric",
    "mode",
    "space",
    "search",
    "scheduler",
    "resources",
    "max_concurrent",
    "max_failures",
    "time_budget_s",
    "trial_time_limit_s",
    "seed",
    "storage",
    "loggers",
}
# Ray Tune's own logger callbacks a spec may switch on (Parquet is always on), with the package each
# needs installed.
LOGGERS = {"tensorboard": "tensorboardX", "mlflow": "mlflow", "wandb": "wandb"}


@dataclass(frozen=True)
class SearchSpec:
    algorithm: str = "random"
    num_samples: int = 16


@dataclass(frozen=True)
class SchedulerSpec:
    name: str = "fifo"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resources:
    cpu: float = 1.0
    gpu: float = 0.0


@dataclass(frozen=True)
class SweepSpec:
    """A whole sweep, checked."""

    name: str
    trainable: str
    data: DataSpec | None
    metric: str
    mode: str
    space: Space
    search: SearchSpec
    scheduler: SchedulerSpec
    resources: Resources
    max_concurrent: int | None
    max_failures: int
    time_budget_s: float | None
    seed: int
    storage: str
    raw: Mapping[str, Any] = field(compare=False, repr=False)
    loggers: tuple[str, ...] = ()
    trial_time_limit_s: float | None = None  # wall-clock limit of one trial (see limits.py)

    @property
    def sweep_uri(self) -> str:
        """Where this sweep's results go: ``<storage>/<name>``."""
        return f"{self.storage.rstrip('/')}/{self.name}"

    def to_yaml(self) -> str:
        """The resolved spec, as run (written to sweep.yaml; ``load_spec`` reads it back)."""
        return yaml.safe_dump(dict(self.raw), sort_keys=False)

    @property
    def max_iterations(self) -> int | None:
        """The most iterations a trial runs: ``epochs`` of the space, if it is fixed or bounded."""
        if "epochs" not in self.space:
            return None
        epochs = self.space["epochs"]
        if isinstance(epochs, Constant) and isinstance(epochs.value, int):
            return epochs.value
        if isinstance(epochs, Integer):
            return epochs.high
        if isinstance(epochs, Choice) and epochs.value_type == "int":
            return int(max(epochs.values))  # type: ignore[type-var, call-overload]
        return None


def load_spec(path: str | Path, overrides: list[str] | None = None) -> SweepSpec:
    """Read a YAML spec file, apply ``key.path=value`` overrides, and parse it."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("SPEC", f"file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(str(path), f"invalid YAML{where}: {problem}") from None
    except UnicodeDecodeError:
        raise SpecError(str(path), "not a text file") from None
    if not isinstance(raw, dict):
        raise SpecError(str(path), f"expected a mapping of keys, got {type(raw).__name__}")
    for override in overrides or []:
        apply_override(raw, override)
    return parse_spec(raw)


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Set ``a.b=value`` in the raw spec; the value is parsed as YAML (``3`` is an int)."""
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise SpecError("--set", f"expected key=value, got {override!r}")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    target = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = target.setdefault(part, {})
        if not isinstance(node, dict):
            raise SpecError(key, f"cannot set a key inside {part!r}, which is not a mapping")
        target = node
    target[parts[-1]] = value


def parse_spec(raw: Mapping[str, Any]) -> SweepSpec:
    """Check a spec given as a dict and return it typed. Raises SpecError naming the key path."""
    if not isinstance(raw, Mapping):
        raise SpecError("", f"a spec must be a mapping, got {type(raw).__name__}")
    _no_unknown_keys("", raw, TOP_KEYS)
    name = _get(raw, "name", str, required=True)
    if not _NAME.match(name):
        raise SpecError("name", f"use letters, digits, '_', '-' and '.', got {name!r}")
    trainable = _get(raw, "trainable", str, default=BUILTIN)
    try:
        resolve(trainable)
    except ValueError as error:
        raise SpecError("trainable", str(error)) from None
    data = _parse_data(raw.get("data"), trainable)
    metric = _get(raw, "metric", str, required=True)
    mode = _get(raw, "mode", str, default="min")
    if mode not in ("min", "max"):
        raise SpecError("mode", f"must be 'min' or 'max', got {mode!r}")
    space = _parse_space(raw.get("space"))
    if trainable == BUILTIN:
        _check_mlp(space, metric, data)
    search = _parse_search(raw.get("search", {}), space)
    resources = _parse_resources(raw.get("resources", {}))
    max_concurrent = _get(raw, "max_concurrent", int, default=None)
    if max_concurrent is not None and max_concurrent < 1:
        raise SpecError(
            "max_concurrent", f"must be >= 1 (or null for no limit), got {max_concurrent}"
        )
    max_failures = _get(raw, "max_failures", int, default=0)
    if max_failures < -1:
        raise SpecError("max_failures", f"must be >= -1 (-1 retries forever), got {max_failures}")
    time_budget_s = _get(raw, "time_budget_s", (int, float), default=None)
    if time_budget_s is not None and time_budget_s <= 0:
        raise SpecError("time_budget_s", f"must be > 0, got {time_budget_s}")
    trial_time_limit_s = _get(raw, "trial_time_limit_s", (int, float), default=None)
    if trial_time_limit_s is not None and trial_time_limit_s <= 0:
        raise SpecError("trial_time_limit_s", f"must be > 0, got {trial_time_limit_s}")
    seed = _get(raw, "seed", int, default=0)
    if seed < 0:
        raise SpecError("seed", f"must be >= 0, got {seed}")
    storage = str(_get(raw, "storage", str, default="results"))
    loggers = _parse_loggers(raw.get("loggers"))
    spec = SweepSpec(
        name=name,
        trainable=trainable,
        data=data,
        metric=metric,
        mode=mode,
        space=space,
        search=search,
        scheduler=SchedulerSpec("fifo"),
        resources=resources,
        max_concurrent=max_concurrent,
        max_failures=max_failures,
        time_budget_s=None if time_budget_s is None else float(time_budget_s),
        seed=seed,
        storage=storage,
        raw=dict(raw),
        loggers=loggers,
        trial_time_limit_s=None if trial_time_limit_s is None else float(trial_time_limit_s),
    )
    scheduler = _parse_scheduler(raw.get("scheduler", {"name": "fifo"}), spec.max_iterations)
    return SweepSpec(**{**spec.__dict__, "scheduler": scheduler})


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return names[float] if float in kinds else " or ".join(names.get(k, k.__name__) for k in kinds)


def _check_type(path: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise SpecError(path, f"must be {_type_name(kind)}, got {value!r}")
    if not isinstance(value, kinds):
        raise SpecError(path, f"must be {_type_name(kind)}, got {value!r}")
    return value


def _get(
    raw: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = False,
    default: Any = None,
    prefix: str = "",
) -> Any:
    path = f"{prefix}{key}"
    if key not in raw or raw[key] is None:
        if required:
            raise SpecError(path, "required key is missing")
        return default
    return _check_type(path, raw[key], kind)


def _no_unknown_keys(prefix: str, raw: Mapping[str, Any], known: set[str]) -> None:
    for key in raw:
        if key not in known:
            suggestion = _closest(str(key), known)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            raise SpecError(f"{prefix}{key}", f"unknown key{hint}")


def _closest(word: str, candidates: set[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def nested_error(prefix: str, error: Exception) -> SpecError:
    """``"lr: low must be > 0"`` from a lower layer, as ``SpecError("space.lr", "low must be > 0")``."""
    message = str(error)
    key, sep, rest = message.partition(": ")
    if sep and key.isidentifier():
        return SpecError(f"{prefix}.{key}", rest)
    return SpecError(prefix, message)


def _mapping(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(path, f"must be a mapping, got {value!r}")
    return value


def _parse_space(value: Any) -> Space:
    if value is None:
        raise SpecError("space", "required key is missing")
    mapping = _mapping("space", value)
    if not mapping:
        raise SpecError("space", "needs at least one parameter")
    try:
        return Space.from_dict(mapping)
    except ValueError as error:
        raise nested_error("space", error) from None


def _parse_data(value: Any, trainable: str) -> DataSpec | None:
    if value is None:
        return DataSpec() if trainable == BUILTIN else None
    mapping = _mapping("data", value)
    try:
        return DataSpec.from_dict(dict(mapping))
    except (TypeError, ValueError) as error:
        raise nested_error("data", error) from None


def _check_mlp(space: Space, metric: str, data: DataSpec | None) -> None:
    from caviar.trainables.mlp import ACTIVATIONS, DEFAULTS, LR_SCHEDULES

    for name in space:
        if name not in DEFAULTS:
            suggestion = _closest(name, set(DEFAULTS))
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            raise SpecError(f"space.{name}", f"not a knob of the mlp trainable{hint}")
    allowed = {
        "optimizer": {"sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"},
        "activation": set(ACTIVATIONS),
        "lr_schedule": set(LR_SCHEDULES),
        "init": {"default", "kaiming", "xavier", "orthogonal"},
    }
    for name, values in allowed.items():
        if name not in space:
            continue
        dist = space[name]
        options = dist.values if isinstance(dist, Choice) else [getattr(dist, "value", None)]
        for option in options:
            if option not in values:
                raise SpecError(
                    f"space.{name}",
                    f"unknown value {option!r} (known: {', '.join(sorted(values))})",
                )
    metrics = set(MLP_METRICS)
    if data is not None and (data.synthetic == "regression"):
        metrics.discard("val_accuracy")
    if metric not in metrics:
        raise SpecError(
            "metric",
            f"the mlp trainable does not report {metric!r} (it reports: {', '.join(sorted(metrics))})",
        )


def _parse_search(value: Any, space: Space) -> SearchSpec:
    mapping = _mapping("search", value)
    _no_unknown_keys("search.", mapping, {"algorithm", "num_samples"})
    algorithm = _get(mapping, "algorithm", str, default="random", prefix="search.")
    if algorithm not in ALGORITHMS:
        raise SpecError(
            "search.algorithm", f"must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}"
        )
    num_samples = _get(mapping, "num_samples", int, default=16, prefix="search.")
    if num_samples < 1:
        raise SpecError("search.num_samples", f"must be >= 1, got {num_samples}")
    return SearchSpec(algorithm, num_samples)


def _parse_resources(value: Any) -> Resources:
    mapping = _mapping("resources", value)
    _no_unknown_keys("resources.", mapping, {"cpu", "gpu"})
    cpu = _get(mapping, "cpu", (int, float), default=1, prefix="resources.")
    gpu = _get(mapping, "gpu", (int, float), default=0, prefix="resources.")
    if cpu < 0:
        raise SpecError("resources.cpu", f"must be >= 0, got {cpu}")
    if gpu < 0:
        raise SpecError("resources.gpu", f"must be >= 0, got {gpu}")
    if gpu > 1 and not float(gpu).is_integer():
        raise SpecError("resources.gpu", f"above 1 must be a whole number of GPUs, got {gpu}")
    if cpu == 0 and gpu == 0:
        raise SpecError("resources", "a trial needs at least some cpu or gpu")
    return Resources(float(cpu), float(gpu))


def _parse_scheduler(value: Any, max_iterations: int | None) -> SchedulerSpec:
    if isinstance(value, str):
        value = {"name": value}
    mapping = _mapping("scheduler", value)
    name = _get(mapping, "name", str, default="fifo", prefix="scheduler.")
    if name not in SCHEDULERS:
        raise SpecError("scheduler.name", f"must be one of {', '.join(SCHEDULERS)}, got {name!r}")
    allowed = SCHEDULERS[name]
    _no_unknown_keys("scheduler.", mapping, {"name", *allowed})
    options = {
        key: _get(mapping, key, kind, prefix="scheduler.")
        for key, kind in allowed.items()
        if mapping.get(key) is not None
    }
    for key, option in options.items():
        if option <= 0 or (key == "reduction_factor" and option <= 1):
            bound = "> 1" if key == "reduction_factor" else "> 0"
            raise SpecError(f"scheduler.{key}", f"must be {bound}, got {option}")
    if "max_t" in allowed:
        options.setdefault("max_t", max_iterations or 100)
        if "grace_period" in options and options["grace_period"] > options["max_t"]:
            raise SpecError(
                "scheduler.grace_period",
                f"must be <= max_t ({options['max_t']}), got {options['grace_period']}",
            )
    return SchedulerSpec(name, options)


def _parse_loggers(value: Any) -> tuple[str, ...]:
    """``loggers: [tensorboard, mlflow, wandb]``: known names, once each, their package installed."""
    import importlib.util

    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise SpecError("loggers", f"must be a list such as [tensorboard], got {value!r}")
    for index, name in enumerate(value):
        if not isinstance(name, str) or name not in LOGGERS:
            raise SpecError(
                f"loggers[{index}]", f"must be one of {', '.join(LOGGERS)}, got {name!r}"
            )
        if value.index(name) != index:
            raise SpecError(f"loggers[{index}]", f"{name!r} is listed twice")
        package = LOGGERS[name]
        if importlib.util.find_spec(package) is None:
            raise SpecError(
                f"loggers[{index}]",
                f"{name} needs the {package!r} package, which is not installed: "
                f"pip install {package}",
            )
    return tuple(value)
