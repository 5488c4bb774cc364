"""``trelink demo`` end to end at a small scale, and its refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import trelink.demo.pipeline
from trelink.cli import app
from trelink.demo.errors import DemoError
from trelink.demo.pipeline import run_demo

IDENTIFIER_COLUMNS = (
    "record_id",
    "forename",
    "surname",
    "postcode",
    "nhs_number",
    "upn",
    "pnc_id",
    "person_ref",
)
EXPECTED_OUTPUTS = {
    "nrm_exploitation_by_year.csv",
    "nrm_exploitation_by_gender_nationality.csv",
    "nrm_exploitation_by_rg_decision.csv",
    "nrm_exploitation_by_cg_decision.csv",
    "nrm_types_recorded_by_year.csv",
    "nrm_repeat_referrals.csv",
    "ictg_closure_by_nationality_worker.csv",
    "lpm_closure_turning_18.model.json",
    "lpm_closure_other.model.json",
    "lpm_closure_no_trafficking_concerns.model.json",
    "linked_school_by_closure.csv",
    "linked_school_by_nationality.csv",
    "linked_absence_by_closure.csv",
    "linked_hospital_by_closure.csv",
    "linked_hospital_by_nationality.csv",
    "linked_justice_by_closure.csv",
    "linked_justice_by_nationality.csv",
}


def _identifier_values(out: Path) -> set[str]:
    """Every identifier the owners held (record ids, names, postcodes, ids, dates of
    birth), as text."""
    values: set[str] = set()
    for path in (out / "owners").glob("*/prepared/**/*.parquet"):
        table = pq.read_table(path)
        columns = set(table.column_names)
        for column in IDENTIFIER_COLUMNS:
            if column in columns:
                values.update(str(v) for v in table.column(column).to_pylist() if v)
        if {"forename", "surname"} <= columns:
            forenames = table.column("forename").to_pylist()
            names = zip(forenames, table.column("surname").to_pylist(), strict=True)
            values.update(f"{f} {s}" for f, s in names if f and s)
        if "dob" in columns:
            values.update(str(v) for v in table.column("dob").to_pylist() if v)
    # Short values (a two-letter forename, say) are words, not identifying on their own.
    return {value for value in values if len(value) >= 6}


def _record_pids(out: Path) -> set[str]:
    """The pseudonymous record ids (fine inside the TRE, never in a release)."""
    return {
        pid
        for path in (out / "owners").glob("*/pseudonymised/*/lookup.parquet")
        for pid in pq.read_table(path).column("record_pid").to_pylist()
    }


@pytest.mark.slow
def test_demo_runs_every_role_and_releases_only_protected_outputs(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--scale", "0.1", "--seed", "3"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output

    manifest = json.loads((out / "outbox" / "manifest.json").read_text(encoding="utf-8"))
    released = {output["name"] for output in manifest["outputs"]}
    assert released == EXPECTED_OUTPUTS
    assert all(len(output["approved_by"]) == 2 for output in manifest["outputs"])
    outbox_files = {path.name for path in (out / "outbox").iterdir()}
    assert outbox_files == EXPECTED_OUTPUTS | {"manifest.json", "SHA256SUMS", "release.html"}
    # Decision records hold true values of suppressed cells: they stay in the TRE.
    assert not any(name.endswith(".sdc.json") for name in outbox_files)

    summary = (out / "summary.html").read_text(encoding="utf-8")
    for name in EXPECTED_OUTPUTS:
        assert name in summary

    identifiers = _identifier_values(out)
    pids = _record_pids(out)
    assert len(identifiers) > 1000
    released_text = summary + "".join(
        path.read_text(encoding="utf-8") for path in (out / "outbox").iterdir()
    )
    leaked = [value for value in identifiers | pids if value in released_text]
    assert leaked == []

    # Nor did the TRE database: every text value it holds is a pid, a token or a category.
    with duckdb.connect(str(out / "tre" / "tre.duckdb"), read_only=True) as connection:
        text_columns = connection.sql(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR'"
        ).fetchall()
        for table, column in text_columns:
            held = {
                str(row[0])
                for row in connection.sql(f'SELECT DISTINCT "{column}" FROM "{table}"').fetchall()
            }
            assert not (held & (identifiers - pids)), (table, column)

    # One row per person of the spine, with the shipped spec's attributes.
    with duckdb.connect(str(out / "tre" / "tre.duckdb"), read_only=True) as connection:
        persons, records = connection.sql(
            "SELECT count(DISTINCT person_id), count(*) FROM person_spine"
        ).fetchall()[0]
    table = pq.read_table(out / "tre" / "linkage" / "persons.parquet")
    assert table.num_rows == persons and sum(table.column("records").to_pylist()) == records
    assert {"first_ictg_referral", "mental_health_admissions"} <= set(table.column_names)

    # The TRE never held the linkage secret, an owner's secret or an owner's lookup.
    secrets = [(out / "custodian" / "linkage.secret").read_bytes().strip()]
    secrets += [path.read_bytes().strip() for path in (out / "owners").glob("*/owner.secret")]
    assert len(secrets) == 5
    for path in (out / "tre").rglob("*"):
        assert path.name != "lookup.parquet", path
        if path.is_file():
            content = path.read_bytes()
            assert not any(secret in content for secret in secrets), path

    quality = json.loads((out / "evaluation" / "linkage_quality.json").read_text())
    assert quality["overall"]["precision"] > 0.9
    assert quality["overall"]["recall"] > 0.8
    assert "linkage quality against the synthetic truth" in result.output
    assert "precision" in result.output


def test_a_non_empty_out_is_refused_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "keep.txt").write_text("earlier work", encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, "-m", "trelink", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 3
    assert "--overwrite" in finished.stderr
    assert [path.name for path in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_a_bad_scale_is_refused(tmp_path: Path, scale: float) -> None:
    with pytest.raises(DemoError, match="--scale"):
        run_demo(tmp_path / "demo", scale=scale)
    assert not (tmp_path / "demo").exists()


def test_a_failed_run_leaves_nothing_and_keeps_the_earlier_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "keep.txt").write_text("earlier run", encoding="utf-8")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise DemoError("the key custodian is unavailable")

    monkeypatch.setattr(trelink.demo.pipeline, "make_keys", broken)
    with pytest.raises(DemoError, match="custodian"):
        run_demo(out, scale=0.01, force=True)
    assert [path.name for path in tmp_path.iterdir()] == ["demo"]
    assert [path.name for path in out.iterdir()] == ["keep.txt"]
