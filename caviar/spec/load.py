"""Reading a spec: its file, its YAML (with limits), and ``--set key.path=value`` overrides.

A hostile file is refused in one line, in milliseconds.

PyYAML builds nested nodes by recursion (3,000 levels raise RecursionError) and expands aliases
only when the values are used: a 300-byte "billion laughs" file becomes gigabytes as soon as it
is printed or dumped. So the text is read in three steps, each bounded:

1. its size (``MAX_BYTES``);
2. its events, read without recursion, for the nesting depth (``MAX_DEPTH``);
3. its node graph, counted as if every alias were expanded (``MAX_NODES``), before any Python
   value is built from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from caviar.errors import SpecError, shown

if TYPE_CHECKING:
    from caviar.spec.model import SweepSpec

MAX_BYTES = 1_000_000  # a real spec is a few kB
MAX_DEPTH = 64  # mappings and lists inside each other
MAX_NODES = 100_000  # scalars, lists and mappings, every alias expanded

_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def load_spec(path: str | Path, overrides: list[str] | None = None) -> SweepSpec:
    """Read a YAML spec file, apply ``key.path=value`` overrides, and parse it."""
    from caviar.spec.parse import parse_spec

    path = Path(path)
    if not path.is_file():
        raise SpecError("SPEC", f"file not found: {path}")
    if path.stat().st_size > MAX_BYTES:
        raise SpecError(
            str(path), f"is {path.stat().st_size:,} bytes; a spec may be at most {MAX_BYTES:,}"
        )
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise SpecError(str(path), "not a text file") from None
    raw = load_yaml(text, str(path))
    if not isinstance(raw, dict):
        raise SpecError(str(path), f"expected a mapping of keys, got {type(raw).__name__}")
    for override in overrides or []:
        apply_override(raw, override)
    return parse_spec(raw)


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Set ``a.b=value`` in the raw spec; the value is parsed as YAML (``3`` is an int)."""
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise SpecError("--set", f"expected key=value, got {shown(override)}")
    try:
        value = load_yaml(text, key.strip())
    except SpecError as error:
        if "invalid YAML" not in error.message:
            raise
        value = text
    target = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = target.setdefault(part, {})
        if not isinstance(node, dict):
            raise SpecError(key, f"cannot set a key inside {shown(part)}, which is not a mapping")
        target = node
    target[parts[-1]] = value


def load_yaml(text: str, where: str) -> Any:
    """The value of one YAML document, or SpecError(where, ...) naming what is wrong with it."""
    size = len(text.encode("utf-8", "surrogateescape"))
    if size > MAX_BYTES:
        raise SpecError(where, f"is {size:,} bytes; a spec may be at most {MAX_BYTES:,}")
    try:
        _check_depth(text, where)
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expansion(node, where)
            return loader.construct_document(node)
        finally:
            loader.dispose()  # type: ignore[no-untyped-call]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(where, f"invalid YAML{at}: {problem}") from None
    except (ValueError, RecursionError) as error:  # e.g. an integer of 5,000 digits
        raise SpecError(where, f"invalid YAML: {str(error).splitlines()[0]}") from None


def _check_depth(text: str, where: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise SpecError(where, f"nested more than {MAX_DEPTH} levels deep (at line {line})")
        elif isinstance(event, _CLOSE):
            depth -= 1


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Refuse aliases that expand past MAX_NODES values, or that refer to themselves."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise SpecError(where, "an alias refers to the value that contains it")
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        on_path.discard(key)
        if total > MAX_NODES:
            raise SpecError(
                where,
                f"its aliases expand to more than {MAX_NODES:,} values (an alias bomb?); "
                "write the values out or use fewer aliases",
            )
        sizes[key] = total
        return total

    size(root)
