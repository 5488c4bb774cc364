"""``trelink import --json``: one JSON document on stdout, the human summary on stderr."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from trelink.cli import app

_EXTRACT = """\
record_id,forename,surname,dob,sex
R1,Amira,Haile,2006-01-01,F
R2,Tesfay,Smith,2006-02-02,M
R3,Olivia,Hoxha,2006-03-03,F
R4,Arben,Tran,2006-04-04,M
"""


def _run(*arguments: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(argument) for argument in arguments])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_import_json(tmp_path: Path) -> None:
    # Made through the commands an owner and a custodian run, as a script would.
    assert _run("keys", "secret", "--out", tmp_path / "linkage.key")[0] == 0
    assert _run("keys", "secret", "--out", tmp_path / "owner.key")[0] == 0
    assert _run("keys", "recipient", "--out", tmp_path / "tre")[0] == 0
    assert _run("keys", "signer", "--out", tmp_path / "owner")[0] == 0
    (tmp_path / "nrm.csv").write_text(_EXTRACT, encoding="utf-8")
    code, _, stderr = _run(
        "pseudonymise", "--in", tmp_path / "nrm.csv", "--linkage-key", tmp_path / "linkage.key",
        "--owner-key", tmp_path / "owner.key", "--out", tmp_path / "nrm",
    )  # fmt: skip
    assert code == 0, stderr
    code, _, stderr = _run(
        "package", tmp_path / "nrm", "--recipient", tmp_path / "tre.public.pem",
        "--signing-key", tmp_path / "owner.private.pem", "--out", tmp_path / "nrm.tlp",
    )  # fmt: skip
    assert code == 0, stderr
    code, stdout, stderr = _run(
        "import", tmp_path / "nrm.tlp", "--private-key", tmp_path / "tre.private.pem",
        "--trust", tmp_path / "owner.public.pem", "--db", tmp_path / "tre.duckdb",
        "--dataset", "nrm", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    document = json.loads(stdout)
    assert document["dataset"] == "nrm" and document["db"] == str(tmp_path / "tre.duckdb")
    assert {"name": "nrm__identity", "rows": 4} in document["tables"]
    assert document["forced_older"] is False and document["other_linkage_keys"] == {}
    assert document["signer_key_id"] and document["linkage_key_id"]
    assert "imported nrm into" in stderr  # the human summary, kept off stdout
    # No identifier and no token reaches the document.
    assert not {"Amira", "Haile", "2006-01-01"} & set(stdout.replace('"', " ").split())
