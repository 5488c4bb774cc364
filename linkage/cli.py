"""Command-line entry points of the TRE side; ``register(app)`` adds them.

``import`` (verify and load packages) lives in ``import_cli``; ``link`` and the ICTG
table builders live in ``link_cli``.
"""

from __future__ import annotations

import typer

from linkage import import_cli, link_cli

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the TRE researcher's commands to the umbrella ``trelink`` application."""
    import_cli.register(app)
    link_cli.register(app)
