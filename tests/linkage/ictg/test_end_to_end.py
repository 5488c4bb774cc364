"""ICTG stages 2-4 on the generator's data: prepared, pseudonymised and imported alike."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from linkage.ictg import IctgSources, IctgSummary, database_sources, parquet_sources, write_stages
from linkage.ictg.inputs import TableName
from pseudonymise.prepare import prepare_source
from pseudonymise.tables import pseudonymise_table, write_pseudonymised
from trelink.specs.dataset import dataset_spec_path, load_dataset_spec
from trelink.synth.generate import generate

from ..conftest import import_into_tre

pytestmark = pytest.mark.slow
TABLES: tuple[TableName, ...] = ("referral", "monthly", "contact")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ictg_e2e")
    generate(root / "raw", seed=5, scale=0.05, only=["ictg"])
    source = prepare_source(load_dataset_spec(dataset_spec_path("ictg")), root / "raw")
    paths: dict[str, Path] = {}
    for table in TABLES:
        paths[table] = root / f"{table}.parquet"
        pq.write_table(source.tables[table], paths[table])
    return paths


@pytest.fixture(scope="module")
def pseudonymised(prepared: dict[str, Path]) -> dict[str, Path]:
    """One pseudonymised folder per table, as the owner writes them (owner key in manifest)."""
    linkage_key, owner_key = os.urandom(32), os.urandom(32)
    folders: dict[str, Path] = {}
    for table, path in prepared.items():
        tables = pseudonymise_table(
            pq.read_table(path), linkage_key=linkage_key, owner_key=owner_key, workers=1
        )
        folders[table] = write_pseudonymised(tables, path.with_name(f"ictg_{table}"))
    return folders


@pytest.fixture(scope="module")
def tre_database(pseudonymised: dict[str, Path]) -> Path:
    """The three folders packaged by the owner and imported into a TRE database."""
    return import_into_tre(
        pseudonymised["referral"].parent,
        {f"ictg_{table}": folder for table, folder in pseudonymised.items()},
    )


def _files(paths: dict[str, Path]) -> IctgSources:
    return parquet_sources(
        referral=[paths["referral"]], monthly=[paths["monthly"]], contact=[paths["contact"]]
    )


def _run(sources: IctgSources, out: Path, key: str) -> IctgSummary:
    return write_stages(sources, out, key=key)


def test_generated_ictg_combines_with_documented_gaps(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    summary = _run(_files(prepared), tmp_path / "out", "record_id")
    referral = pq.read_table(prepared["referral"])
    monthly = pq.read_table(prepared["monthly"])
    dates = referral.column("referral_date")
    early_2020 = pc.and_(
        pc.greater_equal(dates, dt.date(2020, 1, 1)), pc.less_equal(dates, dt.date(2020, 4, 30))
    )
    # The 2020 January-April returns had no URN: exactly those referrals are set aside.
    assert summary.referral.excluded == {"urn_missing": pc.sum(early_2020).as_py()}
    joinable = set(referral.filter(pc.invert(early_2020)).column("record_id").to_pylist())
    assert summary.wide_rows == len(joinable)
    # Monthly returns of children whose referral lost its URN join nothing.
    unmatched = sum(1 for urn in monthly.column("record_id").to_pylist() if urn not in joinable)
    assert summary.monthly.orphans.get("no_referral", 0) == unmatched > 0
    assert summary.monthly.attached + unmatched == monthly.num_rows
    gaps = summary.months_without_returns
    assert {"2019-02", "2019-03"} <= set(gaps["DW"])
    assert {"2018-10", "2018-11", "2018-12", "2019-01", "2019-02", "2019-03"} <= set(gaps["RPC"])
    assert {"2021-07", "2021-08", "2021-09"} <= set(gaps["DW"]) & set(gaps["RPC"])
    wide = pq.read_table(tmp_path / "out" / "wide.parquet")
    assert pc.sum(wide.column("monthly_returns")).as_py() == summary.monthly.attached
    assert pc.sum(wide.column("contacts_total")).as_py() == summary.contact.attached
    # The summary holds counts and months, never a URN.
    text = (tmp_path / "out" / "summary.json").read_text()
    assert not any(urn in text for urn in joinable)


def test_pseudonymised_and_imported_tables_give_the_same_outcome(
    prepared: dict[str, Path],
    pseudonymised: dict[str, Path],
    tre_database: Path,
    tmp_path: Path,
) -> None:
    clear = _run(_files(prepared), tmp_path / "clear", "record_id").to_json()
    attributes = {table: folder / "attributes.parquet" for table, folder in pseudonymised.items()}
    from_folders = _run(_files(attributes), tmp_path / "folders", "record_pid").to_json()
    imported = database_sources(
        tre_database,
        referral=["ictg_referral"],
        monthly=["ictg_monthly"],
        contact=["ictg_contact"],
    )
    from_database = _run(imported, tmp_path / "database", "record_pid").to_json()
    # Naming the imported attributes tables directly reads the same tables.
    by_table = database_sources(
        tre_database,
        referral=["ictg_referral__attributes"],
        monthly=["ictg_monthly__attributes"],
        contact=["ictg_contact__attributes"],
    )
    for table in TABLES:
        (named,) = by_table.of(table)
        (dataset,) = imported.of(table)
        assert (named.relation, named.owner_key_id) == (dataset.relation, dataset.owner_key_id)
        assert dataset.owner_key_id is not None
    assert clear.pop("key") == "record_id"
    for summary in (from_folders, from_database):
        assert summary.pop("key") == "record_pid"
        assert json.dumps(summary, sort_keys=True) == json.dumps(clear, sort_keys=True)
    wide = pq.read_table(tmp_path / "database" / "wide.parquet")
    assert "record_pid" in wide.column_names and "record_id" not in wide.column_names
    assert wide.equals(pq.read_table(tmp_path / "folders" / "wide.parquet"))


def test_injected_copies_and_re_entries_are_told_apart(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    """Late Missing copies of real referrals merge; referrals after closure are re-entries."""
    referral = pq.read_table(prepared["referral"]).to_pandas()
    monthly = pq.read_table(prepared["monthly"]).to_pandas()
    long_open = referral[
        referral["nationality"].notna()
        & (
            referral["closure_date"].isna()
            | (referral["closure_date"] > referral["referral_date"] + dt.timedelta(days=7))
        )
    ]
    copied = long_open.iloc[:20].copy()
    copied["referral_date"] += dt.timedelta(days=3)
    copied["group"] = "Missing"
    closed = long_open[long_open["closure_date"].notna()].iloc[20:35].copy()
    assert len(closed) == 15
    closed["referral_date"] = closed["closure_date"] + dt.timedelta(days=60)
    closed["site"] = "wales"
    closed["closure_date"] = None
    closed["closure_reason"] = None
    late_returns = monthly[monthly["record_id"].isin(copied["record_id"])].copy()
    late_returns["group"] = "Missing"
    paths = dict(prepared)
    paths["referral"] = tmp_path / "referral.parquet"
    paths["monthly"] = tmp_path / "monthly.parquet"
    combined = pd.concat([referral, copied, closed], ignore_index=True)
    combined.to_parquet(paths["referral"])
    pd.concat([monthly, late_returns], ignore_index=True).to_parquet(paths["monthly"])

    baseline = _run(_files(prepared), tmp_path / "baseline", "record_id")
    summary = _run(_files(paths), tmp_path / "out", "record_id")
    assert summary.referral.duplicate_rows_merged == 20
    assert summary.referral.re_entries == 15
    assert summary.referral.re_entries_unclosed == 0
    assert summary.referral.episodes == baseline.referral.episodes + 15
    assert summary.wide_rows == baseline.wide_rows
    assert summary.monthly.duplicates_removed == len(late_returns)
    assert summary.monthly.attached == baseline.monthly.attached
