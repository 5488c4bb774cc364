"""Command-line entry points of ``synth``; ``register(app)`` adds them to ``trelink``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from trelink.console import result_console

__all__ = ["register"]


def synth_command(
    out: Path = typer.Option(..., "--out", help="Directory to write the raw extracts into."),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives the same bytes."),
    scale: float = typer.Option(
        1.0, "--scale", help="Population size as a multiple of the default (fractions allowed)."
    ),
    only: list[str] = typer.Option(
        [], "--only", help="Write only this source (repeatable): nrm, ictg, education, ..."
    ),
    ictg_repeats: bool = typer.Option(
        False,
        "--ictg-repeats",
        help="Return some ICTG referrals twice and re-refer some children after closure "
        "(repeated URNs: trelink prepare and trelink ictg take them, pseudonymise refuses them).",
    ),
) -> None:
    """Write synthetic NRM, ICTG, education, health and justice extracts, with truth apart."""
    from trelink.synth.generate import generate
    from trelink.synth.rates import NO_ICTG_REPEATS, REALISTIC_ICTG_REPEATS

    repeats = REALISTIC_ICTG_REPEATS if ictg_repeats else NO_ICTG_REPEATS
    summary = generate(out, seed=seed, scale=scale, only=only, ictg_repeats=repeats)
    table = Table(title=f"trelink synth: {summary.people:,} people (seed {seed}, scale {scale})")
    table.add_column("source/table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console = result_console()
    console.print(table)
    console.print(f"raw extracts under {out}; ground truth only under {out / 'truth'}")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the umbrella ``trelink`` application."""
    app.command("synth")(synth_command)
