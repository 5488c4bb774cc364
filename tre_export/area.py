"""The export area: one directory per project holding everything the workflow keeps.

Layout::

    E/
      export-area.json            marker: format name and version, project name
      policy.yaml                 the project's SDC policy (optional; else sdc's default)
      log/audit.jsonl             the hash-chained, signed audit log (append-only)
      log/head.json               sequence number and hash of the last entry
      log/audit.lock              lock file every writer holds while appending
      log/sign-in.jsonl           every web sign-in attempt, hash-chained (no passwords)
      log/sign-in.lock            lock file for appending to it
      requests/R0001/outputs/     outputs under their original file names, and any
                                  evidence that came with them (e.g. X.sdc.json)
      requests/R0001/manifest.json  SHA-256 of every stored file, frozen at submit (a
                                  copy of the manifest in the signed submit entry)
      requests/R0001/checks.json  automated check results, frozen at submit
      web/accounts/KEYID.json     web sign-in: argon2id password hash and the web key,
                                  encrypted under a key derived from the password

Project settings, enrolments, requests, reviews and releases are not stored anywhere
else: they are replayed from the audit log, so the log is the single record.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tre_export.errors import AreaError, RequestError

__all__ = ["AREA_FORMAT", "RESERVED_NAMES", "ExportArea", "validate_output_name"]

AREA_FORMAT = "trelink-export-area"
AREA_VERSION = 1
_REQUEST_ID = re.compile(r"R[0-9]{4,9}")
# Plain names only: no separators, no leading dot, nothing a shell or a browser reads as
# a path, so a stored name can never leave its request's outputs directory.
_OUTPUT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
# Written by a release beside the outputs, so no output may carry these names.
RESERVED_NAMES = frozenset({"manifest.json", "SHA256SUMS"})


def validate_output_name(name: str) -> str:
    """Return ``name`` if it is a safe plain file name, else raise ``RequestError``."""
    if not _OUTPUT_NAME.fullmatch(name) or ".." in name:
        raise RequestError(
            f"output file name {name!r} is not allowed: use letters, digits, '.', '_', '-' "
            "or '+', starting with a letter or digit, with no path separators or '..'"
        )
    if name in RESERVED_NAMES:
        raise RequestError(f"output file name {name!r} is reserved for the release; rename it")
    return name


class ExportArea:
    """Paths inside one export area. Construct with ``open`` (existing) or ``at`` (new)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> ExportArea:
        """An area at ``root`` without checking it (used while one is being created)."""
        return cls(Path(root))

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> ExportArea:
        """An existing area; ``AreaError`` if ``root`` is not a well-formed export area."""
        area = cls(Path(root))
        if not area.root.is_dir():
            raise AreaError(
                f"{area.root}: no export area here; create one with `trelink export init`"
            )
        try:
            marker = json.loads(area.marker_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AreaError(
                f"{area.root}: not an export area ({area.marker_path.name} is missing)"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise AreaError(f"{area.marker_path}: unreadable; the export area is damaged") from None
        if not isinstance(marker, dict) or marker.get("format") != AREA_FORMAT:
            raise AreaError(f"{area.marker_path}: not an export area marker")
        if marker.get("version") != AREA_VERSION:
            raise AreaError(
                f"{area.marker_path}: area format version {marker.get('version')!r} is not "
                f"supported (this trelink reads version {AREA_VERSION})"
            )
        if not area.log_path.is_file():
            raise AreaError(f"{area.log_path}: the audit log is missing; the area is damaged")
        return area

    def marker(self, *, project: str) -> dict[str, object]:
        return {"format": AREA_FORMAT, "version": AREA_VERSION, "project": project}

    @property
    def marker_path(self) -> Path:
        return self.root / "export-area.json"

    @property
    def policy_path(self) -> Path:
        return self.root / "policy.yaml"

    @property
    def log_path(self) -> Path:
        return self.root / "log" / "audit.jsonl"

    @property
    def head_path(self) -> Path:
        return self.root / "log" / "head.json"

    @property
    def lock_path(self) -> Path:
        return self.root / "log" / "audit.lock"

    @property
    def sign_in_log_path(self) -> Path:
        return self.root / "log" / "sign-in.jsonl"

    @property
    def sign_in_lock_path(self) -> Path:
        return self.root / "log" / "sign-in.lock"

    @property
    def accounts_dir(self) -> Path:
        return self.root / "web" / "accounts"

    def request_dir(self, request_id: str) -> Path:
        if not _REQUEST_ID.fullmatch(request_id):
            raise RequestError(f"{request_id!r} is not a request id (they look like R0001)")
        return self.root / "requests" / request_id

    def outputs_dir(self, request_id: str) -> Path:
        return self.request_dir(request_id) / "outputs"

    def output_path(self, request_id: str, name: str) -> Path:
        return self.outputs_dir(request_id) / validate_output_name(name)

    def manifest_path(self, request_id: str) -> Path:
        return self.request_dir(request_id) / "manifest.json"

    def checks_path(self, request_id: str) -> Path:
        return self.request_dir(request_id) / "checks.json"
