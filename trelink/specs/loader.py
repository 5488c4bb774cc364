"""Load a YAML spec into a frozen, validated pydantic model.

Every kind of spec (dataset, match keys, linkage job, SDC policy) is a subclass of
``SpecModel`` with a ``version`` field. ``load_spec`` collects all problems in the
file (YAML syntax, unknown or missing keys, wrong types, failed checks) and raises
one ``SpecError`` listing each with its file and key path, so an editor fixes a file
in one pass rather than one error per run.

Versioning: a model declares ``SPEC_VERSION`` (the newest) and may override
``migrate(data, from_version)`` to upgrade older documents before validation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from trelink.errors import TrelinkError

__all__ = [
    "SPECS_DIR",
    "FrozenModel",
    "SpecError",
    "SpecModel",
    "load_spec",
    "spec_path",
    "validate_spec",
]

# The YAML contracts live in the repository's top-level ``specs/`` folder (beside the
# role packages), apart from the Python that reads them. A wheel carries a copy inside
# this package, ``shipped/`` (setup.py copies it at build time), used when present.
_SHIPPED = Path(__file__).resolve().parent / "shipped"
SPECS_DIR = _SHIPPED if _SHIPPED.is_dir() else Path(__file__).resolve().parents[2] / "specs"


class SpecError(TrelinkError):
    """A spec file could not be read or is invalid. ``problems`` lists each one."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{source}: {len(problems)} {noun}:\n{listing}")


class FrozenModel(BaseModel):
    """Base of every part of a spec: frozen (never changed after validation), unknown
    keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def with_changes(self, **changes: Any) -> Self:
        """This object with ``changes`` (``threshold=5``, ``rounding=RoundingRules(base=5)``),
        validated as a new one is: a bad value raises ``ValidationError``, where
        ``model_copy(update=...)`` would take it unchecked."""
        return type(self).model_validate(self.model_dump() | changes)


class SpecModel(FrozenModel):
    """Base of every spec: a ``FrozenModel`` with a schema version."""

    SPEC_VERSION: ClassVar[int] = 1
    version: int

    @classmethod
    def migrate(cls, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Upgrade a document written for ``from_version`` to ``SPEC_VERSION``.

        The default knows no older versions; subclasses that change their schema
        override this and keep every old version loadable.
        """
        raise ValueError(
            f"version {from_version} is not supported "
            f"(this trelink reads version {cls.SPEC_VERSION})"
        )


SpecT = TypeVar("SpecT", bound=SpecModel)


def spec_path(*parts: str) -> Path:
    """Path of a spec shipped with trelink, e.g. ``spec_path("datasets", "nrm.yaml")``."""
    return SPECS_DIR.joinpath(*parts)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_spec(
    path: str | os.PathLike[str],
    model: type[SpecT],
    *,
    context: Mapping[str, Any] | None = None,
) -> SpecT:
    """Read ``path`` and validate it as ``model``; raise ``SpecError`` listing all problems.

    ``context`` reaches the model's validators (pydantic's validation context): what a
    file is checked against beyond itself, e.g. the match-key spec of a linkage job.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(source, ["file not found"]) from None
    except IsADirectoryError:
        raise SpecError(source, ["is a directory, not a YAML file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(source, [f"cannot be read: {error.__class__.__name__}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise SpecError(source, [f"{where}{problem}"]) from None
    return validate_spec(data, model, source=source, context=context)


def validate_spec(
    data: object,
    model: type[SpecT],
    *,
    source: str,
    context: Mapping[str, Any] | None = None,
) -> SpecT:
    """Validate already-parsed data (used by ``load_spec`` and by tests)."""
    if not isinstance(data, dict):
        raise SpecError(source, ["the file must hold a mapping of keys at the top level"])
    version = data.get("version")
    if not isinstance(version, int):
        raise SpecError(
            source, [f"version: required, a whole number (newest is {model.SPEC_VERSION})"]
        )
    if version != model.SPEC_VERSION:
        try:
            data = model.migrate(dict(data), version)
        except ValueError as error:
            raise SpecError(source, [f"version: {error}"]) from None
    try:
        return model.model_validate(data, context=None if context is None else dict(context))
    except ValidationError as error:
        problems = [f"{_location(item['loc'])}: {item['msg']}" for item in error.errors()]
        raise SpecError(source, problems) from None
