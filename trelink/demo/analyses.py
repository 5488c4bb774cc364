"""The research's analyses, built by the TRE researcher from what the TRE holds.

Each function here is pure: it takes pandas frames read from ``tre.duckdb`` (NRM
attributes, the ICTG wide form, the person spine and the linked sources' attributes)
and returns an analysis frame, one row per unit counted. ``research_outputs`` turns the
frames into the list of tables and models that ``demo.protect`` hands to ``sdc``.

Labels are what a reader of the released tables sees, so codes become words here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CLOSURE_LABELS",
    "EXPLOITATION_TYPES",
    "ModelRequest",
    "ResearchFrames",
    "TableRequest",
    "child_nrm_referrals",
    "exploitation_long",
    "ictg_children",
    "linked_outcomes",
    "nationality_group",
    "repeat_referrals",
    "research_outputs",
]

STUDY_START = dt.date(2017, 2, 1)
STUDY_END = dt.date(2022, 9, 30)
FOLLOW_UP_DAYS = 365  # "the months after ICTG referral": the first year
PERSISTENT_ABSENCE = 0.10  # the DfE's definition: 10% or more of sessions missed

EXPLOITATION_TYPES: dict[str, str] = {
    "criminal": "Criminal",
    "sexual": "Sexual",
    "labour": "Labour",
    "domestic_servitude": "Domestic servitude",
    "organ_harvesting": "Organ harvesting",
    "unknown": "Not specified or unknown",
}
CLOSURE_LABELS: dict[str, str] = {
    "turning_18": "Turning 18",
    "no_trafficking_concerns": "No trafficking concerns",
    "negative_nrm_decision": "Negative NRM decision",
    "did_not_want_ictg": "Did not want an ICTG",
    "long_term_missing": "Long-term missing",
    "returned_to_country_of_origin": "Returned to country of origin",
    "transfer_to_non_ictg_site": "Transfer to a non-ICTG site",
    "other": "Other",
}
OPEN_LABEL = "Open at end of data"
NOT_IN_CENSUS = "Not in school census"
GENDER_LABELS = {"F": "Female", "M": "Male"}
DECISION_LABELS = {
    "positive": "Positive",
    "negative": "Negative",
    "awaiting": "Awaiting",
    "withdrawn": "Withdrawn",
}
NOT_YET = "No decision"
WORKER_LABELS = {"dw": "DW", "rpc": "RPC"}
# Nationality groups of the research: UK, the two largest non-UK groups, the rest.
_NAMED_GROUPS = {"british": "UK", "albanian": "Albanian", "vietnamese": "Vietnamese"}
OTHER_NON_UK = "Other non-UK"
# The linear probability models' outcomes (closure reason codes).
MODEL_OUTCOMES: tuple[str, ...] = ("turning_18", "other", "no_trafficking_concerns")
# Organ harvesting is too rare among ICTG children for a coefficient that passes output
# checking (fewer than the threshold in one group), so the models leave it out.
MODEL_EXPLOITATION: tuple[str, ...] = ("criminal", "sexual", "labour", "domestic_servitude")


@dataclass(frozen=True)
class ResearchFrames:
    """What the researcher reads from ``tre.duckdb``."""

    nrm: pd.DataFrame  # nrm__attributes
    ictg_wide: pd.DataFrame  # ictg_wide
    ictg_referrals: pd.DataFrame  # ictg__attributes (for sex)
    spine: pd.DataFrame  # dataset, record_pid, person_id
    education: pd.DataFrame
    health: pd.DataFrame
    justice: pd.DataFrame


@dataclass(frozen=True)
class TableRequest:
    """One protected table to build: counts (``value`` None) or sums/means of ``value``."""

    name: str
    title: str
    data: pd.DataFrame
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    family: str  # tables of one family share a population and are protected jointly
    value: str | None = None
    statistic: str = "sum"


@dataclass(frozen=True)
class ModelRequest:
    """One regression to fit and check."""

    name: str
    title: str
    formula: str
    data: pd.DataFrame


def nationality_group(nationality: pd.Series) -> pd.Series:
    """UK / Albanian / Vietnamese / Other non-UK; unknown stays missing."""
    grouped = nationality.map(_NAMED_GROUPS).fillna(OTHER_NON_UK)
    return grouped.where(nationality.notna())


def _type_set(value: object) -> set[str]:
    return {str(item) for item in value} if isinstance(value, list | np.ndarray) else set()


def _exploitation_flags(types: pd.Series) -> pd.DataFrame:
    """One boolean column per exploitation type from the list column."""
    as_sets = [_type_set(value) for value in types]
    return pd.DataFrame(
        {
            f"exploitation_{code}": [code in found for found in as_sets]
            for code in EXPLOITATION_TYPES
        },
        index=types.index,
    )


def _types_recorded(count: pd.Series) -> pd.Series:
    labels = count.astype(str).where(count < 3, "3 or more")
    return labels.where(count > 0, "0 (only 'unknown')")


def child_nrm_referrals(nrm: pd.DataFrame) -> pd.DataFrame:
    """Child referrals Feb 2017 - Sep 2022 under the research's restrictions.

    Excluded: age not known (and adults), gender other or not known, nationality not
    known. Adds the six exploitation flags, the number of types (``unknown`` is not a
    type), year, gender, UK / non-UK and decision labels.
    """
    dates = pd.to_datetime(nrm["referral_date"])
    kept = nrm[
        (dates >= pd.Timestamp(STUDY_START))
        & (dates <= pd.Timestamp(STUDY_END))
        & (nrm["age_group"] == "child")
        & nrm["sex"].isin(list(GENDER_LABELS))
        & nrm["nationality"].notna()
    ]
    flags = _exploitation_flags(kept["exploitation_types"])
    known = [f"exploitation_{code}" for code in EXPLOITATION_TYPES if code != "unknown"]
    count = flags[known].sum(axis=1)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "record_pid": kept["record_pid"],
                    "year": pd.to_datetime(kept["referral_date"]).dt.year.astype(str),
                    "gender": kept["sex"].map(GENDER_LABELS),
                    "nationality": np.where(kept["nationality"] == "british", "UK", "Non-UK"),
                    "reasonable_grounds": kept["rg_decision"].map(DECISION_LABELS).fillna(NOT_YET),
                    "conclusive_grounds": kept["cg_decision"].map(DECISION_LABELS).fillna(NOT_YET),
                    "types_recorded": _types_recorded(count),
                },
                index=kept.index,
            ),
            flags,
        ],
        axis=1,
    ).reset_index(drop=True)


def exploitation_long(referrals: pd.DataFrame) -> pd.DataFrame:
    """One row per referral and exploitation type it records (a referral with two
    types appears twice, so a table's totals count type mentions)."""
    parts = []
    for code, label in EXPLOITATION_TYPES.items():
        chosen = referrals[referrals[f"exploitation_{code}"]]
        parts.append(chosen.assign(exploitation_type=label))
    columns = [*referrals.columns, "exploitation_type"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def ictg_children(wide: pd.DataFrame, referrals: pd.DataFrame) -> pd.DataFrame:
    """ICTG children (wide form) with labels, gender and closure outcome flags."""
    gender = (
        referrals.dropna(subset=["sex"]).groupby("record_pid")["sex"].agg(lambda s: s.mode().iat[0])
    )
    children = wide.copy()
    children["gender"] = children["record_pid"].map(gender).map(GENDER_LABELS)
    children["nationality_group"] = nationality_group(children["nationality"])
    children["worker_type"] = children["worker_type"].map(WORKER_LABELS)
    children["closure"] = children["closure_reason"].map(CLOSURE_LABELS)
    children.loc[children["closure_reason"].isna(), "closure"] = OPEN_LABEL
    for code in MODEL_OUTCOMES:
        children[f"closed_{code}"] = (children["closure_reason"] == code).astype(float)
    for code in EXPLOITATION_TYPES:
        column = f"exploitation_{code}"
        children[column] = children[column].eq(True)
    return children


def _school_year_start(academic_year: pd.Series) -> pd.Series:
    """``2018/19`` -> 1 September 2018."""
    return pd.to_datetime(academic_year.str.slice(0, 4) + "-09-01", errors="coerce")


def _person_records(spine: pd.DataFrame, children: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Each ICTG child's records in ``dataset`` through the spine (record_pid, pid_other)."""
    ictg = spine[spine["dataset"] == "ictg"][["record_pid", "person_id"]]
    other = spine[spine["dataset"] == dataset][["record_pid", "person_id"]]
    return (
        children[["record_pid", "first_referral_date"]]
        .merge(ictg, on="record_pid")
        .merge(other, on="person_id", suffixes=("", "_other"))
    )


def _education_status(frames: ResearchFrames, children: pd.DataFrame) -> pd.DataFrame:
    joined = _person_records(frames.spine, children, "education").merge(
        frames.education, left_on="record_pid_other", right_on="record_pid", suffixes=("", "_e")
    )
    start = _school_year_start(joined["academic_year"])
    referral = pd.to_datetime(joined["first_referral_date"])
    # A school year overlapping the year after referral.
    window = (start <= referral + pd.Timedelta(days=FOLLOW_UP_DAYS)) & (
        start + pd.Timedelta(days=365) > referral
    )
    joined = joined[window]
    per_child = joined.groupby("record_pid").agg(
        sessions_possible=("sessions_possible", "sum"),
        sessions_absent=("sessions_absent", "sum"),
        exclusions=("fixed_term_exclusions", "sum"),
        permanent=("permanent_exclusion", "max"),
    )
    possible = per_child["sessions_possible"].where(per_child["sessions_possible"] > 0)
    per_child["absence_rate"] = per_child["sessions_absent"] / possible
    excluded = (per_child["exclusions"] > 0) | per_child["permanent"].eq(True)
    per_child["school"] = np.select(
        [excluded, per_child["absence_rate"] >= PERSISTENT_ABSENCE],
        ["Excluded", "Persistently absent"],
        "Attending",
    )
    return per_child[["school", "absence_rate"]]


def _event_status(
    frames: ResearchFrames,
    children: pd.DataFrame,
    dataset: str,
    records: pd.DataFrame,
    date_column: str,
) -> pd.DataFrame:
    joined = _person_records(frames.spine, children, dataset).merge(
        records, left_on="record_pid_other", right_on="record_pid", suffixes=("", "_x")
    )
    referral = pd.to_datetime(joined["first_referral_date"])
    when = pd.to_datetime(joined[date_column])
    after = (when > referral) & (when <= referral + pd.Timedelta(days=FOLLOW_UP_DAYS))
    return joined[after]


def linked_outcomes(frames: ResearchFrames, children: pd.DataFrame) -> pd.DataFrame:
    """Per ICTG child: school, hospital and justice status in the year after referral."""
    outcomes = children[["record_pid", "closure", "nationality_group"]].set_index("record_pid")
    school = _education_status(frames, children)
    outcomes["school"] = school["school"].reindex(outcomes.index).fillna(NOT_IN_CENSUS)
    outcomes["absence_rate"] = school["absence_rate"].reindex(outcomes.index)
    admissions = _event_status(frames, children, "health", frames.health, "admission_date")
    mental = admissions.groupby("record_pid")["mental_health_contact"].max()
    outcomes["hospital"] = "No admission"
    outcomes.loc[outcomes.index.isin(admissions["record_pid"]), "hospital"] = "Admitted"
    outcomes.loc[mental[mental.eq(True)].index, "hospital"] = "Mental-health contact"
    offences = _event_status(frames, children, "justice", frames.justice, "offence_date")
    convicted = offences[offences["outcome"].fillna("").str.startswith("conviction")]
    outcomes["justice"] = "No offence recorded"
    outcomes.loc[outcomes.index.isin(offences["record_pid"]), "justice"] = "Offence, not convicted"
    outcomes.loc[outcomes.index.isin(convicted["record_pid"]), "justice"] = "Convicted"
    return outcomes.reset_index()


def repeat_referrals(spine: pd.DataFrame, referrals: pd.DataFrame) -> pd.DataFrame:
    """Children in the restricted NRM referrals, by how many referrals deduplication found."""
    nrm = spine[spine["dataset"] == "nrm"][["record_pid", "person_id"]]
    joined = referrals.merge(nrm, on="record_pid")
    per_person = joined.groupby("person_id").agg(
        referrals=("record_pid", "size"),
        gender=("gender", "first"),
        nationality=("nationality", "first"),
    )
    per_person["nrm_referrals"] = np.where(
        per_person["referrals"] >= 3, "3 or more", per_person["referrals"].astype(str)
    )
    return per_person.reset_index(drop=True)


def _model_formula(outcome: str) -> str:
    flags = " + ".join(f"exploitation_{code}" for code in MODEL_EXPLOITATION)
    return (
        f"closed_{outcome} ~ {flags} + C(gender, Treatment('Female')) "
        "+ C(nationality_group, Treatment('UK')) + months_in_service "
        "+ C(worker_type, Treatment('RPC'))"
    )


_NRM = "Child NRM referrals"
# The linked outcome tables count the same ICTG children and share their margins (by
# closure reason, by nationality group), so they are protected as one family: a cell
# hidden in one must stay hidden given every other table's margins. The closure table
# counts only children whose nationality and worker type are known: small "Missing"
# groups would cost it most of its cells.
ICTG_FAMILY = "ictg_children"
_ICTG = "ICTG children"
_YEAR_AFTER = "in the year after referral"


def _nrm_tables(referrals: pd.DataFrame) -> list[TableRequest]:
    mentions = exploitation_long(referrals)
    by_type = ("exploitation_type",)
    return [
        TableRequest(
            "nrm_exploitation_by_year",
            f"{_NRM}: exploitation type by year of referral (a referral counts once per type)",
            mentions, by_type, ("year",), "nrm_mentions",
        ),
        TableRequest(
            "nrm_exploitation_by_gender_nationality",
            f"{_NRM}: exploitation type by gender and UK / non-UK nationality",
            mentions, by_type, ("gender", "nationality"), "nrm_mentions",
        ),
        TableRequest(
            "nrm_exploitation_by_rg_decision",
            f"{_NRM}: exploitation type by reasonable grounds decision",
            mentions, by_type, ("reasonable_grounds",), "nrm_mentions",
        ),
        TableRequest(
            "nrm_exploitation_by_cg_decision",
            f"{_NRM}: exploitation type by conclusive grounds decision",
            mentions, by_type, ("conclusive_grounds",), "nrm_mentions",
        ),
        TableRequest(
            "nrm_types_recorded_by_year",
            f"{_NRM}: number of exploitation types recorded, by year",
            referrals, ("types_recorded",), ("year",), "nrm_referrals",
        ),
    ]  # fmt: skip


def _linked_tables(outcomes: pd.DataFrame) -> list[TableRequest]:
    in_school = outcomes[outcomes["school"] != NOT_IN_CENSUS].dropna(subset=["absence_rate"])
    domains = {
        "school": "school attendance and exclusions",
        "hospital": "hospital admissions and mental-health contacts",
        "justice": "police and court records",
    }
    tables = []
    for domain, what in domains.items():
        for by, label in (
            ("closure", "closure reason"),
            ("nationality_group", "nationality group"),
        ):
            suffix = "closure" if by == "closure" else "nationality"
            tables.append(
                TableRequest(
                    f"linked_{domain}_by_{suffix}",
                    f"{_ICTG}: {what} {_YEAR_AFTER}, by {label}",
                    outcomes, (by,), (domain,), ICTG_FAMILY,
                )
            )  # fmt: skip
    tables.append(
        TableRequest(
            "linked_absence_by_closure",
            f"{_ICTG} in the school census: mean share of sessions missed {_YEAR_AFTER}, "
            "by closure reason and nationality group",
            in_school, ("closure",), ("nationality_group",), "linked_absence",
            value="absence_rate", statistic="mean",
        )
    )  # fmt: skip
    return tables


def research_outputs(frames: ResearchFrames) -> tuple[list[TableRequest], list[ModelRequest]]:
    """Every table and model the research releases."""
    referrals = child_nrm_referrals(frames.nrm)
    children = ictg_children(frames.ictg_wide, frames.ictg_referrals)
    tables = [
        *_nrm_tables(referrals),
        TableRequest(
            "nrm_repeat_referrals",
            f"{_NRM}: referrals per child found by deduplication, by gender and UK / non-UK "
            "nationality",
            repeat_referrals(frames.spine, referrals), ("nrm_referrals",),
            ("gender", "nationality"), "nrm_persons",
        ),
        TableRequest(
            "ictg_closure_by_nationality_worker",
            f"{_ICTG} with nationality and worker type recorded: closure reason by nationality "
            "group and worker type",
            children.dropna(subset=["nationality_group", "worker_type"]), ("closure",),
            ("nationality_group", "worker_type"), "ictg_known",
        ),
        *_linked_tables(linked_outcomes(frames, children)),
    ]  # fmt: skip
    closed = children[children["closure_reason"].notna()].dropna(
        subset=["gender", "nationality_group", "worker_type", "months_in_service"]
    )
    models = [
        ModelRequest(
            f"lpm_closure_{outcome}",
            f"Linear probability model of closure for '{CLOSURE_LABELS[outcome]}' "
            "among closed ICTG episodes",
            _model_formula(outcome),
            closed,
        )
        for outcome in MODEL_OUTCOMES
    ]
    return tables, models
