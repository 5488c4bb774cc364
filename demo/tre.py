"""The TRE's steps: import the owners' packages, build the ICTG tables, link a spine.

Everything here works only with what the TRE holds: the packages, its own private key,
the owners' public signing keys and its database ``tre.duckdb``. No linkage secret, no
owner lookup and no synthetic truth is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from demo.errors import DemoError
from demo.layout import DemoLayout
from demo.owners import OwnerDataset
from linkage.ictg import IctgSources, database_sources, write_stages
from linkage.importer import import_package, list_datasets
from linkage.inputs import DatasetSource
from linkage.job import load_link_job
from linkage.run import LinkResult, link_datasets
from pseudonymise.keys import private_key_path
from specs.loader import spec_path

__all__ = [
    "ICTG_TABLES",
    "LINKED_DATASETS",
    "SPINE_TABLE",
    "TreState",
    "build_ictg",
    "import_packages",
    "link_spine",
]

Step = Callable[[str], None]

# The ICTG stage outputs the researcher works from, kept as tables of tre.duckdb.
ICTG_TABLES: tuple[str, ...] = ("long", "wide")
SPINE_TABLE = "person_spine"
LINKED_DATASETS: tuple[str, ...] = ("nrm", "ictg", "education", "health", "justice")


@dataclass(frozen=True)
class TreState:
    """What the TRE built, for the artefact table and the evaluation."""

    datasets: dict[str, int]  # dataset -> attribute rows imported
    ictg_children: int
    link: LinkResult


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def import_packages(
    layout: DemoLayout, sent: Sequence[OwnerDataset], *, step: Step
) -> dict[str, int]:
    """Verify and load every package into ``tre.duckdb``; return attribute rows per dataset."""
    layout.tre.mkdir(parents=True, exist_ok=True)
    private_key = private_key_path(layout.tre_recipient)
    for item in sent:
        step(f"importing {item.dataset}")
        import_package(
            item.package,
            private_key=private_key,
            trust=item.trust,
            db=layout.database,
            dataset=item.dataset,
        )
    return {entry.dataset: entry.attributes_rows for entry in list_datasets(layout.database)}


def build_ictg(layout: DemoLayout, *, step: Step) -> int:
    """ICTG stages 2-4 from the imported tables; keep long and wide in ``tre.duckdb``.

    Returns the number of children in the wide form.
    """
    sources: IctgSources = database_sources(
        layout.database,
        referral=["ictg__attributes"],
        monthly=["ictg_monthly__attributes"],
        contact=["ictg_contact__attributes"],
    )

    def on_step(table: str, _steps: int) -> None:
        step(f"ICTG stages: {table}")

    write_stages(sources, layout.ictg, on_step=on_step)
    with duckdb.connect(str(layout.database)) as connection:
        for table in ICTG_TABLES:
            parquet = layout.ictg / f"{table}.parquet"
            connection.execute(
                f"CREATE OR REPLACE TABLE ictg_{table} AS SELECT * FROM read_parquet(?)",
                [str(parquet)],
            )
        children = connection.execute("SELECT count(*) FROM ictg_wide").fetchall()[0][0]
    return int(children)


def _export_for_linkage(layout: DemoLayout, datasets: Sequence[str]) -> list[DatasetSource]:
    """Copy each dataset's identity and attributes to Parquet inside the TRE.

    ``link_datasets`` reads DuckDB relations in its own connection, and the database
    mode of ``trelink link`` (``--db``) is not wired yet, so the TRE hands it Parquet
    copies kept beside the database.
    """
    layout.linkage_inputs.mkdir(parents=True, exist_ok=True)
    registry = {entry.dataset: entry for entry in list_datasets(layout.database)}
    sources: list[DatasetSource] = []
    with duckdb.connect(str(layout.database), read_only=True) as connection:
        for dataset in datasets:
            entry = registry.get(dataset)
            if entry is None or entry.identity_table is None or entry.attributes_table is None:
                raise DemoError(f"{layout.database}: dataset {dataset!r} has no identity table")
            paths: dict[str, Path] = {}
            for part, table in (
                ("identity", entry.identity_table),
                ("attributes", entry.attributes_table),
            ):
                paths[part] = layout.linkage_inputs / f"{dataset}.{part}.parquet"
                connection.execute(
                    f"COPY (SELECT * FROM {_quote(table)}) TO '{paths[part]}' (FORMAT parquet)"
                )
            sources.append(
                DatasetSource(
                    name=dataset,
                    identity=f"read_parquet('{paths['identity']}')",
                    attributes=f"read_parquet('{paths['attributes']}')",
                    linkage_key_id=entry.linkage_key_id,
                    origin=f"{layout.database}:{dataset}",
                )
            )
    return sources


def link_spine(layout: DemoLayout, *, step: Step) -> LinkResult:
    """Link and deduplicate every source into a person spine with the shipped job spec."""
    step("linking: exporting tokens for Splink")
    sources = _export_for_linkage(layout, LINKED_DATASETS)
    job = load_link_job(spec_path("linkage", "spine.yaml"))
    step("linking with Splink on DuckDB")
    result = link_datasets(sources, out_dir=layout.linkage, job=job, show_progress=True)
    with duckdb.connect(str(layout.database)) as connection:
        connection.execute(
            f"CREATE OR REPLACE TABLE {SPINE_TABLE} AS "
            "SELECT dataset, record_pid, person_id FROM read_parquet(?)",
            [str(layout.linkage / "clusters.parquet")],
        )
    return result
