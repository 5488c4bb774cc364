"""The audit log: append-only JSON lines, each carrying the hash of the one before.

Entry format (one canonical-JSON object per line)::

    {"seq": 7, "prev": "<SHA-256 of line 6's bytes>", "time": "2026-11-21T07:00:00+00:00",
     "actor": "<key id of the person>", "signer": "<key id of the signing key>",
     "channel": "cli" | "web", "action": {"type": "review", ...},
     "signature": "<base64 Ed25519 signature over the entry without this field>"}

Because every entry names its predecessor's hash and its own sequence number, editing,
deleting, inserting or reordering lines breaks the chain; because every entry is signed,
forging one needs an enrolled private key. Removing entries from the end leaves the
chain intact, so each append also records the head (sequence and hash of the last line)
in ``head.json``, and every release manifest carries the hash of its release entry:
comparing either with the log detects a truncated tail.

This module knows the chain; what each action means and who may sign it is replayed in
``state.py``. Writers hold an exclusive ``flock`` on ``audit.lock`` from reading the last
hash to the ``fsync`` of their line, so concurrent writers never interleave or lose one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tre_export.model import Channel
from trelink.atomic import atomic_file
from trelink.trust.canonical import canonical_json
from trelink.trust.hashing import sha256_bytes

__all__ = [
    "GENESIS",
    "LogEntry",
    "ParsedLog",
    "append_line",
    "exclusive_lock",
    "make_line",
    "parse_line",
    "parse_log",
    "shared_lock",
]

GENESIS = "0" * 64
_FIELDS = {"seq", "prev", "time", "actor", "signer", "channel", "action", "signature"}


@dataclass(frozen=True)
class LogEntry:
    seq: int
    prev: str
    time: str
    actor: str
    signer: str
    channel: Channel
    action: dict[str, Any]
    signature: bytes
    digest: str  # SHA-256 of the stored line: what the next entry's ``prev`` must be

    def signed_payload(self) -> bytes:
        """The bytes the signature covers: the entry without its signature."""
        return canonical_json(
            _body(
                seq=self.seq,
                prev=self.prev,
                time=self.time,
                actor=self.actor,
                signer=self.signer,
                channel=self.channel,
                action=self.action,
            )
        )


def _body(
    *, seq: int, prev: str, time: str, actor: str, signer: str, channel: Channel, action: Any
) -> dict[str, Any]:
    return {
        "seq": seq,
        "prev": prev,
        "time": time,
        "actor": actor,
        "signer": signer,
        "channel": channel.value,
        "action": action,
    }


def make_line(
    *,
    seq: int,
    prev: str,
    actor: str,
    signer: str,
    channel: Channel,
    action: dict[str, Any],
    sign: Callable[[bytes], bytes],
) -> bytes:
    """Build and sign one log line (without its newline); ``sign`` maps bytes to bytes."""
    time = datetime.now(UTC).isoformat(timespec="seconds")
    body = _body(
        seq=seq, prev=prev, time=time, actor=actor, signer=signer, channel=channel, action=action
    )
    signature = sign(canonical_json(body))
    return canonical_json({**body, "signature": base64.b64encode(signature).decode("ascii")})


def parse_line(line: bytes) -> LogEntry:
    """One line into an entry; ``ValueError`` with a reason if it is not well formed."""
    digest = sha256_bytes(line)
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("not valid JSON") from None
    if not isinstance(record, dict) or set(record) != _FIELDS:
        raise ValueError(f"fields must be exactly {sorted(_FIELDS)}")
    text_fields = ("prev", "time", "actor", "signer", "channel", "signature")
    if not isinstance(record["seq"], int) or not all(
        isinstance(record[name], str) for name in text_fields
    ):
        raise ValueError("a field has the wrong type")
    if not isinstance(record["action"], dict) or not isinstance(record["action"].get("type"), str):
        raise ValueError("the action is not a mapping with a type")
    try:
        channel = Channel(record["channel"])
        signature = base64.b64decode(record["signature"], validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("unknown channel or malformed signature") from None
    return LogEntry(
        seq=record["seq"],
        prev=record["prev"],
        time=record["time"],
        actor=record["actor"],
        signer=record["signer"],
        channel=channel,
        action=record["action"],
        signature=signature,
        digest=digest,
    )


@dataclass(frozen=True)
class ParsedLog:
    """Entries whose chain links hold, and every chain fault found (by line number)."""

    entries: list[LogEntry]
    problems: list[str]
    head_digest: str
    line_count: int


def parse_log(log_path: Path, head_path: Path) -> ParsedLog:
    """Read the log and check its chain and head; never raises on content faults."""
    entries: list[LogEntry] = []
    problems: list[str] = []
    prev = GENESIS
    raw_lines = log_path.read_bytes().split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    else:
        problems.append(f"line {len(raw_lines)}: incomplete last line (no newline)")
    for number, line in enumerate(raw_lines, start=1):
        digest = sha256_bytes(line)
        try:
            entry = parse_line(line)
        except ValueError as error:
            problems.append(f"line {number}: {error}")
        else:
            expected_seq = number - 1
            if entry.seq != expected_seq:
                problems.append(
                    f"line {number}: sequence number {entry.seq}, expected {expected_seq} "
                    "(an entry was deleted, inserted or moved)"
                )
            elif entry.prev != prev:
                problems.append(
                    f"line {number}: does not carry the hash of line {number - 1} "
                    "(an earlier entry was edited, deleted, inserted or moved)"
                )
            else:
                entries.append(entry)
        prev = digest
    digests = [sha256_bytes(line) for line in raw_lines[-2:]]
    problems.extend(_check_head(head_path, len(raw_lines), digests))
    return ParsedLog(entries, problems, prev, len(raw_lines))


def _check_head(head_path: Path, line_count: int, last_digests: list[str]) -> list[str]:
    """The head must name the last line. One line behind is accepted: a writer that
    stopped between its fsync and the head update leaves exactly that, the entry is
    still checked like any other, and the next append moves the head on."""
    try:
        head = json.loads(head_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{head_path.name} is missing"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return [f"{head_path.name} is unreadable"]
    if not isinstance(head, dict):
        return [f"{head_path.name} is malformed"]
    accepted = [
        (line_count - 1 - back, digest) for back, digest in enumerate(reversed(last_digests))
    ]
    if (head.get("seq"), head.get("sha256")) not in accepted:
        return [
            f"{head_path.name} records {head.get('seq', '?')!s} as the last entry but the log "
            f"ends at {line_count - 1} or with another hash (entries were removed from or "
            "added to the end)"
        ]
    return []


def append_line(log_path: Path, head_path: Path, line: bytes, *, seq: int) -> str:
    """Append one line durably and move the head to it; the caller holds the lock."""
    with log_path.open("ab") as handle:
        handle.write(line + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    digest = sha256_bytes(line)
    with atomic_file(head_path) as temporary:
        temporary.write_bytes(canonical_json({"seq": seq, "sha256": digest}) + b"\n")
    return digest


@contextlib.contextmanager
def _locked(lock_path: Path, operation: int) -> Iterator[None]:
    with lock_path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), operation)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def exclusive_lock(lock_path: Path) -> contextlib.AbstractContextManager[None]:
    """Held by a writer from reading the last hash to the fsync of its new line."""
    return _locked(lock_path, fcntl.LOCK_EX)


def shared_lock(lock_path: Path) -> contextlib.AbstractContextManager[None]:
    """Held by readers so they never see a line half-appended."""
    return _locked(lock_path, fcntl.LOCK_SH)
