"""pseudonymise_table and write_pseudonymised: layout, agreement of variants, events."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pseudonymise import pseudonymise_table, write_pseudonymised
from pseudonymise.errors import InputError
from pseudonymise.spec import PseudonymiseSpec
from trelink.specs.match_keys import load_match_key_spec
from trelink.trust.keys import key_id

LINKAGE = bytes(range(32))
OWNER = bytes(range(1, 33))


def _people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": ["r1", "r2", "r3", "r4", "r5"],
            "forename": ["Nguyễn", "An", "Anne-Marie", "Anne", None],
            "surname": ["An", "Nguyen", "Smith Jones", "Smith-Jones", "Tesfay"],
            "dob": [
                dt.date(2005, 3, 4),
                dt.date(2005, 4, 3),
                dt.date(2006, 1, 1),
                dt.date(2006, 1, 1),
                None,
            ],
            "sex": ["M", "M", "F", "F", None],
            "postcode": ["sw1a1aa", "SW1A 1AA", "M1", "junk", None],
            "nationality": ["Vietnam", "Vietnam", "UK", "UK", "Eritrea"],
        }
    )


def test_identity_layout_follows_the_spec() -> None:
    tables = pseudonymise_table(_people(), linkage_key=LINKAGE, owner_key=OWNER)
    spec = load_match_key_spec()
    assert tables.identity is not None
    assert tables.identity.column_names == ["record_pid", *spec.token_columns]
    for match_key in spec.match_keys:
        kind = tables.identity.schema.field(match_key.name).type
        assert kind == (pa.list_(pa.int64()) if match_key.list else pa.int64())
    assert tables.attributes.column_names == ["record_pid", "sex", "nationality"]
    assert tables.lookup.column_names == ["record_id", "record_pid"]
    pids = tables.identity.column("record_pid").to_pylist()
    assert len(set(pids)) == 5 and all(len(pid) == 32 for pid in pids)
    assert tables.manifest["linkage_key_id"] == key_id(LINKAGE)
    assert tables.manifest["invalid_values"] == {"postcode": 1}


def test_design_variants_give_equal_tokens() -> None:
    identity = pseudonymise_table(_people(), linkage_key=LINKAGE, owner_key=OWNER).identity
    assert identity is not None
    rows = identity.to_pylist()
    # Family name first: r1's forename+surname equals r2's surname+forename.
    assert rows[0]["fn_sn"] == rows[1]["sn_fn"]
    assert rows[0]["fn_sn"] != rows[1]["fn_sn"]
    assert rows[0]["name_set"] == rows[1]["name_set"]
    # Day and month swapped.
    assert rows[0]["dob"] == rows[1]["dob_swap"]
    # Hyphen/space and middle-name variants agree on every name key.
    for column in ("fn", "sn", "fn_sn", "fn_sn_dm", "fi_sn"):
        assert rows[2][column] == rows[3][column] is not None
    assert rows[0]["pc"] == rows[1]["pc"] is not None
    assert rows[2]["pc"] is None and rows[2]["pc_district"] is not None
    assert rows[3]["pc_district"] is None  # not a postcode
    assert rows[4]["fn"] is None and rows[4]["fn_sn"] is None and rows[4]["sn"] is not None


def test_another_linkage_key_shares_no_token_but_same_key_repeats() -> None:
    one = pseudonymise_table(_people(), linkage_key=LINKAGE, owner_key=OWNER).identity
    again = pseudonymise_table(_people(), linkage_key=LINKAGE, owner_key=OWNER).identity
    other = pseudonymise_table(_people(), linkage_key=bytes(32), owner_key=OWNER).identity
    assert one is not None and again is not None and other is not None
    assert one.equals(again)
    for column in ("fn", "sn", "dob", "pc"):
        ours = {value for value in one.column(column).to_pylist() if value is not None}
        theirs = {value for value in other.column(column).to_pylist() if value is not None}
        assert ours and not ours & theirs


def test_event_table_has_attributes_only_and_joins_by_pid() -> None:
    people = pseudonymise_table(_people(), linkage_key=LINKAGE, owner_key=OWNER)
    events = pd.DataFrame(
        {"record_id": ["r1", "r1", "r3"], "contact_type": ["visit", "call", "visit"]}
    )
    tables = pseudonymise_table(events, linkage_key=LINKAGE, owner_key=OWNER)
    assert tables.identity is None
    assert tables.manifest["kind"] == "events"
    pids = tables.attributes.column("record_pid").to_pylist()
    referral_pids = people.attributes.column("record_pid").to_pylist()
    assert pids == [referral_pids[0], referral_pids[0], referral_pids[2]]
    assert tables.lookup.num_rows == 2


def test_list_keys_from_aliases_and_other_dates() -> None:
    frame = (
        _people()
        .head(2)
        .assign(
            aliases=[[{"forename": "An", "surname": "Nguyen"}], None],
            dob_alt=[[dt.date(2005, 3, 4), dt.date(2005, 1, 1)], []],
        )
    )
    identity = pseudonymise_table(frame, linkage_key=LINKAGE, owner_key=OWNER).identity
    assert identity is not None
    rows = identity.to_pylist()
    assert rows[0]["alias_fn_sn"] == [rows[1]["fn_sn"]]
    assert len(rows[0]["dob_alt"]) == 1  # its own dob is not an alternative
    assert rows[1]["dob_alt"] is None and rows[1]["alias_fn_sn"] is None
    assert rows[0]["sn_del"] is None  # AN: too short for deletion variants
    assert len(rows[0]["fn_del"]) == 6 + 1  # NGUYEN and its six one-letter deletions
    assert set(rows[0]["fn_del"]) & set(rows[1]["sn_del"])


def test_variant_name_keys_agree_across_spellings() -> None:
    # Pairs of one person's names as two agencies wrote them, and a stranger.
    frame = pd.DataFrame(
        {
            "record_id": [f"r{index}" for index in range(9)],
            "forename": [
                "Bill",
                "William",
                "Yohannes",
                "Johannes",
                "Mohd",
                "Mohamad",
                "Omar",
                "Omar",
                "Osman",
            ],
            "surname": [
                "Price",
                "Price",
                "Tesfay",
                "Tesfay",
                "Safi",
                "Safi",
                "Ghorbani",
                "Qorbani",
                "Qorbani",
            ],
            "dob": [dt.date(2005, 3, 4)] * 9,
        }
    )
    identity = pseudonymise_table(frame, linkage_key=LINKAGE, owner_key=OWNER).identity
    assert identity is not None
    rows = identity.to_pylist()
    # Bill and William: a formal name in common (the nicknames package's list).
    assert set(rows[0]["fn_formal_sn"]) & set(rows[1]["fn_formal_sn"])
    # Y/J and Gh/Q: the names agree from their first vowel on.
    assert rows[2]["fn_tail_sn"] == rows[3]["fn_tail_sn"] is not None
    assert rows[6]["fn_sn_tail"] == rows[7]["fn_sn_tail"] is not None
    # Mohd and Mohamad: the first three letters and the surname.
    assert rows[4]["fn_pre3_sn"] == rows[5]["fn_pre3_sn"] is not None
    assert rows[4]["fn_pre4_sn"] != rows[5]["fn_pre4_sn"]
    # Different people keep different tokens; a forename without nicknames has none.
    assert rows[7]["fn_tail_sn"] != rows[8]["fn_tail_sn"]
    assert rows[2]["fn_formal_sn"] is None


def test_write_is_complete_and_refuses_existing_directory(tmp_path: Path) -> None:
    tables = pseudonymise_table(_people(), linkage_key=LINKAGE, owner_key=OWNER)
    out = write_pseudonymised(tables, tmp_path / "out")
    assert sorted(path.name for path in out.iterdir()) == [
        "attributes.parquet",
        "identity.parquet",
        "lookup.parquet",
        "manifest.json",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["members"]) == {"identity.parquet", "attributes.parquet"}
    assert pq.read_table(out / "identity.parquet").equals(tables.identity)
    with pytest.raises(InputError, match="already exists"):
        write_pseudonymised(tables, out)


def test_same_key_for_linkage_and_owner_refused() -> None:
    with pytest.raises(InputError, match="owner key"):
        pseudonymise_table(_people(), linkage_key=LINKAGE, owner_key=LINKAGE)


def test_person_reference_is_keyed_under_the_owner_key() -> None:
    frame = _people().assign(person_ref=["P1", "P1", "P2", None, "P3"])
    tables = pseudonymise_table(frame, linkage_key=LINKAGE, owner_key=OWNER)
    keyed = tables.attributes.column("person_ref").to_pylist()
    assert keyed[0] == keyed[1] != keyed[2] and keyed[3] is None
    assert all(value is None or len(value) == 32 for value in keyed)
    assert not {"P1", "P2", "P3"} & set(keyed)
    assert tables.manifest["owner_keyed_columns"] == ["person_ref"]
    other_owner = pseudonymise_table(frame, linkage_key=LINKAGE, owner_key=bytes(32))
    assert other_owner.attributes.column("person_ref").to_pylist()[0] != keyed[0]


def test_parallel_hashing_matches_serial() -> None:
    serial = pseudonymise_table(_people(), linkage_key=LINKAGE, owner_key=OWNER, workers=1)
    parallel = pseudonymise_table(_people(), linkage_key=LINKAGE, owner_key=OWNER, workers=2)
    assert serial.identity is not None and serial.identity.equals(parallel.identity)
    assert serial.lookup.equals(parallel.lookup)


def test_repeated_record_ids_allowed_by_the_spec_share_a_pid() -> None:
    frame = _people().assign(record_id=["U1", "U1", "U2", "U3", "U3"])
    with pytest.raises(InputError, match="unique_record_id: false"):
        pseudonymise_table(frame, linkage_key=LINKAGE, owner_key=OWNER)
    options = PseudonymiseSpec(version=1, unique_record_id=False)
    tables = pseudonymise_table(frame, linkage_key=LINKAGE, owner_key=OWNER, options=options)
    assert tables.identity is not None and tables.identity.num_rows == 5
    pids = tables.identity.column("record_pid").to_pylist()
    assert pids[0] == pids[1] != pids[2] and pids[3] == pids[4]
    assert tables.lookup.num_rows == 3 and tables.manifest["record_ids_unique"] is False
