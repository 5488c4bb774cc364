"""The sign-in log: every web sign-in attempt, its outcome, the account and address.

The audit log holds only signed decisions, and a failed sign-in has nobody's key to sign
it, so attempts go to ``log/sign-in.jsonl`` beside it: one canonical-JSON line each,
chained like the audit log (``seq`` and the SHA-256 of the line before in ``prev``), so
an edited or deleted line is detected by ``verify_sign_in_log`` (run by ``trelink
export audit``). A line never holds the password, and names an account only when the
name typed is an enrolled person's (a password typed into the name field by mistake is
therefore never written down); otherwise ``account`` is null.

Events: ``signed-in``; ``failed`` (wrong name or password); ``locked`` (a failure that
started a lockout); ``refused`` (attempts held back by a lockout or the rate limit,
whose passwords were not checked: one line a minute per address at most, its detail
saying how many). Appending reads only the end of the file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from tre_export.area import ExportArea
from tre_export.audit_log import GENESIS, exclusive_lock
from trelink.trust.canonical import canonical_json
from trelink.trust.hashing import sha256_bytes

__all__ = ["EVENTS", "read_sign_in_log", "record_sign_in", "verify_sign_in_log"]

EVENTS = frozenset({"signed-in", "failed", "locked", "refused"})


def _lines(path: Path) -> list[bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [line for line in data.split(b"\n") if line]


def _last_line(path: Path) -> bytes | None:
    """The file's last line, read from the end (the log only grows)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        end = handle.seek(0, os.SEEK_END)
        tail = b""
        position = end
        while position > 0:
            step = min(4096, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            lines = [line for line in tail.split(b"\n") if line]
            if len(lines) > 1 or (lines and position == 0):
                return lines[-1]
        return None


def _next_position(path: Path) -> tuple[int, str]:
    """The sequence number and ``prev`` hash for the next line."""
    last = _last_line(path)
    if last is None:
        return 0, GENESIS
    try:
        seq = int(json.loads(last)["seq"]) + 1
    except (ValueError, KeyError, TypeError):
        seq = len(_lines(path))  # a damaged last line: count, and let the audit report it
    return seq, sha256_bytes(last)


def record_sign_in(
    area: ExportArea, *, event: str, account: str | None, address: str, detail: str = ""
) -> None:
    """Append one attempt to the sign-in log (durably, under the log's own lock)."""
    if event not in EVENTS:
        raise ValueError(f"unknown sign-in event {event!r}")
    path = area.sign_in_log_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(area.sign_in_lock_path):
        seq, prev = _next_position(path)
        entry = {
            "seq": seq,
            "prev": prev,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "event": event,
            "account": account,
            "address": address,
            "detail": detail,
        }
        with path.open("ab") as handle:
            handle.write(canonical_json(entry) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())


def read_sign_in_log(area: ExportArea) -> list[dict[str, object]]:
    """Every entry, oldest first (unchecked; see ``verify_sign_in_log``)."""
    return [json.loads(line) for line in _lines(area.sign_in_log_path)]


def verify_sign_in_log(area: ExportArea) -> list[str]:
    """Problems with the chain of the sign-in log (empty when intact or absent)."""
    problems: list[str] = []
    prev = GENESIS
    for number, line in enumerate(_lines(area.sign_in_log_path), start=1):
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            problems.append(f"{area.sign_in_log_path.name} line {number}: not valid JSON")
            break
        if (
            not isinstance(entry, dict)
            or entry.get("seq") != number - 1
            or entry.get("prev") != prev
        ):
            problems.append(
                f"{area.sign_in_log_path.name} line {number}: does not follow line "
                f"{number - 1} (an entry was edited, deleted, inserted or moved)"
            )
            break
        prev = sha256_bytes(line)
    return problems
