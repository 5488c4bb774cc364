"""The audit log detects every kind of tampering, and concurrent writers lose nothing."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tre_export.conftest import Team, run_cli
from tre_export.area import ExportArea
from tre_export.audit_log import make_line
from tre_export.errors import AuditLogError
from tre_export.model import Channel, OutputKind
from tre_export.request import add_output, new_request
from tre_export.state import next_line, read_state, verify_area


def _lines(area: ExportArea) -> list[bytes]:
    return area.log_path.read_bytes().splitlines()


def _write(area: ExportArea, lines: list[bytes]) -> None:
    area.log_path.write_bytes(b"".join(line + b"\n" for line in lines))


def _assert_detected(area: ExportArea, expected: str) -> None:
    verification = verify_area(area)
    assert not verification.passed
    assert any(expected in problem for problem in verification.problems), verification.problems
    result = run_cli("export", "audit", "--dir", area.root)
    assert result.exit_code == 4
    assert "FAILED" in result.output
    # Every command refuses to act on a log that does not verify.
    with pytest.raises(AuditLogError):
        read_state(area)


def test_untouched_log_verifies(area: ExportArea) -> None:
    result = run_cli("export", "audit", "--dir", area.root)
    assert result.exit_code == 0, result.output
    assert "6 entries, every signature valid" in result.output


def test_edited_entry_is_detected(area: ExportArea) -> None:
    lines = _lines(area)
    lines[3] = lines[3].replace(b'"role":"checker"', b'"role":"researcher"')
    _write(area, lines)
    _assert_detected(area, "line 5: does not carry the hash of line 4")


def test_edit_of_last_entry_is_detected_by_signature_and_head(area: ExportArea) -> None:
    lines = _lines(area)
    lines[-1] = lines[-1].replace(b'"name":"Eve"', b'"name":"Evil"')
    _write(area, lines)
    verification = verify_area(area)
    assert any("signature does not verify" in problem for problem in verification.problems)
    _assert_detected(area, "head.json")


def test_deleted_entry_is_detected(area: ExportArea) -> None:
    lines = _lines(area)
    del lines[2]
    _write(area, lines)
    _assert_detected(area, "sequence number 3, expected 2")


def test_truncated_tail_is_detected_by_the_head(area: ExportArea) -> None:
    _write(area, _lines(area)[:-1])
    _assert_detected(area, "entries were removed from or added to the end")


def test_reordered_entries_are_detected(area: ExportArea) -> None:
    lines = _lines(area)
    lines[2], lines[3] = lines[3], lines[2]
    _write(area, lines)
    _assert_detected(area, "expected 2")


def test_inserted_entry_is_detected(area: ExportArea, team: Team) -> None:
    lines = _lines(area)
    signer = team.checker1.signer
    forged = make_line(
        seq=3,
        prev="0" * 64,
        actor=signer.actor_key_id,
        signer=signer.signer_key_id,
        channel=Channel.CLI,
        action={"type": "new", "request": "R0001", "title": "forged"},
        sign=signer.sign,
    )
    _write(area, [*lines[:3], forged, *lines[3:]])
    _assert_detected(area, "line 4")


def test_well_chained_entry_by_unenrolled_key_is_detected(area: ExportArea, team: Team) -> None:
    """An attacker who recomputes the chain and head still cannot sign as anyone enrolled."""
    state = read_state(area)
    signer = team.stranger.signer
    line = make_line(
        seq=state.last_seq + 1,
        prev=state.last_digest,
        actor=team.checker1.signer.actor_key_id,  # claims to be Carl
        signer=team.checker1.signer.actor_key_id,
        channel=Channel.CLI,
        action={"type": "enrol", "name": "Sock", "role": "checker", "public_key": "AAAA"},
        sign=signer.sign,
    )
    from tre_export.audit_log import append_line

    append_line(area.log_path, area.head_path, line, seq=state.last_seq + 1)
    _assert_detected(area, "signature does not verify")


def test_entry_breaking_the_rules_is_detected_even_when_validly_signed(
    area: ExportArea, team: Team
) -> None:
    """A researcher who enrols a checker by writing the log by hand is caught by the audit."""
    from tre_export.audit_log import append_line

    state = read_state(area)
    signer = team.researcher.signer
    action = {"type": "enrol", "name": "Sock", "role": "checker", "public_key": "AAAA"}
    line = next_line(state, signer, action)
    append_line(area.log_path, area.head_path, line, seq=state.last_seq + 1)
    _assert_detected(area, "may not enrol people")


def test_missing_head_and_garbage_lines_are_reported(area: ExportArea) -> None:
    area.head_path.unlink()
    _assert_detected(area, "head.json is missing")
    with area.log_path.open("ab") as handle:
        handle.write(b"not json\n")
    assert any("line 7: not valid JSON" in p for p in verify_area(area).problems)


def _in_parallel(target: Callable[..., None], arguments: list[tuple[object, ...]]) -> None:
    """Run ``target`` once per argument tuple, each in its own process, all at once."""
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=target, args=args) for args in arguments]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0


def _add_many(root: str, key: str, request_id: str, folder: str, count: int) -> None:
    from tre_export.signing import cli_signer

    area = ExportArea.open(root)
    for index in range(count):
        source = Path(folder) / f"note-{index}.txt"
        source.write_text(f"note {index}\n", encoding="utf-8")
        add_output(
            area,
            researcher=cli_signer(key),
            request_id=request_id,
            source=source,
            kind=OutputKind.TEXT,
            description=f"note {index}",
        )


def test_concurrent_writers_lose_and_corrupt_nothing(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    first = new_request(area, researcher=team.researcher.signer, title="one")
    second = new_request(area, researcher=team.other_researcher.signer, title="two")
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    _in_parallel(
        _add_many,
        [
            (str(area.root), str(team.researcher.private), first, str(folders[0]), 8),
            (str(area.root), str(team.other_researcher.private), second, str(folders[1]), 8),
        ],
    )
    verification = verify_area(area)
    assert verification.passed, verification.problems
    assert verification.entry_count == 6 + 2 + 16
    state = verification.state
    assert len(state.requests[first].outputs) == len(state.requests[second].outputs) == 8
    for line in _lines(area):
        json.loads(line)


def _review_many(root: str, key: str, request_id: str, names: list[str], rounds: int) -> None:
    from tre_export.model import Decision
    from tre_export.review import review_output
    from tre_export.signing import cli_signer

    area = ExportArea.open(root)
    for _ in range(rounds):
        for name in names:
            review_output(
                area,
                checker=cli_signer(key),
                request_id=request_id,
                output=name,
                decision=Decision.APPROVE,
                reason="checked",
            )


def test_parallel_reviews_are_all_recorded(area: ExportArea, team: Team, tmp_path: Path) -> None:
    from tre_export.model import OutputStatus
    from tre_export.request import submit_request

    researcher = team.researcher.signer
    request_id = new_request(area, researcher=researcher, title="parallel")
    names = [f"note-{index}.txt" for index in range(4)]
    for name in names:
        source = tmp_path / name
        source.write_text(name, encoding="utf-8")
        add_output(
            area,
            researcher=researcher,
            request_id=request_id,
            source=source,
            kind=OutputKind.TEXT,
            description=name,
        )
    submit_request(area, researcher=researcher, request_id=request_id)
    before = verify_area(area).entry_count
    checkers = (team.checker1, team.checker2, team.checker3)
    _in_parallel(
        _review_many, [(str(area.root), str(c.private), request_id, names, 3) for c in checkers]
    )
    verification = verify_area(area)
    assert verification.passed, verification.problems
    assert verification.entry_count == before + len(checkers) * len(names) * 3
    request = verification.state.request(request_id)
    for name in names:
        assert len(request.approvers(name)) == 3  # each checker counted once
        assert verification.state.output_status(request, name) is OutputStatus.APPROVED


def test_anchors_outside_the_tre_catch_a_consistent_rewrite(area: ExportArea, team: Team) -> None:
    """Cutting entries and rewriting head.json to match passes the chain check alone; an
    entry hash recorded outside (as every outbox manifest carries) catches it."""
    from trelink.trust.canonical import canonical_json
    from trelink.trust.hashing import sha256_bytes

    lines = _lines(area)
    last = sha256_bytes(lines[-1])
    admin_id = read_state(area).settings().administrator_key_id
    _write(area, lines[:-1])
    area.head_path.write_bytes(
        canonical_json({"seq": len(lines) - 2, "sha256": sha256_bytes(lines[-2])}) + b"\n"
    )
    assert verify_area(area).passed
    assert verify_area(area, administrator_key_id=admin_id).passed
    result = run_cli("export", "audit", "--dir", area.root, "--expect-entry", last)
    assert result.exit_code == 4 and "recorded earlier is not in the log" in result.output
    result = run_cli("export", "audit", "--dir", area.root, "--admin-key-id", "0123456789abcdef")
    assert result.exit_code == 4 and "not created by administrator key" in result.output


def test_a_writer_that_stopped_before_moving_the_head_locks_nobody_out(
    area: ExportArea, team: Team
) -> None:
    head = area.head_path.read_bytes()
    new_request(area, researcher=team.researcher.signer, title="t")
    area.head_path.write_bytes(head)  # as if the writer died after its fsync
    assert verify_area(area).passed
    new_request(area, researcher=team.researcher.signer, title="u")
    assert verify_area(area).passed
    area.head_path.write_bytes(head)  # two behind is a removal from the end
    assert not verify_area(area).passed
