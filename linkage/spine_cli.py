"""``trelink spine``: one row per person of a linkage run, attributes joined by rule.

Reads the ``clusters.parquet`` of a ``trelink link`` output folder and the linked
datasets' attributes (pseudonymised folders, or a TRE database of imported datasets)
and writes the person table (``linkage.person_table``) as Parquet, and CSV on request.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from trelink.console import result_console

if TYPE_CHECKING:
    from linkage.inputs import DatasetSource

__all__ = ["register"]


def spine(
    link_dir: Path = typer.Argument(
        ..., help="Output folder of `trelink link` (or its clusters.parquet).", show_default=False
    ),
    folders: list[Path] = typer.Argument(
        None,
        help="Pseudonymised dataset folders whose attributes to join (quick mode).",
        show_default=False,
    ),
    out: Path = typer.Option(..., "--out", help="Person table to write (Parquet)."),
    db: Path | None = typer.Option(None, "--db", help="TRE database of imported datasets."),
    spec_path: Path | None = typer.Option(
        None,
        "--spec",
        help="Person-table spec (specs/person_table/ictg.yaml): attributes and rules.",
    ),
    attributes: list[str] = typer.Option(
        [],
        "--attribute",
        help=(
            "DATASET.COLUMN:RULE[=NAME], repeatable: an attribute by rule (first, latest, "
            "any, count), e.g. health.mental_health_contact:any; added to --spec's."
        ),
        show_default=False,
    ),
    order_by: list[str] = typer.Option(
        [],
        "--order-by",
        help="DATASET.COLUMN, repeatable: the date that orders first/latest, e.g. "
        "health.admission_date.",
        show_default=False,
    ),
    csv: Path | None = typer.Option(None, "--csv", help="Also write the table as CSV here."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output files."),
) -> None:
    """Write one row per person: datasets, record counts and attributes by rule."""
    from linkage.errors import LinkageError
    from linkage.inputs import folder_source
    from linkage.person_spec import PersonTableSpec, load_person_table_spec, with_options
    from linkage.person_table import write_person_table
    from linkage.sources import database_sources

    spec = load_person_table_spec(spec_path) if spec_path is not None else PersonTableSpec()
    described = str(spec_path) if spec_path is not None else "person table spec"
    if attributes or order_by:
        described = f"{described} with --attribute/--order-by"
        spec = with_options(spec, attributes=attributes, order_by=order_by, source=described)
    sources: list[DatasetSource]
    if db is not None:
        if folders:
            raise LinkageError("give either dataset folders or --db, not both")
        sources = database_sources(db, list(spec.datasets))
    else:
        sources = [folder_source(folder) for folder in folders or []]
    written = write_person_table(
        link_dir,
        sources,
        out,
        spec=spec,
        spec_source=described,
        csv=csv,
        overwrite=overwrite,
    )
    console = result_console()
    console.print(
        f"wrote {written.path}: {written.persons:,} persons ({written.records:,} records), "
        f"columns {', '.join(written.columns)}"
    )
    if written.csv_path is not None:
        console.print(f"wrote {written.csv_path}")


def register(app: typer.Typer) -> None:
    """Add ``trelink spine`` to ``app``."""
    app.command("spine")(spine)
