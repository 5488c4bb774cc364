"""Command-line entry points of the TRE side; ``register(app)`` adds them.

``import`` (verify and load packages) lives in ``import_cli``; ``link`` lives in
``link_cli``; the ICTG stage 2-4 table builders in ``linkage.ictg.cli``; ``review-pack`` and
``review-import`` (clerical review) in ``review_cli``; ``spine`` (one row per person)
in ``spine_cli``.
"""

from __future__ import annotations

import typer

from linkage import import_cli, link_cli, review_cli, spine_cli
from linkage.ictg import cli as ictg_cli

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the TRE researcher's commands to the umbrella ``trelink`` application."""
    import_cli.register(app)
    link_cli.register(app)
    spine_cli.register(app)
    review_cli.register(app)
    ictg_cli.register(app)
