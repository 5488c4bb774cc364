"""Each data owner's steps: prepare the raw extract, pseudonymise, package for the TRE.

An owner reads only its own raw folder, the project linkage secret and its own secret;
the lookup from record ids to record pids stays in the owner's folder, and only the
signed, encrypted package goes on to the TRE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pseudonymise import (
    PseudonymiseSpec,
    build_package,
    generate_secret,
    load_recipient_public_key,
    load_secret,
    load_signing_private_key,
    prepare_source,
    private_key_path,
    pseudonymise_table,
    read_canonical,
    write_prepared,
    write_pseudonymised,
)
from trelink.demo.layout import DemoLayout, Owner
from trelink.specs.dataset import dataset_spec_path, load_dataset_spec

__all__ = ["OwnerDataset", "dataset_name", "run_owner"]

Step = Callable[[str], None]


@dataclass(frozen=True)
class OwnerDataset:
    """One package an owner sent: the dataset name the TRE imports it under."""

    owner: str
    dataset: str
    folder: Path  # the owner's pseudonymised output, lookup included (stays with the owner)
    package: Path
    trust: Path  # the TRE's copy of the owner's public signing key
    identity_rows: int
    attribute_rows: int


def dataset_name(source: str, table: str, *, tables: int) -> str:
    """TRE dataset name of a source table: the source itself, or ``ictg_monthly`` etc.

    The identity table of a multi-table source keeps the source's name, so the linkage
    job can name it (``ictg``) like any single-table source.
    """
    if tables == 1 or table == "referral":
        return source
    return f"{source}_{table}"


def _prefixed(step: Step, prefix: str) -> Step:
    def report(text: str) -> None:
        step(f"{prefix}: {text}")

    return report


@dataclass(frozen=True)
class _PreparedTable:
    path: Path
    # The dataset spec's rule: false lets record ids repeat (ICTG URNs), and the owner
    # pseudonymises accordingly, which the signed manifest records for the TRE.
    unique_record_id: bool


def _prepared_tables(layout: DemoLayout, owner: Owner, source: str) -> dict[str, _PreparedTable]:
    spec_path = dataset_spec_path(source)
    spec = load_dataset_spec(spec_path)
    prepared = prepare_source(spec, layout.raw(source), spec_source=spec_path)
    target = layout.prepared(owner.name, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_prepared(prepared, target)
    unique = {table.name: table.unique_record_id for table in spec.tables}
    if len(prepared.tables) == 1:
        (name,) = prepared.tables
        return {name: _PreparedTable(target, unique[name])}
    return {
        name: _PreparedTable(target / f"{name}.parquet", unique[name]) for name in prepared.tables
    }


def run_owner(layout: DemoLayout, owner: Owner, *, step: Step) -> list[OwnerDataset]:
    """Prepare, pseudonymise and package every source ``owner`` holds."""
    layout.owner(owner.name).mkdir(parents=True, exist_ok=True)
    generate_secret(layout.owner_secret(owner.name))
    linkage_key = load_secret(layout.linkage_secret)
    owner_key = load_secret(layout.owner_secret(owner.name))
    recipient = load_recipient_public_key(layout.published_recipient)
    signer_prefix = layout.signer(owner.name)
    signing_key = load_signing_private_key(private_key_path(signer_prefix))
    sent: list[OwnerDataset] = []
    for source in owner.sources:
        step(f"{owner.name}: preparing {source}")
        tables = _prepared_tables(layout, owner, source)
        for table, prepared in tables.items():
            dataset = dataset_name(source, table, tables=len(tables))
            step(f"{owner.name}: pseudonymising {dataset}")
            result = pseudonymise_table(
                read_canonical(prepared.path),
                linkage_key=linkage_key,
                owner_key=owner_key,
                options=PseudonymiseSpec(version=1, unique_record_id=prepared.unique_record_id),
                progress=_prefixed(step, f"{owner.name}: {dataset}"),
            )
            folder = write_pseudonymised(result, layout.pseudonymised(owner.name, dataset))
            step(f"{owner.name}: packaging {dataset}")
            package = layout.package(owner.name, dataset)
            package.parent.mkdir(parents=True, exist_ok=True)
            build_package(folder, recipient=recipient, signing_key=signing_key, out=package)
            rows = result.manifest["rows"]
            sent.append(
                OwnerDataset(
                    owner=owner.name,
                    dataset=dataset,
                    folder=folder,
                    package=package,
                    trust=layout.trusted_signer(owner.name),
                    identity_rows=int(rows["identity"]),
                    attribute_rows=int(rows["attributes"]),
                )
            )
    return sent
