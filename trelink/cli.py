"""The ``trelink`` command: one Typer application gathering every role's sub-commands.

Each role package owns its commands in its own ``cli.py`` and exposes
``register(app)``; this module only assembles them and turns deliberate errors into
clear messages and exit status 2.

Roles are loaded lazily. Importing a role package pulls in its engines (Splink and
DuckDB, pandas, HiGHS, FastAPI, ...), which takes seconds; ``trelink --help`` and a
mistyped command name should answer at once. So the top-level group holds a placeholder
per command, carrying only its name and one-line help from ``COMMANDS``, and a role's
module is imported only when one of its commands is actually resolved. ``COMMANDS`` is
checked against what the roles register in ``tests/test_cli_startup.py``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from trelink.errors import TrelinkError

__all__ = ["COMMANDS", "ROLE_MODULES", "app", "main"]

ROLE_MODULES = (
    "synth.cli",
    "pseudonymise.cli",
    "linkage.cli",
    "sdc.cli",
    "tre_export.cli",
    "demo.cli",
)
"""The modules whose ``register(app)`` adds each role's commands, in registration order."""

COMMANDS: dict[str, tuple[str, str]] = {
    "synth": (
        "synth.cli",
        "Write synthetic NRM, ICTG, education, health and justice extracts, with truth apart.",
    ),
    "prepare": (
        "pseudonymise.cli",
        "Harmonise a source's raw files into canonical tables and report data quality.",
    ),
    "pseudonymise": (
        "pseudonymise.cli",
        "Replace identifiers with keyed tokens; write identity, attributes, lookup, manifest.",
    ),
    "package": (
        "pseudonymise.cli",
        "Sign and encrypt a pseudonymised extract for the TRE; never includes the lookup.",
    ),
    "import": (
        "linkage.cli",
        "Check recipient, signature and checksums, then load everything in one transaction.",
    ),
    "link": (
        "linkage.cli",
        "Link datasets on their tokens with Splink; write pairs, clusters, model and report.",
    ),
    "ictg": (
        "linkage.cli",
        "ICTG stages 2-4: combine DW, RPC and Missing returns into episodes; long and wide forms.",
    ),
    "demo": (
        "demo.cli",
        "Play every role on synthetic data: keys, owners, TRE linkage, analyses, release.",
    ),
    "keys": (
        "pseudonymise.cli",
        "Make key files: the linkage or owner secret, the TRE's HPKE pair, a signer.",
    ),
    "sdc": (
        "sdc.cli",
        "Statistical disclosure control: protect tables, check them, audit a request.",
    ),
    "export": (
        "tre_export.cli",
        "Export requests: submit outputs, review them (two checkers), release, audit.",
    ),
}
"""Each top-level command, in the order help lists it: the role module that registers it
and the first line of its help (what ``trelink --help`` shows without importing the role)."""


class _Placeholder(TyperCommand):
    """Stands in for a role's command in ``trelink --help`` until the command is used."""

    def __init__(self, name: str, help_line: str) -> None:
        super().__init__(name=name, help=help_line)


def _role_command(name: str) -> typer._click.Command:
    """Import the role that owns ``name`` and return the command it registers under it."""
    role_module = importlib.import_module(COMMANDS[name][0])
    role_app = typer.Typer()
    role_module.register(role_app)
    return typer.main.get_group(role_app).commands[name]


class _LazyRoleGroup(TyperGroup):
    """The top-level group: placeholders for listing, real commands once resolved."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (_module, help_line) in COMMANDS.items():
            self.add_command(_Placeholder(name, help_line))

    def resolve_command(
        self, ctx: typer._click.Context, args: list[str]
    ) -> tuple[str | None, typer._click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, _Placeholder):
            command = _role_command(name)
            self.commands[name] = command
        return name, command, rest


app = typer.Typer(
    name="trelink",
    cls=_LazyRoleGroup,
    help="Privacy-preserving linkage and disclosure control for Trusted Research Environments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _top_level() -> None:
    """Makes ``app`` a group although its commands arrive through ``_LazyRoleGroup``."""


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except TrelinkError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
