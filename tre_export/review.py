"""Checkers' decisions, returns, comments and consensus decisions, each signed and
appended to the log (the rules are in ``state.py``)."""

from __future__ import annotations

from typing import Any

from tre_export.area import ExportArea
from tre_export.errors import ReviewError
from tre_export.model import ActionType, Decision, OutputStatus
from tre_export.signing import Signer
from tre_export.state import transaction
from trelink.trust.hashing import sha256_file

__all__ = ["add_comment", "agree_consensus", "return_output", "review_output"]


def review_output(
    area: ExportArea,
    *,
    checker: Signer,
    request_id: str,
    output: str,
    decision: Decision,
    reason: str,
    override: str | None = None,
) -> OutputStatus:
    """Record ``checker``'s decision on ``output``; return the output's status after it.

    The decision records the SHA-256 of the bytes the checker had in front of them, and
    is refused when those differ from the bytes frozen at submit.
    """
    with transaction(area) as work:
        state = work.state
        state.output(state.request(request_id), output)
        path = area.output_path(request_id, output)
        if not path.is_file():
            raise ReviewError(f"{request_id}/{output}: the stored file is missing")
        digest = sha256_file(path)
        action = {
            "type": ActionType.REVIEW.value,
            "request": request_id,
            "output": output,
            "decision": decision.value,
            "reason": reason,
            "override": override,
            "sha256": digest,
        }
        work.append(checker, action)
        return state.output_status(state.request(request_id), output)


def return_output(
    area: ExportArea, *, checker: Signer, request_id: str, output: str | None, comment: str
) -> None:
    """Send ``output`` back to its researcher with ``comment``: it waits for a new version
    (``resubmit_output``), whose reviews start afresh. With ``output`` None the whole
    request goes back: every output not already returned waits for a new version."""
    if not comment.strip():
        raise ReviewError("say what the researcher should change; the comment goes into the log")
    _append_remark(area, checker, ActionType.RETURN, request_id, output, comment)


def add_comment(
    area: ExportArea, *, author: Signer, request_id: str, output: str | None, comment: str
) -> None:
    """A checker's question or the researcher's answer on ``output`` (or, with None, on the
    request), signed and logged; it makes no new version and changes no decision."""
    if not comment.strip():
        raise ReviewError("write the comment; it goes into the signed log")
    _append_remark(area, author, ActionType.COMMENT, request_id, output, comment)


def _append_remark(
    area: ExportArea,
    signer: Signer,
    kind: ActionType,
    request_id: str,
    output: str | None,
    comment: str,
) -> None:
    """Sign and log a return or comment on ``output`` (on the whole request if None)."""
    action: dict[str, Any] = {"type": kind.value, "request": request_id, "comment": comment}
    if output is not None:
        action["output"] = output
    with transaction(area) as work:
        work.append(signer, action)


def agree_consensus(
    area: ExportArea,
    *,
    checker: Signer,
    request_id: str,
    output: str,
    decision: Decision,
    reason: str,
    override: str | None = None,
) -> OutputStatus:
    """Sign ``checker``'s part of a consensus decision on an output the checkers disagree
    on; once every checker who disagreed has signed the same decision it settles the
    conflict. Returns the output's status after it (still ``conflict`` until then)."""
    if not reason.strip():
        raise ReviewError("give the reason the checkers agreed on; it goes into the signed log")
    with transaction(area) as work:
        state = work.state
        work.append(
            checker,
            {
                "type": ActionType.CONSENSUS.value,
                "request": request_id,
                "output": output,
                "decision": decision.value,
                "reason": reason,
                "override": override,
            },
        )
        return state.output_status(state.request(request_id), output)
