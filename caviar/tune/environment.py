"""Environment variables are process-global state: set around the call that needs them, then restored.

Ray Tune reads several settings only from the environment. caviar sets them for one
``Tuner.fit()`` (``tune_environment``) and puts back what was there before, so that two sweeps in
one process (tests, notebooks, ``caviar continue`` after ``caviar run``) never see each other's
values, and a value the user set is never overridden.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

# Set for every sweep unless the user set them:
TUNE_DEFAULTS = {
    # Tune's per-trial result files (JSON, CSV, TensorBoard) cost ~1 s per trial and thousands of
    # files; caviar's Parquet callback records the same results.
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "RAY_AIR_NEW_OUTPUT": "0",
    # A trainable that does not report the sweep's metric is reported by the results callback, in
    # one line naming `metric:`, instead of by Tune's check, which raises from deep inside its loop.
    "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    # An actor that does not stop when asked (a trial hung past trial_time_limit_s) is killed
    # after this many seconds, not Tune's default 600, so that it frees its CPUs/GPUs.
    "TUNE_FORCE_TRIAL_CLEANUP_S": "10",
}
# With a custom searcher, Tune starts one trial at a time (one pending trial) unless told
# otherwise: on a cluster the sweep would ramp up one actor start after another. caviar lets as
# many trials be pending as the cluster holds at once; a user's value wins.
MAX_PENDING = "TUNE_MAX_PENDING_TRIALS_PG"


@contextmanager
def scoped_environ(
    values: Mapping[str, str] | None = None, also: Iterable[str] = ()
) -> Iterator[None]:
    """Set ``values`` for the block; afterwards every key of ``values`` and ``also`` is as before.

    ``also``: keys the block may change by other means (they are restored too).
    """
    keys = set(values or {}) | set(also)
    before = {key: os.environ.get(key) for key in keys}
    os.environ.update(values or {})
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def tune_settings(pending_trials: int | None) -> dict[str, str]:
    """What a sweep sets: Tune's defaults and the pending-trial count, where the user set none."""
    wanted = dict(TUNE_DEFAULTS)
    if pending_trials is not None:
        wanted[MAX_PENDING] = str(max(1, pending_trials))
    return {key: value for key, value in wanted.items() if key not in os.environ}


@contextmanager
def tune_environment(pending_trials: int | None = None) -> Iterator[None]:
    """Tune's settings for one ``Tuner.fit()`` (see ``tune_settings``), restored after it."""
    with scoped_environ(tune_settings(pending_trials)):
        yield
