"""The bad-input corpus: malformed sweep specs and command lines, each refused the same way.

Every case must end with exit code 2 and one line on stderr, ``caviar: error: <key path>: <what is
wrong>``, with no traceback, nothing written to storage, and Ray never started. The cases run the
real command (``caviar.cli.main``) in this process, where starting Ray is refused (the one door to
it, ``caviar.cluster.connect.connected``, raises), plus a handful in fresh processes, end to end.
A trainable that never reports the sweep's metric can only be found once it runs: that case runs
on the shared Ray and stops the sweep with one line naming ``metric`` and exit 1 (documented).
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from caviar.cli import main
from tests.conftest import run_cli, small_spec
from tests.faults.summary import record_bad_input

pytestmark = pytest.mark.faults

SPACE = small_spec(Path("."))["space"]
MOMENTUM = {"sample": "reverse_loguniform(0.9, 0.999)", "when": {"optimizer": "sgd"}}


RIDGE: dict[str, Any] = {
    "trainable": "sklearn:sklearn.linear_model.Ridge",
    "data": {"synthetic": "regression", "n_samples": 100, "n_features": 1, "folds": 5},
    "metric": "val_r2",
    "mode": "max",
    "space": {"alpha": "grid(logspace(-4, 4, 100))"},
}


def space(**params: Any) -> dict[str, Any]:
    return {"space": {**SPACE, **params}}


@dataclass(frozen=True)
class Case:
    """One bad input: a change to a good spec, a spec file's text, or a command line."""

    key: str  # the key path the message must start with
    what: str  # a fragment of what it must say is wrong
    change: dict[str, Any] | None = None
    text: str | None = None
    args: tuple[str, ...] = ()  # {spec} and {tmp} are filled in
    setup: Callable[[Path], None] | None = None
    drop: tuple[str, ...] = field(default=())


def _table(tmp: Path) -> None:
    frame = pd.DataFrame({"a": range(20), "b": [0.5 * i for i in range(20)], "y": [0, 1] * 10})
    frame.rename(columns={"y": "label"}).to_parquet(tmp / "missing_target.parquet")
    frame.assign(y=1).to_parquet(tmp / "constant.parquet")
    (tmp / "garbage.parquet").write_bytes(b"not parquet at all" * 20)
    (tmp / "empty.csv").write_bytes(b"")
    (tmp / "a_dir.parquet").mkdir()
    frame.to_parquet(tmp / "good.parquet")
    frame.rename(columns={"b": "c"}).to_parquet(tmp / "other_columns.parquet")


def _a_sweep(tmp: Path) -> None:
    from tests.results.report_data import write_sweep

    write_sweep(tmp / "results", trials=3, iterations=2)


def _file_in_the_way(tmp: Path) -> None:
    (tmp / "a_file").write_text("storage cannot go below a file")


def _existing_sweep(tmp: Path) -> None:
    """A sweep named 'small' already in storage, run with another spec."""
    spec = small_spec(tmp, metric="val_accuracy", mode="max")
    (tmp / "results" / "small").mkdir(parents=True)
    (tmp / "results" / "small" / "sweep.yaml").write_text(yaml.safe_dump(spec))


def _same_sweep(tmp: Path) -> None:
    (tmp / "results" / "small").mkdir(parents=True)
    (tmp / "results" / "small" / "sweep.yaml").write_text(yaml.safe_dump(small_spec(tmp)))


def _open_ended_sweep(tmp: Path) -> None:
    """A sweep that samples until its time budget ends (no trial count)."""
    spec = small_spec(tmp, search={"algorithm": "random"}, budget={"time_s": 60})
    (tmp / "results" / "small").mkdir(parents=True)
    (tmp / "results" / "small" / "sweep.yaml").write_text(yaml.safe_dump(spec))


NAN = float("nan")
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"
# A user trainable (so that parameters need not be mlp knobs) and its metric.
USER: dict[str, Any] = {
    "trainable": "tests.results.killable:train",
    "metric": "score",
    "space": {"x": "uniform(0, 1)", "epochs": 2, "sleep": 0.0},
}
# p1 exists when p0 is 'a', p2 when p1 is 'a', ... 1500 deep.
CHAIN = {
    "space": {
        **USER["space"],
        "p0": "choice('a', 'b')",
        **{
            f"p{i}": {"sample": "choice('a', 'b')", "when": {f"p{i - 1}": "a"}}
            for i in range(1, 1500)
        },
    }
}
# Nine levels of nine aliases each: 9**9 (387 million) strings once expanded, from 300 bytes.
BOMB = (
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "name: *i\n"
)


def _finished_sweep(tmp: Path) -> None:
    """A sweep 'small' whose trials finished 4 epochs (its tables only: continue checks them)."""
    _same_sweep(tmp)
    frame = pd.DataFrame(
        {
            "trial_id": ["a", "b"],
            "status": ["TERMINATED", "TERMINATED"],
            "epochs": [4, 4],
            "best_val_loss": [0.5, 0.4],
            "iterations": [4, 4],
        }
    )
    frame.to_parquet(tmp / "results" / "small" / "trials.parquet")


def _old_sweep_other_space(tmp: Path) -> None:
    """An earlier sweep 'old' that searched only a parameter this spec does not have."""
    spec = small_spec(tmp, name="old", space={"dropout": "uniform(0, 0.5)", "epochs": 2})
    (tmp / "results" / "old").mkdir(parents=True)
    (tmp / "results" / "old" / "sweep.yaml").write_text(yaml.safe_dump(spec))


# Growing a sweep (extend, continue, zoom, --warm-start): issue 20's cases.
GROW_CASES: dict[str, Case] = {
    "extend of no sweep": Case(
        "SWEEP_DIR", "no caviar sweep at", args=("extend", "{tmp}", "--trials", "2")
    ),
    "extend by zero trials": Case(
        "--trials",
        "must be >= 1, got 0",
        setup=_same_sweep,
        args=("extend", "{tmp}/results/small", "--trials", "0"),
    ),
    "extend of a sweep without a trial count": Case(
        "--trials",
        "this sweep samples until its time budget ends and has no trial count to raise",
        setup=_open_ended_sweep,
        args=("extend", "{tmp}/results/small", "--trials", "2"),
    ),
    "continue of no sweep": Case(
        "SWEEP_DIR",
        "no caviar sweep at",
        args=("continue", "{tmp}", "--top", "2", "--epochs", "8"),
    ),
    "continue below the trials' epochs": Case(
        "--epochs",
        "must be at least the trials' own epochs (4), got 3",
        setup=_finished_sweep,
        args=("continue", "{tmp}/results/small", "--top", "2", "--epochs", "3"),
    ),
    "warm start sharing no parameter": Case(
        "--warm-start",
        "shares no searched parameter with this spec",
        {"search": {"algorithm": "tpe", "num_samples": 4}},
        setup=_old_sweep_other_space,
        args=("run", "{spec}", "--warm-start", "{tmp}/results/old"),
    ),
    "zoom of a sweep without finished trials": Case(
        "SWEEP_DIR",
        "has no finished trial",
        setup=_same_sweep,
        args=("zoom", "{tmp}/results/small", "-o", "{tmp}/next.yaml"),
    ),
}

CASES: dict[str, Case] = {
    **GROW_CASES,
    # YAML that does not parse, or is not a mapping
    "yaml unclosed bracket": Case(
        "{tmp}/spec.yaml", "invalid YAML at line", text="name: x\nspace: {lr: [\n"
    ),
    "yaml tab indent": Case("{tmp}/spec.yaml", "invalid YAML", text="name: x\nspace:\n\tlr: 1\n"),
    "yaml bad nesting": Case("{tmp}/spec.yaml", "invalid YAML", text="name: x\n  metric: y\n- z\n"),
    "yaml unclosed quote": Case("{tmp}/spec.yaml", "invalid YAML", text='name: "abc\nmetric: x\n'),
    "yaml a list": Case(
        "{tmp}/spec.yaml", "expected a mapping of keys, got list", text="- a\n- b\n"
    ),
    "yaml a scalar": Case(
        "{tmp}/spec.yaml", "expected a mapping of keys, got str", text="just text\n"
    ),
    "yaml empty": Case("{tmp}/spec.yaml", "expected a mapping of keys, got NoneType", text=""),
    "yaml binary": Case("{tmp}/spec.yaml", "not a text file", text="\udcff\udcfe"),
    "yaml flow split call": Case(
        "space.lr",
        "cannot parse 'loguniform(1e-4'",
        text="name: x\nmetric: val_loss\nspace: {lr: loguniform(1e-4, 1), epochs: 2}\n",
    ),
    # unknown keys
    "unknown top key": Case("spce", "unknown key (did you mean 'space'?)", {"spce": {}}),
    "unknown top key 2": Case("metirc", "unknown key (did you mean 'metric'?)", {"metirc": "x"}),
    "unknown search key": Case("search.samples", "unknown key", {"search": {"samples": 3}}),
    "unknown scheduler key": Case(
        "scheduler.grace", "unknown key", {"scheduler": {"name": "asha", "grace": 1}}
    ),
    "unknown resources key": Case("resources.tpu", "unknown key", {"resources": {"tpu": 1}}),
    "unknown data key": Case("data.rows", "unknown key", {"data": {"rows": 5}}),
    "not an mlp knob": Case(
        "space.lrr", "not a knob of the mlp trainable", space(lrr="uniform(0, 1)")
    ),
    # wrong types
    "name a number": Case("name", "must be a string, got 123", {"name": 123}),
    "metric a list, mode not": Case(
        "mode", "give a list of 1 modes", {"metric": ["val_loss"], "mode": "min"}
    ),
    "metric a number": Case("metric", "must be a string or a list", {"metric": 3}),
    "mode a number": Case("mode", "must be a string, got 1", {"mode": 1}),
    "seed a bool": Case("seed", "must be an integer, got True", {"seed": True}),
    "seed text": Case("seed", "must be an integer, got 'x'", {"seed": "x"}),
    "space a list": Case("space", "must be a mapping", {"space": [1, 2]}),
    "search a string": Case("search", "must be a mapping", {"search": "random"}),
    "num_samples text": Case(
        "search.num_samples", "must be an integer, got 'ten'", {"search": {"num_samples": "ten"}}
    ),
    "cpu text": Case("resources.cpu", "must be a number, got 'one'", {"resources": {"cpu": "one"}}),
    "time budget text": Case(
        "time_budget_s", "must be a number, got '1h'", {"time_budget_s": "1h"}
    ),
    "max_failures float": Case(
        "max_failures", "must be an integer, got 1.5", {"max_failures": 1.5}
    ),
    "storage a number": Case("storage", "must be a string, got 5", {"storage": 5}),
    "loggers a number": Case("loggers", "must be a list", {"loggers": 5}),
    "max_t text": Case(
        "scheduler.max_t", "must be an integer", {"scheduler": {"name": "asha", "max_t": "10"}}
    ),
    "data a string": Case("data", "must be a mapping, got 'iris'", {"data": "iris"}),
    "a list as a value": Case(
        "space.batch_size", "a list is ambiguous", space(batch_size=[16, 32])
    ),
    "time limit text": Case("trial_time_limit_s", "must be a number", {"trial_time_limit_s": "5m"}),
    # missing or impossible values
    "name missing": Case("name", "required key is missing", drop=("name",)),
    "metric missing": Case("metric", "required key is missing", drop=("metric",)),
    "space missing": Case("space", "required key is missing", drop=("space",)),
    "space empty": Case("space", "needs at least one parameter", {"space": {}}),
    "name with a space": Case("name", "use letters, digits", {"name": "a b"}),
    "mode not min/max": Case(
        "mode", "must be 'min' or 'max', got 'minimize'", {"mode": "minimize"}
    ),
    "mode upper case": Case("mode", "must be 'min' or 'max', got 'MAX'", {"mode": "MAX"}),
    "negative seed": Case("seed", "must be >= 0, got -1", {"seed": -1}),
    "max_concurrent 0": Case("max_concurrent", "must be >= 1", {"max_concurrent": 0}),
    "max_failures -2": Case("max_failures", "must be >= -1", {"max_failures": -2}),
    "time budget 0": Case("time_budget_s", "must be > 0, got 0", {"time_budget_s": 0}),
    "time limit 0": Case("trial_time_limit_s", "must be > 0, got 0", {"trial_time_limit_s": 0}),
    "no cpu no gpu": Case("resources", "needs at least some cpu or gpu", {"resources": {"cpu": 0}}),
    "negative cpu": Case("resources.cpu", "must be >= 0", {"resources": {"cpu": -1}}),
    "fractional gpus above 1": Case("resources.gpu", "whole number", {"resources": {"gpu": 1.5}}),
    # impossible distributions
    "loguniform low 0": Case(
        "space.lr", "loguniform: low must be > 0, got 0", space(lr="loguniform(0, 1)")
    ),
    "loguniform negative": Case(
        "space.lr", "loguniform: low must be > 0", space(lr="loguniform(-1, 1)")
    ),
    "uniform reversed": Case("space.lr", "low must be <= high", space(lr="uniform(2, 1)")),
    "integer reversed": Case(
        "space.hidden_units", "low must be <= high", space(hidden_units="integer(16, 8)")
    ),
    "integer of floats": Case(
        "space.hidden_units", "low must be an integer", space(hidden_units="integer(1.5, 3)")
    ),
    "empty choice": Case(
        "space.batch_size", "needs at least one value", space(batch_size="choice()")
    ),
    "reverse_loguniform above 1": Case(
        "space.lr", "bounds must lie in [0, 1)", space(lr="reverse_loguniform(0.5, 1.5)")
    ),
    "uniform step 0": Case("space.lr", "step must be > 0", space(lr="uniform(0, 1, step=0)")),
    "unknown distribution": Case(
        "space.lr", "unknown distribution 'normal'", space(lr="normal(0, 1)")
    ),
    "code in a distribution": Case(
        "space.lr", "expected a call such as", space(lr="__import__('os').getcwd()")
    ),
    "unclosed call": Case("space.lr", "cannot parse", space(lr="loguniform(1e-4,")),
    "non-literal argument": Case("space.lr", "must be literal", space(lr="uniform(0, nan)")),
    "unknown optimizer": Case(
        "space.optimizer", "unknown value 'lion'", space(optimizer="choice('sgd', 'lion')")
    ),
    # conditional parameters
    "condition on unknown parent": Case(
        "space.momentum",
        "condition on unknown parameter 'optimiser'",
        space(momentum={"sample": "reverse_loguniform(0.9, 0.999)", "when": {"optimiser": "sgd"}}),
    ),
    "condition on impossible value": Case(
        "space.momentum",
        "condition value 'lion' is not a value of optimizer",
        space(
            optimizer="choice('sgd', 'adam')",
            momentum={**MOMENTUM, "when": {"optimizer": "lion"}},
        ),
    ),
    "condition on itself": Case(
        "space.momentum",
        "cannot depend on itself",
        space(momentum={**MOMENTUM, "when": {"momentum": 0.5}}),
    ),
    "condition without sample": Case(
        "space.momentum", "needs 'sample:'", space(momentum={"when": {"optimizer": "sgd"}})
    ),
    # search and scheduler
    "grid with num_samples 0": Case(
        "search.num_samples",
        "must be >= 1, got 0",
        {**space(hidden_units="grid(8, 16)"), "search": {"algorithm": "grid", "num_samples": 0}},
    ),
    "unknown algorithm": Case(
        "search.algorithm", "must be one of", {"search": {"algorithm": "bayes"}}
    ),
    "unknown scheduler": Case("scheduler.name", "must be one of", {"scheduler": "bohb"}),
    "grace above max_t": Case(
        "scheduler.grace_period",
        "must be <= max_t",
        {"scheduler": {"name": "asha", "max_t": 4, "grace_period": 9}},
    ),
    "reduction factor 1": Case(
        "scheduler.reduction_factor",
        "must be > 1",
        {"scheduler": {"name": "asha", "reduction_factor": 1}},
    ),
    "median grace 0": Case(
        "scheduler.grace_period",
        "must be > 0",
        {"scheduler": {"name": "median", "grace_period": 0}},
    ),
    # metric the mlp does not report
    "metric not reported (mlp)": Case(
        "metric", "the mlp trainable does not report 'val_acc'", {"metric": "val_acc"}
    ),
    "accuracy of a regression": Case(
        "metric",
        "does not report 'val_accuracy'",
        {"data": {"synthetic": "regression", "n_samples": 300}, "metric": "val_accuracy"},
    ),
    # loggers
    "unknown logger": Case("loggers[0]", "must be one of", {"loggers": ["neptune"]}),
    "logger twice": Case("loggers[1]", "listed twice", {"loggers": ["tensorboard", "tensorboard"]}),
    # multi-objective, trackers and scikit-learn trainables (issue 21)
    "metric and mode lists of different lengths": Case(
        "mode", "1 modes for 2 metrics", {"metric": ["val_loss", "n_params"], "mode": ["min"]}
    ),
    "mode list with one metric": Case(
        "mode", "a list of modes needs a list of metrics", {"mode": ["min", "min"]}
    ),
    "a mode of a list unknown": Case(
        "mode[1]",
        "must be 'min' or 'max'",
        {"metric": ["val_loss", "n_params"], "mode": ["min", "low"]},
    ),
    "an objective the mlp does not report": Case(
        "metric[1]",
        "does not report 'latency'",
        {"metric": ["val_loss", "latency"], "mode": ["min", "min"]},
    ),
    "nsga2 population of 1": Case(
        "search.population_size",
        "must be >= 2",
        {"search": {"algorithm": "nsga2", "population_size": 1}},
    ),
    "tracker options without the tracker": Case(
        "mlflow", "add mlflow to loggers", {"mlflow": {"tracking_uri": "sqlite:///x.db"}}
    ),
    "unknown mlflow option": Case(
        "mlflow.uri", "unknown key", {"loggers": ["mlflow"], "mlflow": {"uri": "sqlite:///x.db"}}
    ),
    "trackers with fused bundles": Case(
        "loggers", "bundles of configs under fuse", {"loggers": ["tensorboard"], "fuse": 4}
    ),
    "class path that is not an estimator": Case(
        "trainable",
        "is not a scikit-learn estimator",
        {**RIDGE, "trainable": "sklearn:sklearn.metrics.r2_score"},
    ),
    "estimator class missing": Case(
        "trainable",
        "has no attribute 'Rigde'",
        {**RIDGE, "trainable": "sklearn:sklearn.linear_model.Rigde"},
    ),
    "space key the estimator does not take": Case(
        "space.alpah",
        "not a parameter of Ridge (did you mean 'alpha'?)",
        {**RIDGE, "space": {"alpah": "grid(logspace(-4, 4, 100))"}},
    ),
    "epochs for an estimator that fits in one step": Case(
        "space.epochs",
        "Ridge has neither partial_fit nor warm_start",
        {**RIDGE, "space": {"epochs": 3}},
    ),
    "metric the estimator does not report": Case(
        "metric", "Ridge reports val_r2", {**RIDGE, "metric": "val_accuracy"}
    ),
    "unknown scorer": Case(
        "scoring",
        "'r3' is not a scikit-learn scorer (did you mean 'r2'?)",
        {**RIDGE, "scoring": "r3"},
    ),
    "scoring of the mlp": Case("scoring", "scikit-learn trainables", {"scoring": "r2"}),
    "logspace without num": Case(
        "space.alpha",
        "logspace takes (start, stop, num)",
        {**RIDGE, "space": {"alpha": "grid(logspace(-4, 4))"}},
    ),
    "logspace of a million": Case(
        "space.alpha",
        "logspace num must be an integer in [1, 10000]",
        {**RIDGE, "space": {"alpha": "grid(logspace(-4, 4, 1000000))"}},
    ),
    # trainables
    "trainable module missing": Case(
        "trainable", "cannot import module 'nomodule_xyz'", {"trainable": "nomodule_xyz:train"}
    ),
    "trainable attribute missing": Case(
        "trainable", "has no attribute 'nothing_here'", {"trainable": "os:nothing_here"}
    ),
    "trainable not callable": Case("trainable", "is not callable", {"trainable": "os:sep"}),
    "trainable without module": Case("trainable", "expected 'mlp' or", {"trainable": "train"}),
    "trainable wrong signature": Case(
        "trainable", "must take (config, ctx)", {"trainable": "json:dumps"}
    ),
    # data
    "synthetic kind unknown": Case(
        "data.synthetic",
        "must be 'classification' or 'regression'",
        {"data": {"synthetic": "images"}},
    ),
    "too few samples": Case("data.n_samples", "must be >= 10", {"data": {"n_samples": 5}}),
    "one class": Case("data.n_classes", "must be >= 2", {"data": {"n_classes": 1}}),
    "path without target": Case("data.target", "required with path", {"data": {"path": "x.csv"}}),
    "data file missing": Case(
        "data.path", "file not found", {"data": {"path": "{tmp}/nope.parquet", "target": "y"}}
    ),
    "data file garbage": Case(
        "data.path",
        "cannot read",
        {"data": {"path": "{tmp}/garbage.parquet", "target": "y"}},
        setup=_table,
    ),
    "data file empty": Case(
        "data.path",
        "cannot read",
        {"data": {"path": "{tmp}/empty.csv", "target": "y"}},
        setup=_table,
    ),
    "data file a directory": Case(
        "data.path", "", {"data": {"path": "{tmp}/a_dir.parquet", "target": "y"}}, setup=_table
    ),
    "data target missing": Case(
        "data.target",
        "column 'y' not in",
        {"data": {"path": "{tmp}/missing_target.parquet", "target": "y"}},
        setup=_table,
    ),
    "data target constant": Case(
        "data.target",
        "is constant",
        {"data": {"path": "{tmp}/constant.parquet", "target": "y"}},
        setup=_table,
    ),
    "data shape of another size": Case(
        "data.shape",
        "[1, 40] holds 40 values, but the data has 8 feature columns",
        {"data": {"n_samples": 300, "n_features": 8, "shape": [1, 40]}},
    ),
    "data test columns differ": Case(
        "data.test",
        "differ from the training file's: missing ['b'], extra ['c']",
        {
            "data": {
                "path": "{tmp}/good.parquet",
                "target": "y",
                "test": "{tmp}/other_columns.parquet",
            }
        },
        setup=_table,
    ),
    "data unknown dataset": Case(
        "data.dataset", "unknown 'mnist2d' (known: ", {"data": {"dataset": "mnist2d"}}
    ),
    # storage and names
    "storage below a file": Case(
        "storage", "cannot write to", {"storage": "{tmp}/a_file/results"}, setup=_file_in_the_way
    ),
    "storage unknown scheme": Case("storage", "cannot use", {"storage": "nosuch://bucket/x"}),
    "name taken by another spec": Case(
        "name", "with a different spec (metric, mode differ)", setup=_existing_sweep
    ),
    "name taken by this spec": Case("name", "continue it with `caviar resume", setup=_same_sweep),
    # command lines
    "spec file missing": Case("SPEC", "file not found", args=("run", "{tmp}/nope.yaml")),
    "spec is a directory": Case("SPEC", "file not found", args=("run", "{tmp}")),
    "unknown option": Case(
        "", "No such option: --frobnicate", args=("run", "{spec}", "--frobnicate")
    ),
    "unknown command": Case("", "No such command 'frobnicate'", args=("frobnicate",)),
    "missing argument": Case("", "Missing argument 'SPEC'", args=("run",)),
    "num-cpus not a number": Case(
        "", "Invalid value for '--num-cpus'", args=("run", "{spec}", "--num-cpus", "abc")
    ),
    "--set without =": Case("--set", "expected key=value", args=("run", "{spec}", "--set", "seed")),
    "--set into a scalar": Case(
        "name.x", "which is not a mapping", args=("run", "{spec}", "--set", "name.x=1")
    ),
    "--set a bad value": Case(
        "search.num_samples",
        "must be an integer, got 'zero'",
        args=("run", "{spec}", "--set", "search.num_samples=zero"),
    ),
    "resume of no sweep": Case("SWEEP_DIR", "no caviar sweep at", args=("resume", "{tmp}")),
    "show of no sweep": Case("SWEEP_DIR", "no caviar sweep at", args=("show", "{tmp}")),
    "compact of no sweep": Case("SWEEP_DIR", "no caviar sweep at", args=("compact", "{tmp}/x")),
    "report of no sweep": Case("SWEEP_DIR", "no caviar sweep at", args=("report", "{tmp}/x")),
    "ls of no storage": Case("STORAGE", "no caviar sweep at", args=("ls", "{tmp}/empty_root")),
    "lr-find of a user trainable": Case(
        "trainable",
        "lr-find needs the built-in mlp",
        {"trainable": "tests.results.killable:train", "metric": "score"},
        args=("lr-find", "{spec}"),
    ),
    # mlp knobs out of their range or of the wrong type
    "mlp negative lr": Case("space.lr", "must be > 0, got -0.1", change=space(lr=-0.1)),
    "mlp zero epochs": Case("space.epochs", "must be >= 1, got 0", change=space(epochs=0)),
    "mlp fractional epochs": Case("space.epochs", "must be an integer", change=space(epochs=2.5)),
    "mlp lr as text": Case("space.lr", "must be a number, got 'fast'", change=space(lr="fast")),
    "mlp zero hidden units": Case(
        "space.hidden_units", "must be >= 1, got 0", change=space(hidden_units="integer(0, 8)")
    ),
    "mlp batch size 0 among choices": Case(
        "space.batch_size", "must be >= 1, got 0", change=space(batch_size="choice(0, 32)")
    ),
    "mlp dropout above 1": Case(
        "space.dropout", "must be <= 1, got 1.5", change=space(dropout="uniform(0, 1.5)")
    ),
    "mlp beta2 of 1": Case("space.beta2", "must be < 1, got 1", change=space(beta2=1)),
    # hostile or odd specs (issue 23): refused up front, in one line, in bounded time and memory
    "yaml nested 3000 deep": Case(
        "{tmp}/spec.yaml",
        "nested more than 64 levels deep",
        text="name: x\nspace: {lr: " + "[" * 3000 + "]" * 3000 + "}\n",
    ),
    "yaml alias bomb in name": Case("{tmp}/spec.yaml", "aliases expand to more than", text=BOMB),
    "when chain of 1500": Case("space.p32", "conditions nest more than 32 deep", USER | CHAIN),
    "trainable relative module": Case("trainable", "dotted Python names", {"trainable": "..x:f"}),
    "trainable module not run": Case(
        "trainable", "module 'this' has no attribute 'x'", {"trainable": "this:x"}
    ),
    "data too large to fit": Case(
        "data", "cannot fit in memory", {"data": {"n_samples": 100_000_000, "n_features": 100_000}}
    ),
    "unknown key with a newline": Case("spce\\nx", "unknown key", {"spce\nx": 1}),
    "cpu nan": Case(
        "resources.cpu", "must be a finite number, got nan", {"resources": {"cpu": NAN}}
    ),
    "time limit nan": Case("trial_time_limit_s", "finite number", {"trial_time_limit_s": NAN}),
    "budget time nan": Case("budget.time_s", "finite number", {"budget": {"time_s": NAN}}),
    "time budget inf": Case("time_budget_s", "finite number", {"time_budget_s": math.inf}),
    "name with a trailing newline": Case("name", "use letters, digits", {"name": "demo\n"}),
    "cpu finer than ray takes": Case(
        "resources.cpu", "multiple of 0.0001", {"resources": {"cpu": 1e-5}}
    ),
    "seed beyond 32 bits": Case("seed", "must be <= 2**32 - 1", {"seed": 2**32}),
    "integer constant beyond 64 bits": Case(
        "space.hidden_units", "must fit in a 64-bit integer", space(hidden_units=10**20)
    ),
    "integer range beyond 2**53": Case(
        "space.hidden_units", "must lie within +-2**53", space(hidden_units="integer(8, 1e20)")
    ),
    "choice beyond 64 bits": Case(
        "space.hidden_units", "fit in 64 bits", space(hidden_units=f"choice(8, {10**30})")
    ),
    "confirm seeds 10**6": Case(
        "confirm.seeds", "must be <= 100", {"confirm": {"top_k": 2, "seeds": 10**6}}
    ),
    "metric named status": Case(
        "metric", "is a column caviar writes itself", USER | {"metric": "status"}
    ),
    "metric named iteration": Case(
        "metric", "is a column caviar writes itself", USER | {"metric": "iteration"}
    ),
    "metric is a test score": Case(  # the test set never selects: test_* are caviar's own
        "metric", "best_*, test_*)", USER | {"metric": "test_accuracy", "mode": "max"}
    ),
    "metric is a parameter": Case("metric", "is also a parameter", USER | {"metric": "x"}),
    "parameter named status": Case(
        "space.status", "is a column caviar adds", {**USER, "space": {**USER["space"], "status": 1}}
    ),
    "storage with user and password": Case(
        "storage", "holds credentials", {"storage": f"s3://AKIAEXAMPLE:{SECRET}@bucket/x"}
    ),
    "storage with a secret in the query": Case(
        "storage",
        "holds credentials",
        {"storage": f"s3://bucket/x?access_key=A&secret_key={SECRET}"},
    ),
    # the dashboard and steering (caviar dashboard, caviar trial stop, caviar stop SWEEP_DIR)
    "dashboard of no sweep": Case("PATH", "no caviar sweep at", args=("dashboard", "{tmp}")),
    "dashboard port out of range": Case(
        "--port", "must be 0..65535, got 70000", args=("dashboard", "{tmp}", "--port", "70000")
    ),
    "trial stop of no sweep": Case(
        "SWEEP_DIR", "no caviar sweep at", args=("trial", "stop", "{tmp}", "t1")
    ),
    "trial stop of an unknown trial": Case(
        "TRIAL",
        "no trial 'nope' in",
        args=("trial", "stop", "{tmp}/results/synthetic", "nope"),
        setup=_a_sweep,
    ),
    "stop of no sweep": Case("SWEEP_DIR", "no caviar sweep at", args=("stop", "{tmp}")),
}


def _fill(value: Any, tmp: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{tmp}", str(tmp))
    if isinstance(value, dict):
        return {k: _fill(v, tmp) for k, v in value.items()}
    return value


def prepare(case: Case, tmp: Path) -> list[str]:
    """Write the case's spec under ``tmp``; the command line to run."""
    if case.setup is not None:
        case.setup(tmp)
    path = tmp / "spec.yaml"
    if case.text is not None:
        path.write_bytes(case.text.encode("utf-8", "surrogateescape"))
    else:
        spec = small_spec(tmp)
        spec.update(copy.deepcopy(_fill(case.change or {}, tmp)))
        for key in case.drop:
            spec.pop(key)
        path.write_text(yaml.safe_dump(spec))
    args = case.args or ("run", "{spec}")
    return [a.replace("{spec}", str(path)).replace("{tmp}", str(tmp)) for a in args]


def storage_files(tmp: Path) -> list[str]:
    root = tmp / "results"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def prefix(case: Case, tmp: Path) -> str:
    """How the message must start: ``caviar: error: <key path>: ``."""
    return f"caviar: error: {_fill(case.key, tmp)}: " if case.key else "caviar: error: "


def explained(code: int | None, stderr: str, case: Case, tmp: Path, expected_code: int = 2) -> bool:
    lines = stderr.strip().splitlines()
    start = prefix(case, tmp)
    return (
        code == expected_code
        and len(lines) == 1
        and lines[0].startswith(start)
        and case.what in lines[0]
        and "Traceback" not in stderr
    )


@pytest.mark.parametrize("name", CASES)
def test_bad_input_exits_2_with_one_line_naming_the_key(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    import ray

    import caviar.cluster.connect

    case = CASES[name]
    args = prepare(case, tmp_path)
    before = storage_files(tmp_path)
    ray_starts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        ray_starts.append(args)
        raise AssertionError("the command went on to start Ray")

    # Whether Ray is up in this test process depends on the tests before; what counts is that the
    # command never tries to start or join one.
    monkeypatch.setattr(caviar.cluster.connect, "connected", refuse)
    monkeypatch.setattr(ray, "init", refuse)
    code: int | str | None = 0
    try:
        main(args)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    ok = explained(code if isinstance(code, int) else None, err, case, tmp_path)
    record_bad_input(
        request.node, name, ok and not ray_starts and storage_files(tmp_path) == before
    )
    assert code == 2, (code, err, out)
    assert len(err.strip().splitlines()) == 1, err
    assert err.strip().startswith(prefix(case, tmp_path)), err
    assert case.what in err, err
    assert "Traceback" not in err + out
    assert not ray_starts
    assert storage_files(tmp_path) == before  # nothing written (or changed) in storage


@pytest.mark.parametrize(
    ("tracker", "package"), [("mlflow", "mlflow"), ("tensorboard", "tensorboard")]
)
@pytest.mark.parametrize("command", ["run", "export"])
def test_a_tracker_that_is_not_installed_is_one_line(
    tracker: str,
    package: str,
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    """As without the extra installed: the package cannot be found (a None in sys.modules)."""
    import ray

    import caviar.cluster.connect

    spec = {**small_spec(tmp_path), "loggers": [tracker]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "results" / "done").mkdir(parents=True)
    (tmp_path / "results" / "done" / "sweep.yaml").write_text(yaml.safe_dump(small_spec(tmp_path)))
    before = storage_files(tmp_path)
    monkeypatch.setitem(sys.modules, package, None)
    monkeypatch.setattr(caviar.cluster.connect, "connected", None)  # calling it would fail
    monkeypatch.setattr(ray, "init", None)  # and so would starting Ray any other way
    args = {
        "run": ["run", str(tmp_path / "spec.yaml")],
        "export": ["export", tracker, str(tmp_path / "results" / "done")],
    }[command]
    code: int | str | None = 0
    try:
        main(args)
    except SystemExit as exit_:
        code = exit_.code
    _, err = capsys.readouterr()
    key = "loggers[0]" if command == "run" else "TRACKER"
    case = Case(
        key, f"{tracker} needs the {package!r} package, which is not installed: pip install"
    )
    ok = explained(code if isinstance(code, int) else None, err, case, tmp_path)
    record_bad_input(request.node, f"{tracker} not installed ({command})", ok)
    assert ok, (code, err)
    assert f"caviar-sweep[{tracker}]" in err
    assert storage_files(tmp_path) == before


END_TO_END = [
    "yaml unclosed bracket",
    "unknown top key",
    "loguniform low 0",
    "storage below a file",
    "name taken by another spec",
    "unknown option",
    "yaml nested 3000 deep",
    "yaml alias bomb in name",
]


@pytest.mark.parametrize("name", END_TO_END)
def test_bad_input_end_to_end_in_a_fresh_process(name: str, tmp_path: Path) -> None:
    """The real command: exit 2, one line, no traceback, no Ray session directory created."""
    case = CASES[name]
    args = prepare(case, tmp_path)
    before = storage_files(tmp_path)
    ray_tmp = tmp_path / "ray_tmp"
    done = run_cli(*args, env={"RAY_TMPDIR": str(ray_tmp)}, timeout=120)
    assert explained(done.returncode, done.stderr, case, tmp_path), done.stderr
    assert "Traceback" not in done.stdout
    assert storage_files(tmp_path) == before
    assert not ray_tmp.exists(), "Ray was started"


def test_resources_beyond_the_cluster_exit_2(tmp_path: Path) -> None:
    spec = small_spec(tmp_path, resources={"cpu": 64})
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    done = run_cli("run", str(tmp_path / "spec.yaml"), "--num-cpus", "2", timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("caviar: error: resources"), done.stderr
    assert not list((tmp_path / "results").rglob("*.parquet"))


@pytest.mark.xdist_group("ray")
def test_a_user_trainable_without_the_metric_stops_the_sweep_with_one_line(
    ray_local: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    """Only a run shows what a user trainable reports: exit 1 and one line naming `metric`."""
    spec = {
        "name": "no_metric",
        "trainable": "tests.results.killable:train",
        "metric": "val_loss",  # it reports score and epoch
        "space": {"x": "uniform(0, 1)", "epochs": 3, "sleep": 0.0},
        "search": {"num_samples": 2},
        "storage": str(tmp_path / "results"),
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    code: int | str | None = 0
    try:
        main(["run", str(tmp_path / "spec.yaml")])
    except SystemExit as exit_:
        code = exit_.code
    _, err = capsys.readouterr()
    # The progress lines the sweep printed before it stopped are not part of the error.
    err = "\n".join(line for line in err.splitlines() if "trials done" not in line)
    case = Case("metric", "the trainable reported epoch, score but not 'val_loss'")
    record_bad_input(
        request.node,
        "metric not reported (user trainable)",
        explained(code if isinstance(code, int) else None, err, case, tmp_path, expected_code=1),
    )
    assert code == 1, err
    assert err.strip().startswith("caviar: error: metric: the trainable reported epoch, score"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
