"""How exposed a pseudonymised extract is: token frequencies and k-anonymity.

A keyed token cannot be reversed without the key, but an attacker who knows the
population can still match token *frequencies* to value frequencies (the commonest
surname token is probably SMITH). For each token column the report gives the number of
rows with a value, the cardinality, the share of rows taken by the commonest token,
and the normalised Shannon entropy (1.0 = all values equally common). For the
quasi-identifiers left in the attributes it gives the smallest equivalence class (k)
and how many rows sit in classes smaller than the limit.

The report contains counts and shares only: never a token, a value or a record pid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pseudonymise.encoded import Encoded, EncodedLists
from pseudonymise.spec import RiskLimits

__all__ = ["KAnonymity", "RiskReport", "TokenRisk", "assess_risk"]


@dataclass(frozen=True)
class TokenRisk:
    column: str
    rows_with_value: int
    cardinality: int
    max_share: float
    entropy: float


@dataclass(frozen=True)
class KAnonymity:
    quasi_identifiers: tuple[str, ...]
    classes: int
    smallest_class: int
    rows_below_limit: int


@dataclass(frozen=True)
class RiskReport:
    tokens: tuple[TokenRisk, ...]
    k_anonymity: KAnonymity | None
    limits: RiskLimits
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "tokens": [asdict(token) for token in self.tokens],
            "k_anonymity": None if self.k_anonymity is None else asdict(self.k_anonymity),
            "limits": self.limits.model_dump(),
            "warnings": list(self.warnings),
        }


def _token_counts(part: Encoded | EncodedLists) -> tuple[int, npt.NDArray[np.float64]]:
    """Rows with a value, and how many rows hold each distinct token.

    Distinct messages stand for distinct tokens (64-bit collisions aside), so this
    works on the codes without touching a token.
    """
    valid = part.codes[part.codes >= 0]
    width = len(part) if isinstance(part, Encoded) else len(part.lists)
    rows_per_code = np.bincount(valid, minlength=width).astype(np.float64)
    if isinstance(part, Encoded):
        return len(valid), rows_per_code[rows_per_code > 0]
    # A list column: a token is counted once for every row whose list holds it.
    flat = [item for items in part.lists for item in items]
    owners = np.repeat(np.arange(len(part.lists)), [len(items) for items in part.lists])
    codes, uniques = pd.factorize(np.asarray(flat, dtype=object))
    counts = np.bincount(codes, weights=rows_per_code[owners], minlength=len(uniques))
    return len(valid), counts[counts > 0].astype(np.float64)


def _token_risk(name: str, part: Encoded | EncodedLists) -> TokenRisk:
    rows, counts = _token_counts(part)
    if rows == 0:
        return TokenRisk(name, 0, 0, 0.0, 0.0)
    shares = counts / counts.sum()
    entropy = float(-(shares * np.log(shares)).sum())
    normalised = entropy / math.log(len(counts)) if len(counts) > 1 else 0.0
    max_share = float(counts.max()) / rows
    return TokenRisk(name, rows, len(counts), round(max_share, 6), round(normalised, 4))


def _k_anonymity(attributes: pa.Table, columns: tuple[str, ...], min_k: int) -> KAnonymity:
    keyed = pa.table(
        {
            name: pc.cast(attributes.column(name), pa.string())
            if not pa.types.is_list(attributes.column(name).type)
            else pc.binary_join(pc.cast(attributes.column(name), pa.list_(pa.string())), "|")
            for name in columns
        }
    )
    groups = keyed.group_by(list(columns)).aggregate([([], "count_all")])
    sizes = groups.column("count_all").to_numpy()
    return KAnonymity(columns, len(sizes), int(sizes.min()), int(sizes[sizes < min_k].sum()))


def assess_risk(
    match_keys: Mapping[str, Encoded | EncodedLists],
    attributes: pa.Table,
    *,
    quasi_identifiers: tuple[str, ...],
    limits: RiskLimits,
) -> RiskReport:
    """Token frequency skew (from the derived keys) and k-anonymity, with warnings."""
    tokens = tuple(_token_risk(name, part) for name, part in match_keys.items())
    warnings = [
        f"token column {token.column!r}: the commonest value covers {token.max_share:.1%} of "
        f"rows (limit {limits.max_token_share:.1%}); exposed to a frequency attack"
        for token in tokens
        if token.max_share > limits.max_token_share and token.rows_with_value >= limits.min_k
    ]
    present = tuple(name for name in quasi_identifiers if name in attributes.column_names)
    k_anonymity = _k_anonymity(attributes, present, limits.min_k) if present else None
    if k_anonymity is not None and k_anonymity.smallest_class < limits.min_k:
        warnings.append(
            f"quasi-identifiers {list(present)}: {k_anonymity.rows_below_limit} row(s) in "
            f"groups smaller than k={limits.min_k} (smallest group {k_anonymity.smallest_class})"
        )
    return RiskReport(tokens, k_anonymity, limits, tuple(warnings))
