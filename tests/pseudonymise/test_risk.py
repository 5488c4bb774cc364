"""Risk report: frequency skew per token column and k-anonymity of quasi-identifiers."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from pseudonymise import pseudonymise_table
from pseudonymise.spec import PseudonymiseSpec, RiskLimits

LINKAGE = bytes(range(32))
OWNER = bytes(range(1, 33))


FORENAMES = [
    "Amira",
    "Bilal",
    "Chidi",
    "Dawit",
    "Elira",
    "Fatima",
    "Gezim",
    "Hana",
    "Ivan",
    "Jonas",
    "Kiros",
    "Linh",
    "Mariam",
    "Nadia",
    "Omar",
    "Pavel",
    "Quang",
    "Rahel",
    "Samir",
    "Tuan",
]


def _frame() -> pd.DataFrame:
    rows = 20
    return pd.DataFrame(
        {
            "record_id": [f"R{index}" for index in range(rows)],
            "forename": FORENAMES,
            # half the rows share one surname: a frequency-attack target
            "surname": ["Smith"] * 10 + [f"Family{chr(65 + index)}" for index in range(10)],
            "dob": [dt.date(2006, 1, 1)] * 5 + [dt.date(2005, 2, 1 + index) for index in range(15)],
            "sex": ["F"] * 12 + ["M"] * 8,
            "nationality": ["Vietnam"] * 12 + ["Albania"] * 7 + ["Eritrea"],
        }
    )


def test_token_skew_and_k_anonymity_are_measured() -> None:
    tables = pseudonymise_table(_frame(), linkage_key=LINKAGE, owner_key=OWNER)
    tokens = {token.column: token for token in tables.risk.tokens}
    assert tokens["sn"].max_share == pytest.approx(0.5)
    assert tokens["sn"].cardinality == 11
    assert tokens["fn"].max_share == pytest.approx(0.05) and tokens["fn"].entropy == 1.0
    assert tokens["dob"].cardinality == 16
    k = tables.risk.k_anonymity
    assert k is not None and k.quasi_identifiers == ("sex", "nationality")
    assert (k.classes, k.smallest_class, k.rows_below_limit) == (3, 1, 1)
    warnings = "\n".join(tables.risk.warnings)
    assert "'sn': the commonest value covers 50.0%" in warnings
    assert "1 row(s) in groups smaller than k=5" in warnings


def test_limits_come_from_the_spec_and_the_report_holds_no_values() -> None:
    relaxed = PseudonymiseSpec(
        version=1,
        quasi_identifiers=("sex",),
        risk=RiskLimits(max_token_share=0.9, min_k=2),
    )
    tables = pseudonymise_table(_frame(), linkage_key=LINKAGE, owner_key=OWNER, options=relaxed)
    assert tables.risk.warnings == ()
    report = json.dumps(tables.manifest["risk"])
    for value in ("Smith", "SMITH", "Amira", "2006-01-01", "Vietnam"):
        assert value not in report
    identity = tables.identity
    assert identity is not None
    for token in identity.column("sn").to_pylist():
        assert str(token) not in report
