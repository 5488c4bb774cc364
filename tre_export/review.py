"""A checker's decision on one output, signed and appended to the log."""

from __future__ import annotations

from tre_export.area import ExportArea
from trelink.trust.hashing import sha256_file
from tre_export.errors import ReviewError
from tre_export.model import ActionType, Decision, OutputStatus
from tre_export.signing import Signer
from tre_export.state import transaction

__all__ = ["return_output", "review_output"]


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
    area: ExportArea, *, checker: Signer, request_id: str, output: str, comment: str
) -> None:
    """Send ``output`` back to its researcher with ``comment``: it waits for a new version
    (``resubmit_output``), whose reviews start afresh."""
    if not comment.strip():
        raise ReviewError("say what the researcher should change; the comment goes into the log")
    with transaction(area) as work:
        work.append(
            checker,
            {
                "type": ActionType.RETURN.value,
                "request": request_id,
                "output": output,
                "comment": comment,
            },
        )
