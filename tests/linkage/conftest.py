"""Shared fixtures for linkage tests: small tokenised extracts from the generator.

The generator writes two canonical extracts sharing half their people, with truth;
the owner's own pseudonymisation API tokenises them exactly as a data owner would,
and the truth is mapped from record ids to record pids through the owners' lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from linkage.evaluate import truth_by_record_pid
from linkage.importer import import_package
from pseudonymise import pseudonymise_table, write_pseudonymised
from pseudonymise.package import build_package
from trelink.synth import write_benchmark_extracts
from trelink.trust import keys

LINKAGE_KEY = bytes(range(32))
OWNER_KEY = bytes(range(32, 64))


@dataclass(frozen=True)
class TokenisedPair:
    """Two pseudonymised folders (``left``, ``right``) and their truth by record pid."""

    left: Path
    right: Path
    truth: Path


def tokenise_extracts(root: Path, *, records: int, seed: int) -> TokenisedPair:
    """Generate, pseudonymise and map truth for ``records`` per side under ``root``."""
    extracts = write_benchmark_extracts(root / "raw", n_records=records, overlap=0.5, seed=seed)
    folders = {}
    for side, path in (("left", extracts.left), ("right", extracts.right)):
        tables = pseudonymise_table(
            pq.read_table(path), linkage_key=LINKAGE_KEY, owner_key=OWNER_KEY
        )
        folders[side] = write_pseudonymised(tables, root / side)
    truth = truth_by_record_pid(
        extracts.truth,
        {side: folder / "lookup.parquet" for side, folder in folders.items()},
        root / "truth.parquet",
    )
    return TokenisedPair(left=folders["left"], right=folders["right"], truth=truth)


def import_into_tre(root: Path, folders: Mapping[str, Path]) -> Path:
    """Package each pseudonymised folder as its owner would and import it into a new TRE
    database under ``root``, as the dataset named by its key; return the database.

    The TRE's recipient pair and the owner's signing pair are made fresh under ``root``.
    """
    keys.generate_recipient_keypair(root / "tre")
    keys.generate_signer_keypair(root / "owner")
    recipient = keys.load_recipient_public_key(keys.public_key_path(root / "tre"))
    signer = keys.load_signing_private_key(keys.private_key_path(root / "owner"))
    database = root / "tre.duckdb"
    for dataset, folder in folders.items():
        package = root / f"{dataset}.tlp"
        build_package(folder, recipient=recipient, signing_key=signer, out=package)
        import_package(
            package,
            private_key=keys.private_key_path(root / "tre"),
            trust=keys.public_key_path(root / "owner"),
            db=database,
            dataset=dataset,
        )
    return database


@pytest.fixture(scope="session")
def tokenised_pair(tmp_path_factory: pytest.TempPathFactory) -> TokenisedPair:
    """1,500 records per side, about 750 true pairs."""
    return tokenise_extracts(tmp_path_factory.mktemp("tokenised"), records=1500, seed=7)
