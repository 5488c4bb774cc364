"""The exit status of every ``trelink`` command, one meaning per number.

======  =================  ==========================================================
status  name               meaning
======  =================  ==========================================================
0       ``OK``             the command did what was asked (a check: the output passed)
1       ``INTERNAL_FAULT`` a fault in trelink or a library beneath it (please report)
2       ``USAGE``          the command line itself is wrong: unknown command or option,
                           missing or malformed value (Click's usage errors)
3       ``REFUSED``        the input was refused: a file, spec, key, package or request
                           that trelink will not work on (any ``TrelinkError``)
4       ``CHECK_FAILED``   a check ran to the end and its answer is "no": ``sdc check``
                           (output not safe), ``sdc audit`` (audit failed), ``export
                           audit`` (the log does not verify)
======  =================  ==========================================================

A script can therefore tell "fix your command" (2) from "fix your input" (3) from "this
output must not be released" (4). ``README.md`` and ``docs/`` list the same table;
``tests/test_exit_codes.py`` runs one command for each status.
"""

from __future__ import annotations

from enum import IntEnum

import typer

__all__ = ["ExitCode", "check_failed"]


class ExitCode(IntEnum):
    """Exit status of a ``trelink`` command (see the module's table)."""

    OK = 0
    INTERNAL_FAULT = 1
    USAGE = 2
    REFUSED = 3
    CHECK_FAILED = 4


def check_failed() -> typer.Exit:
    """The exception a command raises once it has said why its check failed."""
    return typer.Exit(int(ExitCode.CHECK_FAILED))
