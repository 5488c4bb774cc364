"""The notebook side of a linkage run: its tables as DataFrames and Splink's own linker.

``link_datasets`` writes everything to its output folder and closes its DuckDB work
connection before it returns, so nothing large stays in memory between cells. This
module gives a notebook what it needs afterwards:

* ``read_output_table`` reads ``pairs``, ``clusters`` or ``held_back`` back as a pandas
  DataFrame, on demand (``LinkResult.predictions`` / ``clusters`` call it);
* ``open_linker`` rebuilds Splink's ``Linker`` from the run's saved ``model.json`` and
  the same sources, on a DuckDB connection of its own, so Splink's charts and
  dashboards (``linker.visualisations.*``, ``linker.evaluation.unlinkables_chart``)
  work as in Splink's documentation. The ``LinkerSession`` it returns owns that
  connection and a scratch directory; close it (or use ``with``) when done.

The rebuilt linker scores with the saved model, so its predictions agree with the
run's pairs (hold-back rules apart: Splink knows nothing of them); the spine's
clusters are offered to Splink with ``person_id`` as the cluster id.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

import duckdb
from splink import DuckDBAPI, Linker
from splink.internals.splink_dataframe import SplinkDataFrame

from linkage.backends import Backend
from linkage.errors import LinkageError
from linkage.inputs import DatasetSource, PreparedInputs
from linkage.job import LinkJob
from linkage.run import (
    SENSITIVITY_FLOOR,
    _check_job,
    _job_or_default,
    _make_linker,
    _select_sources,
    load_job_inputs,
)
from trelink.specs.match_keys import MatchKeySpec
from trelink.sql import quote_literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LinkerSession", "OutputTable", "open_linker", "read_output_table"]

OutputTable = Literal["pairs", "clusters", "held_back"]


def read_output_table(out_dir: str | os.PathLike[str], table: OutputTable) -> pd.DataFrame:
    """``out_dir/<table>.parquet`` of a ``trelink link`` run as a pandas DataFrame.

    For a table too large for memory, query the file lazily instead:
    ``duckdb.read_parquet(str(Path(out_dir) / "pairs.parquet"))``.
    """
    path = Path(out_dir) / f"{table}.parquet"
    if not path.is_file():
        raise LinkageError(f"{path}: not found; give the output folder of `trelink link`")
    with duckdb.connect() as connection:
        frame: pd.DataFrame = connection.read_parquet(str(path)).df()
    return frame


class LinkerSession:
    """Splink's linker for a finished run, with the DuckDB connection it runs on.

    ``linker`` is a ``splink.Linker`` carrying the run's trained model; ``predict``
    and ``clusters`` give the ``SplinkDataFrame``s Splink's dashboards take.
    """

    def __init__(
        self,
        *,
        linker: Linker,
        connection: duckdb.DuckDBPyConnection,
        prepared: PreparedInputs,
        out_dir: Path,
        threshold: float,
        workdir: Path,
    ) -> None:
        self.linker = linker
        self.connection = connection
        self.threshold = threshold
        self._prepared = prepared
        self._out_dir = out_dir
        self._workdir = workdir
        self._predictions: dict[float, SplinkDataFrame] = {}
        self._clusters: SplinkDataFrame | None = None
        self._closed = False

    def predict(self, threshold_match_probability: float | None = None) -> SplinkDataFrame:
        """Splink's scored pairs down to ``threshold_match_probability`` (default: the
        floor the run scored to, 0.01), with every ``gamma_``/``mw_`` column.

        Computed once per threshold and kept for the session. At a million records
        a side this is the run's scoring step again (minutes): pass a higher threshold
        to keep it small.
        """
        self._check_open()
        floor = (
            min(SENSITIVITY_FLOOR, self.threshold)
            if threshold_match_probability is None
            else threshold_match_probability
        )
        if not 0 <= floor <= 1:
            raise LinkageError(f"threshold_match_probability must be in [0, 1], got {floor}")
        if floor not in self._predictions:
            self._predictions[floor] = self.linker.inference.predict(
                threshold_match_probability=floor, warning_mode="never"
            )
        return self._predictions[floor]

    def clusters(self) -> SplinkDataFrame:
        """The run's spine for Splink: each record's input columns with ``cluster_id``
        (its ``person_id``), as ``cluster_studio_dashboard`` takes them."""
        self._check_open()
        if self._clusters is None:
            path = self._out_dir / "clusters.parquet"
            if not path.is_file():
                raise LinkageError(f"{path}: not found; give the output folder of `trelink link`")
            several = len(self._prepared.tables) > 1
            parts = []
            for dataset, table in self._prepared.tables.items():
                quoted = quote_literal(dataset)
                source = f"{quoted} AS source_dataset, " if several else ""
                parts.append(
                    f"SELECT c.person_id AS cluster_id, {source}i.* FROM {table} i "
                    f"JOIN spine_clusters c ON c.dataset = {quoted} "
                    "AND c.record_pid = i.record_pid"
                )
            self.connection.execute(
                "CREATE OR REPLACE TABLE spine_clusters AS SELECT dataset, "
                "CAST(record_pid AS VARCHAR) AS record_pid, person_id FROM read_parquet(?)",
                [str(path)],
            )
            self.connection.execute(
                "CREATE OR REPLACE TABLE spine_clusters_splink AS " + " UNION ALL ".join(parts)
            )
            db_api = self.linker._db_api
            self._clusters = db_api.register("spine_clusters_splink")
        return self._clusters

    def close(self) -> None:
        """Close the DuckDB connection and remove the scratch directory (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._predictions.clear()
        self._clusters = None
        try:
            self.connection.close()
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def _check_open(self) -> None:
        if self._closed:
            raise LinkageError("this linker session is closed; open a new one with open_linker")

    def __enter__(self) -> LinkerSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_linker(
    out_dir: str | os.PathLike[str],
    sources: Sequence[DatasetSource],
    *,
    job: LinkJob | None = None,
    match_keys: MatchKeySpec | None = None,
    memory_limit: str = "4GB",
) -> LinkerSession:
    """Rebuild the Splink linker of the run written to ``out_dir`` (its ``model.json``).

    ``sources``, ``job`` and ``match_keys`` must be those the run was given (a
    ``LinkResult`` remembers the sources and the job, which holds its match-key spec:
    use ``LinkResult.open_linker``). The inputs are
    checked and loaded again on a new DuckDB connection; the model is not retrained.
    """
    folder = Path(out_dir)
    model = folder / "model.json"
    if not model.is_file():
        raise LinkageError(f"{folder}: no model.json; give the output folder of `trelink link`")
    job = _job_or_default(job, match_keys)
    selected = _select_sources(sources, job)
    _check_job(job, selected)
    workdir = Path(tempfile.mkdtemp(prefix=".linker-session-", dir=folder.parent))
    connection = duckdb.connect(
        ":memory:",
        config={"temp_directory": str(workdir / "duckdb_spill"), "memory_limit": memory_limit},
    )
    try:
        prepared = load_job_inputs(connection, selected, job)
        backend = Backend(
            name="duckdb", dialect="duckdb", db_api=DuckDBAPI(connection), connection=connection
        )
        linker, _trained = _make_linker(backend, prepared, job, model)
    except BaseException:
        connection.close()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return LinkerSession(
        linker=linker,
        connection=connection,
        prepared=prepared,
        out_dir=folder,
        threshold=job.threshold,
        workdir=workdir,
    )
