"""Clerical review outside the TRE: ``review-reidentify`` (data owner), ``review-sheet``
and ``review-sign`` (the reviewer). See ``pseudonymise.review``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trelink.console import result_console
from trelink.options import comma_separated, dataset_key_paths

__all__ = ["register"]

_console = result_console()


def review_reidentify_command(
    request: Annotated[Path, typer.Argument(help="The TRE's sealed request for your dataset.")],
    private_key: Annotated[Path, typer.Option(help="Your HPKE private key.")],
    tre_key: Annotated[Path, typer.Option(help="The TRE's Ed25519 public key.")],
    lookup: Annotated[Path, typer.Option(help="Your lookup.parquet from `trelink pseudonymise`.")],
    extract: Annotated[
        Path, typer.Option(help="The canonical extract you pseudonymised (.parquet or .csv).")
    ],
    reviewer: Annotated[Path, typer.Option(help="The reviewer's HPKE public key.")],
    signing_key: Annotated[Path, typer.Option(help="Your Ed25519 private key.")],
    out: Annotated[Path, typer.Option(help="Sealed part to write for the reviewer.")],
    fields: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated columns to show the reviewer (default: the identifier "
            "columns present, e.g. forename, surname, dob, sex, postcode)."
        ),
    ] = None,
    id_column: Annotated[str, typer.Option(help="The extract's record id column.")] = "record_id",
) -> None:
    """Re-identify your side of the review pack's pairs, sealed for the reviewer."""
    from pseudonymise.review import reidentify_request
    from trelink.trust import keys

    part = reidentify_request(
        request,
        private_key=keys.load_recipient_private_key(private_key),
        tre_trust=keys.load_signing_public_key(tre_key),
        lookup=lookup,
        extract=extract,
        reviewer=keys.load_recipient_public_key(reviewer),
        signing_key=keys.load_signing_private_key(signing_key),
        out=out,
        fields=comma_separated(fields),
        id_column=id_column,
    )
    _console.print(
        f"wrote {part.out}: {part.records:,} record(s) of dataset {part.dataset} for review "
        f"pack {part.pack_id}, fields {', '.join(part.fields)}; send it to the reviewer"
    )


def review_sheet_command(
    evidence: Annotated[Path, typer.Argument(help="The TRE's sealed evidence file.")],
    parts: Annotated[list[Path], typer.Argument(help="Each data owner's sealed part.")],
    private_key: Annotated[Path, typer.Option(help="Your (the reviewer's) HPKE private key.")],
    tre_key: Annotated[Path, typer.Option(help="The TRE's Ed25519 public key.")],
    owner: Annotated[
        list[str],
        typer.Option(
            "--owner", help="DATASET=PUBLIC_KEY: each owner's Ed25519 public key (repeatable)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder to create for the sheet and page.")],
) -> None:
    """Verify and join the pack: write decisions.csv to fill in and review.html to read."""
    from pseudonymise.review import ReviewError, open_review
    from trelink.trust import keys

    paths = dataset_key_paths(owner, refuse=ReviewError)
    owners = {dataset: keys.load_signing_public_key(path) for dataset, path in paths.items()}
    opened = open_review(
        evidence,
        parts,
        private_key=keys.load_recipient_private_key(private_key),
        tre_trust=keys.load_signing_public_key(tre_key),
        owners=owners,
        out=out,
    )
    _console.print(
        f"wrote {opened.out}/decisions.csv and review.html: {opened.pairs:,} pairs of pack "
        f"{opened.pack_id}. Fill the decision column (match, non-match, unsure), then run "
        "`trelink review-sign`"
    )


def review_sign_command(
    review_dir: Annotated[Path, typer.Argument(help="The folder `trelink review-sheet` wrote.")],
    recipient: Annotated[Path, typer.Option(help="The TRE's HPKE public key.")],
    signing_key: Annotated[Path, typer.Option(help="Your (the reviewer's) Ed25519 private key.")],
    out: Annotated[Path, typer.Option(help="Sealed labels file to write for the TRE.")],
    decisions: Annotated[
        Path | None, typer.Option(help="The filled sheet (default: REVIEW_DIR/decisions.csv).")
    ] = None,
) -> None:
    """Sign the decisions into labels for the TRE: pair ids and labels only."""
    from pseudonymise.review import sign_decisions
    from trelink.trust import keys

    signed = sign_decisions(
        review_dir,
        recipient=keys.load_recipient_public_key(recipient),
        signing_key=keys.load_signing_private_key(signing_key),
        out=out,
        decisions=decisions,
    )
    _console.print(
        f"wrote {signed.out} for pack {signed.pack_id}: {signed.matches:,} match, "
        f"{signed.non_matches:,} non-match; {signed.unsure:,} unsure and "
        f"{signed.undecided:,} undecided left out (no names, no notes); send it to the TRE"
    )


def register(app: typer.Typer) -> None:
    """Add the owner's and reviewer's review commands to ``app``."""
    app.command("review-reidentify")(review_reidentify_command)
    app.command("review-sheet")(review_sheet_command)
    app.command("review-sign")(review_sign_command)
