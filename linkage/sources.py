"""Datasets imported into the TRE database, as sources for a linkage run.

``trelink import`` loads each package into ``<dataset>__identity`` and
``<dataset>__attributes`` and records it, with its linkage key id, in the registry
(``linkage.importer.list_datasets``). A job spec names datasets; this module finds
them and refuses names that are not there, or that hold no identity table (event
tables such as ICTG monthly rows carry no tokens).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from linkage.errors import JobSpecError
from linkage.importer import list_datasets
from linkage.inputs import (
    DATABASE_ALIAS,
    DatasetSource,
    declares_repeated_record_ids,
    manifest_normalisation_version,
)

__all__ = ["database_sources"]


def _relation(table: str) -> str:
    return f'{DATABASE_ALIAS}.main."{table}"'


def database_sources(
    db: str | os.PathLike[str], datasets: Sequence[str] = ()
) -> list[DatasetSource]:
    """Sources for ``datasets`` (all identity datasets when empty) in the database ``db``."""
    database = Path(db)
    if not database.is_file():
        raise JobSpecError(
            f"{database}: no such TRE database; import packages with `trelink import`"
        )
    imported = {dataset.dataset: dataset for dataset in list_datasets(database)}
    with_identity = sorted(name for name, item in imported.items() if item.identity_table)
    wanted = list(datasets) or with_identity
    unknown = [name for name in wanted if name not in imported]
    if unknown:
        raise JobSpecError(
            f"datasets: {unknown} are not in {database}; imported datasets with tokens are "
            f"{with_identity}"
        )
    tokenless = [name for name in wanted if not imported[name].identity_table]
    if tokenless:
        raise JobSpecError(
            f"datasets: {tokenless} in {database} hold events without tokens and cannot be linked; "
            f"datasets with tokens are {with_identity}"
        )
    sources = []
    for name in wanted:
        item = imported[name]
        assert item.identity_table is not None  # checked above
        sources.append(
            DatasetSource(
                name=name,
                identity=_relation(item.identity_table),
                attributes=_relation(item.attributes_table) if item.attributes_table else None,
                linkage_key_id=item.linkage_key_id,
                origin=f"{database} dataset {name!r}",
                database=database,
                # The registry keeps the manifest the owner signed.
                record_ids_repeat=declares_repeated_record_ids(item.manifest),
                normalisation_version=manifest_normalisation_version(item.manifest),
            )
        )
    return sources
