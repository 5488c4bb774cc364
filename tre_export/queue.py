"""The list of requests a person may see, with their counts: one function for the web
page's queue and ``trelink export list``, so both show the same rows to the same person."""

from __future__ import annotations

from dataclasses import dataclass

from tre_export.model import CheckOutcome, Enrolment, OutputStatus, RequestStatus, Role
from tre_export.model import Request as ExportRequest
from tre_export.state import ProjectState

__all__ = ["QueueRow", "may_see", "queue_rows"]

_ORDER = {RequestStatus.SUBMITTED: 0, RequestStatus.DRAFT: 1, RequestStatus.RELEASED: 2}


@dataclass(frozen=True)
class QueueRow:
    request_id: str
    title: str
    status: str
    researcher: str
    outputs: int
    approved: int  # outputs approved, of those whose decisions the viewer may see
    rejected: int
    conflict: int  # outputs the checkers disagree on (release waits for a settlement)
    failed_checks: int
    created: str


def may_see(viewer: Enrolment | None, request: ExportRequest) -> bool:
    """A researcher sees their own requests; checkers and the administrator see every
    request once it is submitted (a draft is the researcher's work in progress). Nobody
    named (a command run without ``--key`` by whoever can read the area) sees all."""
    if viewer is None:
        return True
    if viewer.role is Role.RESEARCHER:
        return request.researcher_key_id == viewer.key_id
    return request.status is not RequestStatus.DRAFT


def _row(state: ProjectState, request: ExportRequest, viewer: Enrolment | None) -> QueueRow:
    blind = state.settings().blind_reviews
    # Under blind reviews a checker's counts cover only decisions they may already see.
    statuses = [
        state.output_status(request, name)
        for name in request.outputs
        if request.decisions_visible(name, viewer, blind_reviews=blind)
    ]
    # A conflict is counted for everyone: it tells a third checker a review is needed
    # without saying who decided what.
    conflict = sum(request.in_conflict(name) for name in request.outputs)
    return QueueRow(
        request_id=request.request_id,
        title=request.title,
        status=request.status.value,
        researcher=state.person(request.researcher_key_id).name,
        outputs=len(request.outputs),
        approved=statuses.count(OutputStatus.APPROVED),
        rejected=statuses.count(OutputStatus.REJECTED),
        conflict=conflict,
        failed_checks=sum(
            outcome is CheckOutcome.FAIL for outcome in request.check_outcomes.values()
        ),
        created=request.created,
    )


def queue_rows(
    state: ProjectState,
    viewer: Enrolment | None,
    *,
    status: RequestStatus | None = None,
    search: str = "",
) -> list[QueueRow]:
    """The requests ``viewer`` may see (submitted first), filtered by status and by a
    case-insensitive search of id, title and researcher."""
    needle = search.strip().casefold()
    requests = sorted(
        (request for request in state.requests.values() if may_see(viewer, request)),
        key=lambda item: (_ORDER[item.status], item.request_id),
    )
    rows = [_row(state, request, viewer) for request in requests]
    return [
        row
        for row in rows
        if (status is None or row.status == status.value) and _matches(row, needle)
    ]


def _matches(row: QueueRow, needle: str) -> bool:
    """Whether the row's id, title or researcher contains ``needle`` (casefolded)."""
    texts = (row.request_id, row.title, row.researcher)
    return not needle or any(needle in text.casefold() for text in texts)
