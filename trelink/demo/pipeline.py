"""``trelink demo``: every role played in order on synthetic data, into one folder.

The run happens in a temporary sibling of ``--out`` that is renamed into place only when
every step has succeeded, so a failed or interrupted run never leaves a half-written
folder (and ``--overwrite`` replaces an earlier run only at the very end).

Order: the synthetic world (each owner's raw extract; truth apart) -> the key
custodian's keys -> each owner prepares, pseudonymises and packages -> the TRE imports,
builds the ICTG tables and links a person spine -> the researcher builds and protects
the analyses -> output checking releases them to ``outbox/`` -> the offline summary
from the outbox -> the evaluation against the truth, kept apart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from linkage import LinkResult
from sdc import load_policy
from trelink.atomic import atomic_directory
from trelink.console import progress
from trelink.demo.analyses import research_outputs
from trelink.demo.custodian import make_keys
from trelink.demo.errors import DemoError
from trelink.demo.evaluation import LinkageQuality, evaluate_linkage
from trelink.demo.export import ExportOutcome, release_outputs
from trelink.demo.layout import OWNERS, DemoLayout
from trelink.demo.owners import OwnerDataset, run_owner
from trelink.demo.researcher import ProtectedOutput, protect_outputs, read_frames
from trelink.demo.summary import write_summary
from trelink.demo.tre import (
    PERSON_TABLE,
    build_ictg,
    check_ictg_spine,
    import_packages,
    link_spine,
    spine_job,
)
from trelink.synth.generate import generate
from trelink.synth.rates import NO_ICTG_REPEATS, REALISTIC_ICTG_REPEATS

__all__ = ["DEFAULT_SCALE", "DemoResult", "run_demo"]

# The published ICTG sizes (about 4,170 referrals, 35,000 monthly rows, 80,000
# contacts) and a population of 34,500 people: about 3 minutes on 2 cores.
DEFAULT_SCALE = 1.0
_STEPS = 8 + len(OWNERS)


@dataclass
class DemoResult:
    """What a run made, where, and how long each step took."""

    out: Path
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)
    sent: list[OwnerDataset] = field(default_factory=list)
    imported: dict[str, int] = field(default_factory=dict)
    ictg_children: int = 0
    ictg_repeats: bool = False  # ICTG returns repeated URNs (copies, re-entries)
    ictg_urns_in_spine: int = 0  # ICTG record pids in the spine, each one person
    link: LinkResult | None = None
    outputs: list[ProtectedOutput] = field(default_factory=list)
    export: ExportOutcome | None = None
    quality: LinkageQuality | None = None


class _Steps:
    """One overall progress bar; each step's detail shows as the bar's description."""

    def __init__(self, progress: Progress, console: Console) -> None:
        self.progress = progress
        self.console = console
        self.task = progress.add_task("starting", total=_STEPS)
        self.number = 0
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, title: str) -> Iterator[Callable[[str], None]]:
        self.number += 1
        prefix = f"[{self.number}/{_STEPS}] {title}"
        self.progress.update(self.task, description=prefix)

        def detail(text: str) -> None:
            self.progress.update(self.task, description=f"{prefix}: {text}")

        started = time.perf_counter()
        yield detail
        elapsed = time.perf_counter() - started
        self.seconds[title] = elapsed
        self.progress.advance(self.task)
        self.console.print(f"[green]done[/] {prefix} ({elapsed:.1f} s)", highlight=False)


def _check_out(out: Path, *, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DemoError(f"{out} exists and is not a directory; choose another --out")
    if out.exists() and any(out.iterdir()) and not force:
        raise DemoError(
            f"{out} already exists and is not empty; choose another --out, or pass --overwrite "
            "to replace it once the new run has finished"
        )


def _play(
    layout: DemoLayout, *, scale: float, seed: int, steps: _Steps, result: DemoResult
) -> None:
    with steps.step("synthetic world: raw extracts for every owner, truth apart"):
        repeats = REALISTIC_ICTG_REPEATS if result.ictg_repeats else NO_ICTG_REPEATS
        generate(layout.world, seed=seed, scale=scale, ictg_repeats=repeats)
    with steps.step("key custodian: linkage secret, TRE recipient pair, signers"):
        make_keys(layout)
    for owner in OWNERS:
        with steps.step(f"data owner {owner.title}: prepare, pseudonymise, package") as detail:
            result.sent.extend(run_owner(layout, owner, step=detail))
    with steps.step("TRE: verify and import packages into tre.duckdb") as detail:
        result.imported = import_packages(layout, result.sent, step=detail)
    with steps.step("TRE: ICTG stages 2-4 (long and wide tables)") as detail:
        result.ictg_children = build_ictg(layout, step=detail)
    with steps.step("TRE: link a person spine with Splink on DuckDB") as detail:
        result.link = link_spine(layout, step=detail)
        result.ictg_urns_in_spine = check_ictg_spine(layout)
    with steps.step("researcher: analyses protected by sdc") as detail:
        tables, models = research_outputs(read_frames(layout.database))
        result.outputs = protect_outputs(
            tables, models, layout.analyses, policy=load_policy(), step=detail
        )
    with steps.step("output checking: submit, automated checks, two reviews, release") as detail:
        result.export = release_outputs(layout, result.outputs, step=detail)
        write_summary(layout.outbox, layout.summary)
    with steps.step("evaluation (apart from every role): linkage against the truth"):
        job = spine_job()
        lookups = {
            item.dataset: item.folder / "lookup.parquet"
            for item in result.sent
            if item.dataset in job.datasets
        }
        quality = evaluate_linkage(layout, job, lookups)
        expected = result.link.expected if result.link is not None else None
        result.quality = replace(quality, expected=expected)


def run_demo(
    out: Path,
    *,
    scale: float = DEFAULT_SCALE,
    seed: int = 1,
    force: bool = False,
    ictg_repeats: bool = False,
    console: Console | None = None,
) -> DemoResult:
    """Play every role into ``out``; refuse a non-empty ``out`` unless ``force``.

    ``ictg_repeats`` makes the ICTG returns repeat URNs as real ones do (copies of a
    referral across returns, re-referrals after closure); linkage then merges each
    URN's rows into one record (``linkage.inputs``).
    """
    if not math.isfinite(scale) or scale <= 0:
        raise DemoError(f"--scale must be a positive number, not {scale}")
    if seed < 0:
        raise DemoError(f"--seed must be zero or positive, not {seed}")
    out = Path(out)
    _check_out(out, force=force)
    console = console or Console()
    started = time.perf_counter()
    result = DemoResult(out=out, ictg_repeats=ictg_repeats)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with (
        atomic_directory(out, overwrite=force) as work,
        progress(*columns, transient=False) as bar,  # stderr, on a terminal only
    ):
        steps = _Steps(bar, console)
        _play(DemoLayout(work), scale=scale, seed=seed, steps=steps, result=result)
        result.step_seconds = steps.seconds
    result.seconds = time.perf_counter() - started
    return result


def artefact_table(result: DemoResult) -> Table:
    """Every artefact of the run, the party that holds it, and where it is."""
    layout = DemoLayout(result.out)
    table = Table(title=f"trelink demo: artefacts under {result.out}")
    table.add_column("party")
    table.add_column("artefact")
    table.add_column("where")

    def row(party: str, what: str, path: Path) -> None:
        table.add_row(party, what, str(path.relative_to(result.out)))

    row(
        "synthetic world",
        "raw extracts of every owner (NRM, ICTG, education, health, justice)",
        layout.world,
    )
    row("evaluation only", "ground truth (people, records)", layout.truth)
    row("key custodian", "linkage secret, published TRE public key", layout.custodian)
    row(
        "people", "signing pairs of the researcher, checkers, administrator", layout.root / "people"
    )
    for owner in OWNERS:
        row(
            owner.title,
            "own secret, signing pair, canonical tables, pseudonymised output + lookup, packages",
            layout.owner(owner.name),
        )
    row("TRE", "its HPKE key pair (from the custodian)", layout.tre_recipient.parent)
    row("TRE", "owners' public signing keys it trusts", layout.trusted_signer("any").parent)
    row("TRE", "packages received from the owners", layout.inbox)
    row("TRE", "database: imported datasets, ICTG long/wide, person spine", layout.database)
    row("TRE", "ICTG stages 2-4 tables and summary", layout.ictg)
    row("TRE", "linkage pairs, clusters, model, report", layout.linkage / "report.html")
    row("TRE", "person table: one row per person (trelink spine)", layout.linkage / PERSON_TABLE)
    row(
        "researcher",
        f"{len(result.outputs)} protected outputs with decision records",
        layout.analyses,
    )
    row("output checkers", "export area: requests, checks, signed audit log", layout.export_area)
    row("released", "approved outputs, manifest, SHA256SUMS", layout.outbox)
    row(
        "released",
        "release record: approvals, withheld, log head (offline)",
        layout.outbox / "release.html",
    )
    row("released", "one-page summary of the findings (offline)", layout.summary)
    row(
        "evaluation only",
        "linkage quality against the truth",
        layout.evaluation / "linkage_quality.json",
    )
    return table
