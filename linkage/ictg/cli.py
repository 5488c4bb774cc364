"""``trelink ictg``: ICTG stages 2-4 on pseudonymised referral, monthly and contact tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, TextColumn

from trelink.console import progress as progress_display
from trelink.console import result_console
from trelink.options import deprecated_alias, prefer

if TYPE_CHECKING:
    from linkage.ictg.inputs import IctgSources

__all__ = ["register"]


def _parquet(path: Path) -> Path:
    """A Parquet file, or a pseudonymised folder's ``attributes.parquet``."""
    return path / "attributes.parquet" if path.is_dir() else path


def _sources(
    db: Path | None, referral: list[str], monthly: list[str], contact: list[str]
) -> IctgSources:
    from linkage.ictg.inputs import database_sources, parquet_sources

    if db is not None:
        return database_sources(db, referral=referral, monthly=monthly, contact=contact)
    return parquet_sources(
        referral=[_parquet(Path(item)) for item in referral],
        monthly=[_parquet(Path(item)) for item in monthly],
        contact=[_parquet(Path(item)) for item in contact],
    )


def _end_of_data(text: str | None) -> dt.date | None:
    if text is None:
        return None
    from linkage.ictg.inputs import IctgInputError

    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise IctgInputError(f"--end-of-data {text!r} is not a date (YYYY-MM-DD)") from error


def ictg(
    referral: list[str] = typer.Option(
        ..., "--referral", help="Referral table: Parquet file or pseudonymised folder (repeatable)"
    ),
    monthly: list[str] = typer.Option(..., "--monthly", help="Monthly returns (repeatable)"),
    contact: list[str] = typer.Option(..., "--contact", help="Contacts (repeatable)"),
    out: Path = typer.Option(..., "--out", help="Directory for the five tables and summary.json"),
    db: Path | None = typer.Option(
        None, "--db", help="TRE DuckDB database; then --referral etc. name imported datasets"
    ),
    urn_column: str = typer.Option(
        "record_pid", "--urn-column", help="Column holding the (pseudonymous) URN"
    ),
    key: str | None = deprecated_alias("--key", "--urn-column", flag=False),
    spec: Path | None = typer.Option(
        None, help="ICTG dataset spec for the wide-form code lists (default: shipped spec)"
    ),
    duplicate_window_days: int = typer.Option(
        7, help="Referral dates this close (per child) are copies of one referral"
    ),
    reentry_gap_days: int = typer.Option(
        90, help="Without a closure, a referral this much later is a new episode"
    ),
    grace_days: int = typer.Option(
        31, help="Events this far before referral or after closure still belong to it"
    ),
    end_of_data: str | None = typer.Option(
        None, help="Date open episodes run to (default: latest date in the inputs)"
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing --out directory"
    ),
    no_overwrite: bool = deprecated_alias(
        "--no-overwrite", "", advice="leave it out (not replacing is the default)"
    ),
) -> None:
    """ICTG stages 2-4: combine DW, RPC and Missing returns into episodes; long and wide forms."""
    from linkage.ictg.forms import IctgCodes
    from linkage.ictg.stages import IctgRules, write_stages
    from linkage.ictg.summary import render
    from trelink.specs.dataset import load_dataset_spec

    rules = IctgRules(
        duplicate_window_days=duplicate_window_days,
        reentry_gap_days=reentry_gap_days,
        event_grace_days=grace_days,
        end_of_data=_end_of_data(end_of_data),
    )
    codes = None if spec is None else IctgCodes.from_spec(load_dataset_spec(spec))
    sources = _sources(db, referral, monthly, contact)
    with progress_display(TextColumn("{task.description}"), BarColumn()) as progress:
        task = progress.add_task("ICTG stages", total=None)

        def step(table: str, steps: int) -> None:
            progress.update(task, total=steps, advance=1, description=f"building {table}")

        summary = write_stages(
            sources,
            out,
            key=prefer(urn_column, key, unset="record_pid"),
            rules=rules,
            codes=codes,
            overwrite=overwrite,
            on_step=step,
        )
    console = result_console()
    render(summary, console)
    console.print(f"wrote {out}/{{referral,monthly,contact,long,wide}}.parquet and summary.json")


def register(app: typer.Typer) -> None:
    """Add ``trelink ictg`` to ``app``."""
    app.command("ictg")(ictg)
