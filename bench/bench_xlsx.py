"""Benchmark: reading a 100,000-row XLSX sheet, trelink's expat reader vs libraries.

    .venv/bin/python bench/bench_xlsx.py [--rows 100000] [--data out/bench/xlsx]

Writes one workbook shaped like a raw extract (an id, names, a date-formatted column, a
number stored as a number, a code, a mostly empty column), then reads every row of it
with each reader in a fresh process and prints wall-clock seconds and the process's
peak resident memory above an idle interpreter. Readers: ``trelink`` is
``pseudonymise.raw_files._read_xlsx``, the one ``trelink prepare`` uses (python-calamine
since issue 15), ``expat_5f075eb`` is the zipfile + expat reader it replaced (taken from
that commit with ``git show``, so run this from a clone), ``openpyxl`` in read-only mode
(values only), and ``python-calamine`` itself. The cells digest shows that each returns
the same cells.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

READERS = ("trelink", "expat_5f075eb", "openpyxl_read_only", "python_calamine")
# The zipfile + expat reader trelink had before python-calamine, read from git history.
_EXPAT_COMMIT = "5f075eb"


def _write(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("extract")
    sheet.append(["Record ID", "Forename", "Surname", "Date of birth", "NHS number", "Sex", "Note"])
    start = dt.datetime(2001, 1, 1)
    for index in range(rows):
        sheet.append(
            [
                f"R{index:07d}",
                ("Amira", "Tesfay", "Olivia", "Arben")[index % 4],
                ("Haile", "Smith", "Hoxha", "Tran")[index % 4],
                start + dt.timedelta(days=index % 7000),
                4_000_000_000 + index * 7,
                index % 2 + 1,
                "see file" if index % 50 == 0 else None,
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _cells(reader: str, path: Path) -> list[list[object]]:
    if reader == "trelink":
        from pseudonymise.raw_files import _read_xlsx

        header, rows, _ = _read_xlsx(path)
        return [list(header), *rows]
    if reader == "expat_5f075eb":
        import importlib.util
        import tempfile

        source = subprocess.run(
            ["git", "show", f"{_EXPAT_COMMIT}:pseudonymise/raw_files.py"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as file:
            file.write(source)
        spec = importlib.util.spec_from_file_location("raw_files_expat", file.name)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        header, rows, _ = module._read_xlsx(path)
        return [list(header), *rows]
    if reader == "openpyxl_read_only":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        values = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
        return values
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return [list(row) for row in book.get_sheet_by_index(0).to_python(skip_empty_area=False)]


def _measure(reader: str, path: Path) -> None:
    """Run in a child process: read every cell, print seconds, peak memory and a digest."""
    import hashlib

    if reader == "python_calamine":
        import python_calamine  # noqa: F401
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    cells = _cells(reader, path)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
    normal = [
        [
            value.date().isoformat() if isinstance(value, dt.datetime) else
            value.isoformat() if isinstance(value, dt.date) else
            int(value) if isinstance(value, float) and value.is_integer() else
            None if value == "" else value
            for value in row
        ]
        for row in cells
    ]  # fmt: skip
    for row in normal:  # a reader may pad a short row with empty cells
        while row and row[-1] is None:
            row.pop()
    digest = hashlib.sha256(json.dumps(normal, default=str).encode()).hexdigest()[:16]
    print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "rows": len(cells),
                      "digest": digest}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=Path("out/bench/xlsx"))
    parser.add_argument("--measure", choices=READERS, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    path = arguments.data / f"extract_{arguments.rows}.xlsx"
    if arguments.measure:
        _measure(arguments.measure, path)
        return
    if not path.exists():
        _write(path, arguments.rows)
    print(f"{path}: {arguments.rows:,} rows x 7 columns, {path.stat().st_size / 2**20:.1f} MiB")
    for reader in READERS:
        done = subprocess.run(
            [sys.executable, __file__, "--rows", str(arguments.rows), "--data",
             str(arguments.data), "--measure", reader],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            print(f"{reader:20s} not run: {done.stderr.strip().splitlines()[-1]}")
            continue
        figures = json.loads(done.stdout)
        print(
            f"{reader:20s} {figures['seconds']:6.2f} s  peak +{figures['peak_mib']:6.1f} MiB  "
            f"{figures['rows']:,} rows  cells digest {figures['digest']}"
        )


if __name__ == "__main__":
    main()
