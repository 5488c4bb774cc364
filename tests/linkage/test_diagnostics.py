"""The model's diagnostics: warnings on suspicious levels, a readable weights axis, and
the masking that keeps token values out of Splink's dashboards."""

from __future__ import annotations

import duckdb

from linkage.diagnostics import (
    EXTREME_WEIGHT,
    LevelRow,
    _masked_predictions,
    _weight_warnings,
    axis_limit,
    clip_match_weights_chart,
)


def _row(weight: float | None, *, m: float | None = 0.5, level: str = "else") -> LevelRow:
    return LevelRow(
        comparison="pnc_id",
        level=level,
        gamma=0,
        m_probability=m,
        u_probability=0.5,
        match_weight=weight,
        warnings=(),
    )


def test_an_extreme_weight_without_labels_is_named_and_explained() -> None:
    (warning,) = _weight_warnings(_row(-236.0), changeable=False, labelled=False, is_else=True)
    assert warning.startswith("pnc_id / else: weight -236.0")
    assert "no clerical label" in warning
    assert _weight_warnings(_row(-236.0), changeable=False, labelled=True, is_else=True) == ()
    assert (
        _weight_warnings(_row(EXTREME_WEIGHT), changeable=False, labelled=False, is_else=True) == ()
    )


def test_a_changeable_field_whose_matches_never_disagree_is_flagged() -> None:
    row = _row(-12.0, m=1e-4)
    (warning,) = _weight_warnings(row, changeable=True, labelled=False, is_else=True)
    assert "m = 0.0001" in warning and "people change" in warning
    assert _weight_warnings(row, changeable=False, labelled=False, is_else=True) == ()
    assert _weight_warnings(row, changeable=True, labelled=False, is_else=False) == ()


def test_an_untrained_level_is_flagged() -> None:
    (warning,) = _weight_warnings(
        _row(None, m=None), changeable=False, labelled=False, is_else=False
    )
    assert "not trained" in warning


def test_the_axis_is_cut_to_the_ordinary_weights_only_when_one_is_extreme() -> None:
    ordinary = [_row(weight) for weight in (12.3, -7.0, 21.0)]
    assert axis_limit(ordinary) is None
    assert axis_limit([*ordinary, _row(-236.0)]) == 25.0
    assert axis_limit([_row(3.0), _row(-236.0)]) == 10.0
    chart = {
        "vconcat": [
            {"mark": {"type": "bar"}, "encoding": {"x": {"scale": {"domain": [-236, 236]}}}},
            {"mark": {"type": "bar"}, "encoding": {"x": {"field": "log2_bayes_factor"}}},
        ]
    }
    clipped = clip_match_weights_chart(chart, 25.0)
    for panel in clipped["vconcat"]:
        assert panel["encoding"]["x"]["scale"]["domain"] == [-25.0, 25.0]
        assert panel["mark"]["clip"] is True


def test_dashboard_input_shows_agreement_not_tokens() -> None:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE predictions AS SELECT * FROM (VALUES "
        "('a', 'r1', 'b', 's1', 'tok-x', 'tok-x', ['t1', 't2'], ['t2', 't3'], 0.5, 0.5), "
        "('a', 'r2', 'b', 's2', 'tok-y', 'tok-z', NULL, ['t4'], 0.1, 0.2)) AS t("
        "source_dataset_l, record_pid_l, source_dataset_r, record_pid_r, fn_sn_l, fn_sn_r, "
        "alias_l, alias_r, tf_fn_sn_l, tf_fn_sn_r)"
    )
    table = _masked_predictions(connection, "predictions")
    rows = connection.sql(f"SELECT * FROM {table} ORDER BY record_pid_l").fetchall()
    names = connection.sql(f"SELECT * FROM {table}").columns
    first, second = (dict(zip(names, row, strict=True)) for row in rows)
    assert (first["fn_sn_l"], first["fn_sn_r"]) == ("A", "A")
    assert (second["fn_sn_l"], second["fn_sn_r"]) == ("A", "B")
    assert (first["alias_l"], first["alias_r"]) == ("list of 2", "list of 2, 1 shared")
    assert (second["alias_l"], second["alias_r"]) == (None, "list of 1, 0 shared")
    # Ids and term frequencies stay as they are.
    assert (first["record_pid_l"], first["source_dataset_r"], first["tf_fn_sn_l"]) == (
        "r1",
        "b",
        0.5,
    )
    text = str(rows)
    assert not any(token in text for token in ("tok-", "t1", "t2", "t3", "t4"))
