"""The rules replayed from the log: each checker counts once, their latest say wins,
and a disagreement is a conflict that a third checker's review settles."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st

from tre_export.audit_log import parse_line
from tre_export.errors import ReviewError
from tre_export.model import Channel, Decision, OutputStatus
from tre_export.signing import Signer, public_key_raw
from tre_export.state import ProjectState, next_line

_KEYS = [ed25519.Ed25519PrivateKey.generate() for _ in range(5)]  # admin, researcher, 3 checkers


def _signer(key: ed25519.Ed25519PrivateKey) -> Signer:
    from trelink.trust.keys import key_id

    return Signer(actor_key_id=key_id(key), channel=Channel.CLI, private_key=key)


def _apply(state: ProjectState, key: ed25519.Ed25519PrivateKey, action: dict[str, object]) -> None:
    state.apply(parse_line(next_line(state, _signer(key), action)))


def _submitted_state() -> ProjectState:
    admin, researcher = _KEYS[:2]
    encoded = [base64.b64encode(public_key_raw(key)).decode() for key in _KEYS]
    state = ProjectState()
    _apply(
        state,
        admin,
        {
            "type": "init",
            "project": "P",
            "required_approvals": 2,
            "policy_sha256": None,
            "administrator": {"name": "admin", "public_key": encoded[0]},
        },
    )
    people = [("Rita", "researcher"), ("Carl", "checker"), ("Dana", "checker"), ("Eve", "checker")]
    for (name, role), public in zip(people, encoded[1:], strict=True):
        _apply(state, admin, {"type": "enrol", "name": name, "role": role, "public_key": public})
    digest = "ab" * 32
    _apply(state, researcher, {"type": "new", "request": "R0001", "title": "t"})
    _apply(
        state,
        researcher,
        {
            "type": "add",
            "request": "R0001",
            "name": "t.txt",
            "kind": "text",
            "description": "d",
            "sha256": digest,
            "evidence": {},
        },
    )
    _apply(
        state,
        researcher,
        {
            "type": "submit",
            "request": "R0001",
            "manifest": {"t.txt": digest},
            "checks_sha256": digest,
            "outcomes": {"t.txt": "manual"},
        },
    )
    return state


@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(list(Decision))), max_size=12))
def test_status_follows_each_checkers_latest_decision(
    decisions: list[tuple[int, Decision]],
) -> None:
    """Each checker counts once with their latest say; when their latest decisions
    disagree the output is in conflict (release blocked), the checkers who disagree may
    not simply change their minds, and the next checker's review settles it."""
    state = _submitted_state()
    checkers = _KEYS[2:]
    latest: dict[int, Decision] = {}
    settled: tuple[Decision, int] | None = None  # the decision and the checker who settled
    after: list[Decision] = []  # decisions recorded after the settlement
    for checker, decision in decisions:
        action = {
            "type": "review",
            "request": "R0001",
            "output": "t.txt",
            "decision": decision.value,
            "reason": "r",
            "override": None,
            "sha256": "ab" * 32,
        }
        conflict = settled is None and len(set(latest.values())) > 1
        refused = (conflict and checker in latest) or (settled is not None and checker in latest)
        if refused:
            with pytest.raises(ReviewError):
                _apply(state, checkers[checker], action)
            continue
        _apply(state, checkers[checker], action)
        latest[checker] = decision
        if conflict:
            settled = (decision, checker)
        elif settled is not None:
            after.append(decision)
    request = state.request("R0001")
    approving = {checker for checker, decision in latest.items() if decision is Decision.APPROVE}
    if settled is None and len(set(latest.values())) > 1:
        expected = OutputStatus.CONFLICT
    elif Decision.REJECT in (after if settled else list(latest.values())) or (
        settled is not None and settled[0] is Decision.REJECT
    ):
        expected = OutputStatus.REJECTED
    elif len(approving) >= 2:
        expected = OutputStatus.APPROVED
    else:
        expected = OutputStatus.PENDING
    assert state.output_status(request, "t.txt") is expected
    assert len(request.approvers("t.txt")) == len(approving)
