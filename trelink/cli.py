"""The ``trelink`` command: one Typer application gathering every role's sub-commands.

Each role package owns its commands in its own ``cli.py`` and exposes
``register(app)``; this module only assembles them and turns deliberate errors into
clear messages and exit status 2. Assembling them is cheap: role packages export their
names lazily (``trelink.lazy``) and the role ``cli`` modules import their engines inside
the commands, so ``trelink --help`` loads no Splink, DuckDB or pandas
(``tests/test_cli_startup.py``).
"""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

import linkage.cli
import pseudonymise.cli
import sdc.cli
import tre_export.cli
from trelink.demo import cli as demo_cli
from trelink.errors import TrelinkError
from trelink.synth import cli as synth_cli

__all__ = ["app", "main"]

app = typer.Typer(
    name="trelink",
    help="Privacy-preserving linkage and disclosure control for Trusted Research Environments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for role_cli in (synth_cli, pseudonymise.cli, linkage.cli, sdc.cli, tre_export.cli, demo_cli):
    role_cli.register(app)


def main() -> None:
    """Console-script entry point.

    A ``TrelinkError`` is a refusal with a message meant for the user (exit 2). Anything
    else is a fault in trelink or a library beneath it: the user gets one line naming
    the kind of fault (exit 1), never a traceback whose locals or messages could carry
    a value; ``TRELINK_DEBUG=1`` shows the traceback to a developer.
    """
    try:
        app()
    except TrelinkError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except Exception as error:
        if os.environ.get("TRELINK_DEBUG"):
            raise
        Console(stderr=True).print(
            f"[bold red]internal error:[/] {type(error).__name__} in trelink. Please "
            "report it with the command you ran (set TRELINK_DEBUG=1 to see the details, "
            "which may include data values)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
