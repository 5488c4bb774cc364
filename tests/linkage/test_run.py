"""End-to-end linkage on tokenised generator data: outputs, quality, reuse, refusals."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

import linkage.run as run_module
from linkage.errors import (
    InputTableError,
    JobSpecError,
    KeyMismatchError,
    LinkageError,
    NormalisationMismatchError,
)
from linkage.inputs import folder_source, prepare_inputs
from linkage.job import LinkJob
from linkage.run import LinkResult, _hold_back, link_datasets
from pseudonymise import NORMALISATION_VERSION
from trelink.specs.match_keys import load_match_key_spec

from .conftest import TokenisedPair


def _link(pair: TokenisedPair, out: Path, **options: object) -> LinkResult:
    sources = [folder_source(pair.left), folder_source(pair.right)]
    return link_datasets(sources, out_dir=out, show_progress=False, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def linked(tokenised_pair: TokenisedPair, tmp_path_factory: pytest.TempPathFactory) -> LinkResult:
    out = tmp_path_factory.mktemp("linked") / "out"
    return _link(tokenised_pair, out, truth_path=tokenised_pair.truth)


def test_outputs_have_the_promised_columns(linked: LinkResult) -> None:
    out = linked.out_dir
    assert sorted(path.name for path in out.iterdir()) == [
        "clusters.parquet",
        "diagnostics",
        "held_back.parquet",
        "model.json",
        "pairs.parquet",
        "report.html",
        "review_candidates.parquet",
    ]
    pairs = pq.read_table(out / "pairs.parquet")
    assert pairs.column_names == [
        "dataset_l",
        "record_pid_l",
        "dataset_r",
        "record_pid_r",
        "match_weight",
        "match_probability",
    ]
    assert min(pairs.column("match_probability").to_pylist()) >= linked.threshold
    clusters = pq.read_table(out / "clusters.parquet")
    assert clusters.column_names == ["dataset", "record_pid", "person_id"]
    assert clusters.num_rows == sum(linked.records.values()) == 3000


def _true_person(out: Path, truth: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(f"CREATE TABLE truth AS SELECT * FROM read_parquet('{truth}')")
    for name in ("pairs", "held_back"):
        connection.execute(
            f"CREATE TABLE {name} AS SELECT p.*, a.person_id = b.person_id AS same_person "
            f"FROM read_parquet('{out / (name + '.parquet')}') p "
            "JOIN truth a ON a.dataset = p.dataset_l AND a.record_pid = p.record_pid_l "
            "JOIN truth b ON b.dataset = p.dataset_r AND b.record_pid = p.record_pid_r"
        )
    return connection


def test_the_twins_rule_is_applied_only_as_the_data_show(
    linked: LinkResult, tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    """The run says whether the pattern was held back and why; held-back pairs keep the
    pairs' columns plus the rule; without the rule the same pairs are links."""
    held = pq.read_table(linked.out_dir / "held_back.parquet")
    assert held.column_names == [
        *pq.read_table(linked.out_dir / "pairs.parquet").column_names,
        "rule",
    ]
    assert held.num_rows == linked.held_back
    notes = [note for note in linked.notes if note.startswith("hold-back rules")]
    assert len(notes) == 1 and "differ in sex" in notes[0]
    assert ("hold-back rules applied" in notes[0]) == (linked.held_back > 0)
    unguarded = _link(
        tokenised_pair, tmp_path / "out", truth_path=tokenised_pair.truth, job=LinkJob(hold_back=())
    )
    assert unguarded.held_back == 0
    assert unguarded.pairs == linked.pairs + linked.held_back


def _scored(rows: list[tuple[str, str, float, str | None]]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE scored_pairs (dataset_l VARCHAR, record_pid_l VARCHAR, dataset_r VARCHAR, "
        "record_pid_r VARCHAR, match_weight DOUBLE, match_probability DOUBLE, held_back VARCHAR)"
    )
    connection.executemany("INSERT INTO scored_pairs VALUES ('a', ?, 'b', ?, 10, ?, ?)", rows)
    return connection


def _sexes(connection: duckdb.DuckDBPyConnection, sexes: dict[str, str]) -> dict[str, str]:
    for dataset in ("a", "b"):
        connection.execute(f"CREATE TABLE attributes_{dataset} (record_pid VARCHAR, sex VARCHAR)")
        connection.executemany(
            f"INSERT INTO attributes_{dataset} VALUES (?, ?)",
            [(pid, sex) for pid, sex in sexes.items() if pid.startswith(dataset)],
        )
    return {"a": "attributes_a", "b": "attributes_b"}


def test_look_alikes_that_differ_in_sex_are_held_back(tmp_path: Path) -> None:
    """Twelve look-alike pairs, half of them boy and girl (twins), beside forty ordinary
    links that agree on sex: the pattern is twins, and its pairs are held back."""
    rows: list[tuple[str, str, float, str | None]] = []
    sexes: dict[str, str] = {}
    for index in range(40):
        rows.append((f"a{index}", f"b{index}", 0.99, None))
        sexes[f"a{index}"] = sexes[f"b{index}"] = "F"
    for index in range(40, 52):
        rows.append((f"a{index}", f"b{index}", 0.95, "possible twins"))
        sexes[f"a{index}"] = "F"
        sexes[f"b{index}"] = "M" if index % 2 else "F"
    connection = _scored(rows)
    outcome = _hold_back(connection, 0.8, tmp_path, _sexes(connection, sexes))
    assert outcome.held_back == 12
    assert outcome.note is not None and outcome.note.startswith("hold-back rules applied")
    assert connection.execute("SELECT count(*) FROM scored_pairs").fetchall() == [(40,)]
    assert pq.read_table(tmp_path / "held_back.parquet").num_rows == 12


def test_look_alikes_of_one_sex_stay_links(tmp_path: Path) -> None:
    """The same pattern where both records record one sex (a misrecorded forename, as in
    FEBRL's duplicates) stays linked, and so does any pattern where no sex is recorded."""
    rows = [(f"a{index}", f"b{index}", 0.95, "possible twins") for index in range(30)]
    sexes = {f"{side}{index}": "M" for index in range(30) for side in "ab"}
    connection = _scored(rows)
    outcome = _hold_back(connection, 0.8, tmp_path, _sexes(connection, sexes))
    assert outcome.held_back == 0
    assert outcome.note is not None and "not applied" in outcome.note
    assert connection.execute("SELECT count(*) FROM scored_pairs").fetchall() == [(30,)]
    unrecorded = _scored(rows)
    outcome = _hold_back(unrecorded, 0.8, tmp_path, {})
    assert outcome.held_back == 0
    assert outcome.note is not None and "no dataset records sex" in outcome.note


def test_quality_on_tokens_is_above_the_bar(linked: LinkResult) -> None:
    assert linked.metrics is not None
    overall = linked.metrics.overall
    assert overall.precision >= 0.97
    assert overall.recall >= 0.85
    assert overall.f1 >= 0.92


def test_every_linked_pair_shares_a_person(linked: LinkResult) -> None:
    out = linked.out_dir
    split = duckdb.sql(
        "SELECT count(*) FROM read_parquet(?) p JOIN read_parquet(?) a "
        "ON a.dataset = p.dataset_l AND a.record_pid = p.record_pid_l "
        "JOIN read_parquet(?) b ON b.dataset = p.dataset_r AND b.record_pid = p.record_pid_r "
        "WHERE a.person_id <> b.person_id",
        params=[
            str(out / name) for name in ("pairs.parquet", "clusters.parquet", "clusters.parquet")
        ],
    ).fetchall()[0][0]
    assert split == 0


def test_report_is_offline_and_free_of_tokens(
    linked: LinkResult, tokenised_pair: TokenisedPair
) -> None:
    html = (linked.out_dir / "report.html").read_text(encoding="utf-8")
    # Every script is inline: no src attribute, so nothing is fetched.
    assert re.findall(r"<script\b[^>]*>", html) == ["<script>"] * 4
    assert "cdn.jsdelivr" not in html.split("const specs")[-1]
    assert "vegaEmbed" in html and "Linkage rates by subgroup" in html
    assert "Quality against the synthetic truth" in html
    pairs = pq.read_table(linked.out_dir / "pairs.parquet")
    for pid in pairs.column("record_pid_l").to_pylist()[:50]:
        assert pid not in html
    identity = pq.read_table(tokenised_pair.left / "identity.parquet", columns=["fn_sn", "dob"])
    for column in identity.columns:
        for token in column.drop_null().to_pylist()[:200]:
            assert str(token) not in html


def test_every_report_chart_is_for_the_embedded_vega_lite(linked: LinkResult) -> None:
    html = (linked.out_dir / "report.html").read_text(encoding="utf-8")
    specs = json.loads(html.split("const specs = ", 1)[1].split(";\n", 1)[0])
    (embedded,) = set(re.findall(r'var n="(\d+)\.\d+\.\d+"', html))
    assert {"match_weights", "dataset_rates", "expected_quality"} <= set(specs)
    for name, spec in specs.items():
        (major,) = re.findall(r"/vega-lite/v(\d+)\.", spec["$schema"])
        assert major == embedded, name


def _report_charts(result: LinkResult) -> tuple[str, dict[str, Any]]:
    html = (result.out_dir / "report.html").read_text(encoding="utf-8")
    return html, json.loads(html.split("const specs = ", 1)[1].split(";\n", 1)[0])


def test_saved_model_reproduces_the_pairs(
    linked: LinkResult,
    tokenised_pair: TokenisedPair,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A large run's unlinkables chart scores a random sample of records against
    # themselves: shrink "large" so this run draws one.
    monkeypatch.setattr(run_module, "UNLINKABLES_SAMPLE", 1000)
    again = _link(tokenised_pair, tmp_path / "again", model_path=linked.out_dir / "model.json")
    full_html, full_charts = _report_charts(linked)
    sample_html, sample_charts = _report_charts(again)
    assert "random sample" not in full_html and "random sample of 1,000" in sample_html
    full = {row["match_weight"]: row for row in full_charts["unlinkables"]["data"]["values"]}
    drawn = sample_charts["unlinkables"]["data"]["values"]
    # Each sampled record scores against itself as it does in the whole run (the same
    # model, term frequencies counted in every record): no weight the full chart lacks.
    # (The chart keeps the largest weight per rounded probability, so weights whose
    # probability rounds to 1 share one row: those are left out.)
    below = [row for row in drawn if row["match_probability"] < 0.999]
    assert {row["match_weight"] for row in below} <= set(full)
    assert below  # the data hold records that cannot reach certainty
    for row in below:  # and the shares below each weight agree within sampling error
        assert row["cum_prop"] == pytest.approx(full[row["match_weight"]]["cum_prop"], abs=0.06)
    first = pq.read_table(linked.out_dir / "pairs.parquet").to_pylist()
    second = pq.read_table(again.out_dir / "pairs.parquet").to_pylist()
    assert [row["record_pid_l"] for row in first] == [row["record_pid_l"] for row in second]
    for left, right in zip(first, second, strict=True):
        assert left["match_weight"] == pytest.approx(right["match_weight"], abs=1e-9)


def test_different_linkage_keys_are_refused(tokenised_pair: TokenisedPair, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(tokenised_pair.right, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["linkage_key_id"] = "0000000000000000"
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KeyMismatchError, match="different linkage keys"):
        link_datasets(
            [folder_source(tokenised_pair.left), folder_source(other)],
            out_dir=tmp_path / "out",
            show_progress=False,
        )
    assert not (tmp_path / "out").exists()


def _with_normalisation_version(source: Path, target: Path, version: int | None) -> Path:
    """A copy of the pseudonymised folder ``source`` whose manifest records ``version``
    (None: records none, as a manifest from before versions would)."""
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["normalisation_version"] == NORMALISATION_VERSION
    if version is None:
        del manifest["normalisation_version"]
    else:
        manifest["normalisation_version"] = version
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_datasets_of_different_normalisation_versions_are_refused(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    """Version 1 tokenised placeholder emails and phones that version 2 leaves out: one
    identifier can have two tokens, so such datasets must not be linked together."""
    older = _with_normalisation_version(tokenised_pair.right, tmp_path / "older", 1)
    with pytest.raises(
        NormalisationMismatchError, match="different normalisation versions"
    ) as raised:
        link_datasets(
            [folder_source(tokenised_pair.left), folder_source(older)],
            out_dir=tmp_path / "out",
            show_progress=False,
        )
    assert f"left={NORMALISATION_VERSION}, older=1" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_a_dataset_whose_manifest_records_no_normalisation_version_is_not_compared(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    """A folder without a manifest (or with one from before versions) cannot be
    checked; it is linked as before, not refused."""
    unknown = _with_normalisation_version(tokenised_pair.right, tmp_path / "unknown", None)
    sources = [folder_source(tokenised_pair.left), folder_source(unknown)]
    assert [source.normalisation_version for source in sources] == [NORMALISATION_VERSION, None]
    spec = load_match_key_spec()
    prepared = prepare_inputs(
        duckdb.connect(),
        sources,
        match_keys=spec,
        comparisons=spec.comparisons,
        required_comparisons=(),
    )
    assert prepared.record_counts == {"left": 1500, "unknown": 1500}


def _rewrite_identity(source: Path, target: Path, sql: str) -> Path:
    shutil.copytree(source, target)
    identity = target / "identity.parquet"
    table = duckdb.sql(sql.format(table=f"read_parquet('{source / 'identity.parquet'}')"))
    table.write_parquet(str(identity))
    return target


@pytest.mark.parametrize(
    ("sql", "error", "message"),
    [
        ("SELECT * FROM {table} LIMIT 0", InputTableError, "empty"),
        ("SELECT * EXCLUDE (sn_fn, dob_md) FROM {table}", InputTableError, "sn_fn"),
        (
            "SELECT * EXCLUDE (fn_sn, sn_fn, name_set, fn_sn_dm, sn_fn_dm, fi_sn, fn_pre4_sn, "
            "fn_sn_pre4, fn_del, sn_del, alias_fn_sn, fn, sn) FROM {table}",
            InputTableError,
            "name",
        ),
        (
            "SELECT * FROM {table} UNION ALL (SELECT * FROM {table} LIMIT 3)",
            InputTableError,
            "duplicate record_pid",
        ),
        (
            "SELECT * REPLACE (CAST(dob AS VARCHAR) AS dob) FROM {table}",
            InputTableError,
            "expected BIGINT",
        ),
    ],
)
def test_bad_identity_tables_are_refused_and_nothing_is_written(
    tokenised_pair: TokenisedPair, tmp_path: Path, sql: str, error: type[Exception], message: str
) -> None:
    broken = _rewrite_identity(tokenised_pair.right, tmp_path / "right", sql)
    with pytest.raises(error, match=message) as caught:
        link_datasets(
            [folder_source(tokenised_pair.left), folder_source(broken)],
            out_dir=tmp_path / "out",
            show_progress=False,
        )
    assert str(broken / "identity.parquet") in str(caught.value)
    assert not (tmp_path / "out").exists()
    assert [path.name for path in tmp_path.iterdir()] == ["right"]


def test_job_naming_unknown_datasets_is_refused(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    job = LinkJob(datasets=("left", "health"))
    with pytest.raises(JobSpecError, match="health"):
        _link(tokenised_pair, tmp_path / "out", job=job)


def test_existing_output_is_not_overwritten(tokenised_pair: TokenisedPair, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(LinkageError, match="not empty"):
        _link(tokenised_pair, out)
    assert (out / "keep.txt").read_text() == "mine"


def test_an_em_block_without_pairs_is_skipped_and_the_others_train(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    # The right side's postcode districts share nothing with the left's, so the block
    # name set + district finds no pairs; the other three blocks still train every
    # comparison, and the run says which block it skipped.
    right = tmp_path / "right"
    shutil.copytree(tokenised_pair.right, right)
    identity = pq.read_table(right / "identity.parquet")
    position = identity.schema.get_field_index("pc_district")
    scrambled = duckdb.sql(
        "SELECT (hash(record_pid) >> 1)::BIGINT AS pc_district FROM identity"
    ).to_arrow_table()
    pq.write_table(
        identity.set_column(position, "pc_district", scrambled.column(0)),
        right / "identity.parquet",
    )
    job = LinkJob(
        link_type="link_only",
        training={
            "em_blocks": [["name_set", "pc_district"], ["dob", "pc"], ["sn", "pc"], ["fn", "dob"]]
        },
    )
    result = link_datasets(
        [folder_source(tokenised_pair.left), folder_source(right)],
        out_dir=tmp_path / "out",
        job=job,
        truth_path=tokenised_pair.truth,
        show_progress=False,
    )
    skipped = "EM block name_set + pc_district found no candidate pairs; skipped"
    assert skipped in result.notes
    assert skipped in (result.out_dir / "report.html").read_text("utf-8")
    assert result.metrics is not None
    assert result.metrics.overall.f1 >= 0.95
    # A failed session narrows the model to the comparisons it trains; all must remain.
    model = json.loads((result.out_dir / "model.json").read_text("utf-8"))
    comparisons = model["comparisons"]
    assert [item["output_column_name"] for item in comparisons] == [
        "name",
        "dob",
        "postcode",
        "nhs_number",
    ]


def _token_digits(folder: Path) -> set[str]:
    """The leading 15 digits of every token of a pseudonymised folder (64-bit integers),
    so a token shown whole, negated or as a rounded float is still recognised."""
    identity = pq.read_table(folder / "identity.parquet")
    found: set[str] = set()
    for name in identity.column_names:
        if name == "record_pid":
            continue
        for value in identity.column(name).drop_null().to_pylist():
            for token in value if isinstance(value, list) else [value]:
                digits = str(abs(int(token)))
                if len(digits) >= 15:
                    found.add(digits[:15])
    return found


def _page_digits(html: str) -> set[str]:
    """Leading 15 digits of every long number on a page, written whole or as a float."""
    whole = re.findall(r"\d{15,}", html)
    floats = re.findall(r"(\d)\.(\d{14,})[eE]\+?\d+", html)
    return {number[:15] for number in whole} | {(a + b)[:15] for a, b in floats}


def test_report_and_companion_pages_show_diagnostics_without_tokens(
    linked: LinkResult, tokenised_pair: TokenisedPair
) -> None:
    out = linked.out_dir
    report = (out / "report.html").read_text(encoding="utf-8")
    for section in (
        "Linkage uncertainty by subgroup",
        "What a gap means and what to do",
        "Choosing a threshold",
        "Recommended threshold",
        "m and u of each level",
        "Unlinkable records",
        'id="chart-unlinkables"',
        'id="chart-expected_quality"',
        "diagnostics/comparison_viewer.html",
        # With truth, measured figures beside the expected ones, per subgroup.
        "<th>measured precision</th><th>measured recall</th>",
    ):
        assert section in report, section
    pages = {
        name: (out / "diagnostics" / name).read_text(encoding="utf-8")
        for name in ("comparison_viewer.html", "cluster_studio.html")
    }
    tokens = _token_digits(tokenised_pair.left) | _token_digits(tokenised_pair.right)
    assert len(tokens) > 1000
    for name, html in {"report.html": report, **pages}.items():
        leaked = tokens & _page_digits(html)
        assert not leaked, f"{name} shows {len(leaked)} token values"
        # Offline: no script or stylesheet from elsewhere.
        assert "<script src=" not in html and "fonts.googleapis" not in html, name
    # The dashboards do show pseudonymous ids, so a pair can be found in pairs.parquet.
    pairs = pq.read_table(out / "pairs.parquet").column("record_pid_l").to_pylist()
    assert any(pid in pages["comparison_viewer.html"] for pid in pairs)


def test_expected_quality_tracks_the_measured_on_the_generator(linked: LinkResult) -> None:
    assert linked.expected is not None and linked.metrics is not None
    measured = linked.metrics.overall
    # The estimate uses no truth: it sees only the model's probabilities. Recall is
    # over-stated by what blocking never produced, so it may sit a little above.
    assert abs(linked.expected.expected_precision - measured.precision) <= 0.03
    assert -0.03 <= linked.expected.expected_recall - measured.recall <= 0.08
    assert linked.recommended is not None
    recommended = linked.metrics.by_threshold
    best_measured = max(counts.f1 for _, counts in recommended)
    at_recommended = duckdb.sql(
        "SELECT count(*) FROM read_parquet(?) WHERE match_probability >= ?",
        params=[str(linked.out_dir / "pairs.parquet"), linked.threshold],
    ).fetchall()[0][0]
    assert at_recommended == linked.pairs
    assert linked.recommended.expected_f1 >= best_measured - 0.05


@pytest.mark.slow
def test_threshold_auto_links_at_the_recommended_threshold(
    linked: LinkResult, tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    assert linked.recommended is not None
    auto = _link(
        tokenised_pair,
        tmp_path / "auto",
        model_path=linked.out_dir / "model.json",
        threshold="auto",
    )
    assert auto.threshold == linked.recommended.threshold
    assert any("--threshold auto chose" in note for note in auto.notes)
    lowest = duckdb.sql(
        "SELECT min(match_probability) FROM read_parquet(?)",
        params=[str(auto.out_dir / "pairs.parquet")],
    ).fetchall()[0][0]
    assert lowest >= auto.threshold


def test_a_threshold_that_is_neither_a_probability_nor_auto_is_refused(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    with pytest.raises(LinkageError, match="or auto"):
        _link(tokenised_pair, tmp_path / "out", threshold="best")
    assert not (tmp_path / "out").exists()


def test_em_reads_term_frequencies_only_while_its_samples_are_small(
    tokenised_pair: TokenisedPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Term frequencies in EM's iterations cost a pass over every sampled pair per
    iteration; past EM_TERM_FREQUENCY_PAIRS a session iterates over agreement patterns.
    A job can fix either way."""
    from splink.internals.linker_components.training import LinkerTraining

    import linkage.training as training_module

    original = LinkerTraining.estimate_parameters_using_expectation_maximisation
    without: list[bool] = []

    def recording(self: LinkerTraining, *args: Any, **kwargs: Any) -> Any:
        without.append(bool(kwargs.get("estimate_without_term_frequencies")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(
        LinkerTraining, "estimate_parameters_using_expectation_maximisation", recording
    )
    _link(tokenised_pair, tmp_path / "small")
    assert without and not any(without)  # 1,500 records a side: every session is small
    without.clear()
    monkeypatch.setattr(training_module, "EM_TERM_FREQUENCY_PAIRS", 10)
    _link(tokenised_pair, tmp_path / "large")
    assert without and all(without)
    without.clear()
    job = LinkJob(training={"em_term_frequencies": True})
    _link(tokenised_pair, tmp_path / "fixed", job=job)
    assert without and not any(without)
