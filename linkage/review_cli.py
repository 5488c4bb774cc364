"""The TRE's clerical review commands: ``review-pack`` and ``review-import``.

``trelink review-pack`` seals the held-back and near-threshold pairs of a ``trelink
link`` run for the data owners and the reviewer; ``trelink review-import`` verifies the
reviewer's signed labels and writes them for ``trelink link --labels``. The owner's and
reviewer's steps are in ``pseudonymise.review_cli``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trelink.console import result_console
from trelink.options import comma_separated, dataset_key_paths

__all__ = ["register"]

_console = result_console()


def review_pack_command(
    link_dir: Annotated[Path, typer.Argument(help="Output folder of `trelink link`.")],
    owner: Annotated[
        list[str],
        typer.Option(
            "--owner",
            help="DATASET=PUBLIC_KEY: the owner's HPKE public key for each dataset (repeatable).",
        ),
    ],
    reviewer: Annotated[Path, typer.Option(help="The reviewer's HPKE public key.")],
    signing_key: Annotated[Path, typer.Option(help="The TRE's Ed25519 private key.")],
    out: Annotated[Path, typer.Option(help="Folder to create for the pack.")],
    band: Annotated[
        float,
        typer.Option(help="Near-threshold pairs: within this many bits of match weight."),
    ] = 2.0,
    max_pairs: Annotated[int, typer.Option(help="At most this many pairs in the pack.")] = 1000,
    no_held_back: Annotated[
        bool, typer.Option("--no-held-back", help="Leave the held-back pairs out.")
    ] = False,
    training_share: Annotated[
        float,
        typer.Option(
            help="Share of --max-pairs drawn at random from the pairs away from the "
            "threshold, so the labels can also re-estimate the model (e.g. 0.25; default "
            "0: review only)."
        ),
    ] = 0.0,
    seed: Annotated[
        int | None,
        typer.Option(help="Repeat the choice of pairs (pair ids stay in a random order)."),
    ] = None,
    datasets: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated datasets: only pairs both of whose records are in them."
        ),
    ] = None,
) -> None:
    """Seal the pairs to review: a request per data owner and evidence for the reviewer."""
    from linkage.errors import ClericalReviewError
    from linkage.review_pack import export_review_pack
    from trelink.trust import keys

    paths = dataset_key_paths(owner, refuse=ClericalReviewError)
    owners = {dataset: keys.load_recipient_public_key(path) for dataset, path in paths.items()}
    pack = export_review_pack(
        link_dir,
        out=out,
        owners=owners,
        reviewer=keys.load_recipient_public_key(reviewer),
        signing_key=keys.load_signing_private_key(signing_key),
        band=band,
        max_pairs=max_pairs,
        held_back=not no_held_back,
        training_share=training_share,
        seed=seed,
        datasets=comma_separated(datasets),
    )
    _console.print(
        f"wrote review pack {pack.pack_id} to {out}: {pack.pairs:,} pairs "
        f"({pack.held_back:,} held back, {pack.near_threshold:,} near the threshold, "
        f"{pack.sampled:,} sampled away from it)"
    )
    if training_share > 0 and not pack.probability_sample:
        _console.print(
            "  not a sample of every kind of pair: its labels will fix decisions but not "
            "estimate the model (tre/pack.json says why)"
        )
    for dataset, path in pack.requests.items():
        _console.print(f"  send to the owner of {dataset}: {path}")
    _console.print(f"  send to the reviewer: {pack.evidence}")
    _console.print(f"  keep in the TRE: {pack.record.parent}")


def review_import_command(
    labels: Annotated[Path, typer.Argument(help="The reviewer's sealed labels file.")],
    pack: Annotated[Path, typer.Option(help="The folder `trelink review-pack` wrote.")],
    private_key: Annotated[Path, typer.Option(help="The TRE's HPKE private key.")],
    reviewer_key: Annotated[Path, typer.Option(help="The reviewer's Ed25519 public key.")],
    out: Annotated[Path, typer.Option(help="Labels file to write (.parquet).")],
) -> None:
    """Verify the reviewer's labels against the pack; write them for `link --labels`."""
    from linkage.review_pack import import_labels
    from trelink.trust import keys

    imported = import_labels(
        labels,
        pack_dir=pack,
        private_key=keys.load_recipient_private_key(private_key),
        reviewer=keys.load_signing_public_key(reviewer_key),
        out=out,
    )
    _console.print(
        f"wrote {imported.out}: {imported.matches:,} match and {imported.non_matches:,} "
        f"non-match label(s) for pack {imported.pack_id}; use `trelink link --labels "
        f"{imported.out}`"
    )
    if imported.why_not_training is not None:
        _console.print(
            f"  they will fix decisions but not estimate the model: {imported.why_not_training}"
        )


def register(app: typer.Typer) -> None:
    """Add ``trelink review-pack`` and ``review-import`` to ``app``."""
    app.command("review-pack")(review_pack_command)
    app.command("review-import")(review_import_command)
