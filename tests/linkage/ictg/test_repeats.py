"""ICTG returns that repeat a URN, from the generator through the owner's steps to the spine.

A URN is one child. The owner pseudonymises the referral table with the dataset spec's
``unique_record_id: false``; the TRE (from folders or from its database) merges the
rows of one record_pid into one linkage record, so the spine holds every URN once, as
one person. A dataset that should be unique is still refused when its ids repeat.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from linkage import LinkJob, database_sources, folder_source, link_datasets
from linkage.errors import InputTableError
from linkage.inputs import DatasetSource
from pseudonymise import PseudonymiseSpec
from pseudonymise.prepare import prepare_source
from pseudonymise.tables import pseudonymise_table, write_pseudonymised
from trelink.specs.dataset import dataset_spec_path, load_dataset_spec
from trelink.synth.generate import generate
from trelink.synth.rates import REALISTIC_ICTG_REPEATS

from ..conftest import import_into_tre

pytestmark = pytest.mark.slow
JOB = LinkJob(datasets=("nrm", "ictg"))


@dataclass(frozen=True)
class Owned:
    """The owners' pseudonymised folders, the TRE database, and the truth by pid."""

    folders: dict[str, Path]
    database: Path
    truth: Path  # dataset, record_pid, person_id; one row per record pid
    referral_rows: int
    referral_urns: int


def _pseudonymise(root: Path, source: str, linkage_key: bytes, owner_key: bytes) -> Path:
    spec = load_dataset_spec(dataset_spec_path(source))
    prepared = prepare_source(spec, root / "raw")
    table = next(table for table in spec.tables if table.kind == "identity")
    tokens = pseudonymise_table(
        prepared.tables[table.name],
        linkage_key=linkage_key,
        owner_key=owner_key,
        options=PseudonymiseSpec(version=1, unique_record_id=table.unique_record_id),
        workers=1,
    )
    return write_pseudonymised(tokens, root / source)


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> Owned:
    root = tmp_path_factory.mktemp("ictg_repeats")
    generate(
        root / "raw", seed=5, scale=0.05, only=["nrm", "ictg"], ictg_repeats=REALISTIC_ICTG_REPEATS
    )
    linkage_key, owner_key = os.urandom(32), os.urandom(32)
    folders = {
        source: _pseudonymise(root, source, linkage_key, owner_key) for source in ("nrm", "ictg")
    }
    database = import_into_tre(root, folders)
    truth = root / "truth.parquet"
    lookups = " UNION ALL ".join(
        f"SELECT '{source}' AS dataset, record_id, record_pid FROM read_parquet('{folder}/"
        "lookup.parquet')"
        for source, folder in folders.items()
    )
    duckdb.execute(
        "COPY (SELECT DISTINCT t.dataset, l.record_pid, t.person_id FROM read_parquet("
        f"'{root}/raw/truth/records.parquet') t JOIN ({lookups}) l USING (dataset, record_id)) "
        f"TO '{truth}' (FORMAT parquet)"
    )
    record_ids = pq.read_table(folders["ictg"] / "lookup.parquet")
    return Owned(
        folders=folders,
        database=database,
        truth=truth,
        referral_rows=pq.read_metadata(folders["ictg"] / "identity.parquet").num_rows,
        referral_urns=record_ids.num_rows,
    )


def _sources(owned: Owned, where: str) -> list[DatasetSource]:
    if where == "database":
        return database_sources(owned.database, JOB.datasets)
    return [folder_source(owned.folders[name]) for name in JOB.datasets]


def test_the_generated_returns_repeat_urns(owned: Owned) -> None:
    # Precondition of the tests below: copies and re-entries share a URN.
    assert owned.referral_rows > owned.referral_urns + 5
    truth = pq.read_table(owned.truth).to_pandas()
    ictg = truth[truth["dataset"] == "ictg"]
    # One true child per URN (URNs prepare made up for rows without one have no truth).
    assert not ictg["record_pid"].duplicated().any()
    assert len(ictg) > owned.referral_urns * 0.8


@pytest.mark.parametrize("where", ["folders", "database"])
def test_repeated_urns_link_and_cluster_as_one_person_each(
    owned: Owned, where: str, tmp_path: Path
) -> None:
    result = link_datasets(
        _sources(owned, where),
        out_dir=tmp_path / "link",
        job=JOB,
        truth_path=owned.truth,
        show_progress=False,
    )
    assert result.records["ictg"] == owned.referral_urns
    # The run says what it merged, on the command line and in the report.
    merged = [note for note in result.notes if "'ictg'" in note and "merged" in note]
    assert len(merged) == 1 and "(the owner declared repeated record ids)" in merged[0]
    report = (tmp_path / "link" / "report.html").read_text(encoding="utf-8")
    assert "rows repeat a record_pid and were merged" in report

    clusters = pq.read_table(tmp_path / "link" / "clusters.parquet").to_pandas()
    assert not clusters.duplicated(["dataset", "record_pid"]).any()
    ictg = clusters[clusters["dataset"] == "ictg"]
    lookup = pq.read_table(owned.folders["ictg"] / "lookup.parquet").to_pandas()
    assert set(ictg["record_pid"]) == set(lookup["record_pid"])

    pairs = pq.read_table(tmp_path / "link" / "pairs.parquet")
    assert {"dataset_l", "record_pid_l", "dataset_r", "record_pid_r", "match_probability"} <= set(
        pairs.column_names
    )
    # Every URN is one record, so no pair joins a URN to itself.
    same = pc.and_(
        pc.equal(pairs.column("dataset_l"), pairs.column("dataset_r")),
        pc.equal(pairs.column("record_pid_l"), pairs.column("record_pid_r")),
    )
    assert pc.sum(same.cast(pa.int64())).as_py() in (0, None)

    # Two small datasets train a weak model: without repeats (same seed and scale) the
    # run gives precision 0.98, recall 0.70. Repeats must not cost more than that.
    assert result.metrics is not None
    assert result.metrics.overall.precision > 0.95
    assert result.metrics.overall.recall > 0.65


def test_repeated_ids_in_a_dataset_that_must_be_unique_are_refused(
    owned: Owned, tmp_path: Path
) -> None:
    # An NRM folder whose identity rows repeat although its manifest (unique record ids,
    # as pseudonymise wrote it) does not declare repeats.
    folder = shutil.copytree(owned.folders["nrm"], tmp_path / "nrm")
    identity = pq.read_table(folder / "identity.parquet")
    pq.write_table(pa.concat_tables([identity, identity.slice(0, 3)]), folder / "identity.parquet")
    with pytest.raises(InputTableError, match=r"dataset 'nrm'.*3 duplicate record_pid values"):
        link_datasets(
            [folder_source(folder), folder_source(owned.folders["ictg"])],
            out_dir=tmp_path / "link",
            job=JOB,
            show_progress=False,
        )
    assert not (tmp_path / "link").exists()
