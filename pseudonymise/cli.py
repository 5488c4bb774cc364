"""Command-line entry points of the data owner's side; ``register(app)`` adds them.

``prepare`` lives in ``prepare_cli`` (reading raw extracts by a dataset spec); ``keys``,
``pseudonymise`` and ``package`` live in ``owner_cli``; the clerical review's owner and
reviewer steps (``review-reidentify``, ``review-sheet``, ``review-sign``) in ``review_cli``.
"""

from __future__ import annotations

import typer

from pseudonymise import owner_cli, prepare_cli, review_cli

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the data owner's commands to the umbrella ``trelink`` application."""
    prepare_cli.register(app)
    owner_cli.register(app)
    review_cli.register(app)
