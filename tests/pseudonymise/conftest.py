"""Fixtures: keys and a small pseudonymised extract, all under tmp_path."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pseudonymise.tables import pseudonymise_table, write_pseudonymised
from trelink.trust import keys


@dataclass(frozen=True)
class OwnerSetup:
    root: Path
    linkage_key: Path
    owner_key: Path
    recipient: Path  # prefix
    signer: Path  # prefix
    extract: Path  # pseudonymise output directory
    frame: pd.DataFrame

    @property
    def recipient_public(self) -> Path:
        return keys.public_key_path(self.recipient)

    @property
    def recipient_private(self) -> Path:
        return keys.private_key_path(self.recipient)

    @property
    def signer_public(self) -> Path:
        return keys.public_key_path(self.signer)

    @property
    def signer_private(self) -> Path:
        return keys.private_key_path(self.signer)


def people(rows: int = 40) -> pd.DataFrame:
    forenames = ["Amira", "Nguyễn", "Tesfay", "Olivia", "Arben", "Mohammed", "Grace", "Daniel"]
    surnames = ["Haile", "Tran", "G/Medhin", "Smith", "Hoxha", "Ali", "Okafor", "O'Brien"]
    return pd.DataFrame(
        {
            "record_id": [f"NRM-{index:05d}" for index in range(rows)],
            "forename": [forenames[index % 8] for index in range(rows)],
            "surname": [surnames[(index * 3) % 8] for index in range(rows)],
            "dob": [
                dt.date(2004 + index % 10, 1 + index % 12, 1 + index % 28) for index in range(rows)
            ],
            "sex": ["F" if index % 2 else "M" for index in range(rows)],
            "postcode": [f"B{1 + index % 30} {index % 10}AB" for index in range(rows)],
            "nationality": [
                ["Vietnam", "Albania", "Eritrea", "UK"][index % 4] for index in range(rows)
            ],
            "referral_date": [
                dt.date(2021, 1 + index % 12, 1 + index % 27) for index in range(rows)
            ],
        }
    )


@pytest.fixture
def owner(tmp_path: Path) -> OwnerSetup:
    keys.generate_secret(tmp_path / "linkage.key")
    keys.generate_secret(tmp_path / "owner.key")
    keys.generate_recipient_keypair(tmp_path / "tre")
    keys.generate_signer_keypair(tmp_path / "owner")
    frame = people()
    tables = pseudonymise_table(
        frame,
        linkage_key=keys.load_secret(tmp_path / "linkage.key"),
        owner_key=keys.load_secret(tmp_path / "owner.key"),
    )
    extract = write_pseudonymised(tables, tmp_path / "extract")
    return OwnerSetup(
        tmp_path,
        tmp_path / "linkage.key",
        tmp_path / "owner.key",
        tmp_path / "tre",
        tmp_path / "owner",
        extract,
        frame,
    )
