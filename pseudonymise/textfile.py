"""Delimited text files as owners send them: any common encoding, any line ending.

One reader serves ``trelink prepare`` (raw CSV files) and ``trelink pseudonymise``
(canonical CSV extracts):

* ``decode_text`` reads UTF-8 (with or without a byte-order mark) and cp1252, and
  recognises UTF-16 and UTF-32 by their byte-order mark, or UTF-16 without one by its
  zero bytes, so a spreadsheet's "Unicode text" export is read rather than split into
  nonsense. Bytes that fit no candidate are reported with their line and the
  encodings tried.
* ``CsvText`` splits the text into records with the line on which each starts (the
  header is line 1), whatever the line ending (``\\n``, ``\\r\\n`` or a lone ``\\r``).
  A field longer than ``FIELD_LIMIT`` characters, which in practice is an unclosed
  quote that swallowed the lines after it, is refused with its line and column.

Problems raise ``UnreadableText`` whose message names the place (line, column,
encoding) but not the file, which the caller adds, and never a value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "FIELD_LIMIT",
    "CsvRecord",
    "CsvText",
    "UnreadableText",
    "decode_text",
    "other_separator",
    "visible_label",
]

# The csv module's own limit; left at its default so no process-wide setting changes.
FIELD_LIMIT = csv.field_size_limit()
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32 (little-endian)"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32 (big-endian)"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8 with a byte-order mark"),
    (b"\xff\xfe", "utf-16-le", "UTF-16 (little-endian)"),
    (b"\xfe\xff", "utf-16-be", "UTF-16 (big-endian)"),
)
_SNIFF_BYTES = 4096


def other_separator(header: list[str]) -> str | None:
    """The separator a one-column header seems to use instead of commas, if any.

    Spreadsheets in many locales save "CSV" with semicolons, and "text" with tabs; such
    a file reads as one column, which is worth saying rather than "columns missing".
    """
    if len(header) != 1:
        return None
    for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
        if separator in header[0]:
            return name
    return None


class UnreadableText(ValueError):
    """A text file cannot be decoded or split; the message names where, not what."""


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 text without a byte-order mark: mostly ASCII, so every other byte is zero."""
    sample = data[:_SNIFF_BYTES]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le", "UTF-16 (little-endian, no byte-order mark)"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be", "UTF-16 (big-endian, no byte-order mark)"
    return None


def _line_of(data: bytes, position: int, newline: bytes = b"\n") -> int:
    return data[:position].count(newline) + 1


def decode_text(data: bytes, *, encoding: str = "auto") -> tuple[str, str]:
    """Decode ``data``; return the text and the encoding used.

    ``encoding`` is ``auto`` (byte-order marks and UTF-16 recognised, then UTF-8, then
    cp1252) or one codec name, which is then the only one tried.
    """
    detected: tuple[str, str] | None = None
    for mark, codec, described in _BOMS:
        if data.startswith(mark):
            detected = (codec, described)
            data = data[len(mark) :]
            break
    else:
        detected = _utf16_without_bom(data)
    if detected is not None and detected[0] != "utf-8":
        codec, described = detected
        if encoding not in ("auto", codec):
            raise UnreadableText(
                f"the file is {described}, not {encoding}; save it as UTF-8 or set its "
                "encoding to auto"
            )
        try:
            return data.decode(codec), codec.removesuffix("-le").removesuffix("-be")
        except UnicodeDecodeError as error:
            raise UnreadableText(
                f"the file looks like {described} but byte {error.start} is not valid "
                f"there; save it as UTF-8"
            ) from None
    candidates = ("utf-8", "cp1252") if encoding == "auto" else (encoding,)
    if encoding == "utf-8-sig":
        candidates = ("utf-8",)
    first_error: UnicodeDecodeError | None = None
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError as error:
            first_error = first_error or error
            continue
        with_bom = detected is not None and candidate == "utf-8"
        return text, "utf-8-sig" if with_bom else candidate
    assert first_error is not None
    tried = " or ".join(candidates)
    raise UnreadableText(
        f"line {_line_of(data, first_error.start)}: bytes that are not {tried} "
        f"(byte {first_error.start}); save the file as UTF-8"
    )


@dataclass(frozen=True)
class CsvRecord:
    """One record: the line it starts on (header = 1) and its fields (None: unsplittable)."""

    line: int
    fields: list[str] | None


class _Lines:
    """Lines of a text for the csv module, keeping those of the record being read."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.current: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.current.append(line)
        return line


def _long_field_index(record: str) -> int:
    """Which field of ``record`` (counting from 0) first exceeds ``FIELD_LIMIT``."""
    index = length = 0
    quoted = False
    position = 0
    while position < len(record):
        character = record[position]
        if quoted:
            if character == '"' and record[position + 1 : position + 2] == '"':
                position += 1
            elif character == '"':
                quoted = False
                length -= 1
            length += 1
        elif character == '"' and length == 0:
            quoted = True
        elif character == ",":
            index, length = index + 1, 0
        elif character in "\r\n":
            break
        else:
            length += 1
        if length > FIELD_LIMIT:
            return index
        position += 1
    return index


class CsvText:
    """A decoded CSV file: its header and an iterator over its records."""

    def __init__(self, text: str) -> None:
        self._lines = _Lines(text)
        self._reader = csv.reader(self._lines)
        first = self._next()
        self.header: list[str] | None = first.fields if first is not None else None
        self.lines_read = self._reader.line_num  # the header's lines (1 unless quoted)

    def _next(self) -> CsvRecord | None:
        start = self._reader.line_num + 1
        self._lines.current = []
        try:
            fields = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as error:
            if "field limit" not in str(error):
                return CsvRecord(start, None)
            column = _long_field_index("".join(self._lines.current))
            header = getattr(self, "header", None)
            label = f"column {column + 1}"
            if header is not None and column < len(header):
                label += f" ({header[column].strip()!r})"
            raise UnreadableText(
                f"line {start}, {label}: a field longer than {FIELD_LIMIT:,} characters; "
                'if a quote (") opens that field and is never closed, the lines after it '
                "were read into it: close the quote or remove it"
            ) from None
        return CsvRecord(start, fields)

    def records(self) -> Iterator[CsvRecord]:
        """Every record after the header, in order."""
        while (record := self._next()) is not None:
            yield record


# NUL, byte-order marks and zero-width characters: invisible, yet they keep a header
# from matching its name (a CSV read without its BOM stripped and saved as Parquet
# names its first column "\ufeffRec ID").
_INVISIBLE = re.compile("[\x00\ufeff\u200b\u200c\u200d\u2060]")


def visible_label(label: str) -> str:
    """A header label without the invisible characters that would stop it matching."""
    return _INVISIBLE.sub("", label)
