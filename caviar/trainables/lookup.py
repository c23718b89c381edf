"""Checking a spec's ``trainable: package.module:function`` without running the user's module.

The spec is checked on the machine that runs ``caviar run`` (or ``caviar submit``), where the
module's top level must not run: it may print, start work, or need what only the cluster has.
So the module is found with ``importlib.util.find_spec`` (its parent packages are imported, the
module itself is not), and its source is read with ``ast`` for a top-level ``def`` or assignment
of the name. A module already imported in this process (``os``, ``json``) is checked on the
real object, which costs nothing. A module without Python source (an extension) is accepted
here; the trial that imports it reports what is wrong.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from caviar.errors import shown

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def check_trainable(name: str) -> None:
    """ValueError if ``name`` (``mlp``, ``cnn`` or ``module:function``) cannot be a trainable."""
    from caviar.trainables.protocol import BUILTIN_FAMILIES

    if name in BUILTIN_FAMILIES:  # mlp, cnn
        return
    module_name, sep, attribute = name.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected 'mlp' or 'package.module:function', got {shown(name)}")
    if not _DOTTED.fullmatch(module_name) or not attribute.isidentifier():
        raise ValueError(
            f"expected 'package.module:function' with dotted Python names, got {shown(name)}"
        )
    module = sys.modules.get(module_name)
    if module is not None:
        check_function(name, module_name, attribute, getattr(module, attribute, None))
        return
    try:
        with _cwd_last_on_path():  # as on the workers (caviar.cluster.worker_path)
            spec = importlib.util.find_spec(module_name)
    except Exception as error:  # a parent package's __init__ may raise anything
        raise ValueError(f"cannot import module {module_name!r}: {error}") from None
    if spec is None:
        raise ValueError(f"cannot import module {module_name!r}: No module named {module_name!r}")
    origin = spec.origin
    if origin is None or not origin.endswith(".py"):
        return  # no source to read: the worker that imports it reports what is wrong
    _check_source(name, module_name, attribute, Path(origin))


@contextlib.contextmanager
def _cwd_last_on_path() -> Iterator[None]:
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.append(cwd)
    try:
        yield
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def check_function(name: str, module_name: str, attribute: str, function: object) -> None:
    """ValueError unless ``function`` (``module_name:attribute``) can be called as (config, ctx)."""
    if function is None:
        raise ValueError(f"module {module_name!r} has no attribute {attribute!r}")
    if not callable(function):
        raise ValueError(f"{name!r} is not callable")
    try:
        inspect.signature(function).bind({}, None)
    except TypeError:
        raise ValueError(f"{name!r} must take (config, ctx)") from None
    except ValueError:
        pass  # builtins without a signature: the trial reports it


def _check_source(name: str, module_name: str, attribute: str, path: Path) -> None:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise ValueError(f"cannot read module {module_name!r}: {error}") from None
    found: ast.AST | None = None
    dynamic = False  # star imports, a module __getattr__, or names set in loops/conditions
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == attribute:
                found = node
            dynamic |= node.name == "__getattr__"
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                dynamic |= alias.name == "*"
                if (alias.asname or alias.name.split(".")[0]) == attribute:
                    found = node
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_binds(target, attribute) for target in targets):
                found = node
        elif isinstance(node, ast.If | ast.Try | ast.For | ast.While | ast.With):
            dynamic = dynamic or _mentions(node, attribute)
    if found is None:
        if dynamic:
            return
        raise ValueError(f"module {module_name!r} has no attribute {attribute!r}")
    if isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef) and not _takes_two(found.args):
        raise ValueError(f"{name!r} must take (config, ctx)")


def _mentions(node: ast.AST, attribute: str) -> bool:
    """Whether a nested block may bind ``attribute`` (set in an ``if``, ``try``, loop, ...)."""
    return any(
        (isinstance(n, ast.Name) and n.id == attribute)
        or (isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == attribute)
        for n in ast.walk(node)
    )


def _binds(target: ast.expr, attribute: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == attribute for n in ast.walk(target))


def _takes_two(args: ast.arguments) -> bool:
    """Whether a function with these arguments can be called as ``f(config, ctx)``."""
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    return (
        (positional >= 2 or args.vararg is not None)
        and required <= 2
        and not [a for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    )
