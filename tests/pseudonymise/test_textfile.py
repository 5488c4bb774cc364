"""Decoding and splitting owners' text files: every common encoding, every line ending."""

from __future__ import annotations

import pytest

from pseudonymise.textfile import (
    FIELD_LIMIT,
    CsvText,
    UnreadableText,
    decode_text,
    other_separator,
)

TEXT = "URN,Name\nA1,Zoë\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-8-sig"), "utf-8-sig"),
        (TEXT.encode("cp1252"), "cp1252"),
        (TEXT.encode("utf-16"), "utf-16"),
        (TEXT.encode("utf-16-le"), "utf-16"),  # no byte-order mark: found by its zeros
        (TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("utf-32"), "utf-32"),
        (("\ufeff" + TEXT).encode("utf-32-be"), "utf-32"),
    ],
)
def test_encodings_recognised(data: bytes, encoding: str) -> None:
    assert decode_text(data) == (TEXT, encoding)


def test_a_declared_encoding_is_the_only_one_tried() -> None:
    with pytest.raises(UnreadableText, match=r"line 2: bytes that are not utf-8 \(byte 14\)"):
        decode_text(TEXT.encode("cp1252"), encoding="utf-8")
    with pytest.raises(UnreadableText, match=r"UTF-16 \(little-endian\), not cp1252"):
        decode_text(TEXT.encode("utf-16"), encoding="cp1252")


def test_undecodable_bytes_name_their_line_not_their_value() -> None:
    with pytest.raises(UnreadableText) as caught:
        decode_text(b"URN\nA1\n\x81\x8d\n")
    assert str(caught.value).startswith("line 3: bytes that are not utf-8 or cp1252")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_records_and_their_first_lines_whatever_the_line_ending(newline: str) -> None:
    text = newline.join(["a,b", '1,"two', 'lines"', "3,4", ""])
    reader = CsvText(text)
    assert reader.header == ["a", "b"] and reader.lines_read == 1
    records = [(record.line, record.fields) for record in reader.records()]
    assert records == [(2, ["1", f"two{newline}lines"]), (4, ["3", "4"])]


def test_a_field_over_the_limit_names_line_and_column() -> None:
    text = "a,b,c\n1,2,3\n4,5," + "x" * (FIELD_LIMIT + 1) + "\n"
    with pytest.raises(UnreadableText, match=r"^line 3, column 3 \('c'\): a field longer than"):
        list(CsvText(text).records())


@pytest.mark.parametrize(
    ("header", "name"),
    [(["a;b;c"], "semicolons"), (["a\tb"], "tabs"), (["a|b"], "vertical bars"), (["a"], None)],
)
def test_other_separators_recognised(header: list[str], name: str | None) -> None:
    assert other_separator(header) == name
    assert other_separator([*header, "more"]) is None
