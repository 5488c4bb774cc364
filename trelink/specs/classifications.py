"""Fixed, public classifications shared by every role.

Nationality groups follow the broad groupings of published NRM statistics. The
generator draws people by them, the linkage report measures recall by them, and the
analyses tabulate by them, so they are defined once, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["NATIONALITY_GROUPS", "OTHER_GROUP"]

OTHER_GROUP = "Other"

# Nationality code (as in specs/datasets/*.yaml) -> its group; unlisted codes are "Other".
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
        "other": OTHER_GROUP,
    }
)
