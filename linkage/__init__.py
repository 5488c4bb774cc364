"""The TRE side: import verified packages, link tokens with Splink, build the person spine.

Public names are listed in ``__all__``; modules not named here are internal.

``link_datasets`` runs one linkage job (what ``trelink link`` calls); sources come from
pseudonymised folders (``folder_source``) or from a TRE database of imported datasets
(``database_sources``); ``LinkJob``/``load_link_job`` describe a job. In a notebook,
the ``LinkResult`` gives the pairs and clusters as DataFrames and ``open_linker`` gives
Splink's linker for its charts; ``write_person_table`` (``trelink spine``) writes one row
per person. Paths may be ``str`` or ``Path`` throughout (docs/python-api.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trelink.lazy import lazy_module_hooks

if TYPE_CHECKING:
    from linkage.errors import (
        ImportPackageError,
        InputTableError,
        JobParameterError,
        JobSpecError,
        KeyMismatchError,
        LinkageError,
        TrainingError,
    )
    from linkage.evaluate import GroupMetrics, LinkageMetrics, QualityCounts
    from linkage.importer import ImportedDataset, import_package, list_datasets
    from linkage.inputs import DatasetSource, folder_source
    from linkage.job import LinkJob, load_link_job
    from linkage.person_spec import PersonTableSpec, load_person_table_spec
    from linkage.person_table import PersonTable, write_person_table
    from linkage.run import LinkResult, link_datasets
    from linkage.sources import database_sources
    from linkage.workbench import LinkerSession, open_linker, read_output_table

__all__ = [
    "DatasetSource",
    "GroupMetrics",
    "ImportPackageError",
    "ImportedDataset",
    "InputTableError",
    "JobParameterError",
    "JobSpecError",
    "KeyMismatchError",
    "LinkJob",
    "LinkResult",
    "LinkageError",
    "LinkageMetrics",
    "LinkerSession",
    "PersonTable",
    "PersonTableSpec",
    "QualityCounts",
    "TrainingError",
    "database_sources",
    "folder_source",
    "import_package",
    "link_datasets",
    "list_datasets",
    "load_link_job",
    "load_person_table_spec",
    "open_linker",
    "read_output_table",
    "write_person_table",
]

# Public name -> the module that defines it, imported on first use (trelink.lazy).
_EXPORTS: dict[str, str] = {
    "DatasetSource": "linkage.inputs",
    "GroupMetrics": "linkage.evaluate",
    "ImportPackageError": "linkage.errors",
    "ImportedDataset": "linkage.importer",
    "InputTableError": "linkage.errors",
    "JobParameterError": "linkage.errors",
    "JobSpecError": "linkage.errors",
    "KeyMismatchError": "linkage.errors",
    "TrainingError": "linkage.errors",
    "LinkJob": "linkage.job",
    "LinkResult": "linkage.run",
    "LinkageError": "linkage.errors",
    "LinkageMetrics": "linkage.evaluate",
    "LinkerSession": "linkage.workbench",
    "PersonTable": "linkage.person_table",
    "PersonTableSpec": "linkage.person_spec",
    "QualityCounts": "linkage.evaluate",
    "database_sources": "linkage.sources",
    "folder_source": "linkage.inputs",
    "import_package": "linkage.importer",
    "link_datasets": "linkage.run",
    "list_datasets": "linkage.importer",
    "load_link_job": "linkage.job",
    "load_person_table_spec": "linkage.person_spec",
    "open_linker": "linkage.workbench",
    "read_output_table": "linkage.workbench",
    "write_person_table": "linkage.person_table",
}


__getattr__, __dir__ = lazy_module_hooks(__name__, _EXPORTS)
