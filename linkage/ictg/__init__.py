"""ICTG stages 2-4: the Independent Child Trafficking Guardianship returns combined.

Referral, monthly and contact returns (DW, RPC and 'Missing' groups, several periods)
are combined by pseudonymous URN into episodes, then written as a long and a wide form.
One module per step, each a pure SQL builder::

    linkage.ictg.inputs      the input tables and their checks
    linkage.ictg.preference  which group's copy of a value wins
    linkage.ictg.episodes    referrals into episodes (copies, re-entries, closures)
    linkage.ictg.events      monthly and contact rows attached to episodes
    linkage.ictg.forms       the long and wide forms
    linkage.ictg.summary     the counts a run reports
    linkage.ictg.stages      the whole run: ``write_stages``, ``build_stages``
    linkage.ictg.cli         ``trelink ictg``

Public names are listed in ``__all__`` and loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trelink.lazy import lazy_module_hooks

if TYPE_CHECKING:
    from linkage.ictg.forms import IctgCodes
    from linkage.ictg.inputs import (
        IctgInputError,
        IctgSources,
        database_sources,
        parquet_sources,
    )
    from linkage.ictg.stages import (
        OUTPUT_TABLES,
        IctgRules,
        build_stages,
        default_codes,
        write_stages,
    )
    from linkage.ictg.summary import IctgSummary

__all__ = [
    "OUTPUT_TABLES",
    "IctgCodes",
    "IctgInputError",
    "IctgRules",
    "IctgSources",
    "IctgSummary",
    "build_stages",
    "database_sources",
    "default_codes",
    "parquet_sources",
    "write_stages",
]

_EXPORTS = {
    "OUTPUT_TABLES": "linkage.ictg.stages",
    "IctgCodes": "linkage.ictg.forms",
    "IctgInputError": "linkage.ictg.inputs",
    "IctgRules": "linkage.ictg.stages",
    "IctgSources": "linkage.ictg.inputs",
    "IctgSummary": "linkage.ictg.summary",
    "build_stages": "linkage.ictg.stages",
    "database_sources": "linkage.ictg.inputs",
    "default_codes": "linkage.ictg.stages",
    "parquet_sources": "linkage.ictg.inputs",
    "write_stages": "linkage.ictg.stages",
}

__getattr__, __dir__ = lazy_module_hooks(__name__, _EXPORTS)
