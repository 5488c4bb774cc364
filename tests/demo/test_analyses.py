"""The research analyses on small hand-built frames."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trelink.demo.analyses import (
    NOT_IN_CENSUS,
    OPEN_LABEL,
    ResearchFrames,
    child_nrm_referrals,
    exploitation_long,
    ictg_children,
    linked_outcomes,
    nationality_group,
    repeat_referrals,
    research_outputs,
)


def _nrm_row(pid: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "record_pid": pid,
        "sex": "F",
        "referral_date": dt.date(2019, 5, 1),
        "age_group": "child",
        "nationality": "british",
        "exploitation_types": ["criminal"],
        "rg_decision": "positive",
        "cg_decision": None,
    }
    row.update(changes)
    return row


def _nrm(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_child_referrals_apply_the_research_restrictions() -> None:
    nrm = _nrm(
        _nrm_row("keep"),
        _nrm_row("adult", age_group="adult"),
        _nrm_row("age unknown", age_group=None),
        _nrm_row("gender unknown", sex=None),
        _nrm_row("nationality unknown", nationality=None),
        _nrm_row("too early", referral_date=dt.date(2017, 1, 31)),
        _nrm_row("too late", referral_date=dt.date(2022, 10, 1)),
        _nrm_row("first day", referral_date=dt.date(2017, 2, 1)),
        _nrm_row("last day", referral_date=dt.date(2022, 9, 30)),
    )
    kept = child_nrm_referrals(nrm)
    assert sorted(kept["record_pid"]) == ["first day", "keep", "last day"]


def test_child_referrals_flags_count_and_labels() -> None:
    nrm = _nrm(
        _nrm_row("a", exploitation_types=["criminal", "sexual", "unknown"], nationality="albanian"),
        _nrm_row("b", exploitation_types=["unknown"], sex="M", cg_decision="negative"),
        _nrm_row("c", exploitation_types=np.array(["labour", "sexual", "criminal"])),
    )
    kept = child_nrm_referrals(nrm).set_index("record_pid")
    assert kept.loc["a", "exploitation_criminal"] and kept.loc["a", "exploitation_unknown"]
    assert not kept.loc["a", "exploitation_labour"]
    # 'unknown' is not an exploitation type when types are counted.
    assert kept["types_recorded"].to_dict() == {
        "a": "2",
        "b": "0 (only 'unknown')",
        "c": "3 or more",
    }
    assert kept["nationality"].to_dict() == {"a": "Non-UK", "b": "UK", "c": "UK"}
    assert kept.loc["b", "gender"] == "Male"
    assert kept.loc["a", "conclusive_grounds"] == "No decision"
    assert kept.loc["b", "conclusive_grounds"] == "Negative"
    assert kept.loc["a", "year"] == "2019"


def test_exploitation_long_counts_a_referral_once_per_type() -> None:
    kept = child_nrm_referrals(
        _nrm(_nrm_row("a", exploitation_types=["criminal", "sexual"]), _nrm_row("b"))
    )
    mentions = exploitation_long(kept)
    assert sorted(zip(mentions["record_pid"], mentions["exploitation_type"], strict=True)) == [
        ("a", "Criminal"),
        ("a", "Sexual"),
        ("b", "Criminal"),
    ]


def test_nationality_groups_keep_unknown_missing() -> None:
    grouped = nationality_group(pd.Series(["british", "albanian", "eritrean", None]))
    assert grouped.tolist()[:3] == ["UK", "Albanian", "Other non-UK"]
    assert pd.isna(grouped.iloc[3])


def _wide(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "record_pid": ["c1", "c2"],
        "nationality": ["vietnamese", "british"],
        "worker_type": ["dw", "rpc"],
        "closure_reason": ["turning_18", None],
        "first_referral_date": [dt.date(2019, 1, 10), dt.date(2020, 3, 1)],
        "months_in_service": [10.0, 4.0],
        **{
            f"exploitation_{code}": [False, False]
            for code in ("criminal", "sexual", "labour", "domestic_servitude")
        },
        "exploitation_organ_harvesting": [False, None],
        "exploitation_unknown": [True, False],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_ictg_children_labels_gender_and_outcome_flags() -> None:
    referrals = pd.DataFrame({"record_pid": ["c1", "c1", "c1", "c2"], "sex": ["M", "M", "F", None]})
    children = ictg_children(_wide(), referrals).set_index("record_pid")
    assert children.loc["c1", "gender"] == "Male"  # the most frequent recorded value
    assert pd.isna(children.loc["c2", "gender"])
    assert children["closure"].tolist() == ["Turning 18", OPEN_LABEL]
    assert children["closed_turning_18"].tolist() == [1.0, 0.0]
    assert children["worker_type"].tolist() == ["DW", "RPC"]
    assert children["nationality_group"].tolist() == ["Vietnamese", "UK"]
    assert children["exploitation_organ_harvesting"].tolist() == [False, False]


def _frames(wide: pd.DataFrame) -> ResearchFrames:
    spine = pd.DataFrame(
        {
            "dataset": [
                "ictg",
                "education",
                "education",
                "health",
                "health",
                "justice",
                "justice",
                "ictg",
            ],
            "record_pid": ["c1", "e1", "e2", "h1", "h2", "j1", "j2", "c2"],
            "person_id": ["p1", "p1", "p1", "p1", "p1", "p1", "p1", "p2"],
        }
    )
    education = pd.DataFrame(
        {
            "record_pid": ["e1", "e2"],
            # 2018/19 overlaps the year after a January 2019 referral; 2021/22 does not.
            "academic_year": ["2018/19", "2021/22"],
            "sessions_possible": [300, 300],
            "sessions_absent": [45, 0],
            "fixed_term_exclusions": [0, 3],
            "permanent_exclusion": [False, False],
        }
    )
    health = pd.DataFrame(
        {
            "record_pid": ["h1", "h2"],
            "admission_date": [dt.date(2019, 6, 1), dt.date(2018, 6, 1)],
            "mental_health_contact": [False, True],  # the contact before referral does not count
        }
    )
    justice = pd.DataFrame(
        {
            "record_pid": ["j1", "j2"],
            "offence_date": [dt.date(2019, 2, 1), dt.date(2021, 1, 1)],
            "outcome": ["caution", "conviction_custody"],  # the conviction is too late
        }
    )
    return ResearchFrames(
        nrm=pd.DataFrame(),
        ictg_wide=wide,
        ictg_referrals=pd.DataFrame({"record_pid": ["c1", "c2"], "sex": ["F", "M"]}),
        spine=spine,
        education=education,
        health=health,
        justice=justice,
    )


def test_linked_outcomes_count_only_the_year_after_referral() -> None:
    frames = _frames(_wide())
    children = ictg_children(frames.ictg_wide, frames.ictg_referrals)
    outcomes = linked_outcomes(frames, children).set_index("record_pid")
    assert outcomes.loc["c1", "school"] == "Persistently absent"  # 15% of sessions
    assert outcomes.loc["c1", "absence_rate"] == pytest.approx(0.15)
    assert outcomes.loc["c1", "hospital"] == "Admitted"
    assert outcomes.loc["c1", "justice"] == "Offence, not convicted"
    # A child with no linked records in any source.
    assert outcomes.loc["c2", "school"] == NOT_IN_CENSUS
    assert outcomes.loc["c2", "hospital"] == "No admission"
    assert outcomes.loc["c2", "justice"] == "No offence recorded"


def test_repeat_referrals_group_by_spine_person() -> None:
    referrals = child_nrm_referrals(
        _nrm(_nrm_row("r1"), _nrm_row("r2", referral_date=dt.date(2020, 1, 1)), _nrm_row("r3"))
    )
    spine = pd.DataFrame(
        {"dataset": ["nrm"] * 3, "record_pid": ["r1", "r2", "r3"], "person_id": ["a", "a", "b"]}
    )
    repeats = repeat_referrals(spine, referrals)
    assert sorted(repeats["nrm_referrals"]) == ["1", "2"]


def test_research_outputs_name_every_release_and_share_populations_per_family() -> None:
    wide = _wide()
    frames = _frames(wide)
    frames = ResearchFrames(
        **{**frames.__dict__, "nrm": _nrm(_nrm_row("c1"), _nrm_row("x", sex="M"))}
    )
    tables, models = research_outputs(frames)
    names = [table.name for table in tables]
    assert len(names) == len(set(names))
    assert {"nrm_exploitation_by_year", "ictg_closure_by_nationality_worker"} <= set(names)
    assert {model.name for model in models} == {
        "lpm_closure_turning_18",
        "lpm_closure_other",
        "lpm_closure_no_trafficking_concerns",
    }
    for family in {table.family for table in tables}:
        sizes = {len(table.data) for table in tables if table.family == family}
        assert len(sizes) == 1, family
