"""Checking ``trainable: module:function`` without running the module (issue 23)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from caviar.trainables.lookup import check_trainable

MODULE = """
from pathlib import Path
Path(__file__).with_name("ran").write_text("the module ran")

def good(config, ctx):
    pass

def one_argument(config):
    pass

def keyword_only(config, ctx, *, must):
    pass

def star(*args):
    pass

class Callable:
    pass

alias = good
from os.path import join as joined
try:
    maybe = good
except ImportError:
    pass
"""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "side_effects_mod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("side_effects_mod", None)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("side_effects_mod:good", None),
        ("side_effects_mod:star", None),
        ("side_effects_mod:Callable", None),
        ("side_effects_mod:alias", None),
        ("side_effects_mod:joined", None),
        ("side_effects_mod:maybe", None),
        ("side_effects_mod:one_argument", "must take (config, ctx)"),
        ("side_effects_mod:keyword_only", "must take (config, ctx)"),
        ("side_effects_mod:missing", "has no attribute 'missing'"),
        ("no_such_module_xyz:f", "cannot import module"),
        ("..side_effects_mod:good", "dotted Python names"),
        ("side_effects_mod:not-a-name", "dotted Python names"),
        ("side_effects_mod", "expected 'mlp' or"),
    ],
)
def test_a_trainable_is_checked_without_running_its_module(
    module: Path, name: str, problem: str | None
) -> None:
    if problem is None:
        check_trainable(name)
    else:
        with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
            check_trainable(name)
    assert not (module / "ran").exists(), "the module's top level ran"
    assert "side_effects_mod" not in sys.modules
