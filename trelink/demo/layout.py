"""Where every artefact of a demonstration run lives, one folder per party.

Each party's folder holds only what that party would hold: the key custodian's linkage
secret and the public keys it publishes; each owner's own secret, signing pair,
canonical tables, pseudonymised output (with its lookup) and packages; the TRE's private
key, trusted owner keys, database, ICTG tables, linkage outputs and analyses; each
person's signing pair under ``people/``; the export area of output checking; the
released outbox; and, apart from all of them, the synthetic world (raw extracts and
truth) and the evaluation that uses the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["OWNERS", "DemoLayout", "Owner"]


@dataclass(frozen=True)
class Owner:
    """A data owner and the sources (synth extracts) it holds."""

    name: str
    title: str
    sources: tuple[str, ...]


OWNERS: tuple[Owner, ...] = (
    Owner("home_office", "Home Office (NRM, ICTG)", ("nrm", "ictg")),
    Owner("education", "Department for Education", ("education",)),
    Owner("health", "NHS England", ("health",)),
    Owner("justice", "Ministry of Justice", ("justice",)),
)


@dataclass(frozen=True)
class DemoLayout:
    """Paths of one demonstration run rooted at ``root``."""

    root: Path

    # The synthetic world: every owner's raw extract plus the truth (evaluation only).
    @property
    def world(self) -> Path:
        return self.root / "synthetic"

    @property
    def truth(self) -> Path:
        return self.world / "truth"

    @property
    def custodian(self) -> Path:
        return self.root / "custodian"

    @property
    def linkage_secret(self) -> Path:
        return self.custodian / "linkage.secret"

    @property
    def tre_recipient(self) -> Path:
        """Prefix of the TRE's HPKE pair, handed to the TRE (``.private.pem``/``.public.pem``)."""
        return self.tre / "keys" / "recipient"

    @property
    def published_recipient(self) -> Path:
        """The TRE's public key as the custodian publishes it to the owners."""
        return self.custodian / "published" / "tre_recipient.public.pem"

    def signer(self, party: str) -> Path:
        """Prefix of a party's Ed25519 pair, kept by that party: an owner, a checker, the
        researcher or the export area's administrator."""
        if any(owner.name == party for owner in OWNERS):
            return self.owner(party) / "keys" / "signer"
        return self.root / "people" / party / "signer"

    def trusted_signer(self, owner: str) -> Path:
        """An owner's public signing key as the TRE trusts it."""
        return self.tre / "trusted" / f"{owner}.public.pem"

    def owner(self, owner: str) -> Path:
        return self.root / "owners" / owner

    def owner_secret(self, owner: str) -> Path:
        return self.owner(owner) / "owner.secret"

    def raw(self, source: str) -> Path:
        return self.world / source

    def prepared(self, owner: str, source: str) -> Path:
        """Canonical Parquet (a directory of tables for ICTG)."""
        if source == "ictg":
            return self.owner(owner) / "prepared" / "ictg"
        return self.owner(owner) / "prepared" / f"{source}.parquet"

    def pseudonymised(self, owner: str, dataset: str) -> Path:
        return self.owner(owner) / "pseudonymised" / dataset

    def package(self, owner: str, dataset: str) -> Path:
        return self.owner(owner) / "packages" / f"{dataset}.tlp"

    @property
    def tre(self) -> Path:
        return self.root / "tre"

    @property
    def inbox(self) -> Path:
        """Packages as the TRE received them."""
        return self.tre / "inbox"

    @property
    def database(self) -> Path:
        return self.tre / "tre.duckdb"

    @property
    def ictg(self) -> Path:
        return self.tre / "ictg"

    @property
    def linkage(self) -> Path:
        return self.tre / "linkage"

    @property
    def analyses(self) -> Path:
        """The researcher's protected outputs (tables, decision records, models)."""
        return self.tre / "analyses"

    @property
    def export_area(self) -> Path:
        return self.tre / "export"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def evaluation(self) -> Path:
        return self.root / "evaluation"

    @property
    def summary(self) -> Path:
        return self.root / "summary.html"
