"""``caviar.read_trials`` and ``caviar.read_curves``: a sweep's tables as pandas DataFrames.

``path`` is a sweep directory (``results/demo``, ``s3://bucket/prefix/demo``), a storage root
holding several sweeps (``results``), or a list of either; when more than one sweep is read, the
frames gain a ``sweep`` column (the sweep's name). Filters on status, trials and columns are pushed
down to the Parquet reader, so only what is asked for is read.

Types: integers stay integers when some are missing (a conditional hyperparameter is null where it
does not apply): by default int64 columns become pandas ``Int64`` and booleans ``boolean``, floats
stay ``float64`` with NaN. ``dtype_backend="numpy_nullable"`` or ``"pyarrow"`` behave as in
``pandas.read_parquet``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs

from caviar.results.location import open_location
from caviar.results.store import SPEC_FILE, SweepStore

DtypeBackend = Literal["numpy_nullable", "pyarrow"]
Paths = str | Sequence[str]


def sweep_dirs(path: str) -> list[str]:
    """The sweep directories at ``path``: itself if it is one, else its sweep subdirectories."""
    store = SweepStore.at(path)
    if store.exists(SPEC_FILE):
        return [path]
    filesystem, root = open_location(path)
    selector = pafs.FileSelector(root, allow_not_found=True)
    found = []
    for info in sorted(filesystem.get_file_info(selector), key=lambda i: i.base_name):
        if info.type == pafs.FileType.Directory and SweepStore(filesystem, info.path).exists(
            SPEC_FILE
        ):
            found.append(f"{path.rstrip('/')}/{info.base_name}")
    if not found:
        raise FileNotFoundError(f"no caviar sweep at {path} (no {SPEC_FILE} there or below)")
    return found


def read_trials(
    path: Paths,
    status: str | Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    dtype_backend: DtypeBackend | None = None,
) -> pd.DataFrame:
    """One row per trial: status, hyperparameters, last metrics, best metric, iterations, error.

    ``status``: keep only trials in this status (or these), e.g. ``"TERMINATED"``.
    ``columns``: read only these columns (``trial_id`` always comes along).
    """
    filters = None
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        filters = [("status", "in", wanted)]
    names = None if columns is None else list(dict.fromkeys(["trial_id", *columns]))
    mapper = _types_mapper(dtype_backend)
    dirs = _all_dirs(path)
    frames = []
    for directory in dirs:
        table = SweepStore.at(directory).read_trials(names, filters)
        if table is None:
            table = pa.table(
                {"trial_id": pa.array([], pa.string()), "status": pa.array([], pa.string())}
            )
        frames.append(_with_sweep(table.to_pandas(types_mapper=mapper), directory, len(dirs) > 1))
    return _concat(frames)


def read_curves(
    path: Paths,
    columns: Sequence[str] | None = None,
    trial_ids: Sequence[str] | None = None,
    dtype_backend: DtypeBackend | None = None,
) -> pd.DataFrame:
    """One row per reported result: trial_id, iteration (1-based), every metric, time_total_s.

    ``columns``: read only these metrics (``trial_id`` and ``iteration`` always come along).
    ``trial_ids``: read only these trials' rows.
    """
    mapper = _types_mapper(dtype_backend)
    dirs = _all_dirs(path)
    frames = []
    for directory in dirs:
        table = SweepStore.at(directory).read_curves(columns, trial_ids)
        table = table.sort_by([("trial_id", "ascending"), ("iteration", "ascending")])
        frames.append(_with_sweep(table.to_pandas(types_mapper=mapper), directory, len(dirs) > 1))
    return _concat(frames)


def _all_dirs(path: Paths) -> list[str]:
    paths = [path] if isinstance(path, str) else [str(p) for p in path]
    if not paths:
        raise ValueError("path: give at least one sweep directory or storage root, got []")
    dirs: list[str] = []
    for one in paths:
        dirs.extend(d for d in sweep_dirs(str(one)) if d not in dirs)
    return dirs


def _types_mapper(dtype_backend: DtypeBackend | None) -> Callable[[pa.DataType], Any]:
    if dtype_backend is None:
        # Nullable integer and boolean columns stay integer/boolean (Int64, boolean) instead of
        # turning into float64/object when a conditional parameter is null.
        return {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
    if dtype_backend == "pyarrow":
        return pd.ArrowDtype
    if dtype_backend == "numpy_nullable":
        return {
            pa.int64(): pd.Int64Dtype(),
            pa.bool_(): pd.BooleanDtype(),
            pa.float64(): pd.Float64Dtype(),
            pa.string(): pd.StringDtype(),
        }.get
    raise ValueError(
        f"dtype_backend: must be None, 'numpy_nullable' or 'pyarrow', got {dtype_backend!r}"
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def _with_sweep(frame: pd.DataFrame, directory: str, many: bool) -> pd.DataFrame:
    if many:
        frame.insert(0, "sweep", directory.rstrip("/").rsplit("/", 1)[-1])
    return frame
