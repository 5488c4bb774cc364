"""Benchmark: how far trelink's trained model is from the best its comparisons allow.

    .venv/bin/python bench/bench_training_ceiling.py [--datasets gen_translit_none ...]
        [--records 2000] [--seed 1] [--cache out/bench/external]

For each dataset of the external suite (``bench_linkage_external.py --list``), trelink
runs twice at its defaults on the same tokens' datasets, each with fresh keys:

* **EM**: the default run, trained as every run is (prior, u, the planned EM sessions);
* **labels**: the same run with m taken from the truth instead: after training, every
  m estimate is replaced by the share of true pairs at each level (Splink's
  ``estimate_m_from_pairwise_labels`` on every true pair), the prior by the true share
  of matching pairs, and u corrected for those matches as training corrects it.

The labels run is what training aims at: the same comparisons, blocking and threshold,
with the parameters the truth gives. When the EM run is close to it, a gap to cleartext
Splink (``bench_linkage_external.py``) is in what the comparisons can see, not in how
they were trained. (It is not a strict bound on F1 at one threshold: a model calibrated
to the truth can link a little less than a miscalibrated one that happens to suit the
threshold, as on fake_1000.) Pairwise precision, recall and F1 at the default threshold
(0.8), as ``bench_linkage_external.py`` counts them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_linkage_external import _columns, _datasets
from external_data import LabelledDataset, load_external
from external_runners import RunResult, _trelink
from generator_scenarios import SCENARIOS, scenario_dataset

import linkage.run
from linkage.clerical import record_pairs
from linkage.job import LinkJob
from linkage.training import _u_without_matches

THRESHOLD = 0.8
DEFAULT_DATASETS = (
    "febrl1",
    "febrl4",
    "fake_1000",
    "gen_default_names_dob",
    "gen_translit_none",
    "gen_translit_high",
    "gen_hard_names_dob",
)


def _true_pairs(dataset: LabelledDataset, work: Path) -> pa.Table:
    """Every true pair the run could score, as Splink's label table in token ids."""
    connection = duckdb.connect()
    connection.register("truth", dataset.truth)
    lookups = " UNION ALL ".join(
        f"SELECT '{file}' AS file, record_id, record_pid "
        f"FROM read_parquet('{work / 'tokens' / file / 'lookup.parquet'}')"
        for file in dataset.files
    )
    allowed = "l.file <> r.file" if dataset.link_type == "link_only" else "l.file = r.file"
    labels = connection.sql(
        f"WITH lookup AS ({lookups}) "
        "SELECT a.file AS source_dataset_l, a.record_pid AS record_pid_l, "
        "b.file AS source_dataset_r, b.record_pid AS record_pid_r "
        "FROM truth l JOIN truth r ON l.cluster = r.cluster "
        f"AND (l.file, l.record_id) < (r.file, r.record_id) AND {allowed} "
        "JOIN lookup a ON a.file = l.file AND a.record_id = l.record_id "
        "JOIN lookup b ON b.file = r.file AND b.record_id = r.record_id"
    ).to_arrow_table()
    connection.close()
    return labels


def name_dependence(dataset: LabelledDataset) -> float | None:
    """How much more often two records of one file share a full name than sharing the
    forename and sharing the surname independently would give: P(both agree) /
    (P(forename agrees) P(surname agrees)) over the file's record pairs, averaged over
    files. 1 where names are independent (what weighing them apart assumes); a file's
    own duplicates raise it."""
    fields = dataset.fields
    kinds = {fields.identifier_type(column): column for column in fields.identifiers}
    if "given_name" not in kinds or "family_name" not in kinds:
        return None
    forename, surname = kinds["given_name"], kinds["family_name"]
    connection = duckdb.connect()
    found = []
    for table in dataset.files.values():
        connection.register("records", table)
        agree = {}
        for name, columns in (
            ("both", f"lower({forename}), lower({surname})"),
            ("forename", f"lower({forename})"),
            ("surname", f"lower({surname})"),
        ):
            ((pairs,),) = connection.execute(
                f"SELECT sum(n * (n - 1))::DOUBLE FROM (SELECT count(*) AS n FROM records "
                f"WHERE {forename} IS NOT NULL AND {surname} IS NOT NULL GROUP BY {columns})"
            ).fetchall()
            agree[name] = pairs or 0.0
        ((count,),) = connection.execute(
            f"SELECT count(*) FROM records WHERE {forename} IS NOT NULL AND {surname} IS NOT NULL"
        ).fetchall()
        connection.unregister("records")
        apart = agree["forename"] * agree["surname"]
        if apart:
            found.append(agree["both"] * count * (count - 1) / apart)
    connection.close()
    return sum(found) / len(found) if found else None


def _from_labels(dataset: LabelledDataset, work: Path) -> Callable[..., Any]:
    """``linkage.run.train_model`` followed by m, prior and u from the truth."""
    train_model = linkage.run.train_model

    def train(linker: Any, *args: Any, **kwargs: Any) -> Any:
        notes = train_model(linker, *args, **kwargs)
        labels = _true_pairs(dataset, work)
        for comparison in linker._settings_obj.comparisons:
            for level in comparison._comparison_levels_excluding_null:
                level._trained_m_probabilities = []
        linker.table_management.register_table(labels, "ceiling_labels", overwrite=True)
        linker.training.estimate_m_from_pairwise_labels("ceiling_labels")
        settings = linker._settings_obj
        sizes = {file: table.num_rows for file, table in dataset.files.items()}
        settings._probability_two_random_records_match = labels.num_rows / record_pairs(
            sizes, dataset.link_type
        )
        # Splink put u back as random sampling left it; correct it as training does.
        _u_without_matches(linker, floor=1.0 / LinkJob().training.u_max_pairs)
        return notes

    return train


def _run(
    dataset: LabelledDataset, field_set: str, *, labels: bool, root: Path
) -> tuple[RunResult, dict[tuple[str, str], float]]:
    """One run, and the m of each (comparison, level label) of the model it scored with."""
    columns, _notes = _columns(dataset, field_set, "identifiers")
    with tempfile.TemporaryDirectory(prefix="ceiling-", dir=root) as folder:
        work = Path(folder)
        original = linkage.run.train_model
        if labels:
            linkage.run.train_model = _from_labels(dataset, work)
        try:
            result = _trelink(dataset, columns, "identifiers", THRESHOLD, work)
        finally:
            linkage.run.train_model = original
        model_path = work / "link" / "model.json"
        m: dict[tuple[str, str], float] = {}
        if model_path.exists():
            model = json.loads(model_path.read_text(encoding="utf-8"))
            for comparison in model["comparisons"]:
                for level in comparison["comparison_levels"]:
                    value = level.get("m_probability")
                    if isinstance(value, float) and not level.get("is_null_level"):
                        label = level.get("label_for_charts", level["sql_condition"])
                        m[comparison["output_column_name"], label] = value
        return result, m


def _furthest(
    em: dict[tuple[str, str], float], labels: dict[tuple[str, str], float], count: int = 2
) -> str:
    """The levels whose m differs most between the two models (by ratio, m >= 0.01 in
    either), as 'comparison level: EM m / labels m'."""
    shared = [key for key in em if key in labels and max(em[key], labels[key]) >= 0.01]
    shared.sort(key=lambda key: -abs(math.log(max(em[key], 1e-6) / max(labels[key], 1e-6))))
    return "; ".join(
        f"{name} {label}: {em[name, label]:.3f} / {labels[name, label]:.3f}"
        for name, label in shared[:count]
    )


def _dataset(name: str, arguments: argparse.Namespace) -> tuple[LabelledDataset, str]:
    scenarios = {scenario.name: scenario for scenario in SCENARIOS}
    if name in scenarios:
        scenario = scenarios[name]
        dataset = scenario_dataset(
            scenario, records=arguments.records, seed=arguments.seed, cache=arguments.cache
        )
        return dataset, scenario.fields
    return load_external(name), "all"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS))
    parser.add_argument("--records", type=int, default=2000, help="generator records per side")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path("out/bench/external"))
    arguments = parser.parse_args()
    names = _datasets(arguments.datasets)  # unknown names end the run before any output
    arguments.cache.mkdir(parents=True, exist_ok=True)
    print(
        "| dataset | fields | EM P / R / F1 | labels P / R / F1 | F1 EM - labels "
        "| name dependence | m furthest apart (EM / labels) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in names:
        dataset, field_set = _dataset(name, arguments)
        runs = [
            _run(dataset, field_set, labels=labels, root=arguments.cache)
            for labels in (False, True)
        ]
        found = [result for result, _m in runs]
        cells = [
            result.error or f"{result.precision:.3f} / {result.recall:.3f} / {result.f1:.3f}"
            for result in found
        ]
        difference = found[0].f1 - found[1].f1
        dependence = name_dependence(dataset)
        shown = "" if dependence is None else f"{dependence:.1f}"
        print(
            f"| {name} | {field_set} | {cells[0]} | {cells[1]} | {difference:+.3f} | {shown} "
            f"| {_furthest(runs[0][1], runs[1][1])} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
