"""``import caviar``: the public names are there, and importing it loads no heavy package."""

from __future__ import annotations

import subprocess
import sys

import pytest

import caviar


def test_public_names_resolve_on_first_use() -> None:
    for name in caviar.__all__:
        assert getattr(caviar, name) is not None
    assert set(caviar.__all__) <= set(dir(caviar))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = caviar.nope  # type: ignore[attr-defined]


def test_import_caviar_loads_no_pandas_pyarrow_torch_or_ray() -> None:
    # A fresh interpreter: this one has imported them for other tests.
    code = (
        "import sys, caviar, caviar.errors; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'torch', 'ray') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
