"""Shared fixtures for linkage tests: small tokenised extracts from the generator.

The generator writes two canonical extracts sharing half their people, with truth;
the owner's own pseudonymisation API tokenises them exactly as a data owner would,
and the truth is mapped from record ids to record pids through the owners' lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from linkage.evaluate import truth_by_record_pid
from pseudonymise import pseudonymise_table, write_pseudonymised
from synth import write_benchmark_extracts

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


@pytest.fixture(scope="session")
def tokenised_pair(tmp_path_factory: pytest.TempPathFactory) -> TokenisedPair:
    """1,500 records per side, about 750 true pairs."""
    return tokenise_extracts(tmp_path_factory.mktemp("tokenised"), records=1500, seed=7)
