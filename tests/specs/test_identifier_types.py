"""The registry of identifier types is the one list of identity columns that dataset
specs, prepare and the leak scanner read."""

from __future__ import annotations

import pydantic
import pytest

from pseudonymise.prepare import arrow_schema
from trelink.specs.dataset import ROLE_TYPES, ColumnSpec, TableSpec
from trelink.specs.identifier_types import CANONICAL_COLUMNS, IDENTITY_ROLES


def test_identity_roles_are_the_canonical_columns_with_record_id_and_sex() -> None:
    assert set(IDENTITY_ROLES) == {"record_id", "sex", *CANONICAL_COLUMNS}
    assert len(IDENTITY_ROLES) == len(set(IDENTITY_ROLES))
    assert set(ROLE_TYPES) == set(IDENTITY_ROLES)


def test_a_dataset_column_takes_each_registry_role_and_no_other() -> None:
    for role in IDENTITY_ROLES:
        kind = sorted(ROLE_TYPES[role])[0]
        categories = {"F": (), "M": ()} if role == "sex" else {}
        column = ColumnSpec.model_validate(
            {"name": role, "role": role, "type": kind, "categories": categories}
        )
        assert column.role == role
    with pytest.raises(pydantic.ValidationError, match="role"):
        ColumnSpec(name="nickname", role="nickname")


def test_prepare_writes_identity_columns_in_the_registry_order() -> None:
    columns = [ColumnSpec(name="region", type="category", categories={"N": ()})]
    for role in reversed(("record_id", "email", "surname", "locality")):
        columns.append(ColumnSpec(name=role, role=role, type="string"))
    period = {"period": "all", "files": ["*.csv"], "labels": {}}
    table = TableSpec.model_validate(
        {
            "name": "people",
            "kind": "identity",
            "unique_record_id": True,
            "columns": columns,
            "periods": [period],
        }
    )
    names = arrow_schema(table).names
    assert names == ["record_id", "surname", "locality", "email", "region", "period"]
