"""The sign-in log: every web sign-in attempt, its outcome, the account and address.

The audit log holds only signed decisions, and a failed sign-in has nobody's key to sign
it, so attempts go to ``log/sign-in.jsonl`` beside it: one canonical-JSON line each,
chained like the audit log (``seq`` and the SHA-256 of the line before in ``prev``), so
an edited or deleted line is detected by ``verify_sign_in_log`` (run by ``trelink
export audit``). A line never holds the password, and names an account only when the
name typed is an enrolled person's (a password typed into the name field by mistake is
therefore never written down); otherwise ``account`` is null.

Events: ``signed-in``; ``failed`` (wrong name or password); ``locked`` (a failure that
started a lockout); ``refused`` (an attempt held back by a lockout or the rate limit,
whose password was not checked).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from tre_export.area import ExportArea
from tre_export.audit_log import GENESIS, exclusive_lock
from tre_export.canonical import canonical_json, sha256_bytes

__all__ = ["EVENTS", "read_sign_in_log", "record_sign_in", "verify_sign_in_log"]

EVENTS = frozenset({"signed-in", "failed", "locked", "refused"})


def _lines(path: Path) -> list[bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [line for line in data.split(b"\n") if line]


def record_sign_in(
    area: ExportArea, *, event: str, account: str | None, address: str, detail: str = ""
) -> None:
    """Append one attempt to the sign-in log (durably, under the log's own lock)."""
    if event not in EVENTS:
        raise ValueError(f"unknown sign-in event {event!r}")
    path = area.sign_in_log_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(area.sign_in_lock_path):
        lines = _lines(path)
        entry = {
            "seq": len(lines),
            "prev": sha256_bytes(lines[-1]) if lines else GENESIS,
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
