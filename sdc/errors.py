"""Errors raised by ``sdc`` on purpose.

Exception tree::

    trelink.errors.TrelinkError
    └── SdcError                      root of everything below
        ├── PolicyError               a policy file is missing, malformed or invalid
        ├── TableInputError           bad microdata or table file: unknown column,
        │                             non-numeric value, negative count, no margins,
        │                             labels that collide with ``Total``
        ├── InconsistentTableError    published numbers contradict each other (margins
        │                             that do not add up), so no audit is possible
        ├── SuppressionError          the solver failed to find a suppression pattern
        ├── RefusedStatisticError     an unsafe statistic (min, max, percentile, mode)
        │                             was asked for with too few contributors
        └── ModelOutputError          a model could not be fitted, wrapped or re-checked

Messages name the file, row, column or key at fault; they never include a record's
identifier or an individual's value.
"""

from __future__ import annotations

from trelink.errors import TrelinkError

__all__ = [
    "InconsistentTableError",
    "ModelOutputError",
    "PolicyError",
    "RefusedStatisticError",
    "SdcError",
    "SuppressionError",
    "TableInputError",
]


class SdcError(TrelinkError):
    """Root of every error ``sdc`` raises deliberately."""


class PolicyError(SdcError):
    """A disclosure-control policy could not be loaded."""


class TableInputError(SdcError):
    """Microdata or a table file is not usable as given."""


class InconsistentTableError(SdcError):
    """Published values contradict the table's own additivity."""


class SuppressionError(SdcError):
    """Secondary suppression could not be completed."""


class RefusedStatisticError(SdcError):
    """An unsafe statistic was refused under the policy."""


class ModelOutputError(SdcError):
    """A statistical model could not be checked or written."""
