"""Statistical disclosure control for outputs leaving the TRE.

Researchers build protected tables (``frequency_table``, ``magnitude_table``) and
self-checking models (``fit_model``); output checkers and ``tre_export`` re-check files
(``check_table_file``, ``check_model_file``) and audit a whole request at once
(``audit_outputs``). Policies come from ``specs/sdc/*.yaml`` through ``load_policy``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trelink.lazy import lazy_module_hooks

if TYPE_CHECKING:
    from sdc.audit import AuditedCell, AuditReport, audit_outputs
    from sdc.check import TableCheck, check_table_file
    from sdc.errors import (
        InconsistentTableError,
        ModelOutputError,
        PolicyError,
        RefusedStatisticError,
        SdcError,
        SuppressionError,
        TableInputError,
    )
    from sdc.models import CheckedModel, ModelCheck, check_model_file, fit_model
    from sdc.order_statistics import order_statistic_table
    from sdc.policy import DEFAULT_POLICY, Policy, load_policy
    from sdc.rounding import base_round, controlled_round
    from sdc.statistics import safe_statistic
    from sdc.status import CellStatus, Method, Rule, TableKind
    from sdc.table import ProtectedTable, frequency_table, magnitude_table
    from sdc.tablefile import TableFile, decision_record_path, read_table_file, write_table

__all__ = [
    "DEFAULT_POLICY",
    "AuditReport",
    "AuditedCell",
    "CellStatus",
    "CheckedModel",
    "InconsistentTableError",
    "Method",
    "ModelCheck",
    "ModelOutputError",
    "Policy",
    "PolicyError",
    "ProtectedTable",
    "RefusedStatisticError",
    "Rule",
    "SdcError",
    "SuppressionError",
    "TableCheck",
    "TableFile",
    "TableInputError",
    "TableKind",
    "audit_outputs",
    "base_round",
    "check_model_file",
    "check_table_file",
    "controlled_round",
    "decision_record_path",
    "fit_model",
    "frequency_table",
    "load_policy",
    "magnitude_table",
    "order_statistic_table",
    "read_table_file",
    "safe_statistic",
    "write_table",
]

# Public name -> the module that defines it, imported on first use (trelink.lazy).
_EXPORTS: dict[str, str] = {
    "DEFAULT_POLICY": "sdc.policy",
    "AuditReport": "sdc.audit",
    "AuditedCell": "sdc.audit",
    "CellStatus": "sdc.status",
    "CheckedModel": "sdc.models",
    "InconsistentTableError": "sdc.errors",
    "Method": "sdc.status",
    "ModelCheck": "sdc.models",
    "ModelOutputError": "sdc.errors",
    "Policy": "sdc.policy",
    "PolicyError": "sdc.errors",
    "ProtectedTable": "sdc.table",
    "RefusedStatisticError": "sdc.errors",
    "Rule": "sdc.status",
    "SdcError": "sdc.errors",
    "SuppressionError": "sdc.errors",
    "TableCheck": "sdc.check",
    "TableFile": "sdc.tablefile",
    "TableInputError": "sdc.errors",
    "TableKind": "sdc.status",
    "audit_outputs": "sdc.audit",
    "base_round": "sdc.rounding",
    "check_model_file": "sdc.models",
    "check_table_file": "sdc.check",
    "controlled_round": "sdc.rounding",
    "decision_record_path": "sdc.tablefile",
    "fit_model": "sdc.models",
    "frequency_table": "sdc.table",
    "load_policy": "sdc.policy",
    "magnitude_table": "sdc.table",
    "order_statistic_table": "sdc.order_statistics",
    "read_table_file": "sdc.tablefile",
    "safe_statistic": "sdc.statistics",
    "write_table": "sdc.tablefile",
}


__getattr__, __dir__ = lazy_module_hooks(__name__, _EXPORTS)
