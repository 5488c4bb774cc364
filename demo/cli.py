"""Command-line entry point of the demonstration; ``register(app)`` adds ``trelink demo``."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``trelink demo`` to the umbrella ``trelink`` application."""
