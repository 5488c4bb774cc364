"""Subgroups the report derives from attributes: nationality groups from nationalities.

Owners' attributes carry ``nationality``; the linkage-bias tables compare recall across
broader ``nationality_group`` values, as published NRM statistics do. The grouping is
a fixed, public classification, so it lives here (the TRE does not run the synthetic
generator, whose population model uses the same groups; a test keeps them equal).
Nationalities not listed fall into "Other".
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["NATIONALITY_GROUPS", "nationality_group_sql"]

NATIONALITY_GROUPS: Mapping[str, str] = MappingProxyType(
    {
        "british": "British",
        "albanian": "European",
        "romanian": "European",
        "polish": "European",
        "vietnamese": "East Asian",
        "chinese": "East Asian",
        "sudanese": "African",
        "eritrean": "African",
        "ethiopian": "African",
        "nigerian": "African",
        "afghan": "Middle East and Central Asia",
        "iranian": "Middle East and Central Asia",
        "iraqi": "Middle East and Central Asia",
        "kuwaiti": "Middle East and Central Asia",
    }
)


def nationality_group_sql(column: str) -> str:
    """SQL mapping a (case-insensitive) nationality column to its group; null stays null."""
    cases = " ".join(
        f"WHEN '{nationality}' THEN '{group}'" for nationality, group in NATIONALITY_GROUPS.items()
    )
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"ELSE CASE lower(trim(CAST({column} AS VARCHAR))) {cases} ELSE 'Other' END END"
    )
