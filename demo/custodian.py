"""The key custodian's step: every key the demonstration's parties need.

The custodian makes the project linkage secret (shared with the owners only) and the
TRE's HPKE recipient pair (the TRE keeps the private half); each party's signing pair
is made here for convenience, as each party would make its own in practice. Owners make
their own secrets in ``demo.owners``.
"""

from __future__ import annotations

from dataclasses import dataclass

from demo.layout import OWNERS, DemoLayout
from pseudonymise import generate_recipient_keypair, generate_secret, generate_signer_keypair

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
    (layout.custodian / "signers").mkdir(parents=True, exist_ok=True)
    linkage = generate_secret(layout.linkage_secret)
    recipient = generate_recipient_keypair(layout.tre_recipient)
    parties = [owner.name for owner in OWNERS] + [*CHECKERS, RESEARCHER, ADMINISTRATOR]
    signers = {party: generate_signer_keypair(layout.signer(party)) for party in parties}
    return KeyIds(linkage=linkage, recipient=recipient, signers=signers)
