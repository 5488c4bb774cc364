"""``trelink import``: verify a package and load it into the TRE database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trelink.console import note_console, print_json, result_console
from trelink.options import JSON_HELP, deprecated_alias, prefer

__all__ = ["register"]


def import_command(
    package: Annotated[Path, typer.Argument(help="The .tlp package from the data owner.")],
    private_key: Annotated[Path, typer.Option(help="The TRE's private key (PREFIX.private.pem).")],
    trust: Annotated[Path, typer.Option(help="The owner's Ed25519 public key to trust.")],
    db: Annotated[Path, typer.Option(help="The TRE's DuckDB database file.")],
    dataset: Annotated[str, typer.Option(help="Name for the dataset, e.g. nrm.")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a dataset already imported.")
    ] = False,
    allow_older: Annotated[
        bool,
        typer.Option(
            "--allow-older",
            help="With --overwrite: accept a package created before the one it replaces "
            "(recorded in the registry and its history).",
        ),
    ] = False,
    replace: bool = deprecated_alias("--replace", "--overwrite"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check recipient, signature and checksums, then load everything in one transaction.

    ``--json`` prints ``{"dataset", "db", "tables": [{"name", "rows"}], "signer_key_id",
    "linkage_key_id", "forced_older", "other_linkage_keys": {dataset: key id}}``.
    """
    from linkage.importer import import_package, list_datasets
    from linkage.inputs import manifest_normalisation_version

    with note_console().status("verifying and loading"):
        imported = import_package(
            package,
            private_key=private_key,
            trust=trust,
            db=db,
            dataset=dataset,
            replace=prefer(overwrite, replace, unset=False),
            allow_older=allow_older,
        )
    loaded = [
        (table, rows)
        for table, rows in (
            (imported.identity_table, imported.identity_rows),
            (imported.attributes_table, imported.attributes_rows),
        )
        if table is not None
    ]
    tables = ", ".join(f"{table} ({rows:,} rows)" for table, rows in loaded)
    console = result_console(to_stderr=as_json)
    console.print(
        f"imported {imported.dataset} into {db}: {tables}; signed by "
        f"{imported.signer_key_id}, linkage key id {imported.linkage_key_id}"
    )
    if imported.forced_older:
        console.print(
            f"[yellow]warning:[/] {imported.dataset} now holds an OLDER package than the one "
            "it replaced (--allow-older); this is recorded in trelink_import_history"
        )
    registry = list_datasets(db)
    others = {
        entry.dataset: entry.linkage_key_id
        for entry in registry
        if entry.linkage_key_id != imported.linkage_key_id
    }
    if others:
        console.print(
            f"[yellow]warning:[/] datasets made under other linkage keys cannot be linked "
            f"with this one: {others}"
        )
    version = manifest_normalisation_version(imported.manifest)
    recorded = {entry.dataset: manifest_normalisation_version(entry.manifest) for entry in registry}
    other_versions = {
        dataset: found
        for dataset, found in recorded.items()
        if version is not None and found is not None and found != version
    }
    if other_versions:
        console.print(
            f"[yellow]warning:[/] {imported.dataset} was pseudonymised under normalisation "
            f"version {version}, and these datasets under others: {other_versions}; one "
            "identifier can have different tokens in each, so trelink link refuses to link "
            "them together until their owners re-pseudonymise with the same trelink"
        )
    if as_json:
        print_json(
            {
                "dataset": imported.dataset,
                "db": str(db),
                "tables": [{"name": table, "rows": rows} for table, rows in loaded],
                "signer_key_id": imported.signer_key_id,
                "linkage_key_id": imported.linkage_key_id,
                "forced_older": imported.forced_older,
                "other_linkage_keys": others,
                "normalisation_version": version,
                "other_normalisation_versions": other_versions,
            }
        )


def register(app: typer.Typer) -> None:
    """Add ``trelink import`` to ``app``."""
    app.command("import")(import_command)
