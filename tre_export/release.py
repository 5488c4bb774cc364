"""Release: copy approved outputs out of the TRE, byte for byte as they were reviewed.

The outbox is built in a temporary directory: each approved file is copied and the
*copy* is hashed against the digest frozen at submit (so a file changed during the copy
is caught too), the release entry is appended to the log, and only then is the
directory renamed into place. A refusal at any step leaves no outbox and no log entry.

Nothing is rewritten on the way out (the bytes released are the bytes approved), so a
table or ``.csv`` / ``.tsv`` file holding a cell a spreadsheet would run as a formula is
refused here even if checkers approved it; the researcher escapes it and submits again.

Outbox layout::

    OUTBOX/
      <each released output under its original name>
      manifest.json   project, request, title, outputs with kind, description, SHA-256
                      and approving checkers, withheld outputs, and the hash and
                      sequence number of the release entry in the audit log
      SHA256SUMS      ``sha256sum -c`` compatible
      release.html    an offline page of what left, who approved it and when, and the
                      log's head hash (``release_page``)
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tre_export.area import ExportArea
from tre_export.checks import opens_in_a_spreadsheet
from tre_export.errors import ReleaseError
from tre_export.model import ActionType, Release, Request, Role
from tre_export.release_page import write_release_page
from tre_export.request import changed_files
from tre_export.signing import Signer
from tre_export.state import ProjectState, transaction
from trelink.atomic import atomic_directory
from trelink.spreadsheet import formula_cells
from trelink.trust.canonical import canonical_json
from trelink.trust.hashing import sha256_file

__all__ = ["ReleaseSummary", "release_request"]


@dataclass(frozen=True)
class ReleaseSummary:
    outbox: Path
    released: dict[str, str]  # name -> SHA-256
    withheld: list[str]
    log_entry_sha256: str


def release_request(
    area: ExportArea,
    *,
    checker: Signer,
    request_id: str,
    outbox: str | os.PathLike[str],
) -> ReleaseSummary:
    """Release the approved outputs of ``request_id`` into ``outbox``, or refuse."""
    outbox_path = Path(outbox)
    if outbox_path.exists() and (not outbox_path.is_dir() or any(outbox_path.iterdir())):
        raise ReleaseError(f"{outbox_path}: already exists and is not empty; choose another --out")
    with transaction(area) as work:
        state = work.state
        state.person_with_role(checker.actor_key_id, (Role.CHECKER,), "release outputs")
        request = state.request(request_id)
        approved, withheld = state.release_plan(request)
        changed = changed_files(area, request)
        if changed:
            raise ReleaseError(
                f"request {request_id}: {', '.join(changed)} no longer match the bytes frozen "
                "at submit; nothing was released. Investigate before anything leaves the TRE"
            )
        _refuse_formulas(area, request, approved)
        with atomic_directory(outbox_path, overwrite=True) as temporary:
            for name, digest in approved.items():
                copy = temporary / name
                shutil.copyfile(area.output_path(request_id, name), copy)
                if sha256_file(copy) != digest:
                    raise ReleaseError(f"{request_id}/{name} changed while being copied; retry")
            action = {
                "type": ActionType.RELEASE.value,
                "request": request_id,
                "outputs": approved,
                "withheld": withheld,
            }
            entry = work.append(checker, action)
            release = request.release
            if release is None:  # the rules set it when the entry was accepted
                raise ReleaseError(f"request {request_id}: the release was not recorded")
            manifest = _manifest(state, request, release, entry.seq, entry.digest)
            (temporary / "manifest.json").write_bytes(canonical_json(manifest) + b"\n")
            sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(approved.items()))
            (temporary / "SHA256SUMS").write_text(sums, encoding="utf-8")
            write_release_page(temporary)
    return ReleaseSummary(outbox_path, approved, withheld, entry.digest)


def _refuse_formulas(area: ExportArea, request: Request, approved: dict[str, str]) -> None:
    """Refuse the release if an approved file would run formulas in a spreadsheet."""
    unsafe = []
    for name in sorted(approved):
        path = area.output_path(request.request_id, name)
        if opens_in_a_spreadsheet(request.outputs[name], path) and formula_cells(path):
            unsafe.append(name)
    if unsafe:
        raise ReleaseError(
            f"request {request.request_id}: {', '.join(unsafe)} hold cells a spreadsheet "
            "would run as formulas (text starting with =, +, - or @); nothing was released. "
            "Escape them with a leading ' and submit the outputs again"
        )


def _manifest(
    state: ProjectState, request: Request, release: Release, seq: int, digest: str
) -> dict[str, Any]:
    project = state.settings()
    outputs = []
    for name in sorted(release.outputs):
        output = request.outputs[name]
        outputs.append(
            {
                "name": name,
                "kind": output.kind.value,
                "description": output.description,
                "sha256": output.sha256,
                "automated_check": request.check_outcomes[name].value,
                "approved_by": [
                    {
                        "name": review.checker_name,
                        "key_id": review.checker_key_id,
                        "time": review.time,
                    }
                    for review in request.approvers(name)
                ],
            }
        )
    return {
        "project": project.name,
        "request": request.request_id,
        "title": request.title,
        "researcher_key_id": request.researcher_key_id,
        "released_by": state.person(release.released_by).name,
        "released_at": release.time,
        "required_approvals": project.required_approvals,
        "outputs": outputs,
        "withheld": release.withheld,
        "audit_log": {"release_entry_seq": seq, "release_entry_sha256": digest},
    }
