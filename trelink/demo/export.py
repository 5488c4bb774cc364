"""Output checking: an export request from submission to the released outbox.

The administrator opens the export area and enrols the researcher and two checkers by
their public keys; the researcher opens a request, adds the protected outputs (with
their decision records as evidence) and submits, which runs the automated checks on
the stored files; each demo checker then reviews every output. A demo checker approves
what the automated checks passed and rejects anything they failed or could not check,
so a failing output is withheld from the release, never waved through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pseudonymise import private_key_path, public_key_path
from sdc import DEFAULT_POLICY
from tre_export import (
    CheckOutcome,
    Decision,
    RequestChecks,
    Role,
    add_output,
    cli_signer,
    enrol,
    init_area,
    new_request,
    release_request,
    review_output,
    submit_request,
)
from trelink.demo.custodian import ADMINISTRATOR, CHECKERS, RESEARCHER
from trelink.demo.layout import DemoLayout
from trelink.demo.researcher import ProtectedOutput

__all__ = ["PROJECT", "ExportOutcome", "release_outputs"]

PROJECT = "ICTG outcomes (synthetic demonstration)"
REQUEST_TITLE = "Child exploitation in NRM referrals and outcomes of ICTG support"
Step = Callable[[str], None]


@dataclass(frozen=True)
class ExportOutcome:
    """What the request ended with."""

    request_id: str
    checks: RequestChecks
    released: dict[str, str]  # name -> SHA-256
    withheld: list[str]


def _review(checks: RequestChecks, name: str) -> tuple[Decision, str]:
    check = checks.outputs[name]
    if check.outcome is CheckOutcome.PASS:
        return Decision.APPROVE, "automated checks passed; suppression pattern and labels reviewed"
    reasons = "; ".join(check.reasons) or "no automated check applies"
    return Decision.REJECT, f"not released: {reasons}"


def release_outputs(
    layout: DemoLayout, outputs: Sequence[ProtectedOutput], *, step: Step
) -> ExportOutcome:
    """Run the whole request and release the approved outputs to ``layout.outbox``."""
    administrator = cli_signer(private_key_path(layout.signer(ADMINISTRATOR)))
    step("export: creating the export area and enrolling people")
    area = init_area(
        layout.export_area,
        project=PROJECT,
        administrator=administrator,
        policy=DEFAULT_POLICY,
    )
    enrol(
        area,
        administrator=administrator,
        name="Demo researcher",
        role=Role.RESEARCHER,
        public_key=public_key_path(layout.signer(RESEARCHER)),
    )
    for number, checker in enumerate(CHECKERS, start=1):
        enrol(
            area,
            administrator=administrator,
            name=f"Demo checker {number}",
            role=Role.CHECKER,
            public_key=public_key_path(layout.signer(checker)),
        )
    researcher = cli_signer(private_key_path(layout.signer(RESEARCHER)))
    request_id = new_request(area, researcher=researcher, title=REQUEST_TITLE)
    for output in outputs:
        step(f"export: adding {output.path.name}")
        add_output(
            area,
            researcher=researcher,
            request_id=request_id,
            source=output.path,
            kind=output.kind,
            description=output.description,
        )
    step("export: submitting (automated checks and differencing audit)")
    checks = submit_request(area, researcher=researcher, request_id=request_id)
    for checker in CHECKERS:
        signer = cli_signer(private_key_path(layout.signer(checker)))
        for output in outputs:
            step(f"export: {checker} reviewing {output.path.name}")
            decision, reason = _review(checks, output.path.name)
            review_output(
                area,
                checker=signer,
                request_id=request_id,
                output=output.path.name,
                decision=decision,
                reason=reason,
            )
    step("export: releasing approved outputs")
    summary = release_request(
        area,
        checker=cli_signer(private_key_path(layout.signer(CHECKERS[0]))),
        request_id=request_id,
        outbox=layout.outbox,
    )
    return ExportOutcome(
        request_id=request_id,
        checks=checks,
        released=summary.released,
        withheld=list(summary.withheld),
    )
