"""False refusals of the leak scanner on clean synthetic extracts; print one line per table.

    .venv/bin/python bench/identifiers_false_positives.py [--seeds 1 2 3] [--scale 0.2]

For each seed, ``trelink synth`` writes every source; each is prepared by its dataset
spec, pseudonymised (``unique_record_id`` as the spec says) and handed to
``check_members`` with its lookup beside it, as ``trelink package`` does. A clean
extract must never be refused: the last line counts the refusals (0 expected) and the
kinds they named, never a value.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--scale", type=float, default=0.2)
    arguments = parser.parse_args()

    from pseudonymise.errors import IdentifierLeakError
    from pseudonymise.identifiers import check_members
    from pseudonymise.prepare import prepare_source
    from pseudonymise.spec import PseudonymiseSpec
    from pseudonymise.tables import pseudonymise_table, write_pseudonymised
    from trelink.specs.dataset import dataset_spec_path, load_dataset_spec
    from trelink.synth.generate import SOURCES, generate

    checked, refused = 0, []
    for seed in arguments.seeds:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            generate(root / "raw", seed=seed, scale=arguments.scale)
            for source in SOURCES:
                spec = load_dataset_spec(dataset_spec_path(source))
                prepared = prepare_source(spec, root / "raw" / source)
                unique = {table.name: table.unique_record_id for table in spec.tables}
                for name, table in prepared.tables.items():
                    tables = pseudonymise_table(
                        table,
                        linkage_key=b"l" * 32,
                        owner_key=b"o" * 32,
                        options=PseudonymiseSpec(version=1, unique_record_id=unique[name]),
                    )
                    folder = write_pseudonymised(tables, root / "out" / source / name)
                    members = [
                        folder / member for member in ("identity.parquet", "attributes.parquet")
                    ]
                    started = time.perf_counter()
                    try:
                        check_members(
                            [member for member in members if member.exists()],
                            lookup=folder / "lookup.parquet",
                            token_columns=tables.manifest["token_columns"],
                        )
                        verdict = "accepted"
                    except IdentifierLeakError as error:
                        verdict = "REFUSED"
                        refused.append(f"seed {seed} {source}/{name}: {error}")
                    checked += 1
                    print(
                        f"seed {seed} {source:10s} {name:10s} {table.num_rows:>8,} rows  "
                        f"{verdict}  ({time.perf_counter() - started:.1f} s)",
                        flush=True,
                    )
    print(f"{checked} clean tables checked, {len(refused)} refused")
    for problem in refused:
        print(problem)


if __name__ == "__main__":
    main()
