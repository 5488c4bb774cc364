"""The owner's commands end to end, bad input, and a leak test over everything that leaves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner, Result

from pseudonymise import owner_cli
from pseudonymise.errors import InputError, KeyFileError
from pseudonymise.spec import load_pseudonymise_spec
from trelink.specs.loader import SPECS_DIR
from trelink.trust import keys

from .conftest import OwnerSetup, people


def _app() -> typer.Typer:
    app = typer.Typer()
    owner_cli.register(app)
    return app


def _run(*arguments: str) -> Result:
    return CliRunner().invoke(_app(), list(arguments))


def _pseudonymise(owner: OwnerSetup, source: Path, out: Path, *extra: str) -> Result:
    return _run(
        "pseudonymise", "--in", str(source), "--linkage-key", str(owner.linkage_key),
        "--owner-key", str(owner.owner_key), "--out", str(out), *extra,
    )  # fmt: skip


def _identifier_values(owner: OwnerSetup) -> set[str]:
    frame = owner.frame
    values: set[str] = set()
    for column in ("record_id", "forename", "surname", "postcode"):
        values.update(str(value) for value in frame[column])
        values.update(str(value).upper().replace(" ", "") for value in frame[column])
    for date in frame["dob"]:
        values.update({date.isoformat(), date.strftime("%d/%m/%Y"), date.strftime("%Y%m%d")})
    # Short values occur by chance in binary data; names here have four letters or more.
    return {value for value in values if len(value) >= 4}


def test_leak_test_over_everything_that_leaves_the_owner(owner: OwnerSetup) -> None:
    source = owner.root / "nrm.csv"
    owner.frame.to_csv(source, index=False)
    out = owner.root / "nrm"
    result = _pseudonymise(owner, source, out)
    assert result.exit_code == 0, result.output
    packaged = _run(
        "package", str(out), "--recipient", str(owner.recipient_public),
        "--signing-key", str(owner.signer_private), "--out", str(owner.root / "nrm.tlp"),
    )  # fmt: skip
    assert packaged.exit_code == 0, packaged.output
    leaving = {
        "identity.parquet": (out / "identity.parquet").read_bytes(),
        "attributes.parquet": (out / "attributes.parquet").read_bytes(),
        "manifest.json": (out / "manifest.json").read_bytes(),
        "package": (owner.root / "nrm.tlp").read_bytes(),
        "terminal": (result.output + packaged.output).encode(),
    }
    for name in ("identity.parquet", "attributes.parquet"):
        cells = pq.read_table(out / name).to_pandas().astype(str).to_numpy().ravel()
        leaving[f"{name} cells"] = "\n".join(cells).encode()
    secrets = [keys.load_secret(owner.linkage_key), keys.load_secret(owner.owner_key)]
    for label, data in leaving.items():
        upper = data.upper()
        for value in _identifier_values(owner):
            assert value.encode().upper() not in upper, f"{label} leaks an identifier"
        for secret in secrets:
            assert secret not in data and secret.hex().encode() not in data, f"{label}: key"
    # ...while the lookup, which stays, does hold the record ids
    assert "NRM-00000" in pq.read_table(out / "lookup.parquet").column("record_id").to_pylist()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings_give_identical_tokens(owner: OwnerSetup, encoding: str) -> None:
    frame = people(8).assign(
        forename=["Zoë", "José", "Chloé", "Amélie"] * 2,
        surname=["Müller", "Sánchez", "Björk", "Núñez"] * 2,
    )
    reference = owner.root / "reference.csv"
    frame.to_csv(reference, index=False, encoding="utf-8")
    source = owner.root / f"{encoding}.csv"
    frame.to_csv(source, index=False, encoding=encoding)
    assert _pseudonymise(owner, reference, owner.root / "ref").exit_code == 0
    result = _pseudonymise(owner, source, owner.root / encoding)
    assert result.exit_code == 0, result.output
    ours = pq.read_table(owner.root / encoding / "identity.parquet")
    assert ours.equals(pq.read_table(owner.root / "ref" / "identity.parquet"))


def _bad(owner: OwnerSetup, text: bytes) -> BaseException:
    source = owner.root / "bad.csv"
    source.write_bytes(text)
    out = owner.root / "bad-out"
    result = _pseudonymise(owner, source, out)
    assert result.exit_code != 0
    assert not out.exists() and not list(owner.root.glob(".bad-out*"))  # nothing half-written
    assert result.exception is not None
    return result.exception


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", r"bad\.csv: the file is empty"),
        (b"record_id,forename,surname,dob\n", r"bad\.csv: the table has no rows"),
        (b"record_id,forename,dob\n1,Amira,2006-01-02\n", r"missing required column.*surname"),
        (
            b"record_id,forename,surname,dob\nA1,Amira,Haile,2006-01-02\nA1,Tes,Hai,2006-01-03\n",
            r"column 'record_id': 1 record id\(s\) occur more than once \(first at rows \[1, 2\]\)",
        ),
        (b"record_id,forename,surname,dob\n1,\x81\x8d,Haile,2006-01-02\n", r"line 2: bytes"),
        (
            b"record_id,forename,surname,dob\n1,Amira,Haile,2006-01-02\n2,Tesfay,Haile,x,y\n",
            r"bad\.csv: line 3: 5 fields where the header has 4",
        ),
    ],
)
def test_bad_input_is_refused_clearly(owner: OwnerSetup, text: bytes, message: str) -> None:
    error = _bad(owner, text)
    assert isinstance(error, InputError)
    assert re.search(message, str(error)), str(error)
    for value in ("Amira", "Haile", "Tesfay", "A1"):
        assert value not in str(error)


def test_wrong_or_truncated_keys_are_refused(owner: OwnerSetup) -> None:
    source = owner.root / "nrm.csv"
    owner.frame.to_csv(source, index=False)
    owner.owner_key.write_text(owner.owner_key.read_text()[:30])
    result = _pseudonymise(owner, source, owner.root / "out")
    assert isinstance(result.exception, KeyFileError)
    assert "owner.key: secret is truncated" in str(result.exception)
    result = _run(
        "pseudonymise", "--in", str(source), "--linkage-key", str(owner.signer_private),
        "--owner-key", str(owner.linkage_key), "--out", str(owner.root / "out"),
    )  # fmt: skip
    assert isinstance(result.exception, KeyFileError)
    assert not (owner.root / "out").exists()


def test_errors_exit_with_status_2_and_a_message(owner: OwnerSetup) -> None:
    source = owner.root / "empty.csv"
    source.write_bytes(b"")
    completed = subprocess.run(
        [
            sys.executable, "-c", "from trelink.cli import main; main()", "pseudonymise",
            "--in", str(source), "--linkage-key", str(owner.linkage_key),
            "--owner-key", str(owner.owner_key), "--out", str(owner.root / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 3
    assert "empty.csv: the file is empty" in completed.stderr


def test_spec_maps_columns_and_drops_attributes(owner: OwnerSetup) -> None:
    source = owner.root / "renamed.csv"
    owner.frame.rename(columns={"forename": "FirstName", "record_id": "CaseRef"}).assign(
        notes="free text"
    ).to_csv(source, index=False)
    spec = owner.root / "spec.yaml"
    spec.write_text(
        "version: 1\n"
        "columns: {forename: FirstName, record_id: CaseRef}\n"
        "drop: [notes]\n"
        "risk: {min_k: 2}\n"
    )
    result = _pseudonymise(owner, source, owner.root / "out", "--spec", str(spec))
    assert result.exit_code == 0, result.output
    attributes = pq.read_table(owner.root / "out" / "attributes.parquet")
    assert "notes" not in attributes.column_names and "FirstName" not in attributes.column_names
    identity = pq.read_table(owner.root / "out" / "identity.parquet")
    assert identity.column("fn").null_count == 0


def test_bad_spec_lists_every_problem(owner: OwnerSetup) -> None:
    spec = owner.root / "spec.yaml"
    spec.write_text("version: 1\ncolumn: {}\nrisk: {min_k: 0}\n")
    result = _pseudonymise(owner, owner.root / "x.csv", owner.root / "out", "--spec", str(spec))
    message = str(result.exception)
    assert "2 problems" in message and "column" in message and "risk.min_k" in message


def test_shipped_example_spec_loads() -> None:
    path = SPECS_DIR / "pseudonymise" / "owner.example.yaml"
    spec = load_pseudonymise_spec(path)
    assert spec.columns == {"record_id": "case_ref"} and spec.owner_ids == ("person_ref",)
    assert spec.match_key_spec(relative_to=path.parent).token_columns[0] == "fn"
