"""Output release: export requests, automated checks, two-checker signed review, a
hash-chained audit log, and the release bundle.

Typical use from Python (the ``trelink export`` commands do the same)::

    area = init_area("E", project="P", administrator=cli_signer("admin.private.pem"))
    enrol(area, administrator=..., name="Carl", role=Role.CHECKER, public_key="carl.public.pem")
    request_id = new_request(area, researcher=rita, title="NRM tables")
    add_output(area, researcher=rita, request_id=request_id, source="t.csv",
               kind=OutputKind.TABLE, description="...")
    submit_request(area, researcher=rita, request_id=request_id)
    review_output(area, checker=carl, request_id=request_id, output="t.csv",
                  decision=Decision.APPROVE, reason="...")
    release_request(area, checker=carl, request_id=request_id, outbox="outbox")

The web page lives in ``tre_export.web`` (``create_app``, ``set_password``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trelink.lazy import lazy_module_hooks

if TYPE_CHECKING:
    from tre_export.area import ExportArea
    from tre_export.checks import OutputCheck, RequestChecks, load_checks
    from tre_export.enrolment import enrol, init_area, revoke
    from tre_export.errors import (
        AreaError,
        AuditLogError,
        ExportError,
        IdentityError,
        OverrideNeededError,
        OverrideNotAllowedError,
        ReleaseError,
        RequestError,
        ReviewError,
    )
    from tre_export.model import (
        Channel,
        CheckOutcome,
        Decision,
        OutputKind,
        OutputStatus,
        RequestStatus,
        Role,
    )
    from tre_export.release import ReleaseSummary, release_request
    from tre_export.release_page import write_release_page
    from tre_export.request import add_output, new_request, resubmit_output, submit_request
    from tre_export.review import add_comment, agree_consensus, return_output, review_output
    from tre_export.signing import Signer, cli_signer
    from tre_export.state import LogVerification, ProjectState, read_state, verify_area

__all__ = [
    "AreaError",
    "AuditLogError",
    "Channel",
    "CheckOutcome",
    "Decision",
    "ExportArea",
    "ExportError",
    "IdentityError",
    "LogVerification",
    "OutputCheck",
    "OutputKind",
    "OutputStatus",
    "OverrideNeededError",
    "OverrideNotAllowedError",
    "ProjectState",
    "ReleaseError",
    "ReleaseSummary",
    "RequestChecks",
    "RequestError",
    "RequestStatus",
    "ReviewError",
    "Role",
    "Signer",
    "add_comment",
    "add_output",
    "agree_consensus",
    "cli_signer",
    "enrol",
    "init_area",
    "load_checks",
    "new_request",
    "read_state",
    "release_request",
    "resubmit_output",
    "return_output",
    "review_output",
    "revoke",
    "submit_request",
    "verify_area",
    "write_release_page",
]

# Public name -> the module that defines it, imported on first use (trelink.lazy).
_EXPORTS: dict[str, str] = {
    "AreaError": "tre_export.errors",
    "AuditLogError": "tre_export.errors",
    "Channel": "tre_export.model",
    "CheckOutcome": "tre_export.model",
    "Decision": "tre_export.model",
    "ExportArea": "tre_export.area",
    "ExportError": "tre_export.errors",
    "IdentityError": "tre_export.errors",
    "LogVerification": "tre_export.state",
    "OverrideNeededError": "tre_export.errors",
    "OverrideNotAllowedError": "tre_export.errors",
    "OutputCheck": "tre_export.checks",
    "OutputKind": "tre_export.model",
    "OutputStatus": "tre_export.model",
    "ProjectState": "tre_export.state",
    "ReleaseError": "tre_export.errors",
    "ReleaseSummary": "tre_export.release",
    "RequestChecks": "tre_export.checks",
    "RequestError": "tre_export.errors",
    "RequestStatus": "tre_export.model",
    "ReviewError": "tre_export.errors",
    "Role": "tre_export.model",
    "Signer": "tre_export.signing",
    "add_comment": "tre_export.review",
    "add_output": "tre_export.request",
    "agree_consensus": "tre_export.review",
    "cli_signer": "tre_export.signing",
    "enrol": "tre_export.enrolment",
    "init_area": "tre_export.enrolment",
    "load_checks": "tre_export.checks",
    "new_request": "tre_export.request",
    "read_state": "tre_export.state",
    "release_request": "tre_export.release",
    "resubmit_output": "tre_export.request",
    "return_output": "tre_export.review",
    "review_output": "tre_export.review",
    "revoke": "tre_export.enrolment",
    "submit_request": "tre_export.request",
    "verify_area": "tre_export.state",
    "write_release_page": "tre_export.release_page",
}


__getattr__, __dir__ = lazy_module_hooks(__name__, _EXPORTS)
