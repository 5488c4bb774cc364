"""Conventions every ``trelink`` command follows (issue 15, item 5).

``--version``; ``-h`` as well as ``--help`` on every command and group; flags shown as
flags; one ``--overwrite`` (old spellings still work, with a notice on stderr); one
meaning per option name; shell completion.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import trelink
from trelink.cli import app

TRELINK = Path(sys.executable).with_name("trelink")


# Typer carries its own copy of Click, so commands are told apart by what they have.
def _command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, child in getattr(command, "commands", {}).items():
        yield from _command_paths(child, (*path, name))


COMMAND: Any = typer.main.get_command(app)  # built once: building it takes a while
ALL_COMMANDS = list(_command_paths(COMMAND))


def _help(path: tuple[str, ...], option: str, capsys: pytest.CaptureFixture[str]) -> str:
    # Run the built command directly (CliRunner would build it again for every call).
    code = COMMAND.main([*path, option], prog_name="trelink", standalone_mode=False)
    assert code in (None, 0), path
    return capsys.readouterr().out


def test_version_is_the_installed_one() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"trelink {version('trelink')}\n"
    assert version("trelink") == trelink.__version__


def test_every_command_and_group_is_listed() -> None:
    # The walk below covers the groups' commands, not only the top level.
    assert ("sdc", "check") in ALL_COMMANDS and ("export", "status") in ALL_COMMANDS
    assert ("keys", "secret") in ALL_COMMANDS and len(ALL_COMMANDS) > 30


def test_every_command_and_group_answers_h_and_shows_flags_as_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    for path in ALL_COMMANDS:
        short = _help(path, "-h", capsys)
        assert f"Usage: trelink {' '.join(path)}".rstrip() in short, path
        # A flag takes no value (`--overwrite true` is refused), so help shows none.
        assert "<bool>" not in short, path
    for path in [(), ("sdc",), ("sdc", "check"), ("link",)]:
        assert _help(path, "--help", capsys) == _help(path, "-h", capsys)


def test_a_flag_given_a_value_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--overwrite", "true"])
    assert result.exit_code == 2
    assert "unexpected extra argument(s) (true)" in result.stderr


def test_overwrite_is_the_one_spelling(tmp_path: Path) -> None:
    # Every option that replaces an existing output or import is called --overwrite.
    names: set[str] = set()
    for path in ALL_COMMANDS:
        command = COMMAND
        for name in path:
            command = command.commands[name]
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden:
                names.update(param.opts + param.secondary_opts)
    assert "--overwrite" in names
    assert not names & {"--force", "--replace", "--no-overwrite"}


def _fake_engine(
    monkeypatch: pytest.MonkeyPatch, module: str, name: str, result: Any, **others: Any
) -> dict[str, Any]:
    """Stand in for the engine module a command imports, and record what it was given.

    The commands import their engines when they run; a stand-in module keeps these
    tests about the command line and quick (no Splink, DuckDB or pandas loaded).
    """
    seen: dict[str, Any] = {}

    def fake(*args: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        return result

    monkeypatch.setitem(sys.modules, module, SimpleNamespace(**{name: fake}, **others))
    return seen


@pytest.mark.parametrize("spelling", ["--overwrite", "--force"])
def test_demo_overwrite_and_its_old_spelling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spelling: str
) -> None:
    import trelink.demo.cli

    seen = _fake_engine(monkeypatch, "trelink.demo.pipeline", "run_demo", None)
    monkeypatch.setattr(trelink.demo.cli, "_report", lambda result, console: None)
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), spelling])
    assert result.exit_code == 0, result.output
    assert seen["force"] is True
    notice = "trelink: --force is deprecated; use --overwrite\n"
    assert result.stderr == (notice if spelling == "--force" else "")


@pytest.mark.parametrize("spelling", ["--overwrite", "--replace"])
def test_import_overwrite_and_its_old_spelling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spelling: str
) -> None:
    imported = SimpleNamespace(
        dataset="nrm",
        identity_table="nrm_identity",
        identity_rows=3,
        attributes_table=None,
        attributes_rows=0,
        signer_key_id="s",
        linkage_key_id="k",
        forced_older=False,
        manifest={},
    )
    seen = _fake_engine(
        monkeypatch,
        "linkage.importer",
        "import_package",
        imported,
        list_datasets=lambda db: [],
    )
    arguments = ["import", str(tmp_path / "x.tlp"), "--private-key", "p", "--trust", "t"]
    result = CliRunner().invoke(app, [*arguments, "--db", "d", "--dataset", "nrm", spelling])
    assert result.exit_code == 0, result.output
    assert seen["replace"] is True
    notice = "trelink: --replace is deprecated; use --overwrite\n"
    assert result.stderr.startswith(notice) == (spelling == "--replace")


def test_ictg_urn_column_and_its_old_spelling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `--key` names a private key file in `export`; in `ictg` it named a column, so the
    # column option is now --urn-column and --key stays there only as an alias.
    import linkage.ictg.cli

    seen = _fake_engine(
        monkeypatch,
        "linkage.ictg.stages",
        "write_stages",
        None,
        IctgRules=lambda **rules: None,
        IctgCodes=None,
    )
    monkeypatch.setitem(
        sys.modules, "linkage.ictg.summary", SimpleNamespace(render=lambda *args: None)
    )
    monkeypatch.setattr(linkage.ictg.cli, "_sources", lambda *args: None)
    base = ["ictg", "--referral", "r", "--monthly", "m", "--contact", "c", "--out", "o"]
    for options, column, notice in [
        ([], "record_pid", ""),
        (["--urn-column", "urn"], "urn", ""),
        (["--key", "urn"], "urn", "trelink: --key is deprecated; use --urn-column\n"),
    ]:
        result = CliRunner().invoke(app, [*base, *options])
        assert result.exit_code == 0, result.output
        assert seen["key"] == column
        assert notice in result.stderr


@pytest.mark.skipif(not TRELINK.exists(), reason="needs the installed trelink script")
def test_shell_completion_completes_commands() -> None:
    # `--install-completion` and `--show-completion` exist (their script depends on the
    # shell Typer detects from the process tree, so it is not compared here); the
    # completion protocol behind them answers as bash calls it.
    top_help = CliRunner().invoke(app, ["-h"], terminal_width=200).stdout
    assert "--install-completion" in top_help and "--show-completion" in top_help
    environment = {
        **os.environ,
        "_TRELINK_COMPLETE": "complete_bash",
        "COMP_WORDS": "trelink sd",
        "COMP_CWORD": "1",
    }
    completed = subprocess.run(
        [shutil.which("trelink", path=str(TRELINK.parent)) or str(TRELINK)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["sdc"]
