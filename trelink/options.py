"""Options that mean the same in every ``trelink`` command, and their old spellings.

One name, one meaning: ``--overwrite`` replaces an existing output or import wherever a
command can refuse one, and ``--json`` prints the command's result as one JSON document
on stdout. Spellings a command used before (``--force``, ``--replace``, ictg's ``--key``)
stay as hidden aliases that still work and say once, on stderr, what to write instead,
so that existing scripts keep running while they are updated.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import typer

from trelink.errors import TrelinkError

__all__ = [
    "JSON_HELP",
    "OVERWRITE_HELP",
    "comma_separated",
    "dataset_key_paths",
    "deprecated_alias",
    "prefer",
]

OVERWRITE_HELP = "Replace an existing output (only once the new one is complete)."
JSON_HELP = "Print the result as one JSON document on stdout (messages go to stderr)."

_Value = TypeVar("_Value")


def _notice(old: str, advice: str) -> Callable[[Any], Any]:
    def callback(value: Any) -> Any:
        if value not in (None, False):
            sys.stderr.write(f"trelink: {old} is deprecated; {advice}\n")
        return value

    return callback


def deprecated_alias(old: str, new: str, *, flag: bool = True, advice: str = "") -> Any:
    """A hidden option spelled ``old`` that prints a one-line notice naming ``new``.

    The command combines it with the new option through ``prefer``. ``flag=False`` makes
    an alias that takes a value (ictg's ``--key COLUMN``); ``advice`` replaces the
    notice's "use NEW" where there is no new spelling to use.
    """
    return typer.Option(
        False if flag else None,
        old,
        hidden=True,
        callback=_notice(old, advice or f"use {new}"),
        show_default=False,
    )


def prefer(new: _Value, old: _Value | None, *, unset: _Value) -> _Value:
    """The new option's value, or the old spelling's when only that one was given."""
    if old is None or old is False:
        return new
    return old if new == unset else new


def comma_separated(text: str | None) -> list[str] | None:
    """The names in a comma-separated option (``"nrm, npd"``: nrm and npd); None when
    the option was not given."""
    if not text:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def dataset_key_paths(
    values: Sequence[str], *, refuse: type[TrelinkError], option: str = "--owner"
) -> dict[str, Path]:
    """Repeated ``--owner DATASET=PUBLIC_KEY`` values: the key file of each dataset.

    A value not so written is refused with ``refuse``, the command's own error.
    """
    paths: dict[str, Path] = {}
    for value in values:
        dataset, separator, path = value.partition("=")
        if not separator or not dataset or not path:
            raise refuse(
                f"{option} {value!r}: write DATASET=PUBLIC_KEY, e.g. nrm=homeoffice.public.pem"
            )
        paths[dataset] = Path(path)
    return paths
