"""A TRE researcher's linkage session in a notebook, end to end on synthetic data.

Run it as a script::

    .venv/bin/python docs/examples/notebook_linkage.py out/notebook --records 500

or open it in Jupyter or VS Code, which read the ``# %%`` markers as cells. It plays
two data owners (the generator's extracts, pseudonymised with fresh keys), then does
what a researcher does in the TRE: link the tokens, look at the pairs and clusters as
DataFrames, open Splink's own charts and dashboards on the run's model, and build the
person-level table. docs/python-api.md explains each call; CI runs this file
(tests/linkage/test_notebook_example.py).
"""

# %% Imports and the working folder
from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from linkage import (
    LinkResult,
    PersonTable,
    PersonTableSpec,
    folder_source,
    link_datasets,
    write_person_table,
)
from pseudonymise import pseudonymise_table, write_pseudonymised
from trelink.synth import write_benchmark_extracts


@dataclass(frozen=True)
class Session:
    """What the walk-through made, for the test that runs it."""

    result: LinkResult
    pairs: pd.DataFrame
    clusters: pd.DataFrame
    charts: dict[str, Path]
    persons: PersonTable


def make_owner_folders(work: Path, records: int) -> list[Path]:
    """Two owners' pseudonymised folders, as `trelink pseudonymise` writes them.

    Synthetic people only. Both owners hold the project's linkage key (so their tokens
    agree) and each its own owner key (for its lookup).
    """
    extracts = write_benchmark_extracts(work / "raw", n_records=records, overlap=0.5, seed=11)
    linkage_key = secrets.token_bytes(32)
    folders = []
    for name, extract in (("school", extracts.left), ("clinic", extracts.right)):
        tables = pseudonymise_table(
            pq.read_table(extract), linkage_key=linkage_key, owner_key=secrets.token_bytes(32)
        )
        folders.append(write_pseudonymised(tables, work / name))
    return folders


def main(argv: Sequence[str] | None = None) -> Session:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="folder to write into (replaced)")
    parser.add_argument("--records", type=int, default=500, help="records per owner")
    options = parser.parse_args(argv)
    work: Path = options.work
    work.mkdir(parents=True, exist_ok=True)

    # %% The owners' side (outside the TRE): pseudonymised folders
    school, clinic = make_owner_folders(work, options.records)

    # %% Link. Paths may be str or Path; the result holds counts and gives the tables.
    result = link_datasets(
        [folder_source(str(school)), folder_source(str(clinic))],
        out_dir=str(work / "linked"),
        overwrite=True,
        show_progress=False,
    )
    print(f"{result.pairs:,} pairs, {result.persons:,} persons from {result.records}")

    # %% Pairs and clusters as pandas DataFrames, read from the written Parquet on demand
    pairs = result.predictions()  # dataset_l, record_pid_l, ..., match_probability
    clusters = result.clusters()  # dataset, record_pid, person_id
    print(pairs.sort_values("match_probability").head())
    sizes = clusters.groupby("person_id").size().value_counts().sort_index()
    print("records per person:", sizes.to_dict())

    # %% Splink's own charts and dashboards on the run's model. The session owns a
    # DuckDB connection: `with` closes it (or call session.close()).
    charts_dir = work / "charts"
    charts_dir.mkdir(exist_ok=True)
    charts = {
        name: charts_dir / f"{name}.html"
        for name in (
            "match_weights",
            "m_u_parameters",
            "match_weights_histogram",
            "unlinkables",
            "comparison_viewer",
            "cluster_studio",
        )
    }
    with result.open_linker() as session:
        linker = session.linker
        scored = session.predict()  # every pair down to 0.01, with gamma_ and mw_ columns
        # inline=True embeds Vega: the pages open without the internet, as in a TRE.
        linker.visualisations.match_weights_chart().save(charts["match_weights"], inline=True)
        linker.visualisations.m_u_parameters_chart().save(charts["m_u_parameters"], inline=True)
        linker.visualisations.match_weights_histogram(scored).save(
            charts["match_weights_histogram"], inline=True
        )
        linker.evaluation.unlinkables_chart().save(charts["unlinkables"], inline=True)
        # The dashboards show the records' columns: tokens and pseudonymous ids here,
        # never identifiers (the TRE holds none). They stay in the TRE like any output.
        linker.visualisations.comparison_viewer_dashboard(
            scored, str(charts["comparison_viewer"]), overwrite=True
        )
        linker.visualisations.cluster_studio_dashboard(
            scored,
            session.clusters(),  # the run's persons: cluster_id is person_id
            str(charts["cluster_studio"]),
            sampling_method="by_cluster_size",
            overwrite=True,
        )
    print("charts:", ", ".join(sorted(path.name for path in charts.values())))

    # %% One row per person, attributes joined by rule (the same as `trelink spine --spec`)
    spec = PersonTableSpec.model_validate(
        {
            "version": 1,
            "datasets": {
                name: {
                    "order_by": "event_date",
                    "attributes": [
                        {"column": "nationality", "rule": "first"},
                        {"column": "event_date", "rule": "latest", "name": f"{name}_last_seen"},
                    ],
                }
                for name in ("school", "clinic")
            },
        }
    )
    persons = write_person_table(
        result.out_dir, result.sources, work / "persons.parquet", spec=spec, overwrite=True
    )
    table = pd.read_parquet(persons.path)
    print(f"person table: {persons.persons:,} rows; in both datasets:", end=" ")
    print(int((table["school_records"].gt(0) & table["clinic_records"].gt(0)).sum()))
    return Session(result=result, pairs=pairs, clusters=clusters, charts=charts, persons=persons)


if __name__ == "__main__":
    main(sys.argv[1:])
