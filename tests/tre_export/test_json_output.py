"""``export list --json`` and ``export status --json``: one JSON document on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from tests.tre_export import tables
from tests.tre_export.conftest import Team
from tre_export.area import ExportArea
from tre_export.cli import register


def _export(*args: str | Path) -> tuple[int, str, str]:
    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    result = CliRunner().invoke(app, ["export", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_list_and_status_print_one_json_document(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    root, key = area.root, team.researcher.private
    assert _export("new", "--dir", root, "--key", key, "--title", "Referrals")[0] == 0
    raw = tables.write(tmp_path / "work", "raw.csv", tables.UNSAFE_RAW)
    options = ["--request", "R0001", "--kind", "table", "--description", "counts"]
    assert _export("add", raw, "--dir", root, "--key", key, *options)[0] == 0
    assert _export("submit", "--dir", root, "--request", "R0001", "--key", key)[0] == 0
    review = ["--request", "R0001", "--output", "raw.csv", "--reason", "small cells"]
    code, _, _ = _export("review", "--dir", root, "--key", team.checker1.private, *review,
                         "--reject")  # fmt: skip
    assert code == 0

    seen_by = ["--key", team.checker1.private]  # who decided sees the decisions
    code, stdout, _ = _export("list", "--dir", root, "--json", *seen_by)
    assert code == 0
    (row,) = json.loads(stdout)["requests"]
    assert row["request"] == "R0001" and row["status"] == "submitted"
    assert row["title"] == "Referrals" and row["outputs"] == 1 and row["rejected"] == 1
    assert {"researcher", "approved", "conflict", "failed_checks", "opened"} <= set(row)

    code, stdout, _ = _export("status", "--dir", root, "--request", "R0001", "--json", *seen_by)
    assert code == 0
    document = json.loads(stdout)
    assert document["request"] == "R0001" and document["status"] == "submitted"
    (output,) = document["outputs"]
    assert output["name"] == "raw.csv" and output["kind"] == "table"
    assert output["check"] == "fail" and output["required_approvals"] == 2
    assert output["approved_by"] == [] and output["approvals"] == 0
    assert document["conflicts"] == []

    # Blind reviews: a second checker who has not decided sees no decisions.
    blinded = ["status", "--dir", root, "--request", "R0001", "--json"]
    code, stdout, _ = _export(*blinded, "--key", team.checker2.private)
    assert code == 0
    (output,) = json.loads(stdout)["outputs"]
    assert output["approved_by"] is None and output["approvals"] is None
