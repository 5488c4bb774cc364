"""Clerical labels as fixed decisions in a linkage run (``trelink link --labels``).

A labels file is what ``trelink review-import`` wrote after verifying a reviewer's
signed decisions (``linkage.review_pack``): one row per reviewed pair, on record pids.
The run applies them after scoring and holding back, before clustering:

* a pair labelled **match** is a link whatever the model says: its match probability
  is set to 1, and it leaves the held-back pairs if it was there;
* a pair labelled **non-match** is never a link: it is removed from the scored pairs
  and from the held-back pairs.

Clustering joins linked pairs transitively, so two records labelled non-match can
still share a person through other links; the run counts such pairs and says so.
Labels are not used to estimate m and u: reviewed pairs are chosen near the threshold
and among look-alikes, a sample whose agreement rates are not the population's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from linkage.errors import ClericalReviewError
from trelink.sql import column_types, quote_literal

__all__ = ["ClericalOutcome", "apply_clerical_labels", "clerical_conflicts"]

_COLUMNS = ("dataset_l", "record_pid_l", "dataset_r", "record_pid_r", "label")
_KEY = ("dataset_l", "record_pid_l", "dataset_r", "record_pid_r")


@dataclass(frozen=True)
class ClericalOutcome:
    matches: int  # labelled matches applied
    non_matches: int  # labelled non-matches applied
    made_links: int  # labelled matches the model had not linked
    removed_links: int  # labelled non-matches the model had linked
    ignored: int  # labels on datasets or records this run does not have

    def note(self) -> str:
        return (
            f"clerical labels: {self.matches:,} match(es) fixed as links ({self.made_links:,} "
            f"the model had not linked), {self.non_matches:,} non-match(es) never linked "
            f"({self.removed_links:,} the model had linked)"
            + (
                f"; {self.ignored:,} label(s) name records this run does not have"
                if self.ignored
                else ""
            )
        )


def _same_pair(left: str, right: str) -> str:
    """Either orientation of the pair in ``left`` equals the pair in ``right``."""
    straight = " AND ".join(f"{left}.{column} = {right}.{column}" for column in _KEY)
    swapped = (
        f"{left}.dataset_l = {right}.dataset_r AND {left}.record_pid_l = {right}.record_pid_r "
        f"AND {left}.dataset_r = {right}.dataset_l AND {left}.record_pid_r = {right}.record_pid_l"
    )
    return f"(({straight}) OR ({swapped}))"


def _load(connection: duckdb.DuckDBPyConnection, paths: Sequence[Path]) -> None:
    parts = []
    for path in paths:
        if not Path(path).is_file():
            raise ClericalReviewError(
                f"{path}: labels file not found; give the file `trelink review-import` wrote"
            )
        try:
            names = list(column_types(connection, f"read_parquet({quote_literal(str(path))})"))
        except duckdb.Error:
            raise ClericalReviewError(f"{path}: not a Parquet labels file") from None
        missing = [column for column in _COLUMNS if column not in names]
        if missing:
            raise ClericalReviewError(
                f"{path}: lacks column(s) {missing}; give the file `trelink review-import` wrote"
            )
        parts.append(
            "SELECT "
            + ", ".join(f"CAST({column} AS VARCHAR) AS {column}" for column in _COLUMNS)
            + f" FROM read_parquet('{path}')"
        )
    connection.execute("CREATE OR REPLACE TABLE clerical AS " + " UNION ALL ".join(parts))
    bad = connection.execute(
        "SELECT count(*) FROM clerical WHERE label IS NULL OR label NOT IN ('match', 'non-match')"
    ).fetchall()[0][0]
    if bad:
        raise ClericalReviewError(
            f"{len(paths)} labels file(s): {bad} row(s) with a label other than match or "
            "non-match in column 'label'"
        )
    conflicts = connection.execute(
        f"SELECT count(*) FROM clerical a JOIN clerical b ON {_same_pair('a', 'b')} "
        "WHERE a.label <> b.label"
    ).fetchall()[0][0]
    if conflicts:
        raise ClericalReviewError(
            "the labels files disagree: some pair is labelled both match and non-match; "
            "give one decision per pair"
        )


def apply_clerical_labels(
    connection: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    *,
    tables: Mapping[str, str],
    threshold: float,
    held_back_file: Path,
) -> ClericalOutcome:
    """Fix the labelled pairs' decisions in the work tables ``scored_pairs`` and
    ``held_back``; rewrite ``held_back_file`` from the latter."""
    _load(connection, paths)
    nodes = " UNION ALL ".join(
        f"SELECT '{dataset}' AS dataset, CAST(record_pid AS VARCHAR) AS record_pid FROM {table}"
        for dataset, table in tables.items()
    )
    connection.execute(
        f"CREATE OR REPLACE TABLE clerical_known AS SELECT c.* FROM clerical c "
        f"WHERE EXISTS (SELECT 1 FROM ({nodes}) n WHERE n.dataset = c.dataset_l "
        "AND n.record_pid = c.record_pid_l) "
        f"AND EXISTS (SELECT 1 FROM ({nodes}) n WHERE n.dataset = c.dataset_r "
        "AND n.record_pid = c.record_pid_r)"
    )
    ((labels, known),) = connection.execute(
        "SELECT (SELECT count(*) FROM clerical), (SELECT count(*) FROM clerical_known)"
    ).fetchall()
    ((made, removed),) = connection.execute(
        "SELECT count(*) FILTER (WHERE c.label = 'match' AND NOT EXISTS (SELECT 1 FROM "
        f"scored_pairs s WHERE {_same_pair('s', 'c')} AND s.match_probability >= {threshold})), "
        "count(*) FILTER (WHERE c.label = 'non-match' AND EXISTS (SELECT 1 FROM "
        f"scored_pairs s WHERE {_same_pair('s', 'c')} AND s.match_probability >= {threshold})) "
        "FROM clerical_known c"
    ).fetchall()
    connection.execute(
        "CREATE OR REPLACE TABLE clerical_weights AS SELECT c.*, (SELECT max(s.match_weight) "
        f"FROM scored_pairs s WHERE {_same_pair('s', 'c')}) AS match_weight "
        "FROM clerical_known c"
    )
    for table in ("scored_pairs", "held_back"):
        connection.execute(
            f"DELETE FROM {table} s WHERE EXISTS (SELECT 1 FROM clerical_known c "
            f"WHERE {_same_pair('s', 'c')})"
        )
    connection.execute(
        "INSERT INTO scored_pairs (dataset_l, record_pid_l, dataset_r, record_pid_r, "
        "match_weight, match_probability) SELECT dataset_l, record_pid_l, dataset_r, "
        "record_pid_r, match_weight, 1.0 FROM clerical_weights WHERE label = 'match'"
    )
    connection.execute(f"COPY held_back TO '{held_back_file}' (FORMAT parquet)")
    ((matches,),) = connection.execute(
        "SELECT count(*) FROM clerical_known WHERE label = 'match'"
    ).fetchall()
    for table in ("clerical_weights",):
        connection.execute(f"DROP TABLE {table}")
    return ClericalOutcome(
        matches=int(matches),
        non_matches=int(known) - int(matches),
        made_links=int(made),
        removed_links=int(removed),
        ignored=int(labels) - int(known),
    )


def clerical_conflicts(connection: duckdb.DuckDBPyConnection) -> str | None:
    """A note when pairs labelled non-match share a person in the work table
    ``clusters`` through other links, else None."""
    ((count,),) = connection.execute(
        "SELECT count(*) FROM clerical_known c "
        "JOIN clusters a ON a.dataset = c.dataset_l AND a.record_pid = c.record_pid_l "
        "JOIN clusters b ON b.dataset = c.dataset_r AND b.record_pid = c.record_pid_r "
        "WHERE c.label = 'non-match' AND a.person_id = b.person_id"
    ).fetchall()
    if not count:
        return None
    return (
        f"clerical labels: {count:,} pair(s) labelled non-match are not linked to each other "
        "but still share a person through other links; review those persons' other pairs"
    )
