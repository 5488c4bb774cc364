"""``trelink`` starts without loading any role's engines, and still offers every command.

Role packages export their names lazily (``trelink.lazy``) and the role ``cli`` modules
import their engines inside the commands. These tests pin that: a fresh interpreter that
imports the CLI, or asks for its help, has none of the heavy libraries loaded, and every
command still answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trelink.cli import app, main

# Every top-level command, in the order help lists it.
COMMANDS = (
    "synth",
    "prepare",
    "pseudonymise",
    "package",
    "review-reidentify",
    "review-sheet",
    "review-sign",
    "import",
    "link",
    "spine",
    "review-pack",
    "review-import",
    "ictg",
    "demo",
    "keys",
    "sdc",
    "export",
)

HEAVY_MODULES = (
    "splink",
    "duckdb",
    "pandas",
    "pyarrow",
    "numpy",
    "highspy",
    "fastapi",
    "uvicorn",
    "jinja2",
    "faker",
    "pyspark",
    "sklearn",
    "recordlinkage",
    "cryptography",
    "scipy",
)


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = (
        "import json, sys, trelink.cli; "
        f"print(json.dumps(sorted(m for m in {list(HEAVY_MODULES)!r} if m in sys.modules)))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert json.loads(completed.stdout) == []


@pytest.mark.parametrize(
    "module",
    [
        "linkage.cli",
        "pseudonymise.cli",
        "trelink.synth.cli",
        "tre_export.cli",
        "trelink.demo.cli",
        "sdc.cli",
    ],
)
def test_a_role_command_group_loads_no_heavy_library(module: str) -> None:
    # Packages export their public names lazily (trelink.lazy), so loading one role's
    # commands for `trelink <role> --help` does not load its engines.
    probe = (
        f"import json, sys, {module}; "
        f"print(json.dumps(sorted(m for m in {list(HEAVY_MODULES)!r} if m in sys.modules)))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert json.loads(completed.stdout) == []


def test_lazy_package_exports_resolve_to_the_defining_modules() -> None:
    import linkage
    import sdc
    from linkage.run import link_datasets
    from sdc.status import Method

    assert linkage.link_datasets is link_datasets
    assert sdc.Method is Method
    assert "link_datasets" in dir(linkage)
    assert linkage.clusters.__name__ == "linkage.clusters"  # submodules still resolve
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        _ = linkage.no_such_name  # type: ignore[attr-defined]


def test_help_lists_every_role_command_without_loading_a_heavy_library() -> None:
    probe = (
        "import sys; from trelink.cli import main\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        f"print('heavy loaded:', [m for m in {list(HEAVY_MODULES)!r} if m in sys.modules])\n"
        "sys.exit(code)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe, "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},  # wide enough that no help line wraps
    )
    assert completed.returncode == 0, completed.stderr
    rows = [line.split() for line in completed.stdout.splitlines() if line.startswith("│ ")]
    listed = [row[1] for row in rows if not row[1].startswith("-")]  # not the --help row
    assert listed == list(COMMANDS)
    assert "heavy loaded: []" in completed.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_answers_its_help(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert f"{command} [OPTIONS]" in result.output


def test_a_mistyped_command_is_refused_with_a_suggestion() -> None:
    result = CliRunner().invoke(app, ["linc"])
    assert result.exit_code == 2
    assert "No such command 'linc'" in result.output
    assert "'link'" in result.output


def test_an_error_inside_a_command_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "not_pseudonymised"
    folder.mkdir()
    monkeypatch.setattr(sys, "argv", ["trelink", "link", str(folder), "--out", "o"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 3
    assert "not_pseudonymised: no identity.parquet" in capsys.readouterr().err


def test_demo_default_scale_matches_the_pipeline() -> None:
    from trelink.demo.cli import _DEFAULT_SCALE
    from trelink.demo.pipeline import DEFAULT_SCALE

    assert _DEFAULT_SCALE == DEFAULT_SCALE
