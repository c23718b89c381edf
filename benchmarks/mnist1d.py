"""Benchmark: anytime test accuracy on MNIST-1D and digits, caviar's modes against the peers.

Every contestant runs in its own process, launched the way its users launch it (``caviar run
SPEC``; ``python -m benchmarks.peers optuna``), with the same space, model, epochs and wall budget,
one after another on the same machine. The clock starts when the process is launched, so start-up
is on it. Read from each run: the test accuracy of the best-by-validation model at every moment
(benchmarks/anytime.py), at the common time T = the wall budget, and at the end of the process.

    python -m benchmarks.mnist1d                       # 5 seeds; budget 60 s (MNIST-1D), 30 s (digits)
    python -m benchmarks.mnist1d --quick               # MNIST-1D, 1 seed, 10 s: a smoke test
    python -m benchmarks.mnist1d --problems mnist1d --seeds 3 --budget 120 --modes optuna panda

Claims, checked at the end (exit code 3 when one does not hold; the section still says which):
caviar's recommended mode is at least as good as every peer at T (mean over seeds); on MNIST-1D
the best caviar mode beats the paper's MLP (68%); random + ASHA reaches the target in at most half
of random + fifo's time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from benchmarks.anytime import Run, mean, mean_spread, plot
from benchmarks.anytime_trainables import TEST_KEY
from benchmarks.common import ROOT, caviar_command, emit, fmt, section_parser, table
from benchmarks.modes import (
    FUSED,
    PEERS,
    RANDOM_ASHA,
    RANDOM_FIFO,
    RECOMMENDED,
    Plan,
    caviar_modes,
    caviar_spec,
    data_spec,
    takes_held_out,
)
from benchmarks.problems import PROBLEMS, Problem, write_tables

CLAIMS_FAILED = 3
INTERRUPTED = 130
TARGETS = {"mnist1d": 0.70, "digits": 0.97}  # time-to-target: test accuracy of the selected model


@dataclass(frozen=True)
class Size:
    seeds: int
    budgets: dict[str, float]
    plan: Plan


FULL = Size(5, {"mnist1d": 60.0, "digits": 30.0}, Plan(coarse_to_fine=48, fused=256, population=8))
QUICK = Size(1, {"mnist1d": 10.0, "digits": 10.0}, Plan(coarse_to_fine=12, fused=64, population=4))


def launch(command: list[str], log: Path) -> tuple[float, float, int]:
    """Run a tool's process to its end; (launch time, whole-process seconds, exit code)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    launched = time.time()
    with log.open("w") as sink:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return launched, time.time() - launched, done.returncode


def _seconds(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return (
            column.astype("int64") / 1e9
            if column.dt.tz is None
            else column.dt.tz_convert("UTC").astype("int64") / 1e9
        )
    return column.astype(float)


def read_caviar(sweep: Path, launched: float, wall: float) -> tuple[pd.DataFrame, int, list[str]]:
    """A caviar sweep's reports as (t, val_accuracy, test_accuracy), its trials, and notes."""
    import caviar

    curves = caviar.read_curves(str(sweep))
    trials = caviar.read_trials(str(sweep))
    notes: list[str] = []
    if not len(curves):
        notes.append("no trial reported an epoch within the budget")
        empty = pd.DataFrame({"t": [], "val_accuracy": [], "test_accuracy": []}, dtype=float)
        return empty, len(trials), notes
    if "wall_clock" in curves:
        t = curves["wall_clock"].astype(float) - launched
    elif "timestamp" in curves:
        t = _seconds(curves["timestamp"]) - launched
    else:
        t = pd.Series(wall, index=curves.index)
        notes.append("curves carry no wall-clock time: every result is placed at the process end")
    test = curves.get(TEST_KEY)
    if test is None:
        test = pd.Series(float("nan"), index=curves.index)
        if "test_accuracy" in trials and len(trials):  # caviar's own test score of the winner
            best = trials.sort_values("val_accuracy", ascending=False).iloc[0]
            final = curves[(curves["trial_id"] == best["trial_id"])].index
            test.loc[final] = float(best["test_accuracy"])
            notes.append("test accuracy: caviar's own test score of its selected trial, at the end")
        else:
            notes.append("no test score: this caviar's built-in mlp scores no test set")
    frame = pd.DataFrame(
        {"t": t.to_numpy(), "val_accuracy": curves.get("val_accuracy"), "test_accuracy": test}
    )
    return frame, len(trials), notes


def run_one(
    label: str, problem: Problem, seed: int, budget: float, work: Path, ctx: dict[str, Any]
) -> Run:
    """One contestant at one seed, in its own process."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / f"{problem.name}-{label[:24].replace(' ', '_')}-s{seed}.log"
    if label in PEERS:
        out = work / f"{PEERS[label]}-{problem.name}-s{seed}.parquet"
        command = [sys.executable, "-m", "benchmarks.peers", PEERS[label]]
        command += ["--problem", problem.name, "--arrays", str(ctx["arrays"])]
        command += ["--budget", str(budget), "--seed", str(seed)]
        launched, wall, code = launch([*command, "--out", str(out)], log)
        if code != 0 or not out.is_file():
            raise RuntimeError(f"{label} failed (exit {code}): {_tail(log)}")
        rows = pd.read_parquet(out)
        reports = pd.DataFrame(
            {
                "t": rows["wall_clock"] - launched,
                "val_accuracy": rows["val_accuracy"],
                "test_accuracy": rows["test_accuracy"],
            }
        )
        return Run(label, seed, wall, reports, int(rows["trial"].nunique()))
    spec = caviar_spec(
        label, problem, ctx["plan"], seed, budget, ctx["data"], work / "sweeps", ctx["arrays"]
    )
    path = work / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    launched, wall, code = launch([*caviar_command(), "run", str(path)], log)
    # 130: the time budget ended with trials still running, which caviar reports as an
    # interrupted sweep (resumable) rather than as done.
    if code not in (0, INTERRUPTED):
        raise RuntimeError(f"{label} failed (exit {code}): {_tail(log)}")
    reports, trials, notes = read_caviar(work / "sweeps" / spec["name"], launched, wall)
    if code == INTERRUPTED:
        notes.append("caviar exits 130 (sweep interrupted) when the time budget ends mid-trial")
    return Run(label, seed, wall, reports, trials, notes)


def _tail(log: Path, lines: int = 6) -> str:
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])


def run_problem(
    problem: Problem, size: Size, modes: list[str], work: Path
) -> tuple[list[Run], dict[str, str]]:
    tables = write_tables(problem.name, work / "data")
    held_out = takes_held_out(tables)
    ctx = {"plan": size.plan, "data": data_spec(tables, held_out), "arrays": tables["arrays"]}
    runs, failed = [], {}
    budget = size.budgets[problem.name]
    for seed in range(size.seeds):
        for label in modes:
            if label in failed:
                continue
            try:
                run = run_one(label, problem, seed, budget, work, ctx)
            except RuntimeError as error:  # once more: Ray's start can time out on a busy machine
                print(f"{problem.name} {label}: {error}; trying once more", flush=True)
                try:
                    run = run_one(label, problem, seed, budget, work / "again", ctx)
                except RuntimeError as again:
                    failed[label] = str(again)
                    continue
            if label == FUSED and not held_out:
                run.notes.append("validation rows: caviar's own 20% split of train + val")
            runs.append(run)
            print(
                f"{problem.name} seed {seed} {label}: process {run.wall_s:.1f} s, "
                f"{run.trials} trials, test at T={budget:g} s {fmt(run.test_at(budget), 3)}, "
                f"at end {fmt(run.final(), 3)}",
                flush=True,
            )
    return runs, failed


def section(
    problem: Problem, runs: list[Run], failed: dict[str, str], size: Size, plot_path: Path | None
) -> tuple[str, list[tuple[str, bool]]]:
    budget = size.budgets[problem.name]
    target = TARGETS[problem.name]
    labels = list(dict.fromkeys(r.mode for r in runs))
    rows = []
    for label in labels:
        mine = [r for r in runs if r.mode == label]
        rows.append(
            [
                label,
                mean_spread([r.test_at(budget) for r in mine]),
                mean_spread([r.final() for r in mine]),
                mean_spread([r.time_to(target) for r in mine], 1),
                mean_spread([r.wall_s for r in mine], 1),
                mean_spread([float(r.trials) for r in mine], 0),
            ]
        )
    claims = _claims(problem, runs, budget, target)
    lines = [
        f"### {problem.title} (mnist1d.py)",
        "",
        f"Wall budget {budget:g} s of search per run (each tool's own time limit), {problem.epochs} "
        f"epochs per trial at most, 1 CPU per trial, {size.seeds} seed(s). Time starts at the "
        f"process launch, so start-up counts. 'test at T' is the test accuracy of the "
        f"best-by-validation model reported by T = {budget:g} s; 'at end' when the process "
        f"exited. Target for the time-to-target column: {target}. Mean ± sd over seeds.",
        "",
        table(
            [
                "mode",
                f"test at T={budget:g} s",
                "test at end",
                f"time to {target} (s)",
                "process (s)",
                "trials",
            ],
            rows,
        ),
        "",
        *[f"- claim: {text}: {'held' if ok else 'DID NOT HOLD'}" for text, ok in claims],
        "",
    ]
    for run in runs:
        for note in dict.fromkeys(run.notes):
            lines.append(f"- {run.mode}: {note}")
    lines += [f"- {label}: failed, {why}" for label, why in failed.items()]
    if plot_path is not None:
        lines += ["", f"![{problem.title} anytime curves](plots/{plot_path.name})"]
    return "\n".join(lines) + "\n", claims


def _claims(
    problem: Problem, runs: list[Run], budget: float, target: float
) -> list[tuple[str, bool]]:
    def at(label: str) -> float:
        return mean([r.test_at(budget) for r in runs if r.mode == label])

    claims = []
    ours = at(RECOMMENDED)
    for peer in PEERS:
        if any(r.mode == peer for r in runs) and ours == ours:
            claims.append(
                (
                    f"recommended mode at T ({fmt(ours, 3)}) >= {peer} ({fmt(at(peer), 3)})",
                    ours >= at(peer),
                )
            )
    if problem.paper_mlp is not None:
        caviar = [r for r in runs if r.mode.startswith("caviar")]
        best = max(
            (mean([r.final() for r in caviar if r.mode == m]) for m in {r.mode for r in caviar}),
            default=float("nan"),
        )
        claims.append(
            (
                f"best caviar mode ({fmt(best, 3)}) > the paper's MLP ({problem.paper_mlp})",
                best > problem.paper_mlp,
            )
        )
    fifo = mean([r.time_to(target) for r in runs if r.mode == RANDOM_FIFO])
    asha = mean([r.time_to(target) for r in runs if r.mode == RANDOM_ASHA])
    if fifo == fifo and asha == asha:
        ratio = asha / fifo
        claims.append(
            (
                f"random + ASHA's time to {target} / random + fifo's = {fmt(ratio, 2)} <= 0.5",
                ratio <= 0.5,
            )
        )
    return claims


def main(argv: list[str] | None = None) -> int:
    parser = section_parser(__doc__, "MNIST-1D only, 1 seed, 10 s budgets: a smoke test")
    all_modes = [*caviar_modes(FULL.plan), *PEERS]
    parser.add_argument(
        "--problems", nargs="+", choices=sorted(PROBLEMS), help="default: all; --quick: mnist1d"
    )
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--budget", type=float, default=None, help="seconds, every problem")
    parser.add_argument("--modes", nargs="+", default=None, help="words that pick modes by label")
    parser.add_argument("--keep", type=Path, default=None, help="keep specs, logs, sweeps here")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    if args.seeds is not None or args.budget is not None:
        budgets = {k: args.budget or v for k, v in size.budgets.items()}
        size = Size(args.seeds or size.seeds, budgets, size.plan)
    modes = [
        m for m in all_modes if not args.modes or any(w.lower() in m.lower() for w in args.modes)
    ]
    texts, failed_claims = ["## Anytime test accuracy: MNIST-1D and digits (mnist1d.py)\n"], []
    with tempfile.TemporaryDirectory(prefix="caviar-bench-anytime-") as tmp:
        for name in args.problems or (["mnist1d"] if args.quick else list(PROBLEMS)):
            problem = PROBLEMS[name]
            runs, failed = run_problem(problem, size, modes, (args.keep or Path(tmp)) / name)
            end = max((r.wall_s for r in runs), default=1.0)
            picture = (
                plot(runs, problem.title, end, args.plots, f"anytime_{name}.png") if runs else None
            )
            text, claims = section(problem, runs, failed, size, picture)
            texts.append(text)
            failed_claims += [c for c, ok in claims if not ok]
    emit("\n".join(texts), args.out)
    return CLAIMS_FAILED if failed_claims and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
