"""Replay the audit log into the project's state, and apply new actions through it.

The same ``ProjectState.apply`` checks every entry when the log is replayed and every
new action before it is appended, so the rules (who may do what, in which state) live
in one place and an entry written around the command line, even with a valid key, is
reported by ``trelink export audit`` just as the command would have refused it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from tre_export.area import ExportArea, validate_output_name
from tre_export.audit_log import (
    GENESIS,
    LogEntry,
    append_line,
    exclusive_lock,
    make_line,
    parse_line,
    parse_log,
    shared_lock,
)
from tre_export.errors import (
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
    ActionType,
    Channel,
    CheckOutcome,
    Decision,
    Enrolment,
    Output,
    OutputKind,
    OutputStatus,
    Project,
    Release,
    Remark,
    Request,
    RequestStatus,
    Review,
    Role,
    Settlement,
)
from tre_export.signing import Signer, public_key_id, verify_signature

__all__ = [
    "LogVerification",
    "ProjectState",
    "Transaction",
    "next_line",
    "read_state",
    "transaction",
    "verify_area",
]

_SHA256 = re.compile(r"[0-9a-f]{64}")
MINIMUM_APPROVALS = 2


def _field(action: dict[str, Any], name: str, kind: type) -> Any:
    value = action.get(name)
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise ExportError(f"action field {name!r} is missing, empty or of the wrong type")
    return value


def _optional_text(action: dict[str, Any], name: str) -> str | None:
    value = action.get(name)
    if value is None:
        return None
    return str(_field(action, name, str))


def _digest(action: dict[str, Any], name: str) -> str:
    value = _field(action, name, str)
    if not _SHA256.fullmatch(value):
        raise ExportError(f"action field {name!r} is not a SHA-256 hex digest")
    return str(value)


def _public_key(encoded: object) -> bytes:
    try:
        raw = base64.b64decode(str(encoded), validate=True)
        public_key_id(raw)
    except (binascii.Error, ValueError):
        raise IdentityError("the public key is not a valid Ed25519 key") from None
    return raw


def _digests(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(digest, str) and _SHA256.fullmatch(digest)
        for key, digest in value.items()
    ):
        raise ExportError(f"action field {what!r} must map file names to SHA-256 digests")
    return {validate_output_name(key): digest for key, digest in value.items()}


class ProjectState:
    """Everything the log has established so far."""

    def __init__(self) -> None:
        self.project: Project | None = None
        self.enrolments: dict[str, Enrolment] = {}
        self.web_keys: dict[str, tuple[str, bytes]] = {}  # web key id -> (actor, public)
        self.requests: dict[str, Request] = {}
        self.last_seq = -1
        self.last_digest = GENESIS

    # --- lookups ----------------------------------------------------------------------

    def settings(self) -> Project:
        if self.project is None:
            raise ExportError("the log does not begin with the project's init entry")
        return self.project

    def person(self, key_id: str) -> Enrolment:
        """Whoever enrolled ``key_id`` (revoked or not: history still names them)."""
        enrolment = self.enrolments.get(key_id)
        if enrolment is None:
            raise IdentityError(
                f"key {key_id} is not enrolled in this export area; ask the administrator "
                "to enrol its public key with `trelink export enrol`"
            )
        return enrolment

    def active_person(self, key_id: str) -> Enrolment:
        """Whoever enrolled ``key_id``, refusing a revoked key."""
        enrolment = self.person(key_id)
        if enrolment.revoked:
            raise IdentityError(
                f"key {key_id} of {enrolment.name} was revoked by the administrator; "
                "ask to be enrolled with a new key"
            )
        return enrolment

    def active_by_name(self, name: str) -> Enrolment | None:
        return next((p for p in self.enrolments.values() if p.name == name and not p.revoked), None)

    def person_with_role(self, key_id: str, roles: tuple[Role, ...], doing: str) -> Enrolment:
        enrolment = self.person(key_id)
        if enrolment.role not in roles:
            allowed = " or ".join(role.value for role in roles)
            raise IdentityError(
                f"{enrolment.name} ({key_id}) is enrolled as {enrolment.role.value} and may "
                f"not {doing}; only a {allowed} may"
            )
        return enrolment

    def request(self, request_id: str) -> Request:
        found = self.requests.get(request_id)
        if found is None:
            raise RequestError(
                f"no request {request_id!r} in this export area; `trelink export list` "
                "shows the requests there are"
            )
        return found

    def output(self, request: Request, name: str) -> Output:
        found = request.outputs.get(name)
        if found is None:
            raise ReviewError(
                f"request {request.request_id} has no output named {name!r}; "
                f"its outputs are {', '.join(sorted(request.outputs))}"
            )
        return found

    def next_request_id(self) -> str:
        return f"R{len(self.requests) + 1:04d}"

    def output_status(self, request: Request, name: str) -> OutputStatus:
        return request.output_status(name, required_approvals=self.settings().required_approvals)

    # --- applying entries -------------------------------------------------------------

    def apply(self, entry: LogEntry) -> None:
        """Check ``entry`` (signature, chain position, rules) and fold it in, or raise."""
        if entry.seq != self.last_seq + 1 or entry.prev != self.last_digest:
            raise ExportError("entry does not follow the last one in the log")
        try:
            action_type = ActionType(entry.action["type"])
        except ValueError:
            raise ExportError(f"unknown action type {entry.action['type']!r}") from None
        self._check_signature(entry, action_type)
        handlers: dict[ActionType, Callable[[LogEntry], None]] = {
            ActionType.INIT: self._init,
            ActionType.ENROL: self._enrol,
            ActionType.WEB_KEY: self._web_key,
            ActionType.NEW: self._new,
            ActionType.ADD: self._add,
            ActionType.SUBMIT: self._submit,
            ActionType.REVIEW: self._review,
            ActionType.RETURN: self._return,
            ActionType.RESUBMIT: self._resubmit,
            ActionType.COMMENT: self._comment,
            ActionType.CONSENSUS: self._consensus,
            ActionType.RELEASE: self._release,
            ActionType.REVOKE: self._revoke,
        }
        handlers[action_type](entry)
        self.last_seq = entry.seq
        self.last_digest = entry.digest

    def _check_signature(self, entry: LogEntry, action_type: ActionType) -> None:
        if action_type is ActionType.INIT:
            administrator = _field(entry.action, "administrator", dict)
            public = _public_key(administrator.get("public_key"))
            if public_key_id(public) != entry.actor or entry.channel is not Channel.CLI:
                raise IdentityError("init entry is not signed by the administrator it names")
        elif entry.channel is Channel.CLI:
            public = self.active_person(entry.actor).public_key
        else:
            actor, public = self.web_keys.get(entry.signer, ("", b""))
            if actor != entry.actor:
                raise IdentityError(
                    f"web key {entry.signer} is not the current web key of {entry.actor}"
                )
            self.active_person(entry.actor)
        if entry.channel is Channel.CLI and entry.signer != entry.actor:
            raise IdentityError("a command-line entry must be signed by the actor's own key")
        if not verify_signature(public, entry.signed_payload(), entry.signature):
            raise IdentityError(f"signature does not verify against key {entry.signer}")

    def _init(self, entry: LogEntry) -> None:
        if self.project is not None or entry.seq != 0:
            raise ExportError("init may only be the first entry of the log")
        action = entry.action
        required = _field(action, "required_approvals", int)
        if required < MINIMUM_APPROVALS:
            raise ExportError(f"required approvals must be at least {MINIMUM_APPROVALS}")
        administrator = action["administrator"]
        public = _public_key(administrator.get("public_key"))
        # Logs begun before the setting existed have blind reviews, the default.
        blind = _field(action, "blind_reviews", bool) if "blind_reviews" in action else True
        self.project = Project(
            name=_field(action, "project", str),
            required_approvals=required,
            administrator_key_id=entry.actor,
            policy_sha256=_optional_text(action, "policy_sha256"),
            blind_reviews=blind,
        )
        self.enrolments[entry.actor] = Enrolment(
            name=_field(administrator, "name", str),
            role=Role.ADMINISTRATOR,
            key_id=entry.actor,
            public_key=public,
        )

    def _enrol(self, entry: LogEntry) -> None:
        self.person_with_role(entry.actor, (Role.ADMINISTRATOR,), "enrol people")
        action = entry.action
        name = _field(action, "name", str)
        try:
            role = Role(_field(action, "role", str))
        except ValueError:
            raise IdentityError("role must be researcher or checker") from None
        if role is Role.ADMINISTRATOR:
            raise IdentityError("only one administrator exists: the one who created the area")
        public = _public_key(action.get("public_key"))
        new_id = public_key_id(public)
        if new_id in self.enrolments or new_id in self.web_keys:
            raise IdentityError(f"key {new_id} is already enrolled; each person needs their own")
        if self.active_by_name(name) is not None:
            raise IdentityError(f"someone named {name!r} is already enrolled")
        self.enrolments[new_id] = Enrolment(name=name, role=role, key_id=new_id, public_key=public)

    def _revoke(self, entry: LogEntry) -> None:
        self.person_with_role(entry.actor, (Role.ADMINISTRATOR,), "revoke keys")
        target = self.person(_field(entry.action, "key_id", str))
        _field(entry.action, "reason", str)
        if target.role is Role.ADMINISTRATOR:
            raise IdentityError("the administrator's key cannot be revoked; make a new area")
        if target.revoked:
            raise IdentityError(f"key {target.key_id} of {target.name} is already revoked")
        self.enrolments[target.key_id] = replace(target, revoked=True)
        for web_id in [k for k, (actor, _) in self.web_keys.items() if actor == target.key_id]:
            del self.web_keys[web_id]
        # A revoked key may have been stolen: its reviews of requests not yet released no
        # longer count, so the remaining checkers (or the person's new key) decide again.
        for request in self.requests.values():
            if request.status is not RequestStatus.RELEASED:
                for reviews in request.reviews.values():
                    reviews.pop(target.key_id, None)
                for agreed in request.consensus.values():
                    agreed.pop(target.key_id, None)
                for name, settled in list(request.settlements.items()):
                    if target.key_id in settled.checker_key_ids:
                        del request.settlements[name]

    def _web_key(self, entry: LogEntry) -> None:
        if entry.channel is not Channel.CLI:
            raise IdentityError("a web key must be delegated with the person's own key")
        self.person(entry.actor)
        public = _public_key(entry.action.get("public_key"))
        web_id = public_key_id(public)
        if web_id in self.enrolments or web_id in self.web_keys:
            raise IdentityError(f"key {web_id} is already in use")
        # A new web key replaces the old one: a changed password revokes the old key.
        for old_id in [k for k, (actor, _) in self.web_keys.items() if actor == entry.actor]:
            del self.web_keys[old_id]
        self.web_keys[web_id] = (entry.actor, public)

    def _new(self, entry: LogEntry) -> None:
        self.person_with_role(entry.actor, (Role.RESEARCHER,), "open requests")
        request_id = _field(entry.action, "request", str)
        if request_id != self.next_request_id():
            raise RequestError(f"request id {request_id} is out of sequence")
        self.requests[request_id] = Request(
            request_id=request_id,
            title=_field(entry.action, "title", str),
            researcher_key_id=entry.actor,
            created=entry.time,
        )

    def owned_draft(self, actor: str, request_id: str, doing: str) -> Request:
        """The request if ``actor`` is the researcher who opened it and it is a draft."""
        person = self.person_with_role(actor, (Role.RESEARCHER,), f"{doing} requests")
        request = self.request(request_id)
        if request.researcher_key_id != actor:
            raise IdentityError(
                f"request {request.request_id} belongs to another researcher; "
                f"{person.name} may not {doing} it"
            )
        if request.status is not RequestStatus.DRAFT:
            raise RequestError(
                f"request {request.request_id} is {request.status.value}; it was frozen "
                "when submitted, so open a new request instead"
            )
        return request

    def _owned_draft(self, entry: LogEntry, doing: str) -> Request:
        return self.owned_draft(entry.actor, _field(entry.action, "request", str), doing)

    def _add(self, entry: LogEntry) -> None:
        request = self._owned_draft(entry, "add outputs to")
        action = entry.action
        name = validate_output_name(_field(action, "name", str))
        try:
            kind = OutputKind(_field(action, "kind", str))
        except ValueError:
            raise RequestError("kind must be table, figure, model or text") from None
        evidence = _digests(action.get("evidence", {}), "evidence")
        taken = set(request.outputs) | {
            evidence_name
            for output in request.outputs.values()
            for evidence_name in output.evidence
        }
        for new_name in (name, *evidence):
            if new_name in taken:
                raise RequestError(
                    f"request {request.request_id} already holds a file named {new_name!r}; "
                    "rename the output before adding it"
                )
        request.outputs[name] = Output(
            name=name,
            kind=kind,
            description=_field(action, "description", str),
            sha256=_digest(action, "sha256"),
            evidence=evidence,
        )

    def _submit(self, entry: LogEntry) -> None:
        request = self._owned_draft(entry, "submit")
        if not request.outputs:
            raise RequestError(f"request {request.request_id} has no outputs to submit")
        action = entry.action
        manifest = _digests(action.get("manifest"), "manifest")
        expected = {name: output.sha256 for name, output in request.outputs.items()}
        for output in request.outputs.values():
            expected.update(output.evidence)
        changed = sorted(name for name in expected if manifest.get(name) != expected[name])
        if changed or set(manifest) != set(expected):
            raise RequestError(
                f"request {request.request_id}: {', '.join(changed) or 'the file list'} "
                "changed since added; add the outputs to a new request"
            )
        outcomes = _field(action, "outcomes", dict)
        try:
            request.check_outcomes = {
                name: CheckOutcome(outcomes[name]) for name in request.outputs
            }
        except (KeyError, ValueError):
            raise RequestError("submit must record a check outcome for every output") from None
        request.checks_sha256 = _digest(action, "checks_sha256")
        request.status = RequestStatus.SUBMITTED
        request.submitted = entry.time

    def _submitted(self, request: Request, doing: str, error: type[ExportError]) -> None:
        if request.status is RequestStatus.DRAFT:
            raise error(
                f"request {request.request_id} has not been submitted yet, so it cannot be {doing}"
            )
        if request.status is RequestStatus.RELEASED:
            raise error(
                f"request {request.request_id} was already released; it cannot be {doing} any more"
            )

    def _review(self, entry: LogEntry) -> None:
        checker = self.person_with_role(entry.actor, (Role.CHECKER,), "review outputs")
        action = entry.action
        request = self.request(_field(action, "request", str))
        self._submitted(request, "reviewed", ReviewError)
        name = _field(action, "output", str)
        output = self.output(request, name)
        if name in request.returned:
            raise ReviewError(
                f"{request.request_id}/{name} was returned to the researcher; review the "
                "new version once it is resubmitted"
            )
        if _digest(action, "sha256") != output.sha256:
            raise ReviewError(
                f"{request.request_id}/{name} no longer matches the bytes frozen at submit; "
                "it must not be reviewed or released"
            )
        try:
            decision = Decision(_field(action, "decision", str))
        except ValueError:
            raise ReviewError("decision must be approve or reject") from None
        override = self._checked_override(request, name, decision, action)
        reviews = request.reviews.setdefault(name, {})
        third = request.in_conflict(name)
        if third and entry.actor in reviews:
            raise ReviewError(
                f"the checkers disagree on {request.request_id}/{name}, so {checker.name} may "
                "not simply change their decision: a third checker's review, or a consensus "
                "decision of the checkers who disagree (`trelink export consensus`), settles it"
            )
        settled = request.settlements.get(name)
        if settled is not None and entry.actor in (*reviews, *settled.checker_key_ids):
            raise ReviewError(
                f"the checkers' conflict on {request.request_id}/{name} was settled by "
                f"{settled.how}; to change the decision, return the output to the researcher"
            )
        reviews[entry.actor] = Review(
            checker_key_id=entry.actor,
            checker_name=checker.name,
            decision=decision,
            reason=_field(action, "reason", str),
            override=override,
            channel=entry.channel,
            time=entry.time,
            log_seq=entry.seq,
        )
        if third:
            request.settlements[name] = Settlement(
                decision=decision,
                how="third review",
                checker_key_ids=(entry.actor,),
                checker_names=(checker.name,),
                time=entry.time,
                log_seq=entry.seq,
            )

    def _checked_override(
        self, request: Request, name: str, decision: Decision, action: dict[str, Any]
    ) -> str | None:
        """The override, required exactly when approving an output that failed its checks."""
        override = _optional_text(action, "override")
        failed = request.check_outcomes.get(name) is CheckOutcome.FAIL
        if decision is Decision.APPROVE and failed and override is None:
            raise OverrideNeededError(request.request_id, name)
        if override is not None and not (failed and decision is Decision.APPROVE):
            raise OverrideNotAllowedError()
        return override

    def _consensus(self, entry: LogEntry) -> None:
        """One conflicting checker's part of a consensus decision; once every checker who
        disagreed has signed the same decision, it settles the conflict."""
        checker = self.person_with_role(entry.actor, (Role.CHECKER,), "settle conflicts")
        action = entry.action
        request = self.request(_field(action, "request", str))
        self._submitted(request, "settled", ReviewError)
        name = self.output(request, _field(action, "output", str)).name
        if not request.in_conflict(name):
            raise ReviewError(
                f"the checkers do not disagree on {request.request_id}/{name}; a consensus "
                "decision is only for settling a conflict"
            )
        reviews = request.reviews[name]
        if entry.actor not in reviews:
            raise ReviewError(
                f"{checker.name} has not reviewed {request.request_id}/{name}; a consensus is "
                "agreed by the checkers who disagree, and another checker settles it by "
                "reviewing it"
            )
        try:
            decision = Decision(_field(action, "decision", str))
        except ValueError:
            raise ReviewError("decision must be approve or reject") from None
        agreed = request.consensus.setdefault(name, {})
        agreed[entry.actor] = Review(
            checker_key_id=entry.actor,
            checker_name=checker.name,
            decision=decision,
            reason=_field(action, "reason", str),
            override=self._checked_override(request, name, decision, action),
            channel=entry.channel,
            time=entry.time,
            log_seq=entry.seq,
        )
        if set(agreed) >= set(reviews) and {agreed[key].decision for key in reviews} == {decision}:
            request.settlements[name] = Settlement(
                decision=decision,
                how="consensus",
                checker_key_ids=tuple(reviews),
                checker_names=tuple(review.checker_name for review in reviews.values()),
                time=entry.time,
                log_seq=entry.seq,
            )

    def _comment(self, entry: LogEntry) -> None:
        """A question or answer on an output, or on the request, that makes no version."""
        action = entry.action
        request = self.request(_field(action, "request", str))
        person = self.person(entry.actor)
        if person.role is not Role.CHECKER and entry.actor != request.researcher_key_id:
            raise IdentityError(
                f"{person.name} ({entry.actor}) may not comment on {request.request_id}; only "
                "checkers and the researcher who opened it may"
            )
        self._submitted(request, "commented on", ReviewError)
        output = _optional_text(action, "output")
        if output is not None:
            output = self.output(request, output).name
        remark = Remark(
            author=person.name,
            role=person.role,
            action=ActionType.COMMENT,
            text=_field(action, "comment", str),
            version=request.version(output) if output is not None else 0,
            time=entry.time,
            log_seq=entry.seq,
        )
        if output is None:
            request.notes.append(remark)
        else:
            request.remarks.setdefault(output, []).append(remark)

    def _return(self, entry: LogEntry) -> None:
        checker = self.person_with_role(entry.actor, (Role.CHECKER,), "return outputs")
        action = entry.action
        request = self.request(_field(action, "request", str))
        self._submitted(request, "returned to the researcher", ReviewError)
        comment = _field(action, "comment", str)
        output = _optional_text(action, "output")
        if output is None:  # the whole request: every output not already returned
            names = [name for name in request.outputs if name not in request.returned]
            if not names:
                raise ReviewError(
                    f"every output of {request.request_id} is already with the researcher"
                )
            request.returned.update(names)
            request.notes.append(
                Remark(
                    author=checker.name,
                    role=Role.CHECKER,
                    action=ActionType.RETURN,
                    text=comment,
                    version=0,
                    time=entry.time,
                    log_seq=entry.seq,
                )
            )
            return
        name = self.output(request, output).name
        if name in request.returned:
            raise ReviewError(
                f"{request.request_id}/{name} is already with the researcher for a new version"
            )
        request.returned.add(name)
        request.remarks.setdefault(name, []).append(
            Remark(
                author=checker.name,
                role=Role.CHECKER,
                action=ActionType.RETURN,
                text=comment,
                version=request.version(name),
                time=entry.time,
                log_seq=entry.seq,
            )
        )

    def resubmitting(self, actor: str, request_id: str, name: str) -> Request:
        """The request whose returned output ``name`` ``actor`` may resubmit, or refuse."""
        request = self.request(request_id)
        if request.researcher_key_id != actor:
            self.person_with_role(actor, (Role.RESEARCHER,), "resubmit outputs")
            raise RequestError(
                f"request {request_id} belongs to another researcher; only they can resubmit"
            )
        self._submitted(request, "resubmitted", RequestError)
        output = self.output(request, name)
        if output.name not in request.returned:
            raise RequestError(
                f"{request_id}/{name} was not returned by a checker; only a returned output "
                "gets a new version"
            )
        return request

    def _resubmit(self, entry: LogEntry) -> None:
        action = entry.action
        name = _field(action, "output", str)
        request = self.resubmitting(entry.actor, _field(action, "request", str), name)
        researcher = self.person(entry.actor)
        old = request.outputs[name]
        evidence = _digests(action.get("evidence", {}), "evidence")
        if set(evidence) - set(old.evidence):
            raise RequestError(f"{request.request_id}/{name}: a new version brings new evidence")
        outcomes = _field(action, "outcomes", dict)
        try:
            check_outcomes = {key: CheckOutcome(outcomes[key]) for key in request.outputs}
        except (KeyError, ValueError):
            raise RequestError("resubmit must record a check outcome for every output") from None
        version = request.version(name) + 1
        request.outputs[name] = replace(old, sha256=_digest(action, "sha256"), evidence=evidence)
        request.versions[name] = version
        request.check_outcomes = check_outcomes
        request.checks_sha256 = _digest(action, "checks_sha256")
        request.returned.discard(name)
        # Approvals of an earlier version never count for this one.
        request.forget_reviews(name)
        request.remarks.setdefault(name, []).append(
            Remark(
                author=researcher.name,
                role=Role.RESEARCHER,
                action=ActionType.RESUBMIT,
                text=_field(action, "answer", str),
                version=version,
                time=entry.time,
                log_seq=entry.seq,
            )
        )

    def release_plan(self, request: Request) -> tuple[dict[str, str], list[str]]:
        """Outputs to release (name -> frozen SHA-256) and those withheld; or refuse."""
        self._submitted(request, "released", ReleaseError)
        statuses = {name: self.output_status(request, name) for name in request.outputs}
        pending = sorted(
            name for name, status in statuses.items() if status is OutputStatus.PENDING
        )
        required = self.settings().required_approvals
        returned = sorted(
            name for name, status in statuses.items() if status is OutputStatus.RETURNED
        )
        conflicts = sorted(
            name for name, status in statuses.items() if status is OutputStatus.CONFLICT
        )
        if conflicts:
            raise ReleaseError(
                f"request {request.request_id}: the checkers disagree on "
                f"{', '.join(conflicts)}; a third checker's review or a consensus decision "
                "(`trelink export consensus`) must settle it first; nothing was released"
            )
        if returned:
            raise ReleaseError(
                f"request {request.request_id}: {', '.join(returned)} returned to the "
                "researcher for a new version; nothing was released"
            )
        if pending:
            raise ReleaseError(
                f"request {request.request_id}: not yet decided: {', '.join(pending)} (each "
                f"output needs approval by {required} distinct checkers, or a rejection); "
                "nothing was released"
            )
        approved = {
            name: request.outputs[name].sha256
            for name, status in statuses.items()
            if status is OutputStatus.APPROVED
        }
        if not approved:
            raise ReleaseError(
                f"request {request.request_id}: every output was rejected; nothing to release"
            )
        withheld = sorted(
            name for name, status in statuses.items() if status is OutputStatus.REJECTED
        )
        return approved, withheld

    def _release(self, entry: LogEntry) -> None:
        self.person_with_role(entry.actor, (Role.CHECKER,), "release outputs")
        request = self.request(_field(entry.action, "request", str))
        approved, withheld = self.release_plan(request)
        if (
            _digests(entry.action.get("outputs"), "outputs") != approved
            or entry.action.get("withheld") != withheld
        ):
            raise ReleaseError(
                f"request {request.request_id}: the release does not match the approvals"
            )
        request.status = RequestStatus.RELEASED
        request.release = Release(
            released_by=entry.actor,
            outputs=approved,
            withheld=withheld,
            time=entry.time,
            log_seq=entry.seq,
        )


@dataclass(frozen=True)
class LogVerification:
    """What ``trelink export audit`` reports."""

    state: ProjectState
    entry_count: int
    head_digest: str
    problems: list[str]
    digests: list[str]  # SHA-256 of every entry whose chain link holds, in order

    @property
    def passed(self) -> bool:
        return not self.problems


def _verify(area: ExportArea) -> LogVerification:
    parsed = parse_log(area.log_path, area.head_path)
    problems = list(parsed.problems)
    state = ProjectState()
    for entry in parsed.entries:
        # An entry after a break in the chain cannot be placed; the chain problem is
        # already reported, so replay stops trusting the log there.
        if entry.prev != state.last_digest:
            break
        try:
            state.apply(entry)
        except ExportError as error:
            problems.append(f"line {entry.seq + 1} ({entry.action.get('type')}): {error}")
            break
    if state.project is None and not problems:
        problems.append("the log does not begin with the project's init entry")
    digests = [entry.digest for entry in parsed.entries]
    return LogVerification(state, parsed.line_count, parsed.head_digest, problems, digests)


def verify_area(
    area: ExportArea,
    *,
    administrator_key_id: str | None = None,
    expected_entries: tuple[str, ...] = (),
) -> LogVerification:
    """Check the whole chain, every signature and every rule; never raises on faults.

    The chain proves the log is internally consistent; anchors kept outside the TRE
    prove it is the same log: ``administrator_key_id`` (published when the area was
    made) and ``expected_entries`` (entry hashes recorded earlier, e.g. the
    ``release_entry_sha256`` of every outbox manifest) catch a log rewritten from its
    start or cut short together with its head file.
    """
    with shared_lock(area.lock_path):
        verification = _verify(area)
    problems = verification.problems
    project = verification.state.project
    if administrator_key_id is not None and (
        project is None or project.administrator_key_id != administrator_key_id
    ):
        problems.append(
            f"the log was not created by administrator key {administrator_key_id} "
            "(it was replaced or rewritten from the start)"
        )
    known = set(verification.digests)
    problems.extend(
        f"entry {digest} recorded earlier is not in the log (entries were removed or rewritten)"
        for digest in expected_entries
        if digest not in known
    )
    return verification


def read_state(area: ExportArea) -> ProjectState:
    """The current state; ``AuditLogError`` if the log does not verify."""
    verification = verify_area(area)
    if not verification.passed:
        raise AuditLogError(str(area.log_path), verification.problems)
    return verification.state


def next_line(state: ProjectState, signer: Signer, action: dict[str, Any]) -> bytes:
    """``action`` signed by ``signer`` as the log's next line after ``state``'s last
    entry (checked against nothing: ``Transaction.append`` checks it)."""
    return make_line(
        seq=state.last_seq + 1,
        prev=state.last_digest,
        actor=signer.actor_key_id,
        signer=signer.signer_key_id,
        channel=signer.channel,
        action=action,
        sign=signer.sign,
    )


class Transaction:
    """The verified state under the exclusive lock, and the one way to extend the log."""

    def __init__(self, area: ExportArea, state: ProjectState) -> None:
        self.area = area
        self.state = state

    def append(self, signer: Signer, action: dict[str, Any]) -> LogEntry:
        """Sign ``action``, check it against the rules, and append it; or raise."""
        line = next_line(self.state, signer, action)
        entry = parse_line(line)
        self.state.apply(entry)
        append_line(self.area.log_path, self.area.head_path, line, seq=entry.seq)
        return entry


@contextlib.contextmanager
def transaction(area: ExportArea) -> Iterator[Transaction]:
    """Hold the writers' lock, verify the log, and yield the state to act on."""
    with exclusive_lock(area.lock_path):
        verification = _verify(area)
        if not verification.passed:
            raise AuditLogError(str(area.log_path), verification.problems)
        yield Transaction(area, verification.state)
