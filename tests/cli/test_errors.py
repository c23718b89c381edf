"""What a person sees when stored results cannot be read: one line, the right exit code.

Results on disk that caviar cannot read (a newer schema, a damaged sweep.yaml)
exit 1 with one ``caviar: error:`` line; a path that holds no sweep is bad input (exit 2). The
commands run in this process (``caviar.cli.main``), plus one in a fresh process.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from caviar.cli import main
from caviar.cli.exits import EXIT_BAD_INPUT, EXIT_FAILED, exit_code
from caviar.errors import SpecError, SweepFailed, UnreadableResults
from tests.conftest import run_cli
from tests.results.report_data import write_sweep


def _exit(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(exited.value.code or 0), err


def _newer_schema(sweep: str) -> None:
    path = Path(sweep) / "trials.parquet"
    table = pq.read_table(path)
    metadata = {**(table.schema.metadata or {}), b"caviar.schema_version": b"99"}
    pq.write_table(table.replace_schema_metadata(metadata), path)


def _respec(sweep: str, **changes: object) -> None:
    path = Path(sweep) / "sweep.yaml"
    spec = yaml.safe_load(path.read_text())
    spec.update(changes)
    path.write_text(yaml.safe_dump({k: v for k, v in spec.items() if v is not None}))


def test_every_error_kind_has_its_exit_code() -> None:
    assert exit_code(SpecError("a", "b")) == EXIT_BAD_INPUT == 2
    assert exit_code(SweepFailed("x")) == exit_code(UnreadableResults("x")) == EXIT_FAILED == 1
    assert exit_code(KeyError("a bug")) is None


@pytest.mark.parametrize("command", ["report", "show", "ls", "trial-stop", "confirmations"])
def test_a_newer_schema_exits_1_with_one_line(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = write_sweep(tmp_path, trials=4)
    _newer_schema(sweep)
    args = {
        "report": ["report", sweep, "-o", str(tmp_path / "r.html")],
        "show": ["show", sweep],
        "ls": ["ls", str(tmp_path)],
        "trial-stop": ["trial", "stop", sweep, "t00000"],
    }.get(command)
    if args is None:  # the Python door to the same reader
        import caviar

        with pytest.raises(UnreadableResults, match="schema version 99"):
            caviar.read_confirmations(sweep)
        return
    code, err = _exit(args, capsys)
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("caviar: error: ") and "schema version 99" in err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"mode": "best"}, "mode must be 'min' or 'max', got 'best'"),  # was a ValueError
        ({"metric": None}, "metric: expected a name, got None"),  # was a KeyError
        ({"space": {"lr": "loguniform(0, 1)"}}, "space.lr: "),  # was a ValueError
        ({"space": ["lr"]}, "space: expected a mapping"),
    ],
)
@pytest.mark.parametrize("command", ["report", "show"])
def test_a_damaged_sweep_yaml_exits_1_with_one_line(
    tmp_path: Path,
    changes: dict[str, object],
    fragment: str,
    command: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sweep = write_sweep(tmp_path, trials=4)
    _respec(sweep, **changes)
    code, err = _exit([command, sweep], capsys)
    assert code == 1, err
    assert err.count("\n") == 1 and f"sweep.yaml: {fragment}" in err, err


def test_not_a_sweep_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "list" / "sweep.yaml").parent.mkdir()
    for args in (["report", str(tmp_path)], ["show", str(tmp_path)], ["compact", str(tmp_path)]):
        code, err = _exit(args, capsys)
        assert code == 2 and err.startswith("caviar: error: SWEEP_DIR: no caviar sweep at"), err
    (tmp_path / "list" / "sweep.yaml").write_text("- a list\n")
    code, err = _exit(["report", str(tmp_path / "list")], capsys)
    assert code == 1 and "is not a caviar sweep spec" in err and err.count("\n") == 1, err


def test_in_a_fresh_process_too(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, trials=4)
    _respec(sweep, mode="best")
    done = run_cli("report", sweep)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr + done.stdout
