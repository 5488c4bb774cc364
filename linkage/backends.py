"""Where Splink runs: DuckDB (embedded default) or Spark (local mode here, clusters later).

Inputs are always prepared in a DuckDB work connection (``linkage.inputs``); a backend
registers them with Splink and hands Splink's results back to that connection, so
everything downstream (pairs, clusters, report) is backend-neutral.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
from splink import DuckDBAPI
from splink.internals.splink_dataframe import SplinkDataFrame

from linkage.comparisons import Dialect
from linkage.errors import LinkageError, SparkSettingError

__all__ = [
    "Backend",
    "BackendName",
    "check_spark_conf",
    "column_names",
    "open_backend",
    "parse_spark_conf",
    "spark_settings",
]

BackendName = Literal["duckdb", "spark"]


def column_names(frame: SplinkDataFrame) -> list[str]:
    """The plain column names of a Splink result."""
    return [column.unquote().name for column in frame.columns]


@dataclass
class Backend:
    """A Splink database API plus the DuckDB work connection results return to."""

    name: BackendName
    dialect: Dialect
    db_api: Any
    connection: duckdb.DuckDBPyConnection
    spark: Any = None
    # Makes another database API over the same connection or Spark session.
    new_api: Callable[[], Any] | None = None
    # Appended to the names tables are registered under (a sibling's, below).
    table_suffix: str = ""

    def sibling(self, suffix: str) -> Backend:
        """The same backend with a database API of its own, for a second linker over
        the same datasets: it registers its tables under names ending in ``suffix``
        (Spark keeps one namespace of views per session) but as the same datasets."""
        if self.new_api is None:
            raise LinkageError("this backend cannot make another database API")
        return replace(self, db_api=self.new_api(), table_suffix=suffix)

    def register(self, table: str, *, dataset: str) -> SplinkDataFrame:
        """Register the work table ``table`` with Splink as dataset ``dataset``."""
        source: Any = table
        if self.spark is not None:
            source = self.spark.createDataFrame(self.connection.table(table).to_arrow_table())
        registered: SplinkDataFrame = self.db_api.register(
            source,
            dataset_display_name=dataset,
            table_name=dataset + self.table_suffix if self.table_suffix else None,
        )
        return registered

    def to_work(
        self, frame: SplinkDataFrame, table: str, *, select: str = "*", where: str = "true"
    ) -> str:
        """Copy a Splink result (its rows meeting ``where``) into the work connection as
        ``table``; return its name."""
        if self.spark is None:
            source = frame.physical_name
        else:
            arrow = frame.as_spark_dataframe().toArrow()
            self.connection.register(f"{table}_arrow", arrow)
            source = f"{table}_arrow"
        self.connection.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT {select} FROM {source} WHERE {where}"
        )
        if self.spark is not None:
            self.connection.unregister(f"{table}_arrow")
        return table


def spark_settings(workdir: Path, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Spark configuration trelink starts a session with, ``overrides`` applied last.

    Defaults suit local mode on a small machine; ``trelink link --spark-conf KEY=VALUE``
    overrides any of them (``spark.driver.memory=12g``, ``spark.master=yarn``) or adds
    others. ``spark.checkpoint.dir`` moves Splink's lineage breaks to shared storage.
    """
    settings = {
        "spark.master": "local[2]",
        "spark.app.name": "trelink-link",
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "4",
        # Splink's CASE expressions over many token columns exceed the 64 KB limit of
        # whole-stage code generation; Spark would fall back after a failed compile.
        "spark.sql.codegen.wholeStage": "false",
        "spark.log.level": "ERROR",
        "spark.ui.showConsoleProgress": "false",
        "spark.ui.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.local.dir": str(workdir / "spark_local"),
        "spark.checkpoint.dir": str(workdir / "spark_checkpoints"),
        "spark.driver.memory": "4g",
    }
    check_spark_conf(overrides or {})
    return settings | dict(overrides or {})


def check_spark_conf(overrides: Mapping[str, str]) -> None:
    """Refuse a setting that is not ``spark.KEY`` with a value (a SparkSettingError)."""
    for key, value in overrides.items():
        _check_setting(key, value)


def _check_setting(key: str, value: str) -> None:
    # The key is echoed, never the value: a setting may be a password.
    if not key.startswith("spark.") or len(key) == len("spark."):
        raise SparkSettingError(f"must be spark.KEY=VALUE; {key!r} is not a Spark key")
    if not value:
        raise SparkSettingError(f"must be spark.KEY=VALUE; {key!r} has no value")


def parse_spark_conf(items: Sequence[str]) -> dict[str, str]:
    """``["spark.driver.memory=8g", ...]`` as a dict; a malformed item is a
    SparkSettingError."""
    parsed: dict[str, str] = {}
    for item in items:
        key, _, value = (part.strip() for part in item.partition("="))
        _check_setting(key, value)
        parsed[key] = value
    return parsed


def _spark_session(workdir: Path, overrides: Mapping[str, str] | None) -> Any:
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as error:
        raise LinkageError(
            "--backend spark needs pyspark: install trelink with the `spark` extra"
        ) from error
    settings = {"spark.jars": similarity_jar_location(), **spark_settings(workdir, overrides)}
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(settings["spark.checkpoint.dir"])
    return session


@contextlib.contextmanager
def open_backend(
    name: BackendName,
    *,
    connection: duckdb.DuckDBPyConnection,
    workdir: Path,
    spark_conf: Mapping[str, str] | None = None,
) -> Iterator[Backend]:
    """Yield a backend whose temporary files live under ``workdir``.

    ``spark_conf`` overrides trelink's Spark settings (see ``spark_settings``).
    """
    if name == "duckdb":
        yield Backend(
            name="duckdb",
            dialect="duckdb",
            db_api=DuckDBAPI(connection),
            connection=connection,
            new_api=lambda: DuckDBAPI(connection),
        )
        return
    from splink.backends.spark import SparkAPI

    # py4j logs every gateway call at INFO; keep the researcher's terminal readable.
    logging.getLogger("py4j").setLevel(logging.ERROR)
    session = _spark_session(workdir, spark_conf)

    def spark_api() -> Any:
        return SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=session,
            break_lineage_method="parquet",
            num_partitions_on_repartition=4,
        )

    try:
        yield Backend(
            name="spark",
            dialect="spark",
            db_api=spark_api(),
            connection=connection,
            spark=session,
            new_api=spark_api,
        )
    finally:
        session.stop()
