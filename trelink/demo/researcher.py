"""The TRE researcher's steps: read the TRE database, build the analyses, protect them.

Tables go through ``sdc`` (primary and secondary suppression; tables of one family are
protected jointly, so nothing hidden in one can be recovered from another) and are
written as the wide CSV plus decision record that ``sdc`` writes; models go through
``sdc``'s model wrapper and are written as ``NAME.model.json``. Only these files move on
to the export request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sdc import Policy, TableFile, fit_model, frequency_table, magnitude_table, read_table_file
from sdc import write_table as write_protected_table
from tre_export import OutputKind
from trelink.demo.analyses import ModelRequest, ResearchFrames, TableRequest
from trelink.demo.tre import SPINE_TABLE

__all__ = ["ProtectedOutput", "protect_outputs", "read_frames"]

Step = Callable[[str], None]


@dataclass(frozen=True)
class ProtectedOutput:
    """A file ready for an export request."""

    path: Path
    kind: OutputKind
    description: str
    hidden_cells: int  # suppressed cells (tables) or 0
    cells: int
    safe: bool  # the model check's verdict (tables: always True once protected)


_QUERIES: dict[str, str] = {
    "nrm": "SELECT * FROM nrm__attributes",
    "ictg_wide": "SELECT * FROM ictg_wide",
    "ictg_referrals": "SELECT record_pid, sex FROM ictg__attributes",
    "spine": f"SELECT dataset, record_pid, person_id FROM {SPINE_TABLE}",
    "education": "SELECT * FROM education__attributes",
    "health": "SELECT * FROM health__attributes",
    "justice": "SELECT * FROM justice__attributes",
}


def read_frames(database: Path) -> ResearchFrames:
    """Read the researcher's inputs from ``tre.duckdb`` (read-only)."""
    with duckdb.connect(str(database), read_only=True) as connection:
        frames = {name: connection.sql(query).df() for name, query in _QUERIES.items()}
    return ResearchFrames(**frames)


def _protect_table(
    request: TableRequest, out_dir: Path, policy: Policy, linked: Sequence[TableFile]
) -> ProtectedOutput:
    if request.value is None:
        table = frequency_table(
            request.data, list(request.rows), list(request.columns), policy=policy, linked=linked
        )
    else:
        table = magnitude_table(
            request.data,
            list(request.rows),
            list(request.columns),
            request.value,
            statistic=request.statistic,
            policy=policy,
            linked=linked,
        )
    path, _record = write_protected_table(table, out_dir / f"{request.name}.csv")
    return ProtectedOutput(
        path=path,
        kind=OutputKind.TABLE,
        description=request.title,
        hidden_cells=int(table.hidden.sum()),
        cells=len(table.statuses),
        safe=True,
    )


def _protect_model(request: ModelRequest, out_dir: Path, policy: Policy) -> ProtectedOutput:
    model = fit_model("ols", request.formula, request.data, policy=policy)
    path = model.write(out_dir / f"{request.name}.model.json")
    return ProtectedOutput(
        path=path,
        kind=OutputKind.MODEL,
        description=request.title,
        hidden_cells=0,
        cells=len(model.coefficients),
        safe=model.check.safe,
    )


def protect_outputs(
    tables: Sequence[TableRequest],
    models: Sequence[ModelRequest],
    out_dir: Path,
    *,
    policy: Policy,
    step: Step,
) -> list[ProtectedOutput]:
    """Protect every table (jointly within a family) and check every model."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[ProtectedOutput] = []
    family_files: dict[str, list[Path]] = {}
    for request in tables:
        step(f"sdc: protecting {request.name}")
        earlier = [read_table_file(path) for path in family_files.get(request.family, [])]
        output = _protect_table(request, out_dir, policy, earlier)
        family_files.setdefault(request.family, []).append(output.path)
        written.append(output)
    for model in models:
        step(f"sdc: fitting and checking {model.name}")
        written.append(_protect_model(model, out_dir, policy))
    return written
