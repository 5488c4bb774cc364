"""The key custodian's step: every key the demonstration's parties need, handed over.

The custodian makes the project linkage secret (for the owners only) and the TRE's HPKE
recipient pair, whose private half goes to the TRE and whose public half it publishes
to the owners. Each party's signing pair is made straight into that party's folder (in
practice each party makes its own), and the owners' public signing keys are copied to
the TRE, which trusts them. Owners make their own secrets in ``demo.owners``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from pseudonymise import (
    generate_recipient_keypair,
    generate_secret,
    generate_signer_keypair,
    public_key_path,
)
from trelink.demo.layout import OWNERS, DemoLayout

__all__ = ["ADMINISTRATOR", "CHECKERS", "RESEARCHER", "KeyIds", "make_keys"]

CHECKERS: tuple[str, ...] = ("checker_1", "checker_2")
RESEARCHER = "researcher"
ADMINISTRATOR = "administrator"


@dataclass(frozen=True)
class KeyIds:
    """Key ids (fingerprints, never key material) of what was made."""

    linkage: str
    recipient: str
    signers: dict[str, str]


def make_keys(layout: DemoLayout) -> KeyIds:
    """Write the linkage secret, the TRE recipient pair and every signer pair."""
    parties = [owner.name for owner in OWNERS] + [*CHECKERS, RESEARCHER, ADMINISTRATOR]
    for folder in (
        layout.custodian,
        layout.published_recipient.parent,
        layout.tre_recipient.parent,
        *(layout.signer(party).parent for party in parties),
        layout.trusted_signer(OWNERS[0].name).parent,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    linkage = generate_secret(layout.linkage_secret)
    recipient = generate_recipient_keypair(layout.tre_recipient)
    shutil.copyfile(public_key_path(layout.tre_recipient), layout.published_recipient)
    signers = {party: generate_signer_keypair(layout.signer(party)) for party in parties}
    for owner in OWNERS:
        shutil.copyfile(
            public_key_path(layout.signer(owner.name)), layout.trusted_signer(owner.name)
        )
    return KeyIds(linkage=linkage, recipient=recipient, signers=signers)
