"""``caviar.read_trials`` and ``caviar.read_curves``: a sweep's tables as pandas DataFrames.

``path`` is a sweep directory (``results/demo``) or a storage root holding several sweeps
(``results``); for a root, the frames gain a ``sweep`` column.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs

from caviar.results.store import SPEC_FILE, SweepStore, open_location


def sweep_dirs(path: str) -> list[str]:
    """The sweep directories at ``path``: itself if it is one, else its sweep subdirectories."""
    store = SweepStore.at(path)
    if store.exists(SPEC_FILE):
        return [path]
    filesystem, root = open_location(path)
    selector = pafs.FileSelector(root, allow_not_found=True)
    found = []
    for info in sorted(filesystem.get_file_info(selector), key=lambda i: i.base_name):
        if info.type == pafs.FileType.Directory and SweepStore(filesystem, info.path).exists(SPEC_FILE):
            found.append(f"{path.rstrip('/')}/{info.base_name}")
    if not found:
        raise FileNotFoundError(f"no caviar sweep at {path} (no {SPEC_FILE} there or below)")
    return found


def read_trials(path: str, status: str | Sequence[str] | None = None) -> pd.DataFrame:
    """One row per trial: status, hyperparameters, last metrics, best metric, iterations, error."""
    frames = []
    dirs = sweep_dirs(str(path))
    for directory in dirs:
        table = SweepStore.at(directory).read_trials()
        if table is None:
            table = pa.table({"trial_id": pa.array([], pa.string()), "status": pa.array([], pa.string())})
        frame = _to_pandas(table)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            frame = frame[frame["status"].isin(wanted)].reset_index(drop=True)
        frames.append(_with_sweep(frame, directory, len(dirs) > 1))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_curves(path: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per reported result: trial_id, iteration (1-based), every metric, time_total_s."""
    frames = []
    dirs = sweep_dirs(str(path))
    for directory in dirs:
        wanted = None if columns is None else ["trial_id", "iteration", *columns]
        table = SweepStore.at(directory).read_curves(wanted)
        frame = _to_pandas(table).sort_values(["trial_id", "iteration"], ignore_index=True)
        frames.append(_with_sweep(frame, directory, len(dirs) > 1))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # Nullable integer and boolean columns stay integer/boolean (Int64, boolean) instead of
    # turning into float64/object when a conditional parameter is null.
    return table.to_pandas(
        types_mapper={pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
    )


def _with_sweep(frame: pd.DataFrame, directory: str, many: bool) -> pd.DataFrame:
    if many:
        frame.insert(0, "sweep", directory.rstrip("/").rsplit("/", 1)[-1])
    return frame
