"""MLflow: one parent run per sweep, one nested child run per trial, through ``MlflowClient``.

A child run carries the trial's params, every metric of every curves row (step = iteration),
the tags ``caviar.sweep`` (the sweep's name), ``caviar.trial_id``, ``caviar.status`` and
``caviar.error``, and ends FINISHED, FAILED (status ERROR) or KILLED (still running when the sweep
stopped). A live sweep's parent is found again by its ``caviar.sweep_uri`` tag when the sweep is
resumed, and so are its children; ``caviar export`` always makes a new parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caviar.results.trackers.base import FAILED, FINISHED

PARENT_TAG = "caviar.parent"
SWEEP_TAG = "caviar.sweep"
URI_TAG = "caviar.sweep_uri"
SOURCE_TAG = "caviar.source"
TRIAL_TAG = "caviar.trial_id"
NESTED_TAG = "mlflow.parentRunId"  # MLflow's own: the UI nests the run under that one
MAX_TAG = 5000  # MLflow's limit on a tag value (8000) with room to spare
RUN_STATUS = {FINISHED: "FINISHED", FAILED: "FAILED"}


class MlflowSink:
    """Writes a sweep to an MLflow tracking store (``sqlite:///mlflow.db`` needs no server)."""

    def __init__(
        self,
        sweep_name: str,
        sweep_uri: str,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        source: str = "live",
    ) -> None:
        self.sweep_name = sweep_name
        self.sweep_uri = sweep_uri
        self.tracking_uri = tracking_uri
        self.experiment = experiment or sweep_name
        self.source = source
        self.parent_id: str | None = None
        self.runs: dict[str, str] = {}  # trial_id -> child run id
        self._client: Any = None

    def open(self) -> None:
        from mlflow.tracking import MlflowClient

        self._client = client = MlflowClient(tracking_uri=self.tracking_uri)
        found = client.get_experiment_by_name(self.experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(self.experiment)
        self.experiment_id = experiment_id
        if self.source == "live":
            self.parent_id = self._find(
                f"tags.`{URI_TAG}` = '{_quote(self.sweep_uri)}' and tags.`{SOURCE_TAG}` = 'live'"
            )
        if self.parent_id is None:
            run = client.create_run(
                experiment_id,
                run_name=self.sweep_name,
                tags={
                    PARENT_TAG: "true",
                    SWEEP_TAG: self.sweep_name,
                    URI_TAG: self.sweep_uri,
                    SOURCE_TAG: self.source,
                },
            )
            self.parent_id = run.info.run_id
            return
        for run in client.search_runs(
            [experiment_id], f"tags.`{NESTED_TAG}` = '{self.parent_id}'", max_results=50_000
        ):
            trial_id = run.data.tags.get(TRIAL_TAG)
            if trial_id:
                self.runs[trial_id] = run.info.run_id
        client.update_run(self.parent_id, status="RUNNING")

    def _find(self, query: str) -> str | None:
        runs = self._client.search_runs(
            [self.experiment_id], query, max_results=1, order_by=["attributes.start_time DESC"]
        )
        return runs[0].info.run_id if runs else None

    def start_trial(self, trial_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        if trial_id in self.runs:
            self._client.update_run(self.runs[trial_id], status="RUNNING")
            return
        assert self.parent_id is not None, "open() first"
        run = self._client.create_run(
            self.experiment_id,
            run_name=trial_id,
            tags={NESTED_TAG: self.parent_id, SWEEP_TAG: self.sweep_name, TRIAL_TAG: trial_id},
        )
        self.runs[trial_id] = run.info.run_id
        items = [Param(str(k), str(v)) for k, v in params.items()]
        for start in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            self._client.log_batch(run.info.run_id, params=items[start : start + 100])

    def log(
        self, trial_id: str, iteration: int, metrics: Mapping[str, float], timestamp: float
    ) -> None:
        from mlflow.entities import Metric

        run_id = self.runs.get(trial_id)
        if run_id is None or not metrics:
            return
        stamp = int(timestamp * 1000)
        items = [Metric(k, float(v), stamp, iteration) for k, v in metrics.items()]
        self._client.log_batch(run_id, metrics=items)

    def end_trial(self, trial_id: str, status: str, error: str | None) -> None:
        from mlflow.entities import RunTag

        run_id = self.runs.get(trial_id)
        if run_id is None:
            return
        tags = [RunTag("caviar.status", status)]
        if error:
            tags.append(RunTag("caviar.error", error[:MAX_TAG]))
        self._client.log_batch(run_id, tags=tags)
        self._client.set_terminated(run_id, status=RUN_STATUS.get(status, "KILLED"))

    def close(self, interrupted: bool) -> None:
        if self._client is None or self.parent_id is None:
            return
        self._client.set_terminated(self.parent_id, status="KILLED" if interrupted else "FINISHED")


def _quote(text: str) -> str:
    return text.replace("'", "\\'")
