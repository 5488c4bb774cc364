"""Times as people read them: the log stores ISO 8601 in UTC; pages and the CLI show
``4 Dec 2026, 15:20 UTC``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["readable_time"]


def readable_time(iso: str | None) -> str:
    """``2026-12-04T15:20:31+00:00`` -> ``4 Dec 2026, 15:20 UTC`` (anything unreadable is
    shown as it is, so a damaged value is still visible rather than hidden)."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"
