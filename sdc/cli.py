"""Command-line entry points of ``sdc``; ``register(app)`` adds them to ``trelink``.

``trelink sdc protect`` builds a protected table from microdata, ``check`` verifies one
table file, ``audit`` runs the joint audit over several. Exit status
(``trelink.exit_codes``): 0 safe, 4 unsafe (with reasons), 3 refused input (from the
umbrella command's error handling), 2 a wrong command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

# Typer needs the enum itself to build the --method choices; sdc.status is light, and
# every other sdc import waits until a command runs.
from sdc.status import Method
from trelink.atomic import atomic_file
from trelink.console import print_json, result_console
from trelink.exit_codes import check_failed
from trelink.options import JSON_HELP

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["register"]

MULTI_VALUE_OPTIONS = ("--rows", "--cols", "--earlier", "--with")

sdc_app = typer.Typer(
    name="sdc",
    help="Statistical disclosure control: protect tables, check them, audit a request.",
    no_args_is_help=True,
)


class _MultiValueCommand(typer.core.TyperCommand):
    """Accept ``--rows a b`` as well as ``--rows a --rows b`` and ``--rows a,b``.

    Click options take one value each; before parsing, the words after a multi-value
    option (up to the next option) are rewritten as repeated options.
    """

    def parse_args(self, ctx: typer._click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        current: str | None = None
        for word in args:
            if word.startswith("-"):
                current = word if word in MULTI_VALUE_OPTIONS else None
                if current is None:
                    rewritten.append(word)
                continue
            if current is not None:
                rewritten.extend(
                    item for part in word.split(",") if part for item in (current, part)
                )
                continue
            rewritten.append(word)
        return super().parse_args(ctx, rewritten)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the umbrella ``trelink`` application."""
    app.add_typer(sdc_app, name="sdc")


def _read_microdata(path: Path) -> pd.DataFrame:
    import pandas as pd

    from sdc.errors import TableInputError

    if not path.exists():
        raise TableInputError(f"{path}: file not found")
    if path.is_dir():
        raise TableInputError(f"{path}: is a directory; give a CSV or Parquet file")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, low_memory=False)
    except (ValueError, OSError, UnicodeDecodeError) as error:
        raise TableInputError(f"{path}: cannot be read ({error.__class__.__name__})") from None


@sdc_app.command(cls=_MultiValueCommand)
def protect(
    microdata: Path = typer.Option(..., "--in", help="microdata, CSV or Parquet"),
    rows: list[str] = typer.Option(..., "--rows", help="row variables: --rows A B"),
    cols: list[str] = typer.Option(..., "--cols", help="column variables: --cols C D"),
    value: str | None = typer.Option(None, "--value", help="numeric variable to total"),
    stat: str = typer.Option(
        "sum", "--stat", help="sum, mean, or min / max / median (with --value)"
    ),
    policy_path: Path | None = typer.Option(None, "--policy", help="policy YAML"),
    method: Method = typer.Option(Method.AUTO, "--method", help="secondary suppression"),
    linked: list[str] = typer.Option(
        [], "--with", help="tables already released (with their records): protect jointly"
    ),
    nested: bool = typer.Option(
        False, "--nested", help="row/column variables are hierarchies: observed combinations only"
    ),
    out: Path = typer.Option(..., "--out", help="OUT.csv; the record goes to OUT.sdc.json"),
) -> None:
    """Build a protected table from microdata and write it with its decision record."""
    from sdc.order_statistics import order_statistic_table
    from sdc.policy import load_policy
    from sdc.table import frequency_table, magnitude_table
    from sdc.tablefile import read_table_file, write_table

    policy = load_policy(policy_path)
    data = _read_microdata(microdata)
    others = [read_table_file(path) for path in linked]
    if value is not None and stat in ("min", "max", "median"):
        table = order_statistic_table(
            data, rows, cols, value, statistic=stat, policy=policy, nested=nested
        )
    elif value is None:
        table = frequency_table(
            data,
            rows,
            cols,
            policy=policy,
            method=method,
            linked=others,
            nested=nested,
            show_progress=True,
        )
    else:
        table = magnitude_table(
            data,
            rows,
            cols,
            value,
            statistic=stat,
            policy=policy,
            method=method,
            linked=others,
            nested=nested,
            show_progress=True,
        )
    table_path, record_path = write_table(table, out)
    summary = table.decision_record()["summary"]
    run = table.suppression
    result_console().print(
        f"{table_path}: {table.grid.size} cells, {summary['primary']} primary and "
        f"{summary['secondary']} secondary suppressions ({run.method.value}"
        f"{', proven optimal' if run.optimal else ''}, {run.seconds:.2f} s); "
        f"decision record {record_path} (keep inside the TRE)"
    )


@sdc_app.command()
def check(
    table: Path = typer.Argument(..., help="table CSV (or a *.model.json model output)"),
    policy_path: Path | None = typer.Option(None, "--policy", help="policy YAML"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Exit 0 if the output is safe to release, 4 with reasons if not.

    ``--json`` prints ``{"table", "kind", "safe", "reasons"}``.
    """
    from sdc.check import check_table_file
    from sdc.models import check_model_file
    from sdc.policy import load_policy

    policy = load_policy(policy_path)
    if table.name.endswith(".model.json"):
        model = check_model_file(table, policy=policy)
        kind, safe, reasons = "model", model.safe, list(model.reasons)
    else:
        result = check_table_file(table, policy=policy)
        kind, safe, reasons = "table", result.safe, list(result.reasons)
    console = result_console(to_stderr=as_json)
    console.print(f"{table}: {'safe' if safe else 'NOT safe'}")
    for reason in reasons:
        console.print(f"  - {reason}")
    if as_json:
        print_json({"table": str(table), "kind": kind, "safe": safe, "reasons": reasons})
    if not safe:
        raise check_failed()


@sdc_app.command(cls=_MultiValueCommand)
def audit(
    files: list[str] = typer.Argument(..., help="table CSVs of one request"),
    earlier: list[str] = typer.Option([], "--earlier", help="tables released before"),
    policy_path: Path | None = typer.Option(None, "--policy", help="policy YAML"),
    report: Path | None = typer.Option(None, "--report", help="write the intervals as JSON"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Joint audit: every suppressed cell's range given all these outputs together.

    Exit 0 if the audit passed, 4 if not. ``--json`` prints the ``--report`` document
    (``passed``, ``failures``, ``notes``, ``cells``) with ``files`` and ``earlier`` added.
    """
    from sdc.audit import audit_outputs
    from sdc.policy import load_policy

    if report is not None and report.is_dir():
        from sdc.errors import TableInputError

        raise TableInputError(f"{report}: is a directory; give a file name for --report")
    policy = load_policy(policy_path)
    result = audit_outputs(files, policy=policy, earlier=earlier, show_progress=True)
    console = result_console(to_stderr=as_json)
    if report is not None:
        with atomic_file(report) as temporary:
            temporary.write_text(json.dumps(result.as_dict(), indent=1), encoding="utf-8")
    for note in result.notes:
        console.print(f"note: {note}")
    widths = [cell.width for cell in result.cells]
    narrowest = f"; narrowest range {min(widths):g}" if widths else ""
    console.print(
        f"audited {len(result.cells)} suppressed cell(s) across {len(files)} file(s){narrowest}"
    )
    console.print("audit passed" if result.passed else "audit FAILED")
    for failure in result.failures:
        console.print(f"  - {failure}")
    if as_json:
        print_json({"files": list(files), "earlier": list(earlier), **result.as_dict()})
    if not result.passed:
        raise check_failed()
