"""Command-line entry point of the demonstration; ``register(app)`` adds ``trelink demo``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from trelink.console import result_console
from trelink.options import deprecated_alias, prefer

if TYPE_CHECKING:
    from trelink.demo.pipeline import DemoResult

__all__ = ["register"]

# demo.pipeline.DEFAULT_SCALE, written out so that the option's default needs no import of
# the pipeline (every role's engines); tests/test_cli_startup.py checks the two agree.
_DEFAULT_SCALE = 1.0


def _report(result: DemoResult, console: Console) -> None:
    from trelink.demo.pipeline import artefact_table

    console.print(artefact_table(result))
    if result.link is not None:
        link = result.link
        console.print(
            f"TRE spine: {sum(link.records.values()):,} records -> {link.persons:,} persons "
            f"({link.pairs:,} pairs at match probability >= {link.threshold}); "
            f"people with repeat NRM referrals: {link.repeat_persons or 0:,}"
        )
        console.print(
            f"ICTG: {result.ictg_urns_in_spine:,} URNs in the spine, each one person"
            + (" (returns repeat URNs: copies and re-entries)" if result.ictg_repeats else "")
        )
    if result.export is not None:
        export = result.export
        withheld = f"; withheld: {', '.join(export.withheld)}" if export.withheld else ""
        console.print(
            f"released {len(export.released)} outputs (request {export.request_id}){withheld}"
        )
    if result.quality is not None:
        console.print("[bold]linkage quality against the synthetic truth[/]")
        for line in result.quality.lines():
            console.print(f"  {line}", highlight=False)
    console.print(
        f"finished in {result.seconds / 60:.1f} min; open {result.out / 'summary.html'}",
        highlight=False,
    )


def demo_command(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Folder to create for the run."),
    scale: float = typer.Option(
        _DEFAULT_SCALE, "--scale", help="Population size as a multiple of the default."
    ),
    seed: int = typer.Option(1, "--seed", help="Random seed of the synthetic data."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a non-empty --out (only once the new run succeeded)."
    ),
    force: bool = deprecated_alias("--force", "--overwrite"),
    ictg_repeats: bool = typer.Option(
        False,
        "--ictg-repeats",
        help="ICTG returns repeat URNs as real ones do (copies of a referral, re-entries).",
    ),
) -> None:
    """Play every role on synthetic data: keys, owners, TRE linkage, analyses, release."""
    from trelink.demo.pipeline import run_demo

    console = result_console()
    result = run_demo(
        out,
        scale=scale,
        seed=seed,
        force=prefer(overwrite, force, unset=False),
        ictg_repeats=ictg_repeats,
        console=console,
    )
    _report(result, console)


def register(app: typer.Typer) -> None:
    """Add ``trelink demo`` to the umbrella ``trelink`` application."""
    app.command("demo")(demo_command)
