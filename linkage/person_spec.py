"""The person-table spec: which attributes of which dataset join the person-level spine.

A YAML file (``specs/person_table/ictg.yaml`` is the demo's) loaded into the frozen
``PersonTableSpec`` (validated on load, every problem reported at once with its key
path). For each dataset it names the column that orders its records in time
(``order_by``, a date or text that sorts like one, such as ``2019/20``) and the
attributes to carry over, each by one rule:

``first`` / ``latest``
    the value of the person's earliest / latest record (by ``order_by``) that has a
    value; records without an ``order_by`` value come after those with one;
``count``
    how many of the person's rows in the dataset have the value true (a boolean
    column) or have a value at all (any other type); 0 when the person has none;
``any``
    whether that count is above 0.

Each becomes the column ``name`` (default ``<dataset>_<column>_<rule>``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from trelink.specs.loader import FrozenModel, SpecError, SpecModel, load_spec, validate_spec

__all__ = [
    "AttributeRule",
    "DatasetAttributes",
    "PersonTableSpec",
    "Rule",
    "fixed_columns",
    "load_person_table_spec",
    "with_options",
]

Rule = Literal["first", "latest", "any", "count"]
_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
ColumnName = Annotated[str, Field(pattern=_NAME_PATTERN, max_length=63)]


class AttributeRule(FrozenModel):
    """One output column: ``rule`` applied to ``column`` over a person's records."""

    column: ColumnName
    rule: Rule
    name: ColumnName | None = None

    def output_name(self, dataset: str) -> str:
        return self.name or f"{dataset}_{self.column}_{self.rule}"


class DatasetAttributes(FrozenModel):
    """The attributes taken from one dataset, and the column that orders its records."""

    order_by: ColumnName | None = None
    attributes: tuple[AttributeRule, ...] = ()

    @model_validator(mode="after")
    def _ordered_rules_need_order_by(self) -> DatasetAttributes:
        if self.order_by is None:
            needing = [
                f"attributes[{index}] ({item.column}: {item.rule})"
                for index, item in enumerate(self.attributes)
                if item.rule in ("first", "latest")
            ]
            if needing:
                raise ValueError(
                    f"{', '.join(needing)} need order_by: the column (a date) that says "
                    "which record is first or latest"
                )
        return self


def fixed_columns(datasets: list[str]) -> list[str]:
    """The columns every person table has: ``person_id``, ``datasets``, ``records`` and
    ``<dataset>_records`` for each dataset."""
    return ["person_id", "datasets", "records", *(f"{name}_records" for name in datasets)]


class PersonTableSpec(SpecModel):
    """A whole person-table spec."""

    name: str = "person-table"
    datasets: dict[ColumnName, DatasetAttributes] = Field(default_factory=dict)
    version: int = 1

    @model_validator(mode="after")
    def _distinct_names(self) -> PersonTableSpec:
        reserved = set(fixed_columns(list(self.datasets)))
        seen: dict[str, str] = {}
        problems = []
        for dataset, chosen in self.datasets.items():
            for index, item in enumerate(chosen.attributes):
                where = f"datasets.{dataset}.attributes[{index}]"
                name = item.output_name(dataset)
                if name in reserved:
                    problems.append(f"{where}: column name {name!r} is one trelink writes itself")
                elif name in seen:
                    problems.append(
                        f"{where}: column name {name!r} is also given by {seen[name]}; "
                        "set `name:` on one of them"
                    )
                seen.setdefault(name, where)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def columns(self) -> list[tuple[str, AttributeRule]]:
        """(dataset, attribute rule) in the order the table's columns come."""
        return [
            (dataset, item)
            for dataset, chosen in self.datasets.items()
            for item in chosen.attributes
        ]


def load_person_table_spec(path: str | os.PathLike[str]) -> PersonTableSpec:
    """Load and validate a person-table spec (``SpecError`` lists every problem)."""
    return load_spec(Path(path), PersonTableSpec)


_ATTRIBUTE_OPTION = re.compile(
    r"^(?P<dataset>[a-z][a-z0-9_]*)\.(?P<column>[a-z][a-z0-9_]*):(?P<rule>[a-z]+)"
    r"(=(?P<name>[a-z][a-z0-9_]*))?$"
)
_ORDER_OPTION = re.compile(r"^(?P<dataset>[a-z][a-z0-9_]*)\.(?P<column>[a-z][a-z0-9_]*)$")


def with_options(
    spec: PersonTableSpec,
    *,
    attributes: Sequence[str] = (),
    order_by: Sequence[str] = (),
    source: str = "the command line",
) -> PersonTableSpec:
    """``spec`` plus attributes given as ``DATASET.COLUMN:RULE[=NAME]`` and order columns
    as ``DATASET.COLUMN`` (``trelink spine --attribute/--order-by``), validated as one
    spec; ``SpecError`` lists every problem."""
    problems: list[str] = []
    data: dict[str, Any] = spec.model_dump(exclude_none=True)
    datasets: dict[str, Any] = data.setdefault("datasets", {})
    for item in order_by:
        found = _ORDER_OPTION.match(item)
        if found is None:
            problems.append(f"--order-by {item!r}: give DATASET.COLUMN, e.g. health.admission_date")
            continue
        datasets.setdefault(found["dataset"], {})["order_by"] = found["column"]
    for item in attributes:
        found = _ATTRIBUTE_OPTION.match(item)
        if found is None:
            problems.append(
                f"--attribute {item!r}: give DATASET.COLUMN:RULE or DATASET.COLUMN:RULE=NAME, "
                "e.g. health.mental_health_contact:any"
            )
            continue
        rule = {"column": found["column"], "rule": found["rule"]}
        if found["name"]:
            rule["name"] = found["name"]
        entry = datasets.setdefault(found["dataset"], {})
        entry["attributes"] = [*entry.get("attributes", ()), rule]
    if problems:
        raise SpecError(source, problems)
    return validate_spec(data, PersonTableSpec, source=source)
