"""ICTG stages 2-4: the duplicate, re-entry and attachment rules on hand-built tables."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage.errors import KeyMismatchError, LinkageError
from linkage.ictg import (
    IctgInputError,
    IctgRules,
    IctgSummary,
    build_stages,
    default_codes,
    parquet_sources,
    write_stages,
)

D = dt.date
# Loaded once: parsing the spec costs more than a small run of the stages.
CODES = default_codes()

_SCHEMAS: dict[str, list[tuple[str, pa.DataType]]] = {
    "referral": [
        ("nationality", pa.string()),
        ("site", pa.string()),
        ("referral_date", pa.date32()),
        ("exploitation_types", pa.list_(pa.string())),
        ("worker_type", pa.string()),
        ("closure_date", pa.date32()),
        ("closure_reason", pa.string()),
        ("moved_on_service", pa.string()),
        ("period", pa.string()),
        ("group", pa.string()),
    ],
    "monthly": [
        ("month", pa.date32()),
        ("status", pa.string()),
        ("missing_episodes", pa.int64()),
        ("placement_type", pa.string()),
        ("period", pa.string()),
        ("group", pa.string()),
    ],
    "contact": [
        ("contact_date", pa.date32()),
        ("contact_type", pa.string()),
        ("contact_subject", pa.string()),
        ("period", pa.string()),
        ("group", pa.string()),
    ],
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "referral": {
        "nationality": "albanian",
        "site": "croydon",
        "exploitation_types": ["criminal"],
        "worker_type": "dw",
        "period": "2017-2019",
        "group": "DW",
    },
    "monthly": {"status": "open", "missing_episodes": 0, "period": "2017-2019", "group": "DW"},
    "contact": {
        "contact_type": "telephone",
        "contact_subject": "health",
        "period": "2017-2019",
        "group": "DW",
    },
}


def _write(
    folder: Path, table: str, rows: Sequence[dict[str, Any]], *, key: str = "record_pid"
) -> Path:
    schema = pa.schema([(key, pa.string()), *_SCHEMAS[table]])
    full = [{**_DEFAULTS[table], **row} for row in rows]
    path = folder / f"{table}.parquet"
    pq.write_table(pa.Table.from_pylist(full, schema=schema), path)
    return path


def _build(
    folder: Path,
    referral: Sequence[dict[str, Any]],
    monthly: Sequence[dict[str, Any]] = (),
    contact: Sequence[dict[str, Any]] = (),
    *,
    rules: IctgRules | None = None,
) -> tuple[duckdb.DuckDBPyConnection, IctgSummary]:
    # Every table needs a row: a child "zz" nobody asks about keeps events non-empty.
    filler_ref = {"record_pid": "zz", "referral_date": D(2018, 1, 1)}
    filler_month = {"record_pid": "zz", "month": D(2018, 1, 1)}
    filler_contact = {"record_pid": "zz", "contact_date": D(2018, 1, 2)}
    sources = parquet_sources(
        referral=[_write(folder, "referral", [*referral, filler_ref])],
        monthly=[_write(folder, "monthly", [*monthly, filler_month])],
        contact=[_write(folder, "contact", [*contact, filler_contact])],
    )
    connection = duckdb.connect()
    summary = build_stages(
        connection, sources, rules=rules or IctgRules(end_of_data=D(2021, 12, 31)), codes=CODES
    )
    return connection, summary


def _rows(
    connection: duckdb.DuckDBPyConnection, table: str, columns: str, where: str = "true"
) -> list[tuple[Any, ...]]:
    return connection.sql(
        f"SELECT {columns} FROM ictg_{table} WHERE record_pid IS DISTINCT FROM 'zz' AND {where}"
    ).fetchall()


# (case, referral rows of child "a", expected (episode, entry, flags) per episode)
EPISODE_CASES = [
    (
        "same dates and site in DW and Missing: one episode",
        [
            {"record_pid": "a", "referral_date": D(2019, 1, 1)},
            {"record_pid": "a", "referral_date": D(2019, 1, 3), "group": "Missing"},
        ],
        [(1, "first", D(2019, 1, 1), ["DW", "Missing"], False, False)],
    ),
    (
        "copies exactly at the duplicate window stay one episode",
        [
            {"record_pid": "a", "referral_date": D(2019, 1, 1)},
            {"record_pid": "a", "referral_date": D(2019, 1, 8), "group": "RPC"},
        ],
        [(1, "first", D(2019, 1, 1), ["DW", "RPC"], False, False)],
    ),
    (
        "near dates at two sites: one episode, site conflict flagged",
        [
            {"record_pid": "a", "referral_date": D(2019, 1, 1), "site": "wales"},
            {"record_pid": "a", "referral_date": D(2019, 1, 2), "group": "Missing"},
        ],
        [(1, "first", D(2019, 1, 1), ["DW", "Missing"], True, False)],
    ),
    (
        "referral after closure: genuine re-entry, other site allowed",
        [
            {
                "record_pid": "a",
                "referral_date": D(2019, 1, 1),
                "closure_date": D(2019, 3, 1),
            },
            {"record_pid": "a", "referral_date": D(2019, 4, 1), "site": "wales"},
        ],
        [
            (1, "first", D(2019, 1, 1), ["DW"], False, False),
            (2, "re_entry", D(2019, 4, 1), ["DW"], False, False),
        ],
    ),
    (
        "closed and referred again within the window: re-entry, not a copy",
        [
            {
                "record_pid": "a",
                "referral_date": D(2019, 1, 1),
                "closure_date": D(2019, 1, 2),
            },
            {"record_pid": "a", "referral_date": D(2019, 1, 5)},
        ],
        [
            (1, "first", D(2019, 1, 1), ["DW"], False, False),
            (2, "re_entry", D(2019, 1, 5), ["DW"], False, False),
        ],
    ),
    (
        "a month apart without closure: one episode, date conflict flagged",
        [
            {"record_pid": "a", "referral_date": D(2019, 1, 1)},
            {"record_pid": "a", "referral_date": D(2019, 2, 1), "group": "Missing"},
        ],
        [(1, "first", D(2019, 1, 1), ["DW", "Missing"], False, True)],
    ),
    (
        "far apart without closure: re-entry flagged unclosed",
        [
            {"record_pid": "a", "referral_date": D(2019, 1, 1)},
            {"record_pid": "a", "referral_date": D(2019, 9, 1)},
        ],
        [
            (1, "first", D(2019, 1, 1), ["DW"], False, False),
            (2, "re_entry_unclosed", D(2019, 9, 1), ["DW"], False, False),
        ],
    ),
    (
        "closed after the later referral: an overlap, not a closure",
        [
            {
                "record_pid": "a",
                "referral_date": D(2019, 1, 1),
                "closure_date": D(2019, 12, 1),
            },
            {"record_pid": "a", "referral_date": D(2019, 9, 1)},
        ],
        [
            (1, "first", D(2019, 1, 1), ["DW"], False, False),
            (2, "re_entry_unclosed", D(2019, 9, 1), ["DW"], False, False),
        ],
    ),
]


@pytest.mark.parametrize(
    ("referral", "expected"),
    [case[1:] for case in EPISODE_CASES],
    ids=[case[0] for case in EPISODE_CASES],
)
def test_episode_rules(
    tmp_path: Path, referral: list[dict[str, Any]], expected: list[tuple[Any, ...]]
) -> None:
    connection, _ = _build(tmp_path, referral)
    assert (
        _rows(
            connection,
            "referral",
            "episode, entry, referral_date, source_groups, site_conflict, date_conflict",
            "record_pid = 'a' ORDER BY episode",
        )
        == expected
    )


def test_conflicting_fields_come_from_the_preferred_copy(tmp_path: Path) -> None:
    connection, summary = _build(
        tmp_path,
        [
            # Missing is later and complete, but DW/RPC returns win conflicts.
            {
                "record_pid": "a",
                "referral_date": D(2019, 1, 2),
                "nationality": "vietnamese",
                "closure_date": D(2019, 5, 1),
                "closure_reason": "other",
                "group": "Missing",
                "period": "2020",
            },
            {
                "record_pid": "a",
                "referral_date": D(2019, 1, 1),
                "nationality": "albanian",
                "closure_reason": None,
            },
        ],
    )
    row = _rows(
        connection,
        "referral",
        "referral_date, nationality, closure_date, closure_reason, conflicting_fields",
    )
    # A null in the preferred DW copy does not hide the Missing copy's closure.
    assert row == [
        (D(2019, 1, 1), "albanian", D(2019, 5, 1), "other", ["referral_date", "nationality"])
    ]
    assert summary.referral.duplicate_rows_merged == 1
    assert summary.referral.field_conflicts == 1


def test_later_period_wins_between_dw_and_rpc(tmp_path: Path) -> None:
    connection, _ = _build(
        tmp_path,
        [
            {"record_pid": "a", "referral_date": D(2019, 1, 1), "worker_type": "dw"},
            {
                "record_pid": "a",
                "referral_date": D(2019, 1, 1),
                "worker_type": "rpc",
                "group": "RPC",
                "period": "2020",
            },
        ],
    )
    assert _rows(connection, "referral", "worker_type") == [("rpc",)]


EXCLUSION_CASES = [
    (
        "site and date only, joins nothing: URN missing",
        {
            "record_pid": "gen1",
            "referral_date": D(2020, 2, 1),
            "nationality": None,
            "exploitation_types": None,
            "worker_type": None,
            "period": "2020",
        },
        "urn_missing",
    ),
    ("no key", {"record_pid": None, "referral_date": D(2020, 2, 1)}, "no_key"),
    ("no referral date", {"record_pid": "a"}, "no_referral_date"),
]


@pytest.mark.parametrize(
    ("row", "reason"),
    [case[1:] for case in EXCLUSION_CASES],
    ids=[case[0] for case in EXCLUSION_CASES],
)
def test_unjoinable_referrals_are_set_aside_and_counted(
    tmp_path: Path, row: dict[str, Any], reason: str
) -> None:
    connection, summary = _build(tmp_path, [row])
    assert _rows(connection, "referral", "episode, excluded_reason") == [(None, reason)]
    assert summary.referral.excluded == {reason: 1}
    assert summary.wide_rows == 1  # only the filler child


def test_sparse_referral_with_monthly_returns_is_joinable(tmp_path: Path) -> None:
    sparse = {
        "record_pid": "a",
        "referral_date": D(2020, 2, 1),
        "nationality": None,
        "exploitation_types": [],
        "worker_type": None,
    }
    connection, summary = _build(
        tmp_path, [sparse], monthly=[{"record_pid": "a", "month": D(2020, 3, 1)}]
    )
    assert _rows(connection, "referral", "episode, excluded_reason") == [(1, None)]
    assert summary.referral.excluded == {}


def test_closure_before_referral_is_flagged_and_counts_no_days(tmp_path: Path) -> None:
    connection, summary = _build(
        tmp_path,
        [{"record_pid": "a", "referral_date": D(2019, 5, 1), "closure_date": D(2019, 4, 1)}],
    )
    assert _rows(connection, "referral", "closure_before_referral, days_in_service") == [(True, 0)]
    assert summary.referral.closure_before_referral == 1


MONTHLY_CASES = [
    ("month of a mid-month referral", D(2019, 1, 1), 1, None),
    ("month of closure", D(2019, 6, 1), 1, None),
    ("within grace after closure", D(2019, 7, 1), 1, None),
    ("beyond grace after closure", D(2019, 9, 1), None, "outside_episodes"),
    ("during the re-entry", D(2020, 2, 1), 2, None),
    ("before the first referral", D(2018, 10, 1), None, "before_referral"),
]


@pytest.mark.parametrize(
    ("month", "episode", "orphan"),
    [case[1:] for case in MONTHLY_CASES],
    ids=[case[0] for case in MONTHLY_CASES],
)
def test_monthly_returns_attach_to_the_episode_window(
    tmp_path: Path, month: dt.date, episode: int | None, orphan: str | None
) -> None:
    referral = [
        {"record_pid": "a", "referral_date": D(2019, 1, 15), "closure_date": D(2019, 6, 20)},
        {"record_pid": "a", "referral_date": D(2020, 1, 10)},
    ]
    connection, _ = _build(tmp_path, referral, monthly=[{"record_pid": "a", "month": month}])
    assert _rows(connection, "monthly", "episode, orphan_reason") == [(episode, orphan)]


def test_monthly_copies_merge_and_unknown_children_are_orphans(tmp_path: Path) -> None:
    connection, summary = _build(
        tmp_path,
        [{"record_pid": "a", "referral_date": D(2019, 1, 1)}],
        monthly=[
            {"record_pid": "a", "month": D(2019, 2, 1), "status": "open", "group": "Missing"},
            {"record_pid": "a", "month": D(2019, 2, 1), "status": "on_hold", "missing_episodes": 2},
            {"record_pid": "nobody", "month": D(2019, 2, 1)},
        ],
    )
    assert _rows(
        connection,
        "monthly",
        "record_pid, status, missing_episodes, source_groups, conflicting_fields, orphan_reason",
        "true ORDER BY record_pid",
    ) == [
        ("a", "on_hold", 2, ["DW", "Missing"], ["status", "missing_episodes"], None),
        ("nobody", "open", 0, ["DW"], [], "no_referral"),
    ]
    assert summary.monthly.duplicates_removed == 1
    assert summary.monthly.orphans == {"no_referral": 1}


def test_identical_contacts_keep_the_largest_count_of_any_group(tmp_path: Path) -> None:
    call = {"record_pid": "a", "contact_date": D(2019, 2, 1)}
    connection, summary = _build(
        tmp_path,
        [{"record_pid": "a", "referral_date": D(2019, 1, 1)}],
        contact=[call, call, {**call, "group": "Missing"}, {**call, "contact_type": "video_call"}],
    )
    assert sorted(_rows(connection, "contact", "contact_type, source_groups")) == [
        ("telephone", ["DW"]),
        ("telephone", ["DW", "Missing"]),
        ("video_call", ["DW"]),
    ]
    assert summary.contact.duplicates_removed == 1


def test_wide_form_one_row_per_child(tmp_path: Path) -> None:
    connection, summary = _build(
        tmp_path,
        [
            {
                "record_pid": "a",
                "referral_date": D(2019, 1, 1),
                "closure_date": D(2019, 3, 2),
                "closure_reason": "turning_18",
                "exploitation_types": ["criminal", "unknown"],
            },
            {
                "record_pid": "a",
                "referral_date": D(2019, 1, 2),
                "group": "Missing",
                "exploitation_types": ["sexual"],
            },
            {
                "record_pid": "a",
                "referral_date": D(2019, 6, 1),
                "site": "wales",
                "exploitation_types": ["labour"],
                "moved_on_service": "leaving_care_service",
            },
        ],
        monthly=[
            {"record_pid": "a", "month": D(2019, 1, 1), "missing_episodes": 1},
            {"record_pid": "a", "month": D(2019, 2, 1), "missing_episodes": 2},
            {"record_pid": "a", "month": D(2019, 6, 1)},
        ],
        contact=[
            {"record_pid": "a", "contact_date": D(2019, 1, 5), "contact_type": "face_to_face"},
            {"record_pid": "a", "contact_date": D(2019, 6, 5), "contact_subject": "education"},
            {"record_pid": "a", "contact_date": D(2018, 1, 1)},  # orphan: not counted
        ],
        rules=IctgRules(end_of_data=D(2019, 12, 31)),
    )
    wide = connection.sql("SELECT * FROM ictg_wide WHERE record_pid = 'a'").fetchdf()
    row = wide.iloc[0].to_dict()
    assert len(wide) == 1
    assert row["episodes"] == 2 and row["re_entries"] == 1
    assert (row["site"], row["last_site"]) == ("croydon", "wales")
    assert row["exploitation_criminal"] and row["exploitation_labour"]
    assert not row["exploitation_sexual"]  # the DW copy wins the episode's types
    assert row["exploitation_type_count"] == 2  # unknown is not a type
    # Last episode is open: no closure reason; moved-on service as recorded.
    assert row["open_at_end_of_data"] and row["closure_reason"] is None
    assert row["moved_on_service"] == "leaving_care_service"
    # 60 days (1 Jan - 2 Mar) + 213 days (1 Jun - 31 Dec).
    assert row["days_in_service"] == 60 + 213
    assert row["months_in_service"] == round(273 / 30.4375, 1)
    assert (row["monthly_returns"], row["missing_episodes_total"]) == (3, 3)
    assert row["contacts_total"] == 2
    assert row["contacts_type_face_to_face"] == 1 and row["contacts_type_telephone"] == 1
    assert row["contacts_subject_education"] == 1 and row["contacts_subject_health"] == 1
    assert row["duplicate_referral_rows"] == 1
    assert list(row["source_groups"]) == ["DW", "Missing"]
    assert summary.contact.orphans == {"before_referral": 1}


def test_long_form_keeps_every_event_with_referral_details(tmp_path: Path) -> None:
    connection, summary = _build(
        tmp_path,
        [{"record_pid": "a", "referral_date": D(2019, 1, 1), "site": "wales"}],
        monthly=[
            {"record_pid": "a", "month": D(2019, 1, 1)},
            {"record_pid": "b", "month": D(2019, 1, 1)},
        ],
        contact=[{"record_pid": "a", "contact_date": D(2019, 1, 3)}],
    )
    long = _rows(
        connection, "long", "event_type, record_pid, site, orphan_reason", "true ORDER BY 1, 2"
    )
    assert long == [
        ("contact", "a", "wales", None),
        ("monthly", "a", "wales", None),
        ("monthly", "b", None, "no_referral"),
    ]
    total = connection.sql("SELECT count(*) FROM ictg_long").fetchall()[0][0]
    assert total == summary.monthly.output_rows + summary.contact.output_rows


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.integers(0, 900), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_a_missing_copy_of_every_row_changes_no_episode(
    tmp_path_factory: pytest.TempPathFactory, referrals: list[tuple[str, int, bool]]
) -> None:
    """Invariant: late 'Missing' copies of the DW returns never add episodes or events."""
    start = D(2019, 1, 1)
    referral: list[dict[str, Any]] = [
        {
            "record_pid": child,
            "referral_date": start + dt.timedelta(days=offset),
            "closure_date": start + dt.timedelta(days=offset + 30) if closed else None,
        }
        for child, offset, closed in referrals
    ]
    monthly = [
        {"record_pid": row["record_pid"], "month": row["referral_date"].replace(day=1)}
        for row in referral
    ]
    contact = [
        {"record_pid": row["record_pid"], "contact_date": row["referral_date"]} for row in referral
    ]

    def copies(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [*rows, *({**row, "group": "Missing"} for row in rows)]

    columns = "record_pid, episodes, re_entries, monthly_returns, contacts_total, days_in_service"
    plain, _ = _build(tmp_path_factory.mktemp("plain"), referral, monthly, contact)
    doubled, _ = _build(
        tmp_path_factory.mktemp("doubled"), copies(referral), copies(monthly), copies(contact)
    )
    query = f"SELECT {columns} FROM ictg_wide ORDER BY record_pid"
    assert plain.sql(query).fetchall() == doubled.sql(query).fetchall()


def test_any_key_column_can_be_named(tmp_path: Path) -> None:
    sources = parquet_sources(
        referral=[
            _write(
                tmp_path,
                "referral",
                [{"record_id": "u1", "referral_date": D(2019, 1, 1)}],
                key="record_id",
            )
        ],
        monthly=[
            _write(
                tmp_path, "monthly", [{"record_id": "u1", "month": D(2019, 1, 1)}], key="record_id"
            )
        ],
        contact=[
            _write(
                tmp_path,
                "contact",
                [{"record_id": "u1", "contact_date": D(2019, 1, 1)}],
                key="record_id",
            )
        ],
    )
    connection = duckdb.connect()
    summary = build_stages(connection, sources, key="record_id")
    assert summary.wide_rows == 1 and summary.monthly.attached == 1
    with pytest.raises(IctgInputError, match=r"lacks column\(s\) \['record_pid'\]"):
        build_stages(duckdb.connect(), sources)


def test_rules_refuse_inconsistent_tolerances() -> None:
    with pytest.raises(LinkageError, match="reentry_gap_days must not be below"):
        IctgRules(duplicate_window_days=30, reentry_gap_days=10)


def test_write_stages_is_atomic(tmp_path: Path) -> None:
    referral = _write(tmp_path, "referral", [{"record_pid": "a", "referral_date": D(2019, 1, 1)}])
    monthly = _write(tmp_path, "monthly", [{"record_pid": "a", "month": D(2019, 1, 1)}])
    empty = _write(tmp_path, "contact", [])
    out = tmp_path / "out"
    with pytest.raises(IctgInputError, match="empty"):
        write_stages(parquet_sources(referral=[referral], monthly=[monthly], contact=[empty]), out)
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_tables_under_different_owner_keys_are_refused(tmp_path: Path) -> None:
    folders = {}
    for table, owner_key_id in (("referral", "aaaa"), ("monthly", "aaaa"), ("contact", "bbbb")):
        folder = tmp_path / table
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"owner_key_id": owner_key_id}))
        folders[table] = _write(
            folder,
            table,
            [{"record_pid": "a", "referral_date": D(2019, 1, 1)}] if table == "referral" else [],
        )
    sources = parquet_sources(
        referral=[folders["referral"]], monthly=[folders["monthly"]], contact=[folders["contact"]]
    )
    with pytest.raises(KeyMismatchError, match="different owner keys") as raised:
        build_stages(duckdb.connect(), sources, codes=CODES)
    assert "contact.parquet=bbbb" in str(raised.value)
