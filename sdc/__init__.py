"""Statistical disclosure control for outputs leaving the TRE.

Researchers build protected tables (``frequency_table``, ``magnitude_table``) and
self-checking models (``fit_model``); output checkers and ``tre_export`` re-check files
(``check_table_file``, ``check_model_file``) and audit a whole request at once
(``audit_outputs``). Policies come from ``specs/sdc/*.yaml`` through ``load_policy``.
"""

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
from sdc.status import CellStatus, Rule, TableKind
from sdc.suppression import Method
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
