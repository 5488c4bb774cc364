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
from pseudonymise.package import build_package
from pseudonymise.tables import pseudonymise_table, write_pseudonymised
from tests.pseudonymise.forge import forge_package, rewrap
from trelink.trust import keys


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


# --- signer, freshness and replay (issue 14, findings 4, 5 and 7) --------------------


def _forge(root: Path, name: str, signer: str, **options: object) -> Path:
    """A package of the ``nrm`` extract, signed by ``signer``'s key, hand-made."""
    if not (root / "nrm.d").exists():
        _package(root, "nrm")
    if not keys.public_key_path(root / signer).exists():
        keys.generate_signer_keypair(root / signer)
    forge_package(
        root / "nrm.d",
        root / f"{name}.tlp",
        recipient=keys.load_recipient_public_key(root / "tre.public.pem"),
        signing_key=keys.load_signing_private_key(keys.private_key_path(root / signer)),
        **options,  # type: ignore[arg-type]
    )
    return root / f"{name}.tlp"


def _import_trusting(root: Path, package: Path, signer: str, dataset: str) -> None:
    import_package(
        package,
        private_key=root / "tre.private.pem",
        trust=keys.public_key_path(root / signer),
        db=root / "tre.duckdb",
        dataset=dataset,
    )


def test_a_package_naming_another_signer_is_refused(tmp_path: Path) -> None:
    """Owner B signs, but the manifest (and header) claim owner A's key id."""
    _import(tmp_path, _package(tmp_path, "nrm"), "nrm")  # owner A's package
    before = _state(tmp_path / "tre.duckdb")
    owner_a = keys.key_id(keys.load_signing_public_key(tmp_path / "owner.public.pem"))

    def claim_a(manifest: dict[str, object]) -> None:
        manifest["signer_key_id"] = owner_a

    for name, options in [
        ("both", {"edit": claim_a, "header_signer_id": owner_a}),
        ("manifest", {"edit": claim_a}),
        ("header", {"header_signer_id": owner_a}),
    ]:
        package = _forge(tmp_path, name, "owner_b", **options)
        with pytest.raises(ImportPackageError, match=r"names signer key .* verified with"):
            _import_trusting(tmp_path, package, "owner_b", "ictg")
        assert _state(tmp_path / "tre.duckdb") == before
    # an honest package from B is recorded with B's key id, never A's
    _import_trusting(tmp_path, _forge(tmp_path, "honest", "owner_b"), "owner_b", "ictg")
    signers = {
        entry.dataset: entry.signer_key_id for entry in list_datasets(tmp_path / "tre.duckdb")
    }
    owner_b = keys.key_id(keys.load_signing_public_key(tmp_path / "owner_b.public.pem"))
    assert signers == {"nrm": owner_a, "ictg": owner_b}


def test_an_older_package_does_not_replace_a_newer_one_unless_forced(tmp_path: Path) -> None:
    older = _package(tmp_path, "january", rows=8)
    newer = _package(tmp_path, "february", rows=12)
    _import(tmp_path, newer, "nrm")
    before = _state(tmp_path / "tre.duckdb")
    with pytest.raises(ImportPackageError, match=r"before the imported one.*--allow-older"):
        _import(tmp_path, older, "nrm", replace=True)
    assert _state(tmp_path / "tre.duckdb") == before
    forced = import_package(
        older,
        private_key=tmp_path / "tre.private.pem",
        trust=tmp_path / "owner.public.pem",
        db=tmp_path / "tre.duckdb",
        dataset="nrm",
        replace=True,
        allow_older=True,
    )
    assert forced.forced_older and forced.identity_rows == 8
    (listed,) = list_datasets(tmp_path / "tre.duckdb")
    assert listed.forced_older and listed.created == forced.created
    with duckdb.connect(str(tmp_path / "tre.duckdb")) as connection:
        history = connection.sql(
            f"SELECT action, note FROM {importer.HISTORY_TABLE} ORDER BY imported_at"
        ).fetchall()
    assert [action for action, _ in history] == ["import", "replace-older (forced)"]
    assert history[1][1] is not None and "older one" in history[1][1]
    # a newer package replaces as before, without forcing
    _import(tmp_path, _package(tmp_path, "march", rows=16), "nrm", replace=True)
    (listed,) = list_datasets(tmp_path / "tre.duckdb")
    assert listed.identity_rows == 16 and not listed.forced_older


def test_the_same_payload_sealed_again_is_a_duplicate(tmp_path: Path) -> None:
    package = _package(tmp_path, "nrm")
    _import(tmp_path, package, "nrm")
    before = _state(tmp_path / "tre.duckdb")
    again = tmp_path / "again.tlp"
    rewrap(
        package, again, private_key=keys.load_recipient_private_key(tmp_path / "tre.private.pem")
    )
    assert again.read_bytes() != package.read_bytes()
    with pytest.raises(
        ImportPackageError, match="already imported as dataset 'nrm' \\(sealed again"
    ):
        _import(tmp_path, again, "nrm_copy")
    with pytest.raises(ImportPackageError, match="already imported as dataset 'nrm'"):
        _import(tmp_path, again, "nrm_copy", replace=True)
    assert _state(tmp_path / "tre.duckdb") == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda manifest: manifest["members"][0].pop("size"), r"members\[0\].*'size'"),
        (
            lambda manifest: manifest.update(
                members={member["name"]: member for member in manifest["members"]}
            ),
            "'members' is not a non-empty list",
        ),
        (lambda manifest: manifest["members"][0].update(size="12"), r"members\[0\].*'size'"),
        (lambda manifest: manifest["members"][1].pop("sha256"), r"members\[1\].*'sha256'"),
        (lambda manifest: manifest.update(created="yesterday"), "'created' time"),
    ],
)
def test_a_malformed_signed_manifest_is_a_clear_error(
    tmp_path: Path, edit: object, message: str
) -> None:
    """The owner's key signs it, so only the shape check stands between it and a crash."""
    package = _forge(tmp_path, "odd", "owner", edit=edit)
    with pytest.raises(ImportPackageError, match=message) as caught:
        _import(tmp_path, package, "nrm")
    assert "odd.tlp" in str(caught.value)
    assert not (tmp_path / "tre.duckdb").exists() or not list_datasets(tmp_path / "tre.duckdb")


def test_a_registry_from_before_freshness_is_upgraded(tmp_path: Path) -> None:
    """A database whose registry lacks the new columns still imports and lists."""
    older = _package(tmp_path, "january")
    newer = _package(tmp_path, "february")
    with duckdb.connect(str(tmp_path / "tre.duckdb")) as connection:
        connection.execute(importer._REGISTRY_DDL)
    _import(tmp_path, newer, "nrm")
    with duckdb.connect(str(tmp_path / "tre.duckdb")) as connection:
        connection.execute(
            f"UPDATE {importer.REGISTRY_TABLE} SET created = NULL, manifest_sha256 = NULL"
        )
    with pytest.raises(ImportPackageError, match="before the imported one"):
        _import(tmp_path, older, "nrm", replace=True)  # falls back on the stored manifest
    (listed,) = list_datasets(tmp_path / "tre.duckdb")
    assert listed.manifest_sha256 is None and listed.created is None
    # the manifest hash is filled in from the stored manifest: sealed again, it is known
    again = tmp_path / "again.tlp"
    rewrap(newer, again, private_key=keys.load_recipient_private_key(tmp_path / "tre.private.pem"))
    with pytest.raises(ImportPackageError, match="sealed again under a new content key"):
        _import(tmp_path, again, "nrm_copy")
    _import(tmp_path, _package(tmp_path, "ictg"), "ictg")
    backfilled = {
        entry.dataset: entry.manifest_sha256 for entry in list_datasets(tmp_path / "tre.duckdb")
    }
    assert backfilled["nrm"] is not None and backfilled["nrm"] != backfilled["ictg"]


def test_cli_allow_older_warns(tmp_path: Path) -> None:
    older = _package(tmp_path, "january")
    newer = _package(tmp_path, "february")
    _import(tmp_path, newer, "nrm")
    app = typer.Typer()
    app.callback()(lambda: None)
    import_cli.register(app)
    arguments = [
        "import", str(older),
        "--private-key", str(tmp_path / "tre.private.pem"),
        "--trust", str(tmp_path / "owner.public.pem"),
        "--db", str(tmp_path / "tre.duckdb"),
        "--dataset", "nrm", "--overwrite",
    ]  # fmt: skip
    refused = CliRunner().invoke(app, arguments)
    assert isinstance(refused.exception, ImportPackageError)
    forced = CliRunner().invoke(app, [*arguments, "--allow-older"])
    assert forced.exit_code == 0, forced.output
    assert "OLDER package" in forced.output


def test_a_directory_as_the_package_is_named_as_one(tmp_path: Path) -> None:
    _package(tmp_path, "nrm")
    with pytest.raises(ImportPackageError, match=r"nrm\.d: is a directory; give the \.tlp"):
        _import(tmp_path, tmp_path / "nrm.d", "nrm")
