"""Subgroups the report derives from attributes: nationality groups from nationalities.

Owners' attributes carry ``nationality``; the linkage-bias tables compare recall across
broader ``nationality_group`` values, as published NRM statistics do. The grouping is
a fixed, public classification shared with the generator and the analyses
(``specs.classifications``). Nationalities not listed fall into "Other".
"""

from __future__ import annotations

from trelink.specs.classifications import NATIONALITY_GROUPS, OTHER_GROUP

__all__ = ["NATIONALITY_GROUPS", "nationality_group_sql"]


def nationality_group_sql(column: str) -> str:
    """SQL mapping a (case-insensitive) nationality column to its group; null stays null."""
    cases = " ".join(
        f"WHEN '{nationality}' THEN '{group}'" for nationality, group in NATIONALITY_GROUPS.items()
    )
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"ELSE CASE lower(trim(CAST({column} AS VARCHAR))) {cases} ELSE '{OTHER_GROUP}' END END"
    )
