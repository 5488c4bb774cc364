"""The same job on Spark (local mode) agrees with DuckDB."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

import linkage.run as run_module
from linkage.backends import spark_settings
from linkage.errors import LinkageError
from linkage.inputs import folder_source
from linkage.run import link_datasets

from .conftest import TokenisedPair

pytest.importorskip("pyspark")


@pytest.mark.spark
@pytest.mark.slow
def test_spark_scores_the_same_pairs_as_duckdb(
    tokenised_pair: TokenisedPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = [folder_source(tokenised_pair.left), folder_source(tokenised_pair.right)]
    # Both runs draw the report's unlinkables sample (a second linker in the same
    # session: on Spark its tables need names of their own).
    monkeypatch.setattr(run_module, "UNLINKABLES_SAMPLE", 1000)
    # Train once on DuckDB; Spark reuses the model, rebuilt in Spark SQL from the spec.
    duck = link_datasets(sources, out_dir=tmp_path / "duckdb", show_progress=False)
    spark = link_datasets(
        sources,
        out_dir=tmp_path / "spark",
        backend="spark",
        model_path=duck.out_dir / "model.json",
        show_progress=False,
        spark_conf={"spark.sql.shuffle.partitions": "2", "spark.driver.memory": "2g"},
    )

    def weights(out: Path) -> dict[frozenset[tuple[str, str]], float]:
        rows = pq.read_table(out / "pairs.parquet").to_pylist()
        return {
            frozenset(
                {(row["dataset_l"], row["record_pid_l"]), (row["dataset_r"], row["record_pid_r"])}
            ): row["match_weight"]
            for row in rows
        }

    duck_weights, spark_weights = weights(duck.out_dir), weights(spark.out_dir)
    assert duck_weights.keys() == spark_weights.keys()
    assert len(duck_weights) > 500
    for pair, weight in duck_weights.items():
        assert spark_weights[pair] == pytest.approx(weight, abs=1e-6)
    assert spark.persons == duck.persons
    # The clerical review candidates (held back and near the threshold) agree too.
    duck_candidates, spark_candidates = (
        sorted(
            (row["dataset_l"], row["record_pid_l"], row["dataset_r"], row["record_pid_r"],
             row["reason"])
            for row in pq.read_table(out / "review_candidates.parquet").to_pylist()
        )
        for out in (duck.out_dir, spark.out_dir)
    )  # fmt: skip
    assert spark_candidates == duck_candidates
    assert duck_candidates
    assert (spark.out_dir / "report.html").stat().st_size > 100_000
    assert "random sample of 1,000" in (spark.out_dir / "report.html").read_text("utf-8")


def test_spark_settings_take_overrides_last(tmp_path: Path) -> None:
    settings = spark_settings(tmp_path, {"spark.driver.memory": "12g", "spark.master": "yarn"})
    assert settings["spark.driver.memory"] == "12g"
    assert settings["spark.master"] == "yarn"
    assert settings["spark.checkpoint.dir"] == str(tmp_path / "spark_checkpoints")
    assert spark_settings(tmp_path)["spark.driver.memory"] == "4g"
    with pytest.raises(LinkageError, match=r"spark\.KEY=VALUE"):
        spark_settings(tmp_path, {"driver.memory": "12g"})
