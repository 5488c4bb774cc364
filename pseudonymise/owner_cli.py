"""The data owner's and key custodian's commands: ``keys``, ``pseudonymise``, ``package``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.status import Status
from rich.table import Table

from trelink.console import note_console, result_console

if TYPE_CHECKING:
    from pseudonymise.risk import RiskReport

__all__ = ["register"]

_console = result_console()

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
    from trelink.trust import keys

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
    from trelink.trust import keys

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
    from trelink.trust import keys

    identifier = keys.generate_signer_keypair(out)
    _console.print(
        f"wrote {keys.private_key_path(out)} (0600) and {keys.public_key_path(out)} "
        f"(Ed25519, key id {identifier})"
    )


@keys_app.command("id")
def keys_id(
    files: Annotated[list[Path], typer.Argument(help="Key files to identify.")],
) -> None:
    """Print the kind and key id of key files (never the key itself)."""
    from trelink.trust import keys

    for path in files:
        kind, identifier = keys.describe_key_file(path)
        _console.print(f"{path}: {kind}, key id {identifier}")


@contextmanager
def _steps(title: str) -> Iterator[Status]:
    with note_console().status(title) as status:  # stderr: stdout is for results
        yield status


def _print_risk(risk: RiskReport) -> None:
    if not risk.tokens and risk.k_anonymity is None:
        return
    table = Table(title="token frequency risk", show_lines=False)
    for heading in ("column", "rows", "distinct", "top share", "entropy"):
        table.add_column(heading, justify="left" if heading == "column" else "right")
    for token in risk.tokens:
        if token.rows_with_value:
            table.add_row(
                token.column,
                f"{token.rows_with_value:,}",
                f"{token.cardinality:,}",
                f"{token.max_share:.2%}",
                f"{token.entropy:.3f}",
            )
    if risk.tokens:
        _console.print(table)
    if risk.k_anonymity is not None:
        found = risk.k_anonymity
        _console.print(
            f"k-anonymity on {', '.join(found.quasi_identifiers)}: {found.classes:,} groups, "
            f"smallest {found.smallest_class:,}, rows in groups below k={risk.limits.min_k}: "
            f"{found.rows_below_limit:,}"
        )
    for warning in risk.warnings:
        _console.print(f"[yellow]warning:[/] {warning}")


def pseudonymise_command(
    in_: Annotated[Path, typer.Option("--in", help="Canonical extract (.parquet or .csv).")],
    linkage_key: Annotated[Path, typer.Option(help="Project linkage secret (from the custodian).")],
    owner_key: Annotated[Path, typer.Option(help="The owner's own secret, for record pids.")],
    out: Annotated[Path, typer.Option(help="Directory to create.")],
    spec: Annotated[
        Path | None, typer.Option(help="Pseudonymise spec: column mapping, drops, risk limits.")
    ] = None,
) -> None:
    """Replace identifiers with keyed tokens; write identity, attributes, lookup, manifest."""
    from pseudonymise.canonical import read_canonical
    from pseudonymise.spec import PseudonymiseSpec, load_pseudonymise_spec
    from pseudonymise.tables import pseudonymise_table, write_pseudonymised
    from trelink.trust import keys

    settings = load_pseudonymise_spec(spec) if spec is not None else PseudonymiseSpec(version=1)
    match_key_spec = settings.match_key_spec(relative_to=spec.parent if spec else None)
    linkage_secret = keys.load_secret(linkage_key)
    owner_secret = keys.load_secret(owner_key)
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(
            f"{out} is an existing file; --out names a directory to create", param_hint="--out"
        )
    if out.exists() and any(out.iterdir()):
        raise typer.BadParameter(f"{out} already exists and is not empty", param_hint="--out")
    with _steps("reading the extract") as status:
        canonical = read_canonical(
            in_,
            columns=settings.columns,
            identifiers=settings.identifiers,
            date_formats=settings.date_formats,
            values=settings.values,
            attribute_lists=settings.attribute_lists(),
            spec_source=None if spec is None else str(spec),
        )
        tables = pseudonymise_table(
            canonical,
            linkage_key=linkage_secret,
            owner_key=owner_secret,
            spec=match_key_spec,
            options=settings,
            progress=lambda step: status.update(f"pseudonymising: {step}"),
            spec_source=None if spec is None else str(spec),
        )
        status.update("writing")
        write_pseudonymised(tables, out)
    rows = tables.manifest["rows"]
    if tables.identity is None:
        _console.print(
            f"wrote {out}: event table, {rows['attributes']:,} attribute rows keyed by record "
            f"pid, lookup of {rows['lookup']:,} (keep lookup.parquet with the owner)"
        )
    else:
        _console.print(
            f"wrote {out}: {rows['identity']:,} identity rows, {rows['attributes']:,} "
            f"attribute rows, lookup of {rows['lookup']:,} (keep lookup.parquet with the "
            f"owner); linkage key id {tables.manifest['linkage_key_id']}"
        )
    for problem in canonical.problems:
        _console.print(
            f"[yellow]{escape(canonical.source)}:[/] "
            f"{escape(problem.describe(canonical.table.num_rows))}"
        )
    for column in canonical.empty_identifiers:
        _console.print(
            f"[yellow]warning:[/] {escape(canonical.source)}: identifier column {column!r} is "
            "empty in every row (or every value was invalid), so no record can link on it; "
            "check the file and the column the spec names for it"
        )
    for column, count in tables.manifest["invalid_values"].items():
        if column not in canonical.invalid:  # those read as null are described above
            _console.print(
                f"{column}: {count:,} invalid or placeholder value(s) treated as missing"
            )
    _print_risk(tables.risk)


def package_command(
    directory: Annotated[Path, typer.Argument(help="Output directory of `trelink pseudonymise`.")],
    recipient: Annotated[Path, typer.Option(help="The TRE's public key (PREFIX.public.pem).")],
    signing_key: Annotated[Path, typer.Option(help="The owner's Ed25519 private key.")],
    out: Annotated[Path, typer.Option(help="Package file to write (.tlp).")],
) -> None:
    """Sign and encrypt a pseudonymised extract for the TRE; never includes the lookup."""
    if out.exists():
        raise typer.BadParameter(f"{out} already exists", param_hint="--out")
    from pseudonymise.package import build_package
    from trelink.trust import keys

    public = keys.load_recipient_public_key(recipient)
    signer = keys.load_signing_private_key(signing_key)
    with _steps("checking members for identifiers, signing and encrypting"):
        manifest = build_package(directory, recipient=public, signing_key=signer, out=out)
    members = ", ".join(
        f"{member['name']} ({member['size']:,} bytes)" for member in manifest["members"]
    )
    _console.print(
        f"wrote {out}: {members}; for recipient {manifest['recipient_key_id']}, "
        f"signed by {manifest['signer_key_id']}"
    )


def register(app: typer.Typer) -> None:
    """Add the owner's and key custodian's commands to ``app``."""
    app.add_typer(keys_app)
    app.command("pseudonymise")(pseudonymise_command)
    app.command("package")(package_command)
