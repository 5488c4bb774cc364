"""Errors raised by the output release workflow.

Exception tree::

    TrelinkError
    └── ExportError              anything the export workflow refuses or cannot do
        ├── AreaError            the export area is missing, malformed or already exists
        ├── IdentityError        a key is not enrolled, has the wrong role, or an
        │                        enrolment, password or sign-in is refused
        ├── RequestError         an unknown request or output, a request in the wrong
        │                        state, an output file that cannot be added or has changed
        ├── ReviewError          a review is refused (role, state, missing override ...)
        │   ├── OverrideNeededError     approving an output that failed its checks
        │   │                           without saying why the failure is acceptable
        │   └── OverrideNotAllowedError an override on anything but such an approval
        ├── ReleaseError         a release is refused; nothing was written
        └── AuditLogError        the audit log failed verification; ``problems`` lists
                                 every entry at fault

Messages name the export area, request, output file and log entry at fault and say how
to fix the problem. They never contain the contents of an output, a key or a password.
"""

from __future__ import annotations

from trelink.errors import TrelinkError

__all__ = [
    "AreaError",
    "AuditLogError",
    "ExportError",
    "IdentityError",
    "OverrideNeededError",
    "OverrideNotAllowedError",
    "ReleaseError",
    "RequestError",
    "ReviewError",
]


class ExportError(TrelinkError):
    """Root of every error the export workflow raises deliberately."""


class AreaError(ExportError):
    """The export area is missing, malformed, or would be overwritten."""


class IdentityError(ExportError):
    """A key is not enrolled or may not do this; an enrolment or sign-in is refused."""


class RequestError(ExportError):
    """A request or output is unknown, in the wrong state, or its file is unusable."""


class ReviewError(ExportError):
    """A review decision is refused."""


class OverrideNeededError(ReviewError):
    """Approving an output that failed its automated checks needs an override reason.

    The message speaks the command line's words; the web page words it for its form
    from ``request_id`` and ``output``."""

    def __init__(self, request_id: str, output: str) -> None:
        self.request_id = request_id
        self.output = output
        super().__init__(
            f"{request_id}/{output} failed its automated checks; approving it needs "
            "--override with the reason the failure is acceptable"
        )


class OverrideNotAllowedError(ReviewError):
    """An override was given where no failed check is being overruled."""

    def __init__(self) -> None:
        super().__init__(
            "--override is only for approving an output that failed its automated checks"
        )


class ReleaseError(ExportError):
    """A release is refused; the outbox was not written."""


class AuditLogError(ExportError):
    """The audit log failed verification. ``problems`` lists each fault found."""

    def __init__(self, log_path: str, problems: list[str]) -> None:
        self.log_path = log_path
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"{log_path}: the audit log failed verification ({len(problems)} {noun}); "
            f"nothing was changed. Run `trelink export audit` and restore the log from a "
            f"trusted copy.\n{listing}"
        )
