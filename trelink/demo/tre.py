"""The TRE's steps: import the owners' packages, build the ICTG tables, link a spine.

Everything here works only with what the TRE holds: the packages, its own private key,
the owners' public signing keys and its database ``tre.duckdb``. No linkage secret, no
owner lookup and no synthetic truth is read.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence

import duckdb

import linkage.ictg
from linkage import (
    LinkJob,
    LinkResult,
    database_sources,
    import_package,
    link_datasets,
    list_datasets,
    load_link_job,
    load_person_table_spec,
    write_person_table,
)
from pseudonymise import private_key_path
from trelink.demo.errors import DemoError
from trelink.demo.layout import DemoLayout
from trelink.demo.owners import OwnerDataset
from trelink.specs.loader import spec_path

__all__ = [
    "ICTG_TABLES",
    "PERSON_TABLE",
    "SPINE_TABLE",
    "build_ictg",
    "check_ictg_spine",
    "import_packages",
    "link_spine",
    "spine_job",
]

Step = Callable[[str], None]

# The ICTG stage outputs the researcher works from, kept as tables of tre.duckdb.
ICTG_TABLES: tuple[str, ...] = ("long", "wide")
SPINE_TABLE = "person_spine"
# One row per person (``trelink spine``), written beside the linkage outputs.
PERSON_TABLE = "persons.parquet"


def import_packages(
    layout: DemoLayout, sent: Sequence[OwnerDataset], *, step: Step
) -> dict[str, int]:
    """Verify and load every package into ``tre.duckdb``; return attribute rows per dataset."""
    layout.inbox.mkdir(parents=True, exist_ok=True)
    private_key = private_key_path(layout.tre_recipient)
    for item in sent:
        step(f"receiving and importing {item.dataset}")
        # The transfer: the TRE works on its own copy of what the owner sent.
        received = layout.inbox / item.package.name
        shutil.copyfile(item.package, received)
        import_package(
            received,
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
    sources = linkage.ictg.database_sources(
        layout.database,
        referral=["ictg__attributes"],
        monthly=["ictg_monthly__attributes"],
        contact=["ictg_contact__attributes"],
    )

    def on_step(table: str, _steps: int) -> None:
        step(f"ICTG stages: {table}")

    linkage.ictg.write_stages(sources, layout.ictg, on_step=on_step)
    with duckdb.connect(str(layout.database)) as connection:
        for table in ICTG_TABLES:
            parquet = layout.ictg / f"{table}.parquet"
            connection.execute(
                f"CREATE OR REPLACE TABLE ictg_{table} AS SELECT * FROM read_parquet(?)",
                [str(parquet)],
            )
        children = connection.execute("SELECT count(*) FROM ictg_wide").fetchall()[0][0]
    return int(children)


def spine_job() -> LinkJob:
    """The shipped person-spine job (``specs/linkage/spine.yaml``)."""
    return load_link_job(spec_path("linkage", "spine.yaml"))


def link_spine(layout: DemoLayout, *, step: Step) -> LinkResult:
    """Link and deduplicate every source into a person spine with the shipped job spec."""
    job = spine_job()
    sources = database_sources(layout.database, job.datasets)
    step("linking with Splink on DuckDB")
    result = link_datasets(sources, out_dir=layout.linkage, job=job, show_progress=True)
    with duckdb.connect(str(layout.database)) as connection:
        connection.execute(
            f"CREATE OR REPLACE TABLE {SPINE_TABLE} AS "
            "SELECT dataset, record_pid, person_id FROM read_parquet(?)",
            [str(layout.linkage / "clusters.parquet")],
        )
    step("one row per person: datasets, record counts, attributes by rule")
    spec = spec_path("person_table", "ictg.yaml")
    write_person_table(
        layout.linkage,
        sources,
        layout.linkage / PERSON_TABLE,
        spec=load_person_table_spec(spec),
        spec_source=str(spec),
    )
    return result


def check_ictg_spine(layout: DemoLayout) -> int:
    """Check that the ICTG stage tables and the spine agree; return the ICTG URNs linked.

    One URN is one child: the spine must hold each ICTG record pid exactly once (one
    person), and every child of the wide table must be among them, whether or not the
    returns repeated the URN.
    """
    with duckdb.connect(str(layout.database), read_only=True) as connection:
        spine_rows, spine_pids = connection.execute(
            f"SELECT count(*), count(DISTINCT record_pid) FROM {SPINE_TABLE} WHERE dataset = 'ictg'"
        ).fetchall()[0]
        children, missing = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE record_pid NOT IN "
            f"(SELECT record_pid FROM {SPINE_TABLE} WHERE dataset = 'ictg')) FROM ictg_wide"
        ).fetchall()[0]
    if spine_rows != spine_pids or missing:
        raise DemoError(
            f"ICTG tables and the person spine disagree: {spine_rows} spine rows for "
            f"{spine_pids} ICTG record pids; {missing} of {children} children of the wide "
            "table are not in the spine"
        )
    return int(spine_pids)
