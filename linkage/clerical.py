"""Clerical labels in a linkage run (``trelink link --labels``): fixed decisions, and
training data when the pack they answer was a probability sample.

A labels file is what ``trelink review-import`` wrote after verifying a reviewer's
signed decisions (``linkage.review_pack``): one row per reviewed pair, on record pids,
with the pair's ``stratum`` and ``inclusion_probability`` when the pack recorded them.

**Training** (``estimate_from_labels``), after the model is trained or loaded and
before scoring. A pack drawn with ``--training-share`` above 0 samples every stratum of
the scored pairs (held back, near the threshold, below it, above it and far above it),
each by simple random sampling at a rate the pack records, so each label's inclusion
probability is known. Weighted by its inverse (Horvitz-Thompson), the labelled matches
estimate each comparison's m as the whole population of scored pairs would; the near-
threshold band is oversampled but counts for no more than its share. The estimates are
combined with the model's by the labels' effective number (see the function). Labels
without inclusion probabilities (an older pack, ``--training-share 0``, a stratum left
undecided) are not used for training: pairs chosen near the threshold and among
look-alikes are a biased sample whose agreement rates are not the matches'.

**Fixed decisions** (``apply_clerical_labels``), after scoring and holding back, before
clustering:

* a pair labelled **match** is a link whatever the model says: its match probability
  is set to 1, and it leaves the held-back pairs if it was there;
* a pair labelled **non-match** is never a link: it is removed from the scored pairs
  and from the held-back pairs.

**Cannot-link** (``linkage.clusters``, then ``hold_back_cut_links``): clustering joins
links transitively, so records labelled non-match could still share a person through
other links. Such a person is split by cutting the weakest links on the paths between
them (never a pair labelled match); the cut links are held back with the rule
``CUT_RULE`` and counted in a note, as are non-match pairs that match labels alone join
(the labels contradict each other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
from splink import Linker
from splink.internals.block_from_labels import block_from_labels
from splink.internals.comparison_vector_values import compute_comparison_vector_values_sql
from splink.internals.pipeline import CTEPipeline
from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

from linkage.backends import Backend
from linkage.clusters import Spine
from linkage.errors import ClericalReviewError
from linkage.review_pack import INCLUSION
from trelink.sql import column_types, quote_literal

__all__ = [
    "CUT_RULE",
    "ClericalOutcome",
    "apply_clerical_labels",
    "estimate_from_labels",
    "hold_back_cut_links",
    "record_pairs",
    "shrink",
    "weighted_shares",
]

# The ``rule`` of a link held back because it joined records labelled non-match.
CUT_RULE = "clerical: joins records labelled non-match"
# Training from labels (``estimate_from_labels``): the model's m counts as this many
# labelled matches, and a comparison needs at least ``MIN_LABELLED_MATCHES`` effective
# labelled matches before labels move its m at all.
LABEL_PRIOR_STRENGTH = 20.0
MIN_LABELLED_MATCHES = 5.0

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
        inclusion = f"CAST({INCLUSION} AS DOUBLE)" if INCLUSION in names else "CAST(NULL AS DOUBLE)"
        parts.append(
            "SELECT "
            + ", ".join(f"CAST({column} AS VARCHAR) AS {column}" for column in _COLUMNS)
            + f", {inclusion} AS {INCLUSION}, {quote_literal(str(path))} AS labels_file"
            + f" FROM read_parquet({quote_literal(str(path))})"
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
    bad = connection.execute(
        f"SELECT count(*) FROM clerical WHERE {INCLUSION} <= 0 OR {INCLUSION} > 1"
    ).fetchall()[0][0]
    if bad:
        raise ClericalReviewError(
            f"{len(paths)} labels file(s): {bad} row(s) with a value outside (0, 1] in column "
            f"'{INCLUSION}'; give the files `trelink review-import` wrote"
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
    connection.execute("DROP TABLE clerical_weights")
    for table, label in (("clerical_non_matches", "non-match"), ("clerical_matches", "match")):
        connection.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM clerical_known "
            f"WHERE label = '{label}'"
        )
    return ClericalOutcome(
        matches=int(matches),
        non_matches=int(known) - int(matches),
        made_links=int(made),
        removed_links=int(removed),
        ignored=int(labels) - int(known),
    )


def hold_back_cut_links(
    connection: duckdb.DuckDBPyConnection, spine: Spine, *, held_back_file: Path
) -> str | None:
    """Move the links clustering cut to keep labelled non-matches apart (the work table
    ``spine_cut_links``, ``linkage.clusters``) from ``scored_pairs`` to ``held_back``;
    rewrite ``held_back_file``; return a note when any pair had to be separated."""
    if not spine.separated_pairs and not spine.contradicted_pairs:
        return None
    ((columns,),) = connection.execute(
        "SELECT list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE table_name = 'held_back'"
    ).fetchall()
    extra = [name for name in columns if name not in (*_KEY, "rule")]
    connection.execute(
        f"INSERT INTO held_back ({', '.join([*_KEY, *extra, 'rule'])}) SELECT "
        + ", ".join(f"s.{name}" for name in (*_KEY, *extra))
        + f", {quote_literal(CUT_RULE)} FROM scored_pairs s "
        f"WHERE EXISTS (SELECT 1 FROM spine_cut_links c WHERE {_same_pair('s', 'c')})"
    )
    connection.execute(
        "DELETE FROM scored_pairs s WHERE EXISTS "
        f"(SELECT 1 FROM spine_cut_links c WHERE {_same_pair('s', 'c')})"
    )
    connection.execute(f"COPY held_back TO '{held_back_file}' (FORMAT parquet)")
    notes = []
    if spine.separated_pairs:
        notes.append(
            f"clerical labels: {spine.separated_pairs:,} pair(s) labelled non-match were "
            f"joined through other links; {spine.cut_links:,} link(s) cut to keep them "
            "apart (the weakest on the paths between them) and held back"
        )
    if spine.contradicted_pairs:
        notes.append(
            f"clerical labels contradict each other: {spine.contradicted_pairs:,} pair(s) "
            "labelled non-match are joined by a chain of pairs labelled match, so they "
            "stay one person; review those labels"
        )
    return "; ".join(notes)


@dataclass(frozen=True)
class _LevelEstimate:
    comparison: str
    labelled_matches: int  # labelled matches filling the comparison
    effective: float  # their effective number under the sampling weights


def estimate_from_labels(
    linker: Linker,
    backend: Backend,
    paths: Sequence[Path],
    *,
    datasets: Sequence[str],
    record_pairs: int,
) -> tuple[str, ...]:
    """Re-estimate m (and the prior) from labels that carry inclusion probabilities;
    return notes saying which parameters came from how many labels.

    Each labelled pair weighs ``1 / inclusion_probability`` (Horvitz-Thompson), so the
    labelled matches stand for all the matches among the scored pairs the pack was
    drawn from, not just those near the threshold. For each comparison, the weighted
    share of labelled matches at each level estimates m; it is combined with the
    model's m as ``(n * m_labels + LABEL_PRIOR_STRENGTH * m_model) / (n +
    LABEL_PRIOR_STRENGTH)``, where ``n`` is the labelled matches' effective number
    (Kish: ``(sum w)^2 / sum w^2``) among pairs that fill the comparison: a few labels
    move the model little, many replace it. A comparison with fewer than
    ``MIN_LABELLED_MATCHES`` effective matches keeps the model's m. The prior becomes
    the weighted number of labelled matches over ``record_pairs`` (all pairs the run
    could compare), when there are that many and the labelled pairs cover every one of
    ``datasets`` (a pack made for some datasets counts only their matches).
    ``record_pairs`` counts pairs across datasets (and within them when deduplicating).
    """
    connection = backend.connection
    _load(connection, paths)
    untrained = connection.execute(
        f"SELECT labels_file, count(*) FROM clerical WHERE {INCLUSION} IS NULL GROUP BY ALL "
        "ORDER BY labels_file"
    ).fetchall()
    notes = [
        f"clerical labels: {count:,} label(s) of {Path(name).name} fix decisions only, not "
        "the model: their pack did not record a probability sample of all scored pairs "
        "(an older pack, --training-share 0, or a stratum left undecided), and pairs "
        "chosen near the threshold are not a fair sample of matches"
        for name, count in untrained
    ]
    ((packs,),) = connection.execute(
        f"SELECT count(DISTINCT labels_file) FROM clerical WHERE {INCLUSION} IS NOT NULL"
    ).fetchall()
    if not packs:
        return tuple(notes)
    vectors = _comparison_vectors(linker, backend, datasets)
    gammas = {
        comparison.output_column_name: [
            level.comparison_vector_value for level in comparison._comparison_levels_excluding_null
        ]
        for comparison in linker._settings_obj.comparisons
    }
    columns = ", ".join(f"v.gamma_{name}" for name in gammas)
    # Several probability-sample packs each estimate the whole; their mean is unbiased.
    rows = connection.execute(
        f"SELECT c.label, 1.0 / (c.{INCLUSION} * {int(packs)}) AS weight, {columns} "
        f"FROM clerical c JOIN {vectors} v ON {_same_pair('c', 'v')} "
        f"WHERE c.{INCLUSION} IS NOT NULL"
    ).fetchall()
    connection.execute(f"DROP TABLE {vectors}")
    matches = [row for row in rows if row[0] == "match"]
    estimates: list[_LevelEstimate] = []
    for index, comparison in enumerate(linker._settings_obj.comparisons, start=2):
        name = comparison.output_column_name
        filled = [(row[1], row[index]) for row in matches if row[index] in gammas[name]]
        shares, effective = weighted_shares(filled)
        if effective < MIN_LABELLED_MATCHES:
            continue
        for level in comparison._comparison_levels_excluding_null:
            model = level.m_probability
            level.m_probability = max(
                1e-6,
                shrink(
                    shares.get(level.comparison_vector_value, 0.0),
                    model if isinstance(model, float) else None,
                    effective,
                ),
            )
            level._add_trained_m_probability(level.m_probability, "clerical labels")
        estimates.append(_LevelEstimate(name, len(filled), effective))
    if estimates:
        notes.append(
            f"clerical labels as training data: m of {len(estimates)} comparison(s) from "
            f"{len(matches):,} labelled match(es) of {len(rows):,} weighted by their "
            "inclusion probabilities, combined with the model's m ("
            + "; ".join(
                f"{estimate.comparison}: {estimate.labelled_matches} labelled, "
                f"effective {estimate.effective:.1f}, weight "
                f"{estimate.effective / (estimate.effective + LABEL_PRIOR_STRENGTH):.0%}"
                for estimate in estimates
            )
            + ")"
        )
    else:
        notes.append(
            f"clerical labels as training data: {len(matches):,} labelled match(es) are "
            f"fewer than {MIN_LABELLED_MATCHES} effective per comparison; m left as the "
            "model had it"
        )
    weighted = sum(row[1] for row in matches)
    _shares, effective_all = weighted_shares([(row[1], 0) for row in matches])
    covered = {
        dataset
        for (left, right) in connection.execute(
            f"SELECT DISTINCT dataset_l, dataset_r FROM clerical WHERE {INCLUSION} IS NOT NULL"
        ).fetchall()
        for dataset in (left, right)
    }
    if not set(datasets) <= covered:
        notes.append(
            f"clerical labels as training data: the prior is the model's; the labelled pairs "
            f"cover datasets {sorted(covered)} only (a pack made with --datasets), so they "
            "count matches among those datasets, not all this run's pairs"
        )
    elif effective_all >= MIN_LABELLED_MATCHES and record_pairs > 0:
        before = linker._settings_obj._probability_two_random_records_match
        after = min(0.5, weighted / record_pairs)
        linker._settings_obj._probability_two_random_records_match = after
        notes.append(
            f"clerical labels as training data: prior match probability {after:.3g} "
            f"(the model had {before:.3g}): about {weighted:,.0f} matches among the scored "
            f"pairs by the weighted labels, over {record_pairs:,} possible pairs"
        )
    return tuple(notes)


def weighted_shares(labelled: Sequence[tuple[float, int]]) -> tuple[dict[int, float], float]:
    """Horvitz-Thompson shares of each level among labelled pairs (``(weight, level)``,
    weight the inverse inclusion probability), and the pairs' effective number (Kish:
    ``(sum w)^2 / sum w^2``, the number of equally weighted pairs as informative)."""
    total = sum(weight for weight, _level in labelled)
    if not total:
        return {}, 0.0
    shares: dict[int, float] = {}
    for weight, level in labelled:
        shares[level] = shares.get(level, 0.0) + weight / total
    return shares, total**2 / sum(weight**2 for weight, _level in labelled)


def shrink(from_labels: float, model: float | None, effective: float) -> float:
    """Labels' estimate and the model's, weighted by the labels' effective number
    against ``LABEL_PRIOR_STRENGTH`` (the model counted as that many labels)."""
    if model is None:
        return from_labels
    return (effective * from_labels + LABEL_PRIOR_STRENGTH * model) / (
        effective + LABEL_PRIOR_STRENGTH
    )


def _comparison_vectors(linker: Linker, backend: Backend, datasets: Sequence[str]) -> str:
    """The comparison levels (``gamma_`` columns) of the pairs in ``clerical`` that carry
    inclusion probabilities, as this run's model compares them: a work table."""
    settings = linker._settings_obj
    source = settings.column_info_settings.source_dataset_column_name
    connection = backend.connection
    sides = (
        f"dataset_l AS {source}_l, record_pid_l, dataset_r AS {source}_r, record_pid_r"
        if source
        else "record_pid_l, record_pid_r"
    )
    connection.execute(
        f"CREATE OR REPLACE TABLE clerical_training_pairs AS SELECT DISTINCT {sides} "
        f"FROM clerical WHERE {INCLUSION} IS NOT NULL"
    )
    frame = backend.register("clerical_training_pairs", dataset="clerical_training_pairs")
    pipeline = CTEPipeline()
    enqueue_df_concat_with_tf(linker, pipeline)
    pipeline.enqueue_list_of_sqls(block_from_labels(linker, frame.physical_name))
    pipeline.enqueue_sql(
        compute_comparison_vector_values_sql(
            settings._columns_to_select_for_comparison_vector_values
        ),
        "__splink__df_comparison_vectors",
    )
    vectors = linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
    left, right = (f"{source}_l", f"{source}_r") if source else (quote_literal(datasets[0]),) * 2
    pair = (
        f"{left} AS dataset_l, CAST(record_pid_l AS VARCHAR) AS record_pid_l, "
        f"{right} AS dataset_r, CAST(record_pid_r AS VARCHAR) AS record_pid_r"
    )
    gammas = ", ".join(
        f"gamma_{comparison.output_column_name}" for comparison in settings.comparisons
    )
    return backend.to_work(vectors, "clerical_vectors", select=f"{pair}, {gammas}")


def record_pairs(record_counts: Mapping[str, int], link_type: str) -> int:
    """How many pairs a run of ``link_type`` could compare: across datasets when linking
    only, all pairs otherwise (the pairs Splink's prior is a share of)."""
    counts = list(record_counts.values())
    if link_type == "link_only":
        return sum(a * b for index, a in enumerate(counts) for b in counts[index + 1 :])
    total = sum(counts)
    return total * (total - 1) // 2
