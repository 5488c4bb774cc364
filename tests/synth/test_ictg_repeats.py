"""ICTG copies and re-entries: written at their rates, recorded in truth, found by stages 2-4."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from linkage.ictg import IctgSummary, parquet_sources, write_stages
from pseudonymise.prepare import prepare_source
from trelink.specs.dataset import dataset_spec_path, load_dataset_spec
from trelink.synth.generate import generate
from trelink.synth.ictg import ICTG_REFERRALS
from trelink.synth.ictg_cases import MISSING_GROUP_SHARE
from trelink.synth.ictg_repeats import COPY_KINDS, ENTRIES
from trelink.synth.rates import NO_ICTG_REPEATS, REALISTIC_ICTG_REPEATS

SEED = 11
SCALE = 0.25
REPEATS = REALISTIC_ICTG_REPEATS


@dataclass(frozen=True)
class Run:
    raw: Path
    truth: pd.DataFrame  # truth/ictg_referrals.parquet
    referral: pd.DataFrame  # prepared tables
    monthly: pd.DataFrame
    contact: pd.DataFrame
    summary: IctgSummary


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("ictg_repeats")
    generate(root / "raw", seed=SEED, scale=SCALE, only=["ictg"], ictg_repeats=REPEATS)
    prepared = prepare_source(load_dataset_spec(dataset_spec_path("ictg")), root / "raw")
    paths = {}
    for table, data in prepared.tables.items():
        paths[table] = root / f"{table}.parquet"
        pq.write_table(data, paths[table])
    sources = parquet_sources(
        referral=[paths["referral"]], monthly=[paths["monthly"]], contact=[paths["contact"]]
    )
    summary = write_stages(sources, root / "stages", key="record_id")
    return Run(
        raw=root / "raw",
        truth=pd.read_parquet(root / "raw" / "truth" / "ictg_referrals.parquet"),
        referral=pd.read_parquet(paths["referral"]),
        monthly=pd.read_parquet(paths["monthly"]),
        contact=pd.read_parquet(paths["contact"]),
        summary=summary,
    )


def test_rows_as_received_keep_the_published_total(run: Run) -> None:
    expected = ICTG_REFERRALS * SCALE
    assert abs(len(run.truth) - expected) <= 0.01 * expected
    assert len(run.referral) == len(run.truth)
    missing = (run.referral["group"] == "Missing").sum()
    # The published Missing total counts copies returned there.
    assert (
        abs(missing - MISSING_GROUP_SHARE * expected) <= 4 * (MISSING_GROUP_SHARE * expected) ** 0.5
    )


def test_copies_and_reentries_at_their_rates(run: Run) -> None:
    truth = run.truth
    copies = truth["copy_kind"].notna()
    originals = (~copies).sum()
    assert copies.sum() == pytest.approx(REPEATS.copy * originals, abs=1)
    assert set(truth.loc[copies, "copy_kind"]) == set(COPY_KINDS)
    children = truth["person_id"].nunique()
    reentries = truth[(truth["entry"] != "first") & ~copies]
    assert set(truth["entry"]) == set(ENTRIES)
    assert len(reentries) == pytest.approx(REPEATS.reentry * children, abs=1)
    unrecorded = (reentries["entry"] == "re_entry_closure_unrecorded").sum()
    share = REPEATS.reentry_closure_unrecorded
    assert abs(unrecorded - share * len(reentries)) <= 4 * (share * len(reentries)) ** 0.5 + 1
    # The generator re-refers a child at most once.
    assert reentries["person_id"].is_unique


def test_copies_keep_urn_site_and_date_within_days(run: Run) -> None:
    truth = run.truth[run.truth["urn_recorded"]]
    referral = run.referral.set_index("record_id")
    copied = truth[truth["copy_kind"].notna()]
    blanked_closure = 0
    for urn, episode in zip(copied["record_id"], copied["episode"], strict=True):
        rows = referral.loc[[urn]].sort_values("referral_date")
        # The copy and its original are the rows of that URN close in date (a re-entry
        # comes at least two months after the earlier closure).
        dates = pd.to_datetime(rows["referral_date"])
        near = rows[(dates - dates.iloc[0 if episode == 1 else -1]).abs().dt.days <= 5]
        assert len(near) >= 2
        assert near["site"].nunique() == 1
        blanked_closure += (
            near["closure_reason"].isna().any() & near["closure_reason"].notna().any()
        )
    assert blanked_closure > 0  # closure filled only in the later copy, sometimes


def test_reentries_follow_closure_with_their_own_events(run: Run) -> None:
    truth = run.truth[run.truth["urn_recorded"] & run.truth["copy_kind"].isna()]
    reentered = truth.loc[truth["entry"] != "first", ["record_id", "entry"]]
    assert len(reentered) > 0
    other_site = 0
    for urn, entry in zip(reentered["record_id"], reentered["entry"], strict=True):
        rows = run.referral[run.referral["record_id"] == urn].sort_values("referral_date")
        first, last = rows.iloc[0], rows.iloc[-1]
        earlier = rows[rows["referral_date"] < last["referral_date"] - pd.Timedelta(days=10)]
        closure = earlier["closure_date"].dropna()
        if entry == "re_entry_closure_unrecorded":
            assert closure.empty
        else:
            gap = (last["referral_date"] - closure.min()).days
            assert gap >= REPEATS.reentry_gap_days[0] - 5
        other_site += first["site"] != last["site"]
        months = run.monthly.loc[run.monthly["record_id"] == urn, "month"]
        assert (months >= last["referral_date"].replace(day=1)).any()
    assert 0 < other_site < len(reentered)


def test_monthly_and_contact_rows_copied_into_missing_files(run: Run) -> None:
    for events, identity in ((run.monthly, ["month"]), (run.contact, ["contact_date"])):
        keyed = events.dropna(subset=["record_id"])
        missing = keyed[keyed["group"] == "Missing"][["record_id", *identity]]
        returned = keyed[keyed["group"] != "Missing"][["record_id", *identity]]
        both = missing.merge(returned.drop_duplicates(), on=["record_id", *identity])
        assert len(both) > 0


def test_stages_find_the_copies_and_reentries_of_the_truth(run: Run) -> None:
    truth = run.truth[run.truth["urn_recorded"]]
    copies = truth["copy_kind"].notna().sum()
    first_returns = truth[truth["copy_kind"].isna()]
    reentries = (first_returns["entry"] == "re_entry").sum()
    unclosed = (first_returns["entry"] == "re_entry_closure_unrecorded").sum()
    outcome = run.summary.referral
    assert abs(outcome.duplicate_rows_merged - copies) <= max(2, 0.05 * copies)
    assert abs(outcome.re_entries - reentries) <= max(2, 0.05 * reentries)
    assert abs(outcome.re_entries_unclosed - unclosed) <= max(1, 0.05 * unclosed)
    assert outcome.date_conflicts == 0
    assert outcome.site_conflicts == 0
    assert outcome.episodes == len(first_returns)
    assert run.summary.monthly.duplicates_removed > 0
    assert run.summary.contact.duplicates_removed > 0


def test_repeats_are_deterministic_and_off_by_default(run: Run, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, seed=SEED, scale=SCALE, only=["ictg"], ictg_repeats=REPEATS)
    for path in (run.raw / "ictg").rglob("*.*"):
        assert path.read_bytes() == (again / path.relative_to(run.raw)).read_bytes(), path
    plain = tmp_path / "plain"
    generate(plain, seed=SEED, scale=SCALE, only=["ictg"], ictg_repeats=NO_ICTG_REPEATS)
    truth = pd.read_parquet(plain / "truth" / "ictg_referrals.parquet")
    assert truth["copy_kind"].isna().all() and (truth["entry"] == "first").all()
    assert truth["record_id"].dropna().is_unique


def test_cli_option_writes_repeats(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    import trelink.synth.cli

    app = typer.Typer()
    trelink.synth.cli.register(app)
    app.command("noop")(lambda: None)  # keeps "synth" a sub-command, as in trelink
    out = tmp_path / "raw"
    arguments = ["synth", "--out", str(out), "--scale", "0.1", "--only", "ictg", "--ictg-repeats"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    truth = pd.read_parquet(out / "truth" / "ictg_referrals.parquet")
    assert truth["copy_kind"].notna().any() and (truth["entry"] == "re_entry").any()


@pytest.mark.slow
def test_default_scale_with_repeats_keeps_published_sizes(tmp_path: Path) -> None:
    summary = generate(tmp_path / "full", seed=1, only=["ictg"], ictg_repeats=REPEATS)
    assert abs(summary.rows["ictg/referral"] - ICTG_REFERRALS) <= 5
    missing = sum(
        rows
        for relative, rows in summary.files.items()
        if "referrals" in relative and Path(relative).parts[2] == "Missing"
    )
    assert 40 <= missing <= 130  # published: 81
    truth = pd.read_parquet(tmp_path / "full" / "truth" / "ictg_referrals.parquet")
    copies = truth["copy_kind"].notna()
    assert copies.sum() == pytest.approx(REPEATS.copy * (~copies).sum(), abs=1)
