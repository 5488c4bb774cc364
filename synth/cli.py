"""Command-line entry points of ``synth``; ``register(app)`` adds them to ``trelink``."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this package's commands to the umbrella ``trelink`` application."""
