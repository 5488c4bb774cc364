"""The data owner's and key custodian's commands: ``keys``, ``pseudonymise``, ``package``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pseudonymise import keys

__all__ = ["register"]

_console = Console(highlight=False, soft_wrap=True)

keys_app = typer.Typer(
    name="keys",
    help="Make key files: the linkage or owner secret, the TRE's HPKE pair, a signer.",
    no_args_is_help=True,
)


@keys_app.command("secret")
def keys_secret(
    out: Annotated[Path, typer.Option("--out", help="File to create (mode 0600).")],
) -> None:
    """A 256-bit random secret: the project linkage key, or an owner's own key."""
    identifier = keys.generate_secret(out)
    _console.print(f"wrote secret {out} (key id {identifier}, mode 0600)")


@keys_app.command("recipient")
def keys_recipient(
    out: Annotated[Path, typer.Option("--out", help="Prefix: PREFIX.private.pem, .public.pem")],
    kem: Annotated[
        str, typer.Option("--kem", help="x25519 (default) or mlkem768-x25519 (post-quantum)")
    ] = "x25519",
) -> None:
    """The TRE's HPKE key pair; owners encrypt packages to the public half."""
    if kem not in ("x25519", "mlkem768-x25519"):
        raise typer.BadParameter("choose x25519 or mlkem768-x25519", param_hint="--kem")
    identifier = keys.generate_recipient_keypair(
        out, kem="x25519" if kem == "x25519" else "mlkem768-x25519"
    )
    _console.print(
        f"wrote {keys.private_key_path(out)} (0600) and {keys.public_key_path(out)} "
        f"({kem}, key id {identifier})"
    )


@keys_app.command("signer")
def keys_signer(
    out: Annotated[Path, typer.Option("--out", help="Prefix: PREFIX.private.pem, .public.pem")],
) -> None:
    """An Ed25519 signing pair; the TRE trusts the public half."""
    identifier = keys.generate_signer_keypair(out)
    _console.print(
        f"wrote {keys.private_key_path(out)} (0600) and {keys.public_key_path(out)} "
        f"(Ed25519, key id {identifier})"
    )


def register(app: typer.Typer) -> None:
    """Add the owner's and key custodian's commands to ``app``."""
    app.add_typer(keys_app)
