"""The notebook API: the example script runs end to end, and what it hands a researcher
(pairs, clusters, Splink's linker) agrees with the files the run wrote.

One small run (300 records per owner) serves every test here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pandas as pd
import pytest

from linkage import (
    LinkageError,
    database_sources,
    folder_source,
    ictg,
    open_linker,
    read_output_table,
)
from linkage.ictg import IctgInputError

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "notebook_linkage.py"

pytestmark = pytest.mark.slow  # one linkage run and Splink's dashboards: about 20 s


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebook_linkage", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("notebook")
    return _example().main([str(work), "--records", "300"])


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns[:4])).reset_index(drop=True)


def test_the_example_writes_every_chart_and_the_person_table(session: Any) -> None:
    for name, path in session.charts.items():
        text = path.read_text(encoding="utf-8")
        assert len(text) > 10_000, name
        assert '<script src="http' not in text, f"{name} would need the internet"
    persons = pd.read_parquet(session.persons.path)
    assert len(persons) == session.result.persons == persons["person_id"].nunique()
    assert persons["records"].sum() == sum(session.result.records.values())


def test_tables_are_the_written_files(session: Any) -> None:
    out = session.result.out_dir
    pairs = duckdb.read_parquet(str(out / "pairs.parquet")).df()
    pd.testing.assert_frame_equal(_sorted(session.pairs), _sorted(pairs))
    clusters = duckdb.read_parquet(str(out / "clusters.parquet")).df()
    pd.testing.assert_frame_equal(_sorted(session.clusters), _sorted(clusters))
    assert len(session.pairs) == session.result.pairs
    assert session.clusters["person_id"].nunique() == session.result.persons
    assert read_output_table(str(out), "held_back").shape[0] == session.result.held_back
    with pytest.raises(LinkageError, match="not found"):
        read_output_table(out / "nowhere", "pairs")


def test_the_linker_scores_as_the_run_did(session: Any) -> None:
    result = session.result
    held = {
        (row.dataset_l, row.record_pid_l, row.dataset_r, row.record_pid_r)
        for row in result.held_back_pairs().itertuples()
    }
    with open_linker(str(result.out_dir), list(result.sources), job=result.job) as linker:
        scored = linker.predict(result.threshold).as_pandas_dataframe()
        clusters = linker.clusters().as_pandas_dataframe()
        workdir = linker._workdir
    rescored = {
        (row.source_dataset_l, row.record_pid_l, row.source_dataset_r, row.record_pid_r): (
            row.match_probability
        )
        for row in scored.itertuples()
    }
    written = {
        (row.dataset_l, row.record_pid_l, row.dataset_r, row.record_pid_r): row.match_probability
        for row in session.pairs.itertuples()
    }
    assert set(rescored) - held == set(written)
    assert all(abs(rescored[pair] - written[pair]) < 1e-9 for pair in written)
    # Splink's view of the spine: one row per record, cluster_id the run's person_id.
    by_record = dict(
        zip(
            zip(clusters["source_dataset"], clusters["record_pid"], strict=True),
            clusters["cluster_id"],
            strict=True,
        )
    )
    expected = dict(
        zip(
            zip(session.clusters["dataset"], session.clusters["record_pid"], strict=True),
            session.clusters["person_id"],
            strict=True,
        )
    )
    assert by_record == expected
    assert not workdir.exists()  # closing removed the scratch directory


def test_a_closed_session_refuses_work(session: Any) -> None:
    linker = session.result.open_linker()
    linker.close()
    linker.close()  # twice is harmless
    with pytest.raises(LinkageError, match="closed"):
        linker.predict()


def test_paths_may_be_strings(session: Any, tmp_path: Path) -> None:
    folder = session.result.sources[0]
    assert folder_source(str(Path(folder.origin).parent)) == folder
    with pytest.raises(LinkageError, match="no such TRE database"):
        database_sources(str(tmp_path / "missing.duckdb"), ["school"])
    with pytest.raises(LinkageError, match=r"no model\.json"):
        open_linker(str(tmp_path), list(session.result.sources))
    missing = str(tmp_path / "missing.parquet")
    with pytest.raises(IctgInputError, match="not found"):
        ictg.parquet_sources(referral=[missing], monthly=[missing], contact=[missing])
    with pytest.raises(IctgInputError, match="not found"):
        ictg.database_sources(str(tmp_path / "tre.duckdb"), referral=[], monthly=[], contact=[])
