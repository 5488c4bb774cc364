"""The ``trelink`` command: one Typer application gathering every role's sub-commands.

Each role package owns its commands in its own ``cli.py`` and exposes
``register(app)``; this module only assembles them, adds the conventions every command
shares (``--version``, ``-h``/``--help``, shell completion) and turns deliberate errors
into clear messages and the exit statuses of ``trelink.exit_codes``. Assembling them is
cheap: role packages export their names lazily (``trelink.lazy``) and the role ``cli``
modules import their engines inside the commands, so ``trelink --help`` loads no Splink,
DuckDB or pandas (``tests/test_cli_startup.py``).
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version

import typer
import typer.core
from rich.console import Console

import linkage.cli
import pseudonymise.cli
import sdc.cli
import tre_export.cli
from trelink.demo import cli as demo_cli
from trelink.errors import TrelinkError
from trelink.exit_codes import ExitCode
from trelink.synth import cli as synth_cli

__all__ = ["app", "main"]

app = typer.Typer(
    name="trelink",
    help="Privacy-preserving linkage and disclosure control for Trusted Research Environments.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Click's contexts inherit this, so every command and group answers -h too.
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_flags_as_flags() -> None:
    """Help shows a flag as ``--overwrite``, not ``--overwrite <bool>``.

    Typer's rich help prints every option's type, a flag's too, which reads as if
    ``--overwrite true`` were accepted (Click refuses it: a flag takes no value). Its
    plain help already leaves flags bare; this gives the rich help the same rule.
    """
    shows_type = typer.core.TyperOption.display_type_rich

    def display_type_rich(self: typer.core.TyperOption, ctx: typer._click.Context) -> str | None:
        if self.is_flag and not self.count:
            return None
        return shows_type(self, ctx)

    typer.core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_show_flags_as_flags()


def _trelink_version() -> str:
    try:
        return version("trelink")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from trelink import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"trelink {_trelink_version()}\n")
        raise typer.Exit()


@app.callback()
def _umbrella(
    show_version: bool = typer.Option(
        False,
        "--version",
        help="Print trelink's version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Privacy-preserving linkage and disclosure control for Trusted Research Environments."""


for role_cli in (synth_cli, pseudonymise.cli, linkage.cli, sdc.cli, tre_export.cli, demo_cli):
    role_cli.register(app)


def main() -> None:
    """Console-script entry point.

    A ``TrelinkError`` is a refusal with a message meant for the user (exit 3, refused
    input); Click's usage errors exit 2 and a failed check 4 (``trelink.exit_codes``).
    Anything else is a fault in trelink or a library beneath it: the user gets one line
    naming the kind of fault (exit 1), never a traceback whose locals or messages could
    carry a value; ``TRELINK_DEBUG=1`` shows the traceback to a developer.
    """
    try:
        app()
    except TrelinkError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(ExitCode.REFUSED)
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
        sys.exit(ExitCode.INTERNAL_FAULT)
