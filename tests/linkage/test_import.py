"""trelink import: verified, atomic loading into DuckDB; double imports refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from linkage import import_cli, importer
from linkage.errors import ImportPackageError
from linkage.importer import import_package, list_datasets
from pseudonymise import keys
from pseudonymise.package import build_package
from pseudonymise.tables import pseudonymise_table, write_pseudonymised


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": [f"R{index}" for index in range(rows)],
            "forename": ["Amira", "Tesfay", "Olivia", "Arben"] * (rows // 4),
            "surname": ["Haile", "Smith", "Hoxha", "Tran"] * (rows // 4),
            "dob": [dt.date(2006, 1 + index % 12, 1 + index % 28) for index in range(rows)],
            "sex": ["F", "M"] * (rows // 2),
            "site": ["north", "south"] * (rows // 2),
        }
    )


def _package(root: Path, name: str, *, linkage_key: str = "linkage.key", rows: int = 8) -> Path:
    for secret in (linkage_key, "owner.key"):
        if not (root / secret).exists():
            keys.generate_secret(root / secret)
    for prefix, make in (
        ("tre", keys.generate_recipient_keypair),
        ("owner", keys.generate_signer_keypair),
    ):
        if not keys.public_key_path(root / prefix).exists():
            make(root / prefix)
    tables = pseudonymise_table(
        _frame(rows),
        linkage_key=keys.load_secret(root / linkage_key),
        owner_key=keys.load_secret(root / "owner.key"),
    )
    extract = write_pseudonymised(tables, root / f"{name}.d")
    build_package(
        extract,
        recipient=keys.load_recipient_public_key(root / "tre.public.pem"),
        signing_key=keys.load_signing_private_key(root / "owner.private.pem"),
        out=root / f"{name}.tlp",
    )
    return root / f"{name}.tlp"


def _import(
    root: Path, package: Path, dataset: str, *, replace: bool = False
) -> importer.ImportedDataset:
    return import_package(
        package,
        private_key=root / "tre.private.pem",
        trust=root / "owner.public.pem",
        db=root / "tre.duckdb",
        dataset=dataset,
        replace=replace,
    )


def _state(db: Path) -> dict[str, object]:
    with duckdb.connect(str(db)) as connection:
        tables = sorted(row[0] for row in connection.sql("SHOW TABLES").fetchall())
        return {
            table: connection.sql(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall()
            for table in tables
        }


def test_import_loads_tables_and_registry(tmp_path: Path) -> None:
    package = _package(tmp_path, "nrm")
    imported = _import(tmp_path, package, "nrm")
    assert imported.identity_table == "nrm__identity"
    assert imported.identity_rows == imported.attributes_rows == 8
    assert imported.linkage_key_id == keys.key_id(keys.load_secret(tmp_path / "linkage.key"))
    with duckdb.connect(str(tmp_path / "tre.duckdb")) as connection:
        columns = [row[0] for row in connection.sql("DESCRIBE nrm__identity").fetchall()]
        assert columns[0] == "record_pid" and "fn_sn" in columns
        attributes = connection.sql("SELECT * FROM nrm__attributes").df()
    assert list(attributes.columns) == ["record_pid", "sex", "site"]
    (listed,) = list_datasets(tmp_path / "tre.duckdb")
    assert listed.dataset == "nrm" and listed.linkage_key_id == imported.linkage_key_id
    assert listed.package_sha256 == imported.package_sha256
    assert listed.manifest["extract"]["rows"]["identity"] == 8


def test_list_datasets_shows_different_linkage_keys(tmp_path: Path) -> None:
    _import(tmp_path, _package(tmp_path, "nrm"), "nrm")
    _import(tmp_path, _package(tmp_path, "ictg", linkage_key="other.key"), "ictg")
    key_ids = {
        entry.dataset: entry.linkage_key_id for entry in list_datasets(tmp_path / "tre.duckdb")
    }
    assert len(set(key_ids.values())) == 2
    assert list_datasets(tmp_path / "absent.duckdb") == []


def test_same_package_or_dataset_twice_is_refused_unless_replace(tmp_path: Path) -> None:
    package = _package(tmp_path, "nrm")
    _import(tmp_path, package, "nrm")
    before = _state(tmp_path / "tre.duckdb")
    with pytest.raises(ImportPackageError, match="already imported as dataset 'nrm'"):
        _import(tmp_path, package, "nrm_again")
    with pytest.raises(ImportPackageError, match="dataset 'nrm' is already imported"):
        _import(tmp_path, _package(tmp_path, "nrm2"), "nrm")
    assert _state(tmp_path / "tre.duckdb") == before
    _import(tmp_path, _package(tmp_path, "nrm3", rows=12), "nrm", replace=True)
    (listed,) = list_datasets(tmp_path / "tre.duckdb")
    assert listed.identity_rows == 12


def test_tampered_package_changes_nothing(tmp_path: Path) -> None:
    _import(tmp_path, _package(tmp_path, "nrm"), "nrm")
    before = _state(tmp_path / "tre.duckdb")
    package = _package(tmp_path, "ictg")
    data = bytearray(package.read_bytes())
    data[-40] ^= 0xFF
    package.write_bytes(bytes(data))
    with pytest.raises(ImportPackageError, match="authentication"):
        _import(tmp_path, package, "ictg")
    assert _state(tmp_path / "tre.duckdb") == before
    assert not list(tmp_path.glob(".tlp-*"))  # extracted members are cleaned up


def test_failure_while_loading_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _import(tmp_path, _package(tmp_path, "nrm"), "nrm")
    before = _state(tmp_path / "tre.duckdb")
    package = _package(tmp_path, "ictg")

    def fail(*_args: object, **_kwargs: object) -> str:
        raise duckdb.IOException("disk full")

    # fails after both tables were created, while writing the registry row
    monkeypatch.setattr(importer.json, "dumps", fail)
    with pytest.raises(ImportPackageError, match="database is unchanged"):
        _import(tmp_path, package, "ictg")
    assert _state(tmp_path / "tre.duckdb") == before


def test_bad_dataset_name_and_wrong_key_refused(tmp_path: Path) -> None:
    package = _package(tmp_path, "nrm")
    with pytest.raises(ImportPackageError, match="dataset name"):
        _import(tmp_path, package, "NRM; DROP TABLE x")
    keys.generate_recipient_keypair(tmp_path / "other")
    with pytest.raises(ImportPackageError, match="addressed to recipient key"):
        import_package(
            package,
            private_key=tmp_path / "other.private.pem",
            trust=tmp_path / "owner.public.pem",
            db=tmp_path / "tre.duckdb",
            dataset="nrm",
        )
    assert not (tmp_path / "tre.duckdb").exists()


def test_cli_import(tmp_path: Path) -> None:
    package = _package(tmp_path, "nrm")
    arguments = [
        "import", str(package),
        "--private-key", str(tmp_path / "tre.private.pem"),
        "--trust", str(tmp_path / "owner.public.pem"),
        "--db", str(tmp_path / "tre.duckdb"),
        "--dataset", "nrm",
    ]  # fmt: skip
    app = typer.Typer()
    app.callback()(lambda: None)  # a group, so the command is called by its name
    import_cli.register(app)
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "nrm__identity (8 rows)" in result.output
    again = CliRunner().invoke(app, arguments)
    assert isinstance(again.exception, ImportPackageError)
