"""Import verified packages into the TRE's DuckDB database (``trelink import``).

``import_package`` opens a ``.tlp`` package with the TRE's private key and the owner's
trusted public key (``pseudonymise.package.open_package`` checks recipient, chunk
authentication, signature, manifest and every member's SHA-256 first), then loads it in
ONE DuckDB transaction:

* ``<dataset>__identity``  (``record_pid`` + token columns; absent for event tables)
* ``<dataset>__attributes`` (``record_pid`` + attributes)
* a row in ``trelink_datasets``: dataset, kind, package SHA-256, linkage / owner /
  signer / recipient key ids, tables, the signed manifest (JSON) and the import time.

Any failure rolls the transaction back, so the database is exactly as it was. The same
package (by SHA-256) or an existing dataset name is refused unless ``replace=True``.

``list_datasets`` reads the registry, so linkage can refuse to link datasets whose
tokens were made under different linkage keys.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from cryptography.hazmat.primitives.asymmetric import ed25519

from linkage.errors import ImportPackageError
from pseudonymise.errors import PseudonymiseError
from pseudonymise.keys import (
    RecipientPrivateKey,
    load_recipient_private_key,
    load_signing_public_key,
)
from pseudonymise.package import OpenedPackage, open_package

__all__ = ["REGISTRY_TABLE", "ImportedDataset", "import_package", "list_datasets"]

REGISTRY_TABLE = "trelink_datasets"
_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_REGISTRY_DDL = f"""
CREATE TABLE IF NOT EXISTS {REGISTRY_TABLE} (
    dataset VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    package_sha256 VARCHAR NOT NULL,
    linkage_key_id VARCHAR,
    owner_key_id VARCHAR,
    signer_key_id VARCHAR NOT NULL,
    recipient_key_id VARCHAR NOT NULL,
    identity_table VARCHAR,
    attributes_table VARCHAR,
    identity_rows BIGINT NOT NULL,
    attributes_rows BIGINT NOT NULL,
    manifest JSON NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
)
"""


@dataclass(frozen=True)
class ImportedDataset:
    """One row of the ``trelink_datasets`` registry."""

    dataset: str
    kind: str
    package_sha256: str
    linkage_key_id: str | None
    owner_key_id: str | None
    signer_key_id: str
    recipient_key_id: str
    identity_table: str | None
    attributes_table: str | None
    identity_rows: int
    attributes_rows: int
    imported_at: dt.datetime
    manifest: dict[str, Any]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@contextmanager
def _connect(
    db: str | os.PathLike[str] | duckdb.DuckDBPyConnection,
) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(db, duckdb.DuckDBPyConnection):
        yield db
        return
    try:
        connection = duckdb.connect(str(db))
    except duckdb.Error as error:
        raise ImportPackageError(f"{db}: cannot open the DuckDB database ({error})") from None
    try:
        yield connection
    finally:
        connection.close()


def _as_private_key(key: RecipientPrivateKey | str | os.PathLike[str]) -> RecipientPrivateKey:
    return key if isinstance(key, RecipientPrivateKey) else load_recipient_private_key(key)


def _as_trust(
    key: ed25519.Ed25519PublicKey | str | os.PathLike[str],
) -> ed25519.Ed25519PublicKey:
    return key if isinstance(key, ed25519.Ed25519PublicKey) else load_signing_public_key(key)


def _existing(
    connection: duckdb.DuckDBPyConnection, dataset: str, package_sha256: str
) -> list[str]:
    rows = connection.execute(
        f"SELECT dataset, package_sha256 FROM {REGISTRY_TABLE} "
        "WHERE dataset = ? OR package_sha256 = ?",
        [dataset, package_sha256],
    ).fetchall()
    problems = []
    for name, sha in rows:
        if name == dataset:
            problems.append(f"dataset {dataset!r} is already imported")
        if sha == package_sha256 and name != dataset:
            problems.append(f"this package is already imported as dataset {name!r}")
    return problems


def _load(
    connection: duckdb.DuckDBPyConnection,
    opened: OpenedPackage,
    dataset: str,
    replace: bool,
) -> ImportedDataset:
    connection.execute(_REGISTRY_DDL)
    problems = _existing(connection, dataset, opened.package_sha256)
    if problems and not replace:
        raise ImportPackageError(
            f"{'; '.join(problems)}; nothing was changed (pass --replace to import it again)"
        )
    if replace:
        for table in (f"{dataset}__identity", f"{dataset}__attributes"):
            connection.execute(f"DROP TABLE IF EXISTS {_quote(table)}")
        connection.execute(
            f"DELETE FROM {REGISTRY_TABLE} WHERE dataset = ? OR package_sha256 = ?",
            [dataset, opened.package_sha256],
        )
    tables: dict[str, str | None] = {"identity": None, "attributes": None}
    counts = {"identity": 0, "attributes": 0}
    for kind in tables:
        member = opened.member(f"{kind}.parquet")
        if not member.exists():
            continue
        table = f"{dataset}__{kind}"
        connection.execute(
            f"CREATE TABLE {_quote(table)} AS SELECT * FROM read_parquet(?)", [str(member)]
        )
        tables[kind] = table
        counted = connection.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
        counts[kind] = int(counted[0]) if counted else 0
    extract = opened.manifest.get("extract", {})
    expected = extract.get("rows", {})
    for kind, count in counts.items():
        if tables[kind] is not None and expected.get(kind) not in (None, count):
            raise ImportPackageError(
                f"{kind} holds {count} rows but the signed manifest says {expected.get(kind)}"
            )
    imported = ImportedDataset(
        dataset=dataset,
        kind=str(extract.get("kind", "identity")),
        package_sha256=opened.package_sha256,
        linkage_key_id=extract.get("linkage_key_id"),
        owner_key_id=extract.get("owner_key_id"),
        signer_key_id=str(opened.manifest["signer_key_id"]),
        recipient_key_id=str(opened.manifest["recipient_key_id"]),
        identity_table=tables["identity"],
        attributes_table=tables["attributes"],
        identity_rows=counts["identity"],
        attributes_rows=counts["attributes"],
        imported_at=dt.datetime.now(dt.UTC),
        manifest=opened.manifest,
    )
    connection.execute(
        f"INSERT INTO {REGISTRY_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            imported.dataset,
            imported.kind,
            imported.package_sha256,
            imported.linkage_key_id,
            imported.owner_key_id,
            imported.signer_key_id,
            imported.recipient_key_id,
            imported.identity_table,
            imported.attributes_table,
            imported.identity_rows,
            imported.attributes_rows,
            json.dumps(imported.manifest),
            imported.imported_at,
        ],
    )
    return imported


def import_package(
    package: str | os.PathLike[str],
    *,
    private_key: RecipientPrivateKey | str | os.PathLike[str],
    trust: ed25519.Ed25519PublicKey | str | os.PathLike[str],
    db: str | os.PathLike[str] | duckdb.DuckDBPyConnection,
    dataset: str,
    replace: bool = False,
) -> ImportedDataset:
    """Verify ``package`` and load it as ``dataset`` in one transaction (see module doc)."""
    if not _DATASET_NAME.match(dataset):
        raise ImportPackageError(
            f"dataset name {dataset!r}: use lower-case letters, digits and underscores, "
            "starting with a letter"
        )
    recipient = _as_private_key(private_key)
    trusted = _as_trust(trust)
    work_dir = None if isinstance(db, duckdb.DuckDBPyConnection) else Path(db).resolve().parent
    try:
        with (
            open_package(
                package, private_key=recipient, trust=trusted, work_dir=work_dir
            ) as opened,
            _connect(db) as connection,
        ):
            connection.execute("BEGIN TRANSACTION")
            try:
                imported = _load(connection, opened, dataset, replace)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
    except PseudonymiseError as error:
        raise ImportPackageError(str(error)) from None
    except duckdb.Error as error:
        raise ImportPackageError(
            f"{package}: loading into {db} failed ({error.__class__.__name__}); "
            "the database is unchanged"
        ) from None
    return imported


def _row_to_dataset(row: tuple[Any, ...]) -> ImportedDataset:
    (name, kind, sha, linkage, owner, signer, recipient, identity, attributes, id_rows,
     attr_rows, manifest, imported_at) = row  # fmt: skip
    return ImportedDataset(
        dataset=name,
        kind=kind,
        package_sha256=sha,
        linkage_key_id=linkage,
        owner_key_id=owner,
        signer_key_id=signer,
        recipient_key_id=recipient,
        identity_table=identity,
        attributes_table=attributes,
        identity_rows=int(id_rows),
        attributes_rows=int(attr_rows),
        imported_at=imported_at,
        manifest=json.loads(manifest),
    )


def list_datasets(db: str | os.PathLike[str] | duckdb.DuckDBPyConnection) -> list[ImportedDataset]:
    """Every imported dataset with its tables and key ids (empty for a new database)."""
    if not isinstance(db, duckdb.DuckDBPyConnection) and not Path(db).exists():
        return []
    with _connect(db) as connection:
        present = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
            [REGISTRY_TABLE],
        ).fetchone()
        if not present or not present[0]:
            return []
        rows = connection.execute(
            f"SELECT dataset, kind, package_sha256, linkage_key_id, owner_key_id, "
            f"signer_key_id, recipient_key_id, identity_table, attributes_table, "
            f"identity_rows, attributes_rows, manifest, imported_at "
            f"FROM {REGISTRY_TABLE} ORDER BY dataset"
        ).fetchall()
    return [_row_to_dataset(row) for row in rows]
