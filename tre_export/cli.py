"""``trelink export``: output requests, signed reviews, releases and the audit log.

Every command that changes anything takes ``--key PRIVATE``: the actor is whoever
enrolled that key's public half, and the action is signed with it. A name typed on the
command line identifies nobody.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Typer needs the enums themselves for the --role and --kind choices; the model module is
# plain enums and dataclasses. Everything else is imported when a command runs.
from tre_export.model import CheckOutcome, Decision, OutputKind, OutputStatus, RequestStatus, Role
from trelink.console import print_json, result_console
from trelink.exit_codes import check_failed
from trelink.options import JSON_HELP

if TYPE_CHECKING:
    from tre_export.area import ExportArea
    from tre_export.evidence import DecisionRecordView, ModelView
    from tre_export.model import Enrolment, Remark
    from tre_export.model import Request as ExportRequest
    from tre_export.queue import QueueRow
    from tre_export.signing import Signer
    from tre_export.state import ProjectState
    from tre_export.table_view import RenderedTable

__all__ = ["export_app", "register"]

export_app = typer.Typer(
    name="export",
    help="Export requests: submit outputs, review them (two checkers), release, audit.",
    no_args_is_help=True,
    add_completion=False,
)

_DIR = typer.Option(..., "--dir", help="The export area.", file_okay=False)
_KEY = typer.Option(
    ..., "--key", help="Your Ed25519 private key (made by `trelink keys signer`).", dir_okay=False
)
_REQUEST = typer.Option(..., "--request", help="Request id, e.g. R0001.")
_OUTPUT = typer.Option(..., "--output", help="The output's file name.")
_REASONS_SHOWN = 4


def register(app: typer.Typer) -> None:
    """Add this package's commands to the umbrella ``trelink`` application."""
    app.add_typer(export_app, name="export")


def _console(*, to_stderr: bool = False) -> Console:
    return result_console(to_stderr=to_stderr)


def _area(directory: Path) -> ExportArea:
    """The export area at ``--dir`` (``AreaError`` if it is not one)."""
    from tre_export.area import ExportArea

    return ExportArea.open(directory)


_VIEWER_KEY = typer.Option(
    None,
    "--key",
    help="Your private key: with blind reviews, checkers see others' decisions on an "
    "output once they have recorded their own.",
    dir_okay=False,
)


def _viewer(state: ProjectState, key: Path | None) -> Enrolment | None:
    """Who is looking (None without --key): decides what blind reviews let them see."""
    return state.active_person(_signer(key).actor_key_id) if key is not None else None


def _decision(*, approve: bool, reject: bool) -> Decision:
    """The decision ``--approve`` or ``--reject`` gives (``ExportError`` unless just one)."""
    from tre_export.errors import ExportError

    if approve == reject:
        raise ExportError("give exactly one of --approve or --reject")
    return Decision.APPROVE if approve else Decision.REJECT


def _sign(
    area: ExportArea,
    key: Path,
    decide: Callable[..., OutputStatus],
    request_id: str,
    output: str,
    decision: Decision,
    reason: str,
    override: str | None,
) -> OutputStatus:
    """Record the decision of the checker whose key is ``key`` with ``decide``
    (``review_output`` or ``agree_consensus``); the output's status after it."""
    return decide(
        area,
        checker=_signer(key),
        request_id=request_id,
        output=output,
        decision=decision,
        reason=reason,
        override=override,
    )


def _signer(key: Path) -> Signer:
    """The signer for ``--key``: whoever enrolled the key's public half."""
    from tre_export.signing import cli_signer

    return cli_signer(key)


@export_app.command("init")
def init_command(
    directory: Path = _DIR,
    project: str = typer.Option(..., "--project", help="Project name."),
    key: Path = typer.Option(
        ..., "--key", help="The administrator's Ed25519 private key; it alone may enrol people."
    ),
    name: str = typer.Option("administrator", "--name", help="The administrator's name."),
    approvals: int = typer.Option(
        2, "--approvals", help="Distinct checkers who must approve each output (at least 2)."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="SDC policy for the automated checks (default: sdc's default)."
    ),
    blind_reviews: bool = typer.Option(
        True,
        "--blind-reviews/--open-reviews",
        help="Whether a checker sees others' decisions on an output only after recording "
        "their own (default: blind).",
    ),
) -> None:
    """Create an export area for a project."""
    from tre_export.enrolment import init_area
    from tre_export.state import read_state

    area = init_area(
        directory,
        project=project,
        administrator=_signer(key),
        administrator_name=name,
        required_approvals=approvals,
        policy=policy,
        blind_reviews=blind_reviews,
    )
    administrator_id = read_state(area).settings().administrator_key_id
    _console().print(
        f"created export area {area.root} for project {project!r}; administrator key "
        f"{administrator_id} (record it outside the TRE: `audit --admin-key-id` checks it)"
    )


@export_app.command("enrol")
def enrol_command(
    directory: Path = _DIR,
    name: str = typer.Option(..., "--name", help="The person's name as checkers will see it."),
    role: Role = typer.Option(..., "--role", help="researcher or checker."),
    public_key: Path = typer.Option(
        ..., "--public-key", help="Their PREFIX.public.pem from `trelink keys signer`."
    ),
    key: Path = typer.Option(..., "--key", help="The administrator's private key."),
) -> None:
    """Enrol a researcher or checker by their public key (signed by the administrator)."""
    from tre_export.enrolment import enrol

    person = enrol(
        _area(directory),
        administrator=_signer(key),
        name=name,
        role=role,
        public_key=public_key,
    )
    _console().print(f"enrolled {person.name} as {person.role.value} with key {person.key_id}")


@export_app.command("revoke")
def revoke_command(
    directory: Path = _DIR,
    name: str = typer.Option(..., "--name", help="Whose key to revoke."),
    reason: str = typer.Option(..., "--reason", help="Why (e.g. a lost or exposed key)."),
    key: Path = typer.Option(..., "--key", help="The administrator's private key."),
) -> None:
    """Revoke a person's key: it signs nothing more, and its unreleased reviews stop counting."""
    from tre_export.enrolment import revoke

    person = revoke(_area(directory), administrator=_signer(key), name=name, reason=reason)
    _console().print(
        f"revoked key {person.key_id} of {person.name}; enrol them again with a new key"
    )


@export_app.command("new")
def new_command(
    directory: Path = _DIR,
    key: Path = _KEY,
    title: str = typer.Option(..., "--title", help="What the outputs are for."),
) -> None:
    """Open a request; its id is printed as the last line."""
    from tre_export.request import new_request

    request_id = new_request(_area(directory), researcher=_signer(key), title=title)
    _console().print(f"opened request {request_id}")
    typer.echo(request_id)


@export_app.command("add")
def add_command(
    file: Path = typer.Argument(..., help="The output file; stored under its own name."),
    directory: Path = _DIR,
    request: str = _REQUEST,
    key: Path = _KEY,
    kind: OutputKind = typer.Option(..., "--kind", help="table, figure, model or text."),
    description: str = typer.Option(..., "--description", help="What the output shows."),
) -> None:
    """Add an output file to a draft request."""
    from tre_export.request import add_output

    output = add_output(
        _area(directory),
        researcher=_signer(key),
        request_id=request,
        source=file,
        kind=kind,
        description=description,
    )
    evidence = f" with evidence {', '.join(output.evidence)}" if output.evidence else ""
    _console().print(f"added {output.name} ({output.kind.value}){evidence} to {request}")


@export_app.command("submit")
def submit_command(directory: Path = _DIR, request: str = _REQUEST, key: Path = _KEY) -> None:
    """Freeze the request (SHA-256 of every file) and run the automated checks."""
    from tre_export.request import submit_request

    console = _console()
    area = _area(directory)
    with console.status(f"checking the outputs of {request}"):
        checks = submit_request(area, researcher=_signer(key), request_id=request)
    checks_path = area.checks_path(request)
    table = Table("output", "automated check", "reasons", title=f"{request} submitted")
    colours = {CheckOutcome.PASS: "green", CheckOutcome.FAIL: "red", CheckOutcome.MANUAL: "yellow"}
    for name, check in checks.outputs.items():
        outcome = f"[{colours[check.outcome]}]{check.outcome.value}[/]"
        reasons = check.reasons[:_REASONS_SHOWN]
        if len(check.reasons) > _REASONS_SHOWN:
            reasons.append(f"... and {len(check.reasons) - _REASONS_SHOWN} more")
        table.add_row(name, outcome, "\n".join(reasons))
    console.print(table)
    console.print(f"every reason and flagged cell: {checks_path} and the checkers' web page")


@export_app.command("review")
def review_command(
    directory: Path = _DIR,
    request: str = _REQUEST,
    key: Path = _KEY,
    output: str = _OUTPUT,
    approve: bool = typer.Option(False, "--approve", help="Approve the output."),
    reject: bool = typer.Option(False, "--reject", help="Reject the output."),
    reason: str = typer.Option(..., "--reason", help="Why; recorded in the signed log."),
    override: str | None = typer.Option(
        None,
        "--override",
        help="Needed to approve an output that failed its automated checks: why the "
        "failure is acceptable.",
    ),
) -> None:
    """Approve or reject one output (checkers only); signed and logged."""
    from tre_export.review import review_output

    decision = _decision(approve=approve, reject=reject)
    status = _sign(
        _area(directory), key, review_output, request, output, decision, reason, override
    )
    _console().print(f"recorded; {request}/{output} is now {status.value}")


@export_app.command("return")
def return_command(
    directory: Path = _DIR,
    request: str = _REQUEST,
    key: Path = _KEY,
    output: str | None = typer.Option(None, "--output", help="The output's file name."),
    whole_request: bool = typer.Option(
        False,
        "--whole-request",
        help="Return every output of the request (instead of --output); each comes back "
        "as a new version.",
    ),
    comment: str = typer.Option(
        ..., "--comment", help="What the researcher should change; recorded in the signed log."
    ),
) -> None:
    """Return one output, or the whole request, to the researcher (checkers only).

    Each returned output waits for a new version (`resubmit`), reviewed afresh."""
    from tre_export.errors import ExportError
    from tre_export.review import return_output

    if (output is None) != whole_request:
        raise ExportError("give exactly one of --output NAME or --whole-request")
    return_output(
        _area(directory), checker=_signer(key), request_id=request, output=output, comment=comment
    )
    what = f"{request}/{output}" if output is not None else f"every output of {request}"
    _console().print(f"returned {what} to the researcher; it waits for a new version", markup=False)


@export_app.command("comment")
def comment_command(
    directory: Path = _DIR,
    request: str = _REQUEST,
    key: Path = _KEY,
    output: str | None = typer.Option(
        None, "--output", help="The output it is about (default: the request as a whole)."
    ),
    comment: str = typer.Option(
        ..., "--comment", help="The question or answer; recorded in the signed log."
    ),
) -> None:
    """Comment on an output or a request, without a new version; signed and logged.

    Checkers and the researcher who opened the request may comment; everyone who may see
    the request reads it, in order, so it must not give away a blind review's decision."""
    from tre_export.review import add_comment

    add_comment(
        _area(directory), author=_signer(key), request_id=request, output=output, comment=comment
    )
    what = f"{request}/{output}" if output is not None else request
    _console().print(f"comment on {what} recorded in the signed log", markup=False)


@export_app.command("consensus")
def consensus_command(
    directory: Path = _DIR,
    request: str = _REQUEST,
    key: Path = _KEY,
    output: str = _OUTPUT,
    approve: bool = typer.Option(False, "--approve", help="Agree to approve the output."),
    reject: bool = typer.Option(False, "--reject", help="Agree to reject the output."),
    reason: str = typer.Option(..., "--reason", help="What you agreed; recorded in the log."),
    override: str | None = typer.Option(
        None, "--override", help="Needed to approve an output that failed its automated checks."
    ),
) -> None:
    """Sign your part of a consensus on an output the checkers disagree on.

    Only checkers who reviewed it may; it settles the conflict once every checker who
    disagreed has signed the same decision. A third checker settles it with `review`."""
    from tre_export.review import agree_consensus

    decision = _decision(approve=approve, reject=reject)
    status = _sign(
        _area(directory), key, agree_consensus, request, output, decision, reason, override
    )
    waiting = " (waiting for the other checkers' agreement)" if status.value == "conflict" else ""
    _console().print(f"recorded; {request}/{output} is now {status.value}{waiting}", markup=False)


@export_app.command("resubmit")
def resubmit_command(
    file: Path = typer.Argument(..., help="The new version, under the output's own name."),
    directory: Path = _DIR,
    request: str = _REQUEST,
    key: Path = _KEY,
    answer: str = typer.Option(
        ...,
        "--answer",
        help="Your answer to the checker's comment, with any justification for an exception.",
    ),
) -> None:
    """Submit a new version of a returned output, with your answer.

    The checks run again and its reviews start afresh."""
    from tre_export.request import resubmit_output

    checks = resubmit_output(
        _area(directory), researcher=_signer(key), request_id=request, source=file, answer=answer
    )
    check = checks.outputs[file.name]
    _console().print(
        f"resubmitted {request}/{file.name}; automated check {check.outcome.value}",
        markup=False,
    )


@export_app.command("release")
def release_command(
    directory: Path = _DIR,
    request: str = _REQUEST,
    key: Path = _KEY,
    out: Path = typer.Option(..., "--out", help="The outbox directory to create."),
) -> None:
    """Copy out the outputs approved by enough distinct checkers, with manifest and sums."""
    from tre_export.release import release_request

    summary = release_request(
        _area(directory), checker=_signer(key), request_id=request, outbox=out
    )
    console = _console()
    console.print(f"released {len(summary.released)} output(s) to {summary.outbox}")
    for name in summary.withheld:
        console.print(f"withheld (rejected): {name}")
    console.print(f"summary page: {summary.outbox / 'release.html'} (opens offline)")


@export_app.command("release-page")
def release_page_command(
    outbox: Path = typer.Option(
        ..., "--outbox", help="An outbox written by `trelink export release`.", file_okay=False
    ),
) -> None:
    """(Re)write an outbox's release.html from its manifest and released files."""
    from tre_export.release_page import write_release_page

    _console().print(f"wrote {write_release_page(outbox)}")


@export_app.command("audit")
def audit_command(
    directory: Path = _DIR,
    administrator: str | None = typer.Option(
        None, "--admin-key-id", help="The administrator key id recorded when the area was made."
    ),
    entries: list[str] = typer.Option(
        [],
        "--expect-entry",
        help="An entry hash recorded outside the TRE (e.g. release_entry_sha256 from an "
        "outbox manifest) that must still be in the log; repeatable.",
    ),
) -> None:
    """Verify the whole log: chain, head, every signature, every rule. Exit 4 on any fault.

    The web sign-in log's chain is checked too, and its failed and refused attempts
    counted."""
    from tre_export.state import verify_area
    from tre_export.web.sign_in_log import read_sign_in_log, verify_sign_in_log

    area = _area(directory)
    verification = verify_area(
        area,
        administrator_key_id=administrator,
        expected_entries=tuple(entries),
    )
    sign_in_problems = verify_sign_in_log(area)
    console = _console()
    if verification.passed and not sign_in_problems:
        project = verification.state.settings()
        console.print(
            f"audit log verified: {verification.entry_count} entries, every signature valid\n"
            f"project {project.name!r}, administrator key {project.administrator_key_id}\n"
            f"head {verification.head_digest} (record it outside the TRE to detect truncation)"
        )
        attempts = read_sign_in_log(area)
        refused = sum(entry.get("event") != "signed-in" for entry in attempts)
        console.print(
            f"sign-in log verified: {len(attempts)} attempts, {refused} failed or refused"
        )
        return
    if not verification.passed:
        console.print(
            f"[bold red]audit log FAILED verification[/] ({verification.entry_count} lines):"
        )
    else:
        console.print("[bold red]sign-in log FAILED verification[/]:")
    for problem in [*verification.problems, *sign_in_problems]:
        console.print(f"  - {problem}")
    raise check_failed()


@export_app.command("list")
def list_command(
    directory: Path = _DIR,
    status: RequestStatus | None = typer.Option(
        None, "--status", help="Only requests in this state: draft, submitted or released."
    ),
    search: str | None = typer.Option(
        None, "--search", help="Only requests whose id, title or researcher contains this."
    ),
    key: Path | None = typer.Option(
        None,
        "--key",
        help="Your private key: list what the web page shows you (a researcher their own "
        "requests, a checker no drafts; decisions counted as blind reviews allow).",
        dir_okay=False,
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the requests with their status, as the web page's queue does.

    ``--json`` prints ``{"requests": [{"request", "status", "title", "researcher",
    "outputs", "approved", "rejected", "conflict", "failed_checks", "opened"}]}``.
    """
    from tre_export.dates import readable_time
    from tre_export.queue import queue_rows
    from tre_export.state import read_state

    state = read_state(_area(directory))
    viewer = _viewer(state, key)
    table = Table("request", "status", "title", "researcher", "outputs")
    for column in ("approved", "rejected", "conflict", "failed checks"):
        table.add_column(column, justify="right")
    table.add_column("opened", no_wrap=True)
    rows = queue_rows(state, viewer, status=status, search=search or "")
    for row in rows:
        table.add_row(
            row.request_id,
            row.status,
            escape(row.title),
            escape(row.researcher),
            str(row.outputs),
            str(row.approved),
            str(row.rejected),
            str(row.conflict),
            str(row.failed_checks),
            readable_time(row.created),
        )
    if as_json:
        print_json({"requests": [_queue_json(row) for row in rows]})
        return
    _console().print(table)


def _queue_json(row: QueueRow) -> dict[str, object]:
    return {
        "request": row.request_id,
        "status": row.status,
        "title": row.title,
        "researcher": row.researcher,
        "outputs": row.outputs,
        "approved": row.approved,
        "rejected": row.rejected,
        "conflict": row.conflict,
        "failed_checks": row.failed_checks,
        "opened": row.created,
    }


@export_app.command("status")
def status_command(
    directory: Path = _DIR,
    request: str = _REQUEST,
    key: Path | None = _VIEWER_KEY,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show each output of a request: automated check, approvals, status.

    ``--json`` prints ``{"request", "status", "outputs": [{"name", "kind", "check",
    "approved_by", "approvals", "required_approvals", "status"}], "conflicts"}``;
    ``approved_by`` and ``approvals`` are null while blind reviews hide them from you.
    """
    from tre_export.state import read_state

    state = read_state(_area(directory))
    found = state.request(request)
    settings = state.settings()
    viewer = _viewer(state, key)
    table = Table(
        "output", "kind", "check", "approved by", title=f"{request}: {found.status.value}"
    )
    table.add_column("status", no_wrap=True)
    outputs: list[dict[str, object]] = []
    for name, output in found.outputs.items():
        outcome = found.check_outcomes.get(name)
        approver_names: list[str] | None = None
        if found.decisions_visible(name, viewer, blind_reviews=settings.blind_reviews):
            approver_names = [review.checker_name for review in found.approvers(name)]
            approved = (
                f"{', '.join(approver_names) or '-'} "
                f"({len(approver_names)}/{settings.required_approvals})"
            )
            status = state.output_status(found, name).value
        else:
            approved = _BLINDED
            status = _awaiting(found, name)
        check = outcome.value if outcome else "not yet run"
        table.add_row(name, output.kind.value, check, escape(approved), status)
        outputs.append(
            {
                "name": name,
                "kind": output.kind.value,
                "check": check,
                "approved_by": approver_names,
                "approvals": None if approver_names is None else len(approver_names),
                "required_approvals": settings.required_approvals,
                "status": status,
            }
        )
    conflicts = [name for name in found.outputs if found.in_conflict(name)]
    console = _console(to_stderr=as_json)
    if not as_json:
        console.print(table)
    if conflicts:
        console.print(_CONFLICT_HINT.format(names=", ".join(conflicts)), markup=False)
    if as_json:
        print_json(
            {
                "request": request,
                "status": found.status.value,
                "outputs": outputs,
                "conflicts": conflicts,
            }
        )


_BLINDED = "hidden (blind reviews: record your own decision first, with --key)"
_CONFLICT_HINT = (
    "the checkers disagree on {names}: release is blocked until a third checker reviews it "
    "(`trelink export review`) or the checkers who disagree sign the same decision "
    "(`trelink export consensus`)"
)


def _awaiting(found: ExportRequest, name: str) -> str:
    """The status a blinded checker sees: a conflict shows, not who decided what."""
    if found.in_conflict(name):
        return "awaiting your review (the checkers disagree: yours settles it)"
    return "awaiting your review"


@export_app.command("show")
def show_command(
    directory: Path = _DIR,
    request: str = _REQUEST,
    output: str | None = typer.Option(None, "--output", help="Only this output."),
    key: Path | None = _VIEWER_KEY,
    full_record: bool = typer.Option(
        False,
        "--record",
        help="Also print each table's decision record cell by cell, as the page's record "
        "view does (it holds the true values of suppressed cells: for use inside the TRE).",
    ),
) -> None:
    """Show a request's outputs with their evidence: flagged cells starred in red with the
    rule that fired, suppressed cells primary or secondary with their intervals, each
    table's differencing result, models' coefficients and checks, text in full; the
    conversation and the reviews in order."""
    from tre_export.checks import load_checks
    from tre_export.evidence import (
        decision_record_name,
        project_policy_path,
        read_decision_record,
        read_model,
        table_evidence,
    )
    from tre_export.state import read_state

    area = _area(directory)
    state = read_state(area)
    found = state.request(request)
    checks = (
        load_checks(area.checks_path(request), expected_sha256=found.checks_sha256)
        if found.checks_sha256 is not None
        else None
    )
    names = [state.output(found, output).name] if output else list(found.outputs)
    viewer = _viewer(state, key)
    # Tables are wide: when the output is not a terminal, do not squeeze them into 80.
    console = result_console()
    console.print(f"[bold]{request}[/] {found.title} ({found.status.value})")
    for name in names:
        item = found.outputs[name]
        check = checks.outputs.get(name) if checks else None
        outcome = check.outcome.value if check else "not yet run"
        visible = found.decisions_visible(
            name, viewer, blind_reviews=state.settings().blind_reviews
        )
        status = state.output_status(found, name).value if visible else _awaiting(found, name)
        console.rule(f"{name} · {item.kind.value} · check {outcome} · {status}")
        console.print(item.description)
        for reason in check.reasons if check else []:
            console.print(f"  - {reason}")
        if check is not None and check.differencing is not None:
            verdict = "[green]passed[/]" if check.differencing else "[red]failed[/]"
            console.print(f"differencing (this request with earlier releases): {verdict}")
        path = area.output_path(request, name)
        as_table = item.kind is OutputKind.TABLE or bool(check and check.cell_rules)
        table = table_evidence(area, request, item, check) if as_table else None
        model = read_model(path, item, project_policy_path(area, state))
        if table is not None:
            console.print(_terminal_table(table))
            for row, column, note in table.marked:
                console.print(f"  ({row}, {column}): {note}")
            if table.unplaced:
                console.print(
                    f"[red]flagged cells not found in the file:[/] {', '.join(table.unplaced)}"
                )
        elif model is not None:
            console.print(_terminal_model(model))
        elif item.kind is OutputKind.TEXT:
            console.print(_text_of(path), markup=False, highlight=False)
        console.print(f"stored file: {path}", markup=False)
        record_name = decision_record_name(item)
        record = (
            read_decision_record(area.output_path(request, record_name), name)
            if record_name is not None
            else None
        )
        if record is not None:
            counts = ", ".join(f"{count} {status}" for status, count in record.summary.items())
            console.print(f"decision record {record_name} (kept in the TRE): {counts}")
            if full_record:
                console.print(_terminal_record(record))
        for remark in found.remarks.get(name, []):
            console.print(f"  v{remark.version} · {_remark_line(remark)}", markup=False)
        if found.version(name) > 1:
            console.print(f"  current version: {found.version(name)}")
        if not visible and found.reviews.get(name):
            console.print(f"  {len(found.reviews[name])} decision(s): {_BLINDED}")
            if found.in_conflict(name):
                console.print(f"  {_awaiting(found, name)}")
            continue
        _print_decisions(console, found, name)
    if found.notes:
        console.rule(f"{request} as a whole")
        for remark in found.notes:
            console.print(f"  {_remark_line(remark)}", markup=False)


def _remark_line(remark: Remark) -> str:
    """One turn of a conversation: who, in which role, did what, when, and what they said."""
    from tre_export.dates import readable_time

    verbs = {"return": "returned it", "resubmit": "answered with a new version"}
    verb = verbs.get(remark.action.value, "commented")
    if remark.version == 0 and remark.action.value == "return":  # a request-level note
        verb = "returned the whole request"
    return (
        f"{remark.author} ({remark.role.value}) {verb} on {readable_time(remark.time)}: "
        f"{remark.text}"
    )


def _print_decisions(console: Console, found: ExportRequest, name: str) -> None:
    """The reviews of an output, whether the checkers agree, and any consensus or
    settlement of their conflict."""
    from tre_export.dates import readable_time

    agreement = found.agreement(name)
    settled = found.settlements.get(name)
    if settled is not None:
        console.print(
            f"  the checkers disagreed; settled by {settled.how} "
            f"({', '.join(settled.checker_names)}): {settled.decision.past_tense}",
            markup=False,
        )
    elif agreement == "conflict":
        console.print(f"  the checkers' decisions: conflict. {_CONFLICT_HINT.format(names=name)}")
    elif agreement is not None:
        console.print(f"  the checkers' decisions: {agreement}")
    for review in sorted(found.reviews.get(name, {}).values(), key=lambda r: r.log_seq):
        override = f" (override: {review.override})" if review.override else ""
        console.print(
            f"  {review.checker_name} {review.decision.past_tense} via {review.channel.value}"
            f" on {readable_time(review.time)}: {review.reason}{override}",
            markup=False,
        )
    for part in sorted(found.consensus.get(name, {}).values(), key=lambda r: r.log_seq):
        console.print(
            f"  {part.checker_name} agreed to {part.decision.value} by consensus on "
            f"{readable_time(part.time)}: {part.reason}",
            markup=False,
        )


def _terminal_table(rendered: RenderedTable) -> Table:
    """The table for a terminal: flagged cells red and starred (the star survives a pipe);
    suppressed cells named primary or secondary when the decision record says which."""
    caption = "* flagged by the automated checks (the rules are listed below the table)"
    if rendered.truncated:
        caption += "; only the first rows are shown"
    headers = [
        "\n".join(line[index] for line in rendered.header_lines if index < len(line))
        for index in range(len(rendered.header_lines[0]))
    ]
    table = Table(*headers, caption=caption)
    for row in rendered.rows:
        cells = []
        for cell in row:
            classes = cell.classes.split()
            if "flagged" in classes:
                cells.append(f"[bold white on red]{escape(cell.text)}*[/]")
            elif "suppressed" in classes:
                cells.append(f"[dim italic]{escape(cell.text)}[/]")
            else:
                cells.append(escape(cell.text))
        table.add_row(*cells)
    return table


def _text_of(path: Path) -> str:
    """A text output as the page shows it (its first 20,000 characters)."""
    try:
        return path.read_text(encoding="utf-8")[:20000]
    except (OSError, UnicodeDecodeError):
        return "(not readable as UTF-8 text; open the stored file)"


def _terminal_record(record: DecisionRecordView) -> Table:
    """A decision record cell by cell: status, rules, count, value and interval."""
    columns = ("row", "column", "status", "rules", "count", "value", "interval")
    table = Table(
        *columns,
        title=f"{escape(record.table)}: {record.kind} table of {escape(record.measure)}",
        caption="; ".join(f"{key}: {value}" for key, value in record.suppression.items()),
    )
    for cell in record.cells:
        table.add_row(*(escape(cell[column]) for column in columns))
    return table


def _terminal_model(model: ModelView) -> Table:
    """A model's coefficients (flagged terms starred in red) with its checks as caption."""
    checks = [
        f"{'pass' if line.passed else 'FAIL'} · {line.name}: {line.value}" for line in model.checks
    ]
    checks.extend(f"fit warning: {warning}" for warning in model.fit_warnings)
    table = Table(
        "term",
        "coefficient",
        "standard error",
        "p-value",
        title=f"{model.kind} model: {escape(model.formula)}",
        caption="\n".join(escape(line) for line in checks),
    )
    for term in model.terms:
        label = f"[bold white on red]{escape(term.term)}*[/]" if term.flagged else escape(term.term)
        table.add_row(label, term.coefficient, term.std_error, term.p_value)
    return table


@export_app.command("passwd")
def passwd_command(
    directory: Path = _DIR,
    key: Path = _KEY,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from the first line of stdin."
    ),
) -> None:
    """Set your password for the web page (and delegate a web key signed by your key)."""
    from tre_export.web.accounts import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New web password", hide_input=True, confirmation_prompt=True)
    person = set_password(_area(directory), owner=_signer(key), password=password)
    _console().print(f"web password set for {person.name}; earlier web sessions' key revoked")


@export_app.command("serve")
def serve_command(
    directory: Path = _DIR,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (localhost only by default)."
    ),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    outbox: Path | None = typer.Option(
        None,
        "--outbox",
        help="Let checkers release from the page, into OUTBOX/REQUEST_ID.",
        file_okay=False,
    ),
) -> None:
    """Serve the checkers' web page."""
    import uvicorn

    from tre_export.web.app import create_app

    area = _area(directory)
    console = _console()
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[bold yellow]warning:[/] binding {host}: the page is reachable from other "
            "machines; put it behind TLS and restrict who can connect"
        )
    console.print(f"serving {area.root} on http://{host}:{port}/ (Ctrl-C stops)")
    app = create_app(
        area, allowed_hosts=sorted({"127.0.0.1", "localhost", host}), outbox_root=outbox
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
