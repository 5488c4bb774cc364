"""Canonical JSON: each named encoding gives the same bytes it gave when things were
signed with it (the export log is verified by encoding its entries again)."""

from __future__ import annotations

import pytest

from trelink.trust.canonical import COMPACT_JSON, PACKAGE_JSON, canonical_json

VALUE = {"b": [1, True, None, "Nguyễn"], "a": {"z": "x", "y": 2}}


def test_the_export_encoding_is_sorted_compact_utf8() -> None:
    expected = '{"a":{"y":2,"z":"x"},"b":[1,true,null,"Nguyễn"]}'.encode()
    assert canonical_json(VALUE) == expected
    assert canonical_json(VALUE, encoding=COMPACT_JSON) == expected


def test_the_export_encoding_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_the_package_encoding_is_what_packages_were_signed_in() -> None:
    # json.dumps(value, sort_keys=True): the manifest and header of trelink-package/v1
    expected = b'{"a": {"y": 2, "z": "x"}, "b": [1, true, null, "Nguy\\u1ec5n"]}'
    assert canonical_json(VALUE, encoding=PACKAGE_JSON) == expected
