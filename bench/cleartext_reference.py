"""The cleartext reference: Splink on the raw normalised values of the same records.

The token model may only say "these two tokens are equal"; this reference may use
string similarity (Jaro-Winkler, edit distance) on the names themselves. Both use
the same blocking structure, the same training recipe and the same threshold, so the
benchmarks compare what tokenisation costs (or not), not a difference in tuning.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from metaphone import doublemetaphone
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from linkage.blocking import blocking_rule_sql, capped_blocks_sql, capped_rule_sql
from linkage.job import BlockingRuleSpec, LinkJob
from linkage.model import level_gammas
from pseudonymise.normalise import normalise_forename, normalise_postcodes, normalise_surname
from trelink.specs.match_keys import CrossTerm, EqualTerm

__all__ = [
    "add_cleartext_capped_blocks",
    "cleartext_blocking_rules",
    "cleartext_hold_back_sql",
    "cleartext_linker",
    "link_cleartext_extracts",
    "normalised_table",
]


def _distinct_map(values: list[str | None], function: Any) -> list[Any]:
    # Names repeat: normalise each distinct value once.
    cache = {value: function(value) for value in set(values)}
    return [cache[value] for value in values]


def _metaphone(name: str | None) -> str | None:
    return doublemetaphone(name)[0] or None if name else None


def normalised_table(path: Path) -> pa.Table:
    """Normalised cleartext identifiers plus the blocking keys the token model uses."""
    raw = pq.read_table(path)
    forename = _distinct_map(raw.column("forename").to_pylist(), normalise_forename)
    surname = _distinct_map(raw.column("surname").to_pylist(), normalise_surname)
    full, sector, district = normalise_postcodes(raw.column("postcode").to_pylist())
    identifiers = pa.table(
        {
            "record_id": raw.column("record_id"),
            "forename": forename,
            "surname": surname,
            "fn_dm": _distinct_map(forename, _metaphone),
            "sn_dm": _distinct_map(surname, _metaphone),
            "dob": pa.compute.strftime(raw.column("dob"), "%Y-%m-%d"),
            "postcode": full,
            "pc_sector": sector,
            "pc_district": district,
            "nhs_number": raw.column("nhs_number"),
        }
    )
    # Derived cleartext keys for blocking, mirroring the token keys.
    return (
        duckdb.from_arrow(identifiers).query(
            "identifiers",
            "SELECT *, CASE WHEN forename < surname THEN forename || ' ' || surname "
            "ELSE surname || ' ' || forename END AS name_set, "
            "forename || ' ' || surname AS fn_sn, fn_dm || ' ' || sn_dm AS fn_sn_dm, "
            "substr(dob, 1, 7) AS dob_ym, substr(dob, 6, 5) AS dob_md, "
            "substr(dob, 1, 4) || substr(dob, 9, 2) AS dob_yd, "
            "left(forename, 1) || ' ' || surname AS fi_sn, "
            "left(forename, 4) || ' ' || surname AS fn_pre4_sn, "
            "forename || ' ' || left(surname, 4) AS fn_sn_pre4, postcode AS pc "
            "FROM identifiers",
        )
    ).to_arrow_table()


# Token keys named in training blocks, as the cleartext columns the reference compares,
# so that each EM session switches off the same comparisons in both models.
_CLEARTEXT_KEYS = {
    "name_set": ("forename", "surname"),
    "fn_sn": ("forename", "surname"),
    "fn": ("forename",),
    "sn": ("surname",),
}


def _cleartext_block(keys: tuple[str, ...]) -> list[str]:
    columns: list[str] = []
    for key in keys:
        columns.extend(_CLEARTEXT_KEYS.get(key, (key,)))
    return list(dict.fromkeys(columns))


def _name() -> cl.CustomComparison:
    similar = "jaro_winkler_similarity({a}_l, {a}_r) >= {t}"
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.CustomLevel(
                "forename_l IS NULL OR surname_l IS NULL OR forename_r IS NULL OR surname_r IS NULL"
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("fn_sn", term_frequency_adjustments=True),
            cll.CustomLevel(
                "forename_l = surname_r AND surname_l = forename_r",
                label_for_charts="names swapped",
            ),
            cll.CustomLevel(
                similar.format(a="forename", t=0.92)
                + " AND "
                + similar.format(a="surname", t=0.92),
                label_for_charts="both similar",
            ),
            cll.CustomLevel("fn_sn_dm_l = fn_sn_dm_r", label_for_charts="both phonetic"),
            cll.CustomLevel(
                "surname_l = surname_r AND " + similar.format(a="forename", t=0.8),
                label_for_charts="surname, forename similar",
            ),
            cll.CustomLevel(
                "forename_l = forename_r AND " + similar.format(a="surname", t=0.8),
                label_for_charts="forename, surname similar",
            ),
            cll.ExactMatchLevel("surname", term_frequency_adjustments=True).configure(
                label_for_charts="surname only"
            ),
            cll.ExactMatchLevel("forename", term_frequency_adjustments=True),
            cll.ElseLevel(),
        ],
    )


def _dob() -> cl.CustomComparison:
    swapped = "substr(dob_l, 1, 4) || substr(dob_l, 9, 2) || substr(dob_l, 6, 3)"
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob", term_frequency_adjustments=True),
            cll.CustomLevel(
                f"replace({swapped}, '-', '') = replace(dob_r, '-', '')",
                label_for_charts="day and month swapped",
            ),
            cll.CustomLevel("damerau_levenshtein(dob_l, dob_r) <= 1", label_for_charts="one edit"),
            cll.ExactMatchLevel("dob_ym"),
            cll.ExactMatchLevel("dob_md", term_frequency_adjustments=True),
            cll.ExactMatchLevel("dob_yd"),
            cll.ElseLevel(),
        ],
    )


def _postcode() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode", term_frequency_adjustments=True),
            cll.ExactMatchLevel("pc_sector"),
            cll.ExactMatchLevel("pc_district"),
            cll.ElseLevel(),
        ],
    )


# Token keys in prediction rules that are plain columns under another name here.
_PREDICTION_COLUMNS = {"fn": "forename", "sn": "surname"}


def _cleartext_rule(rule: BlockingRuleSpec) -> BlockingRuleSpec:
    # Built anew, not model_copy(update=...), so the rule is validated as any other.
    def key(name: str) -> str:
        return _PREDICTION_COLUMNS.get(name, name)

    return BlockingRuleSpec(
        all=tuple(
            EqualTerm(equal=key(term.equal))
            if isinstance(term, EqualTerm)
            else CrossTerm(cross=(key(term.cross[0]), key(term.cross[1])))
            for term in rule.all
        ),
        max_block_size=rule.max_block_size,
    )


def _usable(rule: BlockingRuleSpec) -> bool:
    cross = [term.cross for term in rule.all if isinstance(term, CrossTerm)]
    return all(set(pair) <= set(_PREDICTION_COLUMNS) for pair in cross) and all(
        key not in ("upn", "pnc_id") for key in rule.keys
    )


def cleartext_blocking_rules(job: LinkJob, columns: Collection[str]) -> list[Any]:
    """The job's blocking rules on the cleartext columns of the same names.

    A capped rule blocks on the columns ``add_cleartext_capped_blocks`` writes. Rules on
    keys the cleartext tables lack (the other identifier types) are skipped, as the
    token run skips rules on keys no dataset carries.
    """
    rules: list[Any] = []
    for index, rule in enumerate(job.blocking_rules):
        if not _usable(rule) or not set(_cleartext_rule(rule).keys) <= set(columns):
            continue
        if rule.max_block_size is not None:
            rules.extend(capped_rule_sql(rule, index))
        else:
            rules.extend(blocking_rule_sql(_cleartext_rule(rule)))
    return rules


def add_cleartext_capped_blocks(
    connection: duckdb.DuckDBPyConnection, tables: list[str], *, job: LinkJob
) -> None:
    """The capped rules' block columns on cleartext tables, as the token run makes them."""
    rules = [_cleartext_rule(rule) if _usable(rule) else rule for rule in job.blocking_rules]
    columns = {str(row[0]) for row in connection.sql(f"DESCRIBE {tables[0]}").fetchall()}
    for statement in capped_blocks_sql(rules, tables=tables, available=columns):
        connection.execute(statement)


def cleartext_linker(
    connection: duckdb.DuckDBPyConnection, left: str, right: str, *, job: LinkJob
) -> Linker:
    """A trained cleartext Splink model over work tables ``left`` and ``right``."""
    add_cleartext_capped_blocks(connection, [left, right], job=job)
    columns = {str(row[0]) for row in connection.execute(f"DESCRIBE {left}").fetchall()}
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="record_id",
        comparisons=[_name(), _dob(), _postcode(), cl.ExactMatch("nhs_number")],
        blocking_rules_to_generate_predictions=cleartext_blocking_rules(job, columns),
        probability_two_random_records_match=1e-4,
        retain_intermediate_calculation_columns=True,  # gamma columns, for hold_back
    )
    db_api = DuckDBAPI(connection)
    frames = [
        db_api.register(left, dataset_display_name="left"),
        db_api.register(right, dataset_display_name="right"),
    ]
    linker = Linker(frames, settings, log_level=logging.ERROR)
    training = job.training
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*_cleartext_block(keys)) for keys in training.prior_rules],
        recall=training.prior_recall,
    )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=training.u_max_pairs, seed=training.seed
    )
    for keys in job.em_blocks:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*_cleartext_block(keys)), max_pairs=training.em_max_pairs
        )
    return linker


def cleartext_hold_back_sql(linker: Linker, job: LinkJob) -> str:
    """SQL true for a scored pair the job's twins rule would hold back, in cleartext terms.

    The token model holds back pairs whose names agree on the surname only (no forename
    evidence) unless an identifier agrees; the reference's "surname only" level is the
    surname equal with forenames neither similar nor phonetically equal, and its one
    identifier is the NHS number.
    """
    if not job.hold_back:
        return "FALSE"
    gammas = level_gammas(linker)
    surname_only = gammas["name", "surname only"]
    nhs_exact = max(value for (name, _label), value in gammas.items() if name == "nhs_number")
    return f"(gamma_name = {surname_only} AND gamma_nhs_number IS DISTINCT FROM {nhs_exact})"


def link_cleartext_extracts(
    left: Path, right: Path, *, job: LinkJob
) -> tuple[duckdb.DuckDBPyConnection, Linker]:
    """Normalise two canonical extracts into a fresh connection and train the reference."""
    connection = duckdb.connect()
    for side, path in (("left", left), ("right", right)):
        connection.register(f"{side}_arrow", normalised_table(path))
        connection.execute(f"CREATE TABLE clear_{side} AS SELECT * FROM {side}_arrow")
    return connection, cleartext_linker(connection, "clear_left", "clear_right", job=job)
