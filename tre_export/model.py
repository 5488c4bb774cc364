"""The vocabulary of the workflow: roles, statuses, decisions, and the records they fill.

Everything here is derived by replaying the audit log (see ``state.py``); nothing is
stored on its own, so the log is the single record of who did what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ActionType",
    "Channel",
    "CheckOutcome",
    "Decision",
    "Enrolment",
    "Output",
    "OutputKind",
    "OutputStatus",
    "Project",
    "Release",
    "Remark",
    "Request",
    "RequestStatus",
    "Review",
    "Role",
    "Settlement",
]


class Role(StrEnum):
    """What an enrolled person may do."""

    ADMINISTRATOR = "administrator"  # creates the area and enrols people; reviews nothing
    RESEARCHER = "researcher"  # opens, fills and submits requests
    CHECKER = "checker"  # reviews outputs and releases approved ones


class RequestStatus(StrEnum):
    DRAFT = "draft"  # outputs may be added
    SUBMITTED = "submitted"  # frozen and checked; open for review
    RELEASED = "released"  # approved outputs left the TRE; no further reviews


class OutputKind(StrEnum):
    TABLE = "table"
    FIGURE = "figure"
    MODEL = "model"
    TEXT = "text"


class CheckOutcome(StrEnum):
    """Result of the automated checks on one output."""

    PASS = "pass"
    FAIL = "fail"  # approval needs an explicit override reason
    MANUAL = "manual"  # no automated check applies; a checker must judge it


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"

    @property
    def past_tense(self) -> str:
        return f"{self.value}d" if self.value.endswith("e") else f"{self.value}ed"


class OutputStatus(StrEnum):
    PENDING = "pending"  # fewer approvals than the project requires, none rejecting
    RETURNED = "returned"  # sent back to the researcher; waits for a new version
    # The checkers' latest decisions disagree: release is blocked until a third checker's
    # review or a consensus of the checkers who disagreed settles it.
    CONFLICT = "conflict"
    APPROVED = "approved"  # enough distinct checkers approve and none rejects
    REJECTED = "rejected"  # at least one checker's latest decision rejects


class Channel(StrEnum):
    """How an action reached the log: signed by the person's own key, or on the web page
    by the web key they delegated with their own key (see ``web/accounts.py``)."""

    CLI = "cli"
    WEB = "web"


class ActionType(StrEnum):
    INIT = "init"
    ENROL = "enrol"
    WEB_KEY = "web-key"
    NEW = "new"
    ADD = "add"
    SUBMIT = "submit"
    REVIEW = "review"
    # A checker sends one output (or, without an output, every output of the request)
    # back to the researcher with a comment.
    RETURN = "return"
    RESUBMIT = "resubmit"  # the researcher answers and submits a new version of it
    COMMENT = "comment"  # a question or an answer on an output or the request; no new version
    CONSENSUS = "consensus"  # one conflicting checker's part of a consensus decision
    RELEASE = "release"
    REVOKE = "revoke"


@dataclass(frozen=True)
class Project:
    name: str
    required_approvals: int
    administrator_key_id: str
    policy_sha256: str | None
    # A checker sees no other checker's decision on an output until they record their
    # own (on by default; an area made before this setting existed has it on).
    blind_reviews: bool = True


@dataclass(frozen=True)
class Enrolment:
    name: str
    role: Role
    key_id: str
    public_key: bytes
    revoked: bool = False  # a revoked key signs nothing after its revocation entry


@dataclass(frozen=True)
class Output:
    name: str
    kind: OutputKind
    description: str
    sha256: str
    evidence: dict[str, str]  # evidence file name -> SHA-256 (e.g. a decision record)


@dataclass(frozen=True)
class Review:
    checker_key_id: str
    checker_name: str
    decision: Decision
    reason: str
    override: str | None
    channel: Channel
    time: str
    log_seq: int


@dataclass(frozen=True)
class Settlement:
    """How a conflict between checkers on one version of an output was settled: by a
    third checker's review, or by every checker who disagreed agreeing one decision."""

    decision: Decision
    how: str  # "third review" or "consensus"
    checker_key_ids: tuple[str, ...]
    checker_names: tuple[str, ...]
    time: str
    log_seq: int


@dataclass(frozen=True)
class Remark:
    """One turn of the conversation on an output or a request: a checker's return with its
    comment, the researcher's answer (with any justification) when resubmitting, or a
    comment from either that makes no new version."""

    author: str  # name
    role: Role
    action: ActionType
    text: str
    version: int  # the version it was about (return) or that it made (resubmit)
    time: str
    log_seq: int


@dataclass(frozen=True)
class Release:
    released_by: str
    outputs: dict[str, str]  # name -> SHA-256
    withheld: list[str]
    time: str
    log_seq: int


@dataclass
class Request:
    """One export request as the log has built it so far."""

    request_id: str
    title: str
    researcher_key_id: str
    created: str
    status: RequestStatus = RequestStatus.DRAFT
    outputs: dict[str, Output] = field(default_factory=dict)
    checks_sha256: str | None = None
    check_outcomes: dict[str, CheckOutcome] = field(default_factory=dict)
    submitted: str | None = None
    # output name -> checker key id -> that checker's latest review
    reviews: dict[str, dict[str, Review]] = field(default_factory=dict)
    release: Release | None = None
    versions: dict[str, int] = field(default_factory=dict)  # output name -> version (1 first)
    returned: set[str] = field(default_factory=set)  # outputs waiting for a new version
    remarks: dict[str, list[Remark]] = field(default_factory=dict)  # in log order
    notes: list[Remark] = field(default_factory=list)  # on the request as a whole
    # output name -> conflicting checker key id -> their part of a consensus decision
    consensus: dict[str, dict[str, Review]] = field(default_factory=dict)
    settlements: dict[str, Settlement] = field(default_factory=dict)  # conflicts settled

    def version(self, name: str) -> int:
        return self.versions.get(name, 1)

    def in_conflict(self, name: str) -> bool:
        """Whether the checkers' latest decisions on ``name`` disagree, unsettled."""
        if name in self.settlements:
            return False
        decisions = {review.decision for review in self.reviews.get(name, {}).values()}
        return len(decisions) > 1

    def forget_reviews(self, name: str) -> None:
        """A new version: its reviews, consensus and settlement start afresh."""
        self.reviews.pop(name, None)
        self.consensus.pop(name, None)
        self.settlements.pop(name, None)

    def output_status(self, name: str, *, required_approvals: int) -> OutputStatus:
        """Pending, approved or rejected, counting each checker once (their latest say on
        the current version: a new version starts with no reviews); returned while it
        waits for the researcher's new version."""
        if name in self.returned:
            return OutputStatus.RETURNED
        if self.in_conflict(name):
            return OutputStatus.CONFLICT
        latest = self.reviews.get(name, {}).values()
        settled = self.settlements.get(name)
        if settled is None:
            if any(review.decision is Decision.REJECT for review in latest):
                return OutputStatus.REJECTED
        elif settled.decision is Decision.REJECT or any(
            review.decision is Decision.REJECT and review.log_seq > settled.log_seq
            for review in latest
        ):
            # Settled as a rejection, or rejected by a further checker after the settlement.
            return OutputStatus.REJECTED
        approvals = len(self.approving_keys(name))
        return OutputStatus.APPROVED if approvals >= required_approvals else OutputStatus.PENDING

    def approving_keys(self, name: str) -> set[str]:
        """Checkers whose say counts as approval of ``name``: their latest review approves,
        or they settled its conflict by approving it."""
        keys = {
            key
            for key, review in self.reviews.get(name, {}).items()
            if review.decision is Decision.APPROVE
        }
        settled = self.settlements.get(name)
        if settled is not None and settled.decision is Decision.APPROVE:
            keys.update(settled.checker_key_ids)
        return keys

    def decisions_visible(
        self, name: str, viewer: Enrolment | None, *, blind_reviews: bool
    ) -> bool:
        """Whether ``viewer`` may see the checkers' decisions on output ``name``.

        With blind reviews a checker sees them only once they have recorded their own on
        it, so each judgement is independent; somebody unidentified (a command run without
        ``--key``) sees them only after release. Researchers and the administrator, who
        review nothing, always see them."""
        if not blind_reviews or self.status is RequestStatus.RELEASED:
            return True
        if viewer is None:
            return False
        decided = self.reviews.get(name, {})
        if viewer.role is not Role.CHECKER or not decided:
            return True  # (with no decision yet there is nothing to hide)
        return viewer.key_id in decided

    def agreement(self, name: str) -> str | None:
        """``agreement``, ``conflict`` or ``settled`` for the checkers' latest decisions
        on ``name`` (None before two checkers have decided)."""
        if name in self.settlements:
            return "settled"
        decisions = {review.decision for review in self.reviews.get(name, {}).values()}
        if len(self.reviews.get(name, {})) < 2:
            return None
        return "agreement" if len(decisions) == 1 else "conflict"

    def approvers(self, name: str) -> list[Review]:
        """The approving reviews that count for ``name``, one per checker (a checker who
        first rejected and then agreed to approve by consensus: their consensus entry)."""
        latest = self.reviews.get(name, {})
        counted = [review for review in latest.values() if review.decision is Decision.APPROVE]
        settled = self.settlements.get(name)
        if settled is not None and settled.decision is Decision.APPROVE:
            agreed = self.consensus.get(name, {})
            counted.extend(
                agreed[key]
                for key in settled.checker_key_ids
                if key in agreed and latest.get(key, agreed[key]).decision is Decision.REJECT
            )
        return sorted(counted, key=lambda review: review.log_seq)
