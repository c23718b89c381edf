"""Benchmark: anytime test accuracy on MNIST-1D (mlp and cnn) and digits, caviar's modes against
the peers.

Every contestant runs in its own process, launched the way its users launch it (``caviar run
SPEC``; ``python -m benchmarks.peers optuna``), with the same space, model, epochs and wall budget,
one after another on the same machine. The clock starts when the process is launched, so start-up
is on it. Read from each run: the test accuracy of the best-by-validation model at every moment
(benchmarks/anytime.py), at the common time T = the wall budget, and at the end of the process.

    python -m benchmarks.mnist1d                       # 5 seeds; the sizes of FULL below
    python -m benchmarks.mnist1d --quick               # 1 seed, short budgets: a smoke test
    python -m benchmarks.mnist1d --problems mnist1d --seeds 3 --budget 120 --modes optuna panda

Sizing (one quiet 2-core run of ``make bench`` must fit in about 100 minutes): every mode and
peer on MNIST-1D with the mlp, at a short budget; on the cnn the recommended mode, random + fifo
and random + ASHA (for ASHA's time to target) and the peers; on digits the recommended mode,
random + fifo and the peers. ``estimate`` says what a size costs before it runs.

Claims, checked at the end (exit code 3 when one does not hold; the section still says which):
caviar's recommended mode is at least as good as every peer at T (mean over seeds), on each
problem; on MNIST-1D the recommended mode beats the paper's MLP (68%) and, with the cnn, reaches
the paper's CNN (94%) within its budget (at most 5 minutes); random + ASHA reaches the target in at
most half of random + fifo's time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from benchmarks.anytime import Run, plot
from benchmarks.anytime_trainables import TEST_KEY
from benchmarks.common import (
    CLAIMS_FAILED,
    ROOT,
    caviar_command,
    emit,
    fmt,
    mean,
    mean_spread,
    mode_rows,
    paired,
    section_parser,
    table,
)
from benchmarks.modes import (
    FULL,
    FUSED,
    PEERS,
    QUICK,
    RANDOM_ASHA,
    RANDOM_FIFO,
    RECOMMENDED,
    Size,
    caviar_spec,
    data_spec,
    estimate,
    takes_held_out,
)
from benchmarks.problems import PROBLEMS, SHAPES, Problem, write_tables

INTERRUPTED = 130
PAPER_BUDGET_S = 300.0  # the cnn's 94% must come within a 5-minute budget


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


def seconds_since_epoch(column: pd.Series) -> pd.Series:
    """Seconds since the epoch. A datetime column keeps Parquet's unit (curves' ``timestamp`` is
    in microseconds), so it is converted by date arithmetic, never by its raw integers."""
    if pd.api.types.is_datetime64_any_dtype(column):
        utc = column.dt.tz_localize("UTC") if column.dt.tz is None else column.dt.tz_convert("UTC")
        return (utc - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return column.astype(float)


def own_test_score(trials: pd.DataFrame) -> tuple[float, Any]:
    """caviar's own test score (trials.parquet's ``test_accuracy``, written for the selected trials
    only) of its best scored trial by val_accuracy, and that trial's id; NaN and None where this
    caviar writes none."""
    if "test_accuracy" not in trials or "val_accuracy" not in trials:
        return float("nan"), None
    scored = trials[trials["test_accuracy"].notna()]
    if not len(scored):
        return float("nan"), None
    best = scored.sort_values("val_accuracy", ascending=False).iloc[0]
    return float(best["test_accuracy"]), best.get("trial_id")


def read_caviar(sweep: Path, launched: float, wall: float) -> Run:
    """A caviar sweep's reports as (t, val_accuracy, test_accuracy), its trials and notes."""
    import caviar

    curves = caviar.read_curves(str(sweep))
    trials = caviar.read_trials(str(sweep))
    own, scored_trial = own_test_score(trials)
    notes: list[str] = []
    if not len(curves):
        notes.append("no trial reported an epoch within the budget")
        empty = pd.DataFrame({"t": [], "val_accuracy": [], "test_accuracy": []}, dtype=float)
        return Run("", 0, wall, empty, len(trials), notes, own)
    if "wall_clock" in curves:
        t = curves["wall_clock"].astype(float) - launched
    elif "timestamp" in curves:
        t = seconds_since_epoch(curves["timestamp"]) - launched
    else:
        t = pd.Series(wall, index=curves.index)
        notes.append("curves carry no wall-clock time: every result is placed at the process end")
    test = curves.get(TEST_KEY)
    if test is None:  # the built-in trainable itself (fused): caviar's own score of its winner
        test = pd.Series(float("nan"), index=curves.index)
        if own == own:
            # On the one row that selection picks for that trial (its best val_accuracy), not on
            # its earlier epochs: those were worse models than the one scored.
            mine = curves[curves["trial_id"] == scored_trial]["val_accuracy"]
            test.loc[mine.idxmax()] = own
            notes.append(
                "test accuracy: caviar's own test score of its selected trial (scored once, at "
                "the end), placed at that trial's best val_accuracy report"
            )
        else:
            notes.append("no test score: this caviar writes no test_accuracy for its best trial")
    frame = pd.DataFrame(
        {"t": t.to_numpy(), "val_accuracy": curves.get("val_accuracy"), "test_accuracy": test}
    )
    return Run("", 0, wall, frame, len(trials), notes, own)


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
    run = read_caviar(work / "sweeps" / spec["name"], launched, wall)
    run.mode, run.seed = label, seed
    if code == INTERRUPTED:
        run.notes.append("caviar exits 130 (sweep interrupted) when the time budget ends mid-trial")
    return run


def _tail(log: Path, lines: int = 6) -> str:
    """The log's last lines on one line, paths shown relative to the checkout (for RESULTS.md)."""
    text = log.read_text(errors="replace").replace(f"{ROOT}/", "")
    return " | ".join(text.strip().splitlines()[-lines:])


def run_problem(
    problem: Problem, size: Size, modes: list[str], work: Path
) -> tuple[list[Run], dict[str, str]]:
    tables = write_tables(problem.data, work / "data")
    held_out = takes_held_out(tables)
    shape = SHAPES[problem.data] if problem.model == "cnn" else None
    data = data_spec(tables, held_out, shape)
    ctx = {"plan": size.plan, "data": data, "arrays": tables["arrays"]}
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
    budget, target = size.budgets[problem.name], problem.target
    columns = [
        (lambda r: r.test_at(budget), 3),
        (lambda r: r.final(), 3),
        (lambda r: r.time_to(target), 1),
        (lambda r: r.wall_s, 1),
        (lambda r: float(r.trials), 0),
    ]
    header = [
        "mode",
        f"test at T={budget:g} s",
        "test at end",
        f"time to {target} (s)",
        "process (s)",
        "trials",
    ]
    if any(r.caviar_test == r.caviar_test for r in runs):  # this caviar scores its best trial
        columns.append((lambda r: r.caviar_test, 3))
        header.append("caviar's own test score of its best trial")
    claims = _claims(problem, runs, budget)
    lines = [
        f"### {problem.title} (mnist1d.py)",
        "",
        f"Wall budget {budget:g} s of search per run (each tool's own time limit), {problem.epochs} "
        f"epochs per trial at most, 1 CPU per trial, {size.seeds} seed(s). Time starts at the "
        f"process launch, so start-up counts. 'test at T' is the test accuracy of the "
        f"best-by-validation model reported by T = {budget:g} s; 'at end' when the process "
        f"exited. Target for the time-to-target column: {target}. Mean ± sd over seeds.",
        "",
        table(header, mode_rows(runs, columns)),
        "",
        *[f"- claim: {text}: {'held' if ok else 'DID NOT HOLD'}" for text, ok in claims],
        "",
    ]
    lines += dict.fromkeys(f"- {run.mode}: {note}" for run in runs for note in run.notes)
    lines += [f"- {label}: failed, {why}" for label, why in failed.items()]
    if plot_path is not None:
        lines += ["", f"![{problem.title} anytime curves](plots/{plot_path.name})"]
    return "\n".join(lines) + "\n", claims


def _claims(problem: Problem, runs: list[Run], budget: float) -> list[tuple[str, bool]]:
    """The claims of one problem, each as (what was checked, with the figures; held). A run with
    no model by T counts as 0 in a comparison (the figures say 'never'); a claim about the
    recommended mode never holds when it has no model by T at all."""

    def at(label: str) -> list[float]:
        return [r.test_at(budget) for r in runs if r.mode == label]

    def zeroed(label: str) -> float:
        return mean([_or_zero(v) for v in at(label)])

    def first(label: str) -> str:
        return fmt(mean([r.first_report() for r in runs if r.mode == label]), 1)

    claims = []
    ours = at(RECOMMENDED)
    some = any(v == v for v in ours)
    for peer in PEERS:
        pairs = paired(runs, RECOMMENDED, peer)
        if ours and pairs:
            wins = sum(_or_zero(a.test_at(budget)) >= _or_zero(b.test_at(budget)) for a, b in pairs)
            claims.append(
                (
                    f"recommended mode at T ({mean_spread(ours)}) >= {peer} "
                    f"({mean_spread(at(peer))}), mean over seeds; at least as good in {wins} of "
                    f"{len(pairs)} seeds; first epoch reported at {first(RECOMMENDED)} s against "
                    f"{first(peer)} s after launch",
                    some and zeroed(RECOMMENDED) >= zeroed(peer),
                )
            )
    if problem.paper is not None and ours:
        cnn = problem.model == "cnn"
        within = f" within {budget:g} s (<= {PAPER_BUDGET_S:g} s) on {os.cpu_count()} CPUs"
        score = zeroed(RECOMMENDED)
        claims.append(
            (
                f"recommended mode at T ({mean_spread(ours)}) {'>=' if cnn else '>'} the paper's "
                f"{problem.model.upper()} ({problem.paper})" + (within if cnn else ""),
                (score >= problem.paper and budget <= PAPER_BUDGET_S)
                if cnn
                else score > problem.paper,
            )
        )
    claims += _asha_claim(runs, problem.target)
    return claims


def _or_zero(value: float) -> float:
    return 0.0 if value != value else value


def _asha_claim(runs: list[Run], target: float) -> list[tuple[str, bool]]:
    """random + ASHA's time to ``target`` over random + fifo's, seed by seed (same configs drawn):
    where fifo never reached it, its whole process stands in (the ratio is then an upper bound)."""
    pairs = paired(runs, RANDOM_FIFO, RANDOM_ASHA)
    if not pairs:
        return []
    ratios = []
    for fifo, asha in pairs:
        reached = fifo.time_to(target)
        ratios.append(asha.time_to(target) / (reached if reached == reached else fifo.wall_s))
    ratio = mean(ratios)
    per_seed = ", ".join(fmt(r, 2) if r == r else "never" for r in ratios)
    return [
        (
            f"random + ASHA's time to {target} / random + fifo's = {fmt(ratio, 2)} <= 0.5 "
            f"(per seed: {per_seed})",
            ratio <= 0.5,
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = section_parser(__doc__, "1 seed, short budgets, few contestants: a smoke test")
    parser.add_argument("--problems", nargs="+", choices=sorted(PROBLEMS), help="default: all")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--budget", type=float, default=None, help="seconds, every problem")
    parser.add_argument("--modes", nargs="+", default=None, help="words that pick modes by label")
    parser.add_argument("--keep", type=Path, default=None, help="keep specs, logs, sweeps here")
    parser.add_argument("--estimate", action="store_true", help="print the estimate, run nothing")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    if args.seeds is not None or args.budget is not None:
        budgets = {k: args.budget or v for k, v in size.budgets.items()}
        size = Size(args.seeds or size.seeds, budgets, size.modes, size.plan)
    problems = args.problems or list(size.budgets)
    size = Size(
        size.seeds,
        {name: size.budgets.get(name, max(size.budgets.values())) for name in problems},
        size.modes,
        size.plan,
    )
    modes = {
        name: [
            m
            for m in size.contestants(name)
            if not args.modes or any(w.lower() in m.lower() for w in args.modes)
        ]
        for name in problems
    }
    seconds = estimate(size, problems, modes)
    print(f"mnist1d: estimated {seconds / 60:.0f} min ({len(problems)} problems)", flush=True)
    if args.estimate:
        return 0
    started = time.perf_counter()
    texts, failed_claims = [_intro(size, problems, modes, seconds)], []
    with tempfile.TemporaryDirectory(prefix="caviar-bench-anytime-") as tmp:
        for name in problems:
            problem = PROBLEMS[name]
            runs, failed = run_problem(problem, size, modes[name], (args.keep or Path(tmp)) / name)
            end = max((r.wall_s for r in runs), default=1.0)
            picture = (
                plot(runs, problem.title, end, args.plots, f"anytime_{name}.png") if runs else None
            )
            text, claims = section(problem, runs, failed, size, picture)
            texts.append(text)
            failed_claims += [c for c, ok in claims if not ok]
    took = (time.perf_counter() - started) / 60
    texts[0] += f"Estimated {seconds / 60:.0f} min before the run; it took {took:.0f} min.\n"
    emit("\n".join(texts), args.out)
    return CLAIMS_FAILED if failed_claims and not args.quick else 0


def _intro(size: Size, problems: list[str], modes: dict[str, list[str]], seconds: float) -> str:
    """The section's head: what ran, and why at this size."""
    runs = ", ".join(
        f"{PROBLEMS[n].title}: {len(modes[n])} contestants x {size.budgets[n]:g} s"
        for n in problems
    )
    return (
        "## Anytime test accuracy: MNIST-1D (mlp, cnn) and digits (mnist1d.py)\n\n"
        f"{size.seeds} seed(s) each; {runs}. Sized to fit one `make bench` on 2 quiet cores: every "
        "mode and peer on the MNIST-1D mlp at a short budget; on the cnn and digits the "
        "recommended mode, random + fifo (and on the cnn random + ASHA, for ASHA's time to "
        "target) and the peers. "
    )


if __name__ == "__main__":
    sys.exit(main())
