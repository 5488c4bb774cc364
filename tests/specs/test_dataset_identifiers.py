"""Dataset specs declare identity columns by the registry's identifier types."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from trelink.specs.dataset import ColumnSpec, dataset_spec_path, load_dataset_spec
from trelink.specs.identifier_types import IDENTITY_ROLES

SHIPPED = ("nrm", "ictg", "education", "health", "justice")


@pytest.mark.parametrize("dataset", SHIPPED)
def test_shipped_specs_declare_identity_columns_by_type(dataset: str) -> None:
    spec = load_dataset_spec(dataset_spec_path(dataset))
    identity = [
        column
        for table in spec.tables
        for column in table.columns
        if column.role in IDENTITY_ROLES and column.role != "record_id"
    ]
    assert identity
    assert all(column.identifier is not None for column in identity), [
        column.name for column in identity if column.identifier is None
    ]


@pytest.mark.parametrize(
    ("declared", "name", "role", "kind"),
    [
        ({"identifier": "given_name"}, "forename", "forename", "string"),
        ({"identifier": "family_name"}, "surname", "surname", "string"),
        ({"identifier": "date_of_birth"}, "dob", "dob", "date"),
        ({"identifier": "other_date_of_birth"}, "dob_alt", "dob_alt", "date_list"),
        ({"identifier": "aliases"}, "aliases", "aliases", "alias_list"),
        ({"identifier": "postcode"}, "postcode", "postcode", "string"),
        (
            {"identifier": {"type": "postcode", "country": "other"}},
            "postal_code",
            "postal_code",
            "string",
        ),
        ({"identifier": {"type": "identifier", "check": "upn"}}, "upn", "upn", "string"),
        ({"identifier": "identifier"}, "identifier", "identifier", "string"),
        ({"identifier": "locality"}, "locality", "locality", "string"),
    ],
)
def test_an_identifier_type_gives_the_column_its_name_role_and_type(
    declared: dict[str, object], name: str, role: str, kind: str
) -> None:
    column = ColumnSpec.model_validate(declared)
    assert (column.name, column.role, column.type) == (name, role, kind)


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"identifier": "full_name"}, "pseudonymise spec"),
        ({"identifier": "category"}, "attribute column"),
        ({"identifier": "given_name", "role": "surname"}, "fills forename"),
        ({"name": "fname", "identifier": "given_name"}, "must be named forename"),
        ({"identifier": "shoe_size"}, "given_name"),
        ({"identifier": {"type": "identifier", "check": "passport"}}, "nhs_number"),
        # An option for another type did nothing before.
        ({"identifier": {"type": "postcode", "check": "nhs_number"}}, "`check` applies to"),
        ({"identifier": {"type": "given_name", "country": "other"}}, "`country` applies to"),
    ],
)
def test_a_wrong_identifier_declaration_is_named(declared: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ColumnSpec.model_validate(declared)
