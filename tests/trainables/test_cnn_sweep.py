"""The cnn in real sweeps on the shared Ray: the example spec, and test scoring from a trial's
checkpoint, directly and as the sweep scored it at its end."""

from __future__ import annotations

from pathlib import Path

import pytest

import caviar
from caviar.results.store import TUNE_DIR
from caviar.spec.load import load_spec
from caviar.trainables.evaluate import score_trial
from caviar.tune.run import prepare, run_sweep

pytestmark = pytest.mark.xdist_group("ray")

EXAMPLE = Path(__file__).parents[2] / "examples" / "cnn_mnist1d.yaml"


def _last_checkpoint(sweep_dir: Path, trial_id: str) -> Path:
    return sorted((sweep_dir / TUNE_DIR / trial_id).glob("checkpoint_*"))[-1]


def test_a_cnn_sweep_on_digits_and_its_best_trials_test_score(
    tmp_path: Path, ray_local: None
) -> None:
    overrides = [
        f"storage={tmp_path}",
        "name=digits_cnn",
        "data={dataset: digits, test_fraction: 0.2}",
        "search.num_samples=2",
        "scheduler={name: fifo}",
        "space.epochs=2",
        "space.channels=8",
        "space.conv_layers=2",
        "space.kernel=3",
        "space.lr=0.01",
    ]
    spec = load_spec(EXAMPLE, overrides)
    prepare(spec)
    outcome = run_sweep(spec, show_progress=False)
    assert outcome.errors == 0
    trials = caviar.read_trials(outcome.sweep_uri)
    assert len(trials) == 2
    ranked = trials.sort_values(["best_val_accuracy", "trial_id"], ascending=[False, True])
    best = ranked.iloc[0]
    checkpoint = _last_checkpoint(Path(outcome.sweep_uri), str(best["trial_id"]))
    scores = score_trial("cnn", best.to_dict(), checkpoint, spec.data)
    assert set(scores) == {"test_loss", "test_accuracy"}
    assert scores["test_accuracy"] >= 0.7, scores
    # The sweep scored its best trial (by its metric, val_accuracy) itself, and no other.
    assert (
        trials["test_accuracy"].notna().tolist()
        == (trials["trial_id"] == best["trial_id"]).tolist()
    )
    assert best["test_accuracy"] == pytest.approx(scores["test_accuracy"], rel=1e-12)


@pytest.mark.slow
def test_the_cnn_example_on_mnist1d_beats_the_papers_mlp(tmp_path: Path, ray_local: None) -> None:
    """A slice of examples/cnn_mnist1d.yaml: 4 trials of its space, fifo."""
    spec = load_spec(
        EXAMPLE, [f"storage={tmp_path}", "search.num_samples=4", "scheduler={name: fifo}"]
    )
    prepare(spec)
    outcome = run_sweep(spec, show_progress=False)
    trials = caviar.read_trials(outcome.sweep_uri)
    best = trials.sort_values("val_accuracy").iloc[-1]
    checkpoint = _last_checkpoint(Path(outcome.sweep_uri), str(best["trial_id"]))
    scores = score_trial("cnn", best.to_dict(), checkpoint, spec.data)
    assert scores["test_accuracy"] >= 0.85, scores  # the paper: mlp 0.68, cnn 0.94
