"""Term frequencies that do not count the pair being scored.

Splink adjusts a level's weight by how common the agreed value is: for a pair agreeing
on value v, u becomes the value's share of all records, tf(v) = n(v) / N. The count
n(v) includes the two records being compared, so a value that only one person's two
records carry gets tf = 2 / N whatever it is. Where values rarely repeat, that is far
above the level's own u (a full name among 4,000 records: 5e-4 against u = 3e-5), and
the rarest values get the weakest evidence. Measured with
bench/bench_linkage_external.py and bench/bench_linkage_quality.py
(docs/tre-researcher.md): it cost the generator's names-and-dates scenarios up to 0.06
of F1 and fake_1000 0.03, while at 100,000 records the same adjustment is what keeps
common full names from linking strangers (dropping it cost 0.003).

So the frequency is counted among the *other* records: tf(v) = max(n(v) - 2, 0) / N.
A value no other record carries is as rare as the counts can tell: it falls back to
one record in N, or to the level's own u where that is smaller (u counts random pairs,
not records, so it resolves rarer agreement than 1 / N can). Common values keep their
penalty: for a name 50 records share, 48 / N instead of 50 / N.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from splink import Linker

from linkage.backends import Backend
from trelink.sql import quote_identifier

__all__ = ["register_pair_excluded_term_frequencies"]

# The records of the pair being scored, left out of its value's count.
PAIR = 2


def _adjusted_levels(linker: Linker) -> dict[str, list[tuple[Any, list[Any]]]]:
    """Each term-frequency column and the levels (with their comparison's levels) it adjusts."""
    adjusted: dict[str, list[tuple[Any, list[Any]]]] = {}
    for comparison in linker._settings_obj.comparisons:
        levels = comparison._comparison_levels_excluding_null
        for level in levels:
            if not level._has_tf_adjustments or level._tf_adjustment_weight == 0:
                continue
            column = level._tf_adjustment_input_column.unquote().name
            adjusted.setdefault(column, []).append((level, levels))
    return adjusted


def register_pair_excluded_term_frequencies(
    linker: Linker, backend: Backend, tables: Mapping[str, str], *, reuse: bool = False
) -> int:
    """Give ``linker`` term-frequency tables that leave the scored pair out (see module).

    ``tables`` are the run's work tables (dataset -> table) in ``backend.connection``;
    call after u is estimated (the floors read it) and before scoring. With ``reuse``,
    frequency tables an earlier call made in the connection from the same ``tables``
    are registered as they are instead of being counted again. Returns the number of
    columns adjusted.
    """
    connection = backend.connection
    made = {
        str(row[0])
        for row in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'tf_excluding_pair_%'"
        ).fetchall()
    }
    adjusted = _adjusted_levels(linker)
    for column, entries in adjusted.items():
        name = quote_identifier(column)
        values = " UNION ALL ".join(
            f"SELECT {name} AS v FROM {quote_identifier(table)}" for table in tables.values()
        )
        (total,) = connection.execute(f"SELECT count(v) FROM ({values})").fetchall()[0]
        if not total:
            continue
        work = f"tf_excluding_pair_{column}"
        if not (reuse and work in made):
            connection.execute(
                f"CREATE OR REPLACE TABLE {quote_identifier(work)} AS "
                f"SELECT v AS {name}, greatest(count(*) - {PAIR}, 0)::DOUBLE / {total} "
                f"AS {quote_identifier('tf_' + column)} "
                f"FROM ({values}) WHERE v IS NOT NULL GROUP BY v"
            )
        frame = backend.register(work, dataset=work)
        linker.table_management.register_term_frequency_lookup(frame, column)
        resolution = 1.0 / total
        for level, levels in entries:
            exact_u = level._u_probability_corresponding_to_exact_match(levels)
            level._tf_minimum_u_value = (
                min(exact_u, resolution) if isinstance(exact_u, float) else resolution
            )
    # Training may have cached the input joined to Splink's own frequencies.
    cache = linker._intermediate_table_cache
    for key in [key for key in cache if key.startswith("__splink__df_concat_with_tf")]:
        del cache[key]
    return len(adjusted)
