"""Import verified packages into the TRE's DuckDB database (``trelink import``).

``import_package`` opens a ``.tlp`` package with the TRE's private key and the owner's
trusted public key (``trelink.trust.package.open_package`` checks recipient, chunk
authentication, signature, that the package names the key that signed it, manifest and
every member's SHA-256 first), then loads it in ONE DuckDB transaction:

* ``<dataset>__identity``  (``record_pid`` + token columns; absent for event tables)
* ``<dataset>__attributes`` (``record_pid`` + attributes)
* a row in ``trelink_datasets``: dataset, kind, package SHA-256, linkage / owner /
  signer / recipient key ids (the signer is the trusted key that verified the
  signature), tables, the signed manifest (JSON), its SHA-256, the package's signed
  creation time and the import time;
* a row in ``trelink_import_history``, which keeps every import, replacement and forced
  replay for good.

Any failure rolls the transaction back, so the database is exactly as it was.

Refused, with nothing changed:

* an existing dataset name, unless ``replace=True``;
* content already imported under another dataset name: the same package file, or the
  same signed manifest sealed again under a new content key (compared by the manifest's
  SHA-256, which names every member's SHA-256, not by the file's);
* with ``replace=True``, a package created before the one it would replace (a replay
  of older data), unless ``allow_older=True`` as well; that forced replacement is
  recorded in the registry row and the history.

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
from trelink.sql import quote_identifier
from trelink.trust.canonical import PACKAGE_JSON, canonical_json
from trelink.trust.errors import TrustError
from trelink.trust.hashing import sha256_bytes
from trelink.trust.keys import (
    RecipientPrivateKey,
    load_recipient_private_key,
    load_signing_public_key,
)
from trelink.trust.package import OpenedPackage, open_package

__all__ = [
    "HISTORY_TABLE",
    "REGISTRY_TABLE",
    "ImportedDataset",
    "import_package",
    "list_datasets",
]

REGISTRY_TABLE = "trelink_datasets"
HISTORY_TABLE = "trelink_import_history"
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
# Added after the first release; older databases gain them on their next import.
_REGISTRY_ADDED_COLUMNS = (
    ("manifest_sha256", "VARCHAR"),
    ("created", "TIMESTAMPTZ"),
    ("forced_older", "BOOLEAN DEFAULT false"),
)
_HISTORY_DDL = f"""
CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
    imported_at TIMESTAMPTZ NOT NULL,
    dataset VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    package_sha256 VARCHAR NOT NULL,
    manifest_sha256 VARCHAR NOT NULL,
    signer_key_id VARCHAR NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    note VARCHAR
)
"""
_COLUMNS = (
    "dataset, kind, package_sha256, linkage_key_id, owner_key_id, signer_key_id, "
    "recipient_key_id, identity_table, attributes_table, identity_rows, attributes_rows, "
    "manifest, imported_at, manifest_sha256, created, forced_older"
)


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
    manifest_sha256: str | None = None  # None for datasets imported before it was kept
    created: dt.datetime | None = None  # the package's signed creation time
    forced_older: bool = False  # replaced a newer package with allow_older=True


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


def _prepare_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(_REGISTRY_DDL)
    for column, sql_type in _REGISTRY_ADDED_COLUMNS:
        connection.execute(
            f"ALTER TABLE {REGISTRY_TABLE} ADD COLUMN IF NOT EXISTS {column} {sql_type}"
        )
    connection.execute(_HISTORY_DDL)
    # Rows imported before the manifest hash was kept get it now, so their content is
    # recognised too: a package's manifest is signed in the package JSON encoding,
    # which the stored manifest reproduces exactly.
    missing = connection.execute(
        f"SELECT dataset, manifest FROM {REGISTRY_TABLE} WHERE manifest_sha256 IS NULL"
    ).fetchall()
    for name, manifest in missing:
        signed = canonical_json(json.loads(manifest), encoding=PACKAGE_JSON)
        connection.execute(
            f"UPDATE {REGISTRY_TABLE} SET manifest_sha256 = ? WHERE dataset = ?",
            [sha256_bytes(signed), name],
        )


def _duplicates(
    connection: duckdb.DuckDBPyConnection, dataset: str, opened: OpenedPackage
) -> list[str]:
    """Other datasets already holding this package or its signed content."""
    rows = connection.execute(
        f"SELECT dataset, package_sha256 FROM {REGISTRY_TABLE} "
        "WHERE dataset <> ? AND (package_sha256 = ? OR manifest_sha256 = ?)",
        [dataset, opened.package_sha256, opened.manifest_sha256],
    ).fetchall()
    problems = []
    for name, sha in rows:
        how = "" if sha == opened.package_sha256 else " (sealed again under a new content key)"
        problems.append(
            f"this package's signed content is already imported as dataset {name!r}{how}"
        )
    return problems


def _created_of(manifest: dict[str, Any], created: dt.datetime | None) -> dt.datetime | None:
    """The creation time of an imported package: the column, or for rows imported before
    it was kept, the signed manifest's ``created``."""
    if created is not None:
        return created
    try:
        parsed = dt.datetime.fromisoformat(str(manifest.get("created")))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _freshness(
    connection: duckdb.DuckDBPyConnection,
    dataset: str,
    opened: OpenedPackage,
    *,
    replace: bool,
    allow_older: bool,
) -> tuple[str, str | None]:
    """The history action for this import and its note, or raise if it must be refused."""
    current = connection.execute(
        f"SELECT manifest, created FROM {REGISTRY_TABLE} WHERE dataset = ?", [dataset]
    ).fetchone()
    if current is None:
        return "import", None
    if not replace:
        raise ImportPackageError(
            f"dataset {dataset!r} is already imported; nothing was changed (pass --overwrite "
            "to replace it with a newer package)"
        )
    existing = _created_of(json.loads(current[0]), current[1])
    if existing is None or opened.created >= existing:
        return "replace", None
    note = (
        f"replaced a package created {existing.isoformat()} with an older one created "
        f"{opened.created.isoformat()}"
    )
    if not allow_older:
        raise ImportPackageError(
            f"dataset {dataset!r}: this package was created {opened.created.isoformat()}, "
            f"before the imported one ({existing.isoformat()}); importing it would replay "
            "older data over newer. Nothing was changed. If this is deliberate, pass "
            "--allow-older as well (the replacement is recorded)"
        )
    return "replace-older (forced)", note


def _load(
    connection: duckdb.DuckDBPyConnection,
    opened: OpenedPackage,
    dataset: str,
    *,
    replace: bool,
    allow_older: bool,
) -> ImportedDataset:
    _prepare_tables(connection)
    duplicates = _duplicates(connection, dataset, opened)
    if duplicates:
        raise ImportPackageError(
            f"{'; '.join(duplicates)}; nothing was changed (a package is imported once; "
            "to load it under this name, drop that dataset first)"
        )
    action, note = _freshness(connection, dataset, opened, replace=replace, allow_older=allow_older)
    if action != "import":
        for table in (f"{dataset}__identity", f"{dataset}__attributes"):
            connection.execute(f"DROP TABLE IF EXISTS {quote_identifier(table)}")
        connection.execute(f"DELETE FROM {REGISTRY_TABLE} WHERE dataset = ?", [dataset])
    tables: dict[str, str | None] = {"identity": None, "attributes": None}
    counts = {"identity": 0, "attributes": 0}
    for kind in tables:
        member = opened.member(f"{kind}.parquet")
        if not member.exists():
            continue
        table = f"{dataset}__{kind}"
        connection.execute(
            f"CREATE TABLE {quote_identifier(table)} AS SELECT * FROM read_parquet(?)",
            [str(member)],
        )
        tables[kind] = table
        counted = connection.execute(f"SELECT count(*) FROM {quote_identifier(table)}").fetchone()
        counts[kind] = int(counted[0]) if counted else 0
    extract = opened.manifest.get("extract", {})
    expected = extract.get("rows", {})
    if not isinstance(expected, dict):
        raise ImportPackageError("the signed manifest's extract 'rows' is not a mapping")
    for kind, count in counts.items():
        if tables[kind] is not None and expected.get(kind) not in (None, count):
            raise ImportPackageError(
                f"{kind} holds {count} rows but the signed manifest says {expected.get(kind)}"
            )
    imported = ImportedDataset(
        dataset=dataset,
        kind=str(extract.get("kind", "identity")),
        package_sha256=opened.package_sha256,
        linkage_key_id=_optional_text(extract.get("linkage_key_id")),
        owner_key_id=_optional_text(extract.get("owner_key_id")),
        signer_key_id=opened.signer_key_id,
        recipient_key_id=str(opened.manifest["recipient_key_id"]),
        identity_table=tables["identity"],
        attributes_table=tables["attributes"],
        identity_rows=counts["identity"],
        attributes_rows=counts["attributes"],
        imported_at=dt.datetime.now(dt.UTC),
        manifest=opened.manifest,
        manifest_sha256=opened.manifest_sha256,
        created=opened.created,
        forced_older=note is not None,
    )
    connection.execute(
        f"INSERT INTO {REGISTRY_TABLE} ({_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            imported.manifest_sha256,
            imported.created,
            imported.forced_older,
        ],
    )
    connection.execute(
        f"INSERT INTO {HISTORY_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            imported.imported_at,
            dataset,
            action,
            imported.package_sha256,
            opened.manifest_sha256,
            imported.signer_key_id,
            opened.created,
            note,
        ],
    )
    return imported


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def import_package(
    package: str | os.PathLike[str],
    *,
    private_key: RecipientPrivateKey | str | os.PathLike[str],
    trust: ed25519.Ed25519PublicKey | str | os.PathLike[str],
    db: str | os.PathLike[str] | duckdb.DuckDBPyConnection,
    dataset: str,
    replace: bool = False,
    allow_older: bool = False,
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
                imported = _load(
                    connection, opened, dataset, replace=replace, allow_older=allow_older
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
    except TrustError as error:
        raise ImportPackageError(str(error)) from None
    except duckdb.Error as error:
        raise ImportPackageError(
            f"{package}: loading into {db} failed ({error.__class__.__name__}); "
            "the database is unchanged"
        ) from None
    return imported


def _row_to_dataset(row: tuple[Any, ...]) -> ImportedDataset:
    (name, kind, sha, linkage, owner, signer, recipient, identity, attributes, id_rows,
     attr_rows, manifest, imported_at, manifest_sha, created, forced_older) = row  # fmt: skip
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
        manifest_sha256=manifest_sha,
        created=created,
        forced_older=bool(forced_older),
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
        columns = {
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [REGISTRY_TABLE],
            ).fetchall()
        }
        # A registry from before the added columns reads them as missing (NULL).
        selected = ", ".join(
            name if name in columns else f"NULL AS {name}" for name in _COLUMNS.split(", ")
        )
        rows = connection.execute(
            f"SELECT {selected} FROM {REGISTRY_TABLE} ORDER BY dataset"
        ).fetchall()
    return [_row_to_dataset(row) for row in rows]
