"""``trelink prepare``: raw multi-period extracts to canonical Parquet, by a dataset spec."""

from __future__ import annotations

from pathlib import Path

import typer

from trelink.console import note_console

__all__ = ["register"]


def prepare_command(
    spec: Path = typer.Option(..., "--spec", help="Dataset spec, e.g. specs/datasets/nrm.yaml."),
    raw: Path = typer.Option(
        ..., "--in", help="Raw extract folder (the source's own folder, or its parent)."
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        help="Parquet file to write; for ICTG (several tables) a directory receiving "
        "referral.parquet, monthly.parquet and contact.parquet.",
    ),
) -> None:
    """Harmonise a source's raw files into canonical tables and report data quality."""
    from pseudonymise.prepare import check_output, prepare_source, write_prepared
    from trelink.specs.dataset import load_dataset_spec

    dataset = load_dataset_spec(spec)
    check_output(out, tables=len(dataset.tables))  # before minutes of reading
    console = note_console()
    with console.status(f"reading {dataset.dataset} raw files") as status:
        prepared = prepare_source(
            dataset,
            raw,
            spec_source=str(spec),
            on_file=lambda name: status.update(f"reading {dataset.dataset}: {name}"),
        )
    written = write_prepared(prepared, out)
    prepared.report.print_summary(console)
    for path in written:
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``prepare`` to ``app``."""
    app.command("prepare")(prepare_command)
