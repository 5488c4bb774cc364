"""A researcher's side of a request: open it, add outputs, submit it for checking.

Outputs are copied into the export area under their original file names at ``add``;
``submit`` freezes them (the SHA-256 of every file goes into the signed log entry), runs
the automated checks on the stored files themselves, and stores the results beside them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import sdc
from tre_export.area import ExportArea, validate_output_name
from tre_export.checks import RequestChecks, run_checks
from tre_export.errors import RequestError
from tre_export.model import ActionType, Output, OutputKind, Request
from tre_export.signing import Signer
from tre_export.state import ProjectState, transaction
from trelink.atomic import atomic_file
from trelink.trust.canonical import canonical_json
from trelink.trust.hashing import sha256_file

__all__ = [
    "add_output",
    "changed_files",
    "evidence_for",
    "new_request",
    "resubmit_output",
    "stored_file_digests",
    "submit_request",
]


def new_request(area: ExportArea, *, researcher: Signer, title: str) -> str:
    """Open a request and return its id."""
    with transaction(area) as work:
        request_id = work.state.next_request_id()
        work.append(
            researcher, {"type": ActionType.NEW.value, "request": request_id, "title": title}
        )
    return request_id


def evidence_for(source: Path, kind: OutputKind) -> list[Path]:
    """Evidence files that travel with an output: a table protected by ``trelink sdc
    protect`` has its decision record beside it. It is kept for the checkers (and read by
    the table check) but never released, since it explains every suppressed cell."""
    if kind is not OutputKind.TABLE:
        return []
    record = sdc.decision_record_path(source)
    return [record] if record.is_file() else []


def add_output(
    area: ExportArea,
    *,
    researcher: Signer,
    request_id: str,
    source: str | os.PathLike[str],
    kind: OutputKind,
    description: str,
) -> Output:
    """Copy ``source`` into the request under its own file name (and its evidence)."""
    source_path = Path(source)
    name = validate_output_name(source_path.name)
    if source_path.is_dir():
        raise RequestError(f"{source_path}: is a directory; add each output file on its own")
    if not source_path.is_file():
        raise RequestError(f"{source_path}: no such file to add")
    evidence = evidence_for(source_path, kind)
    with transaction(area) as work, contextlib.ExitStack() as stack:
        work.state.owned_draft(researcher.actor_key_id, request_id, "add outputs to")
        # Copies go to temporaries first: a refused add (a duplicate name, say) must not
        # overwrite what is already stored.
        stored: dict[str, str] = {}
        for path in (source_path, *evidence):
            target = area.output_path(request_id, validate_output_name(path.name))
            temporary = stack.enter_context(atomic_file(target))
            shutil.copyfile(path, temporary)
            stored[path.name] = sha256_file(temporary)
        action = {
            "type": ActionType.ADD.value,
            "request": request_id,
            "name": name,
            "kind": kind.value,
            "description": description,
            "sha256": stored.pop(name),
            "evidence": stored,
        }
        work.append(researcher, action)
        return work.state.request(request_id).outputs[name]


def stored_file_digests(area: ExportArea, request: Request) -> dict[str, str | None]:
    """SHA-256 of every stored file of a request (outputs and evidence); None if missing."""
    names = [
        name for output in request.outputs.values() for name in (output.name, *output.evidence)
    ]
    digests: dict[str, str | None] = {}
    for name in names:
        path = area.output_path(request.request_id, name)
        digests[name] = sha256_file(path) if path.is_file() else None
    return digests


def changed_files(area: ExportArea, request: Request) -> list[str]:
    """Names of stored files whose bytes differ from what the log recorded for them."""
    expected: dict[str, str] = {}
    for output in request.outputs.values():
        expected[output.name] = output.sha256
        expected.update(output.evidence)
    actual = stored_file_digests(area, request)
    return sorted(name for name, digest in expected.items() if actual.get(name) != digest)


def _earlier_released_tables(area: ExportArea, state: ProjectState) -> list[Path]:
    """The project's released tables, for the differencing audit, as they were released."""
    tables: list[Path] = []
    for request in state.requests.values():
        if request.release is None:
            continue
        for name, digest in request.release.outputs.items():
            if request.outputs[name].kind is not OutputKind.TABLE:
                continue
            path = area.output_path(request.request_id, name)
            if not path.is_file() or sha256_file(path) != digest:
                raise RequestError(
                    f"{request.request_id}/{name} was released but its stored copy is missing "
                    "or changed, so differencing against it cannot be checked; restore it"
                )
            tables.append(path)
    return tables


def _project_policy(area: ExportArea, state: ProjectState) -> Path | None:
    """The policy fixed at init (checked against its digest), or None for sdc's default."""
    expected = state.settings().policy_sha256
    if expected is None:
        return None
    path = area.policy_path
    if not path.is_file() or sha256_file(path) != expected:
        raise RequestError(
            f"{path}: the project's SDC policy is missing or changed since the area was "
            "created; restore it before submitting"
        )
    return path


def submit_request(area: ExportArea, *, researcher: Signer, request_id: str) -> RequestChecks:
    """Freeze the request's files, run the automated checks, record both in the log."""
    with transaction(area) as work:
        state = work.state
        request = state.owned_draft(researcher.actor_key_id, request_id, "submit")
        if not request.outputs:
            raise RequestError(f"request {request_id} has no outputs; add some before submitting")
        changed = changed_files(area, request)
        if changed:
            raise RequestError(
                f"request {request_id}: {', '.join(changed)} changed or went missing since "
                "added; add the outputs again to a new request"
            )
        files = [
            (output, area.output_path(request_id, output.name))
            for output in request.outputs.values()
        ]
        checks = run_checks(
            files,
            policy_path=_project_policy(area, state),
            earlier=_earlier_released_tables(area, state),
        )
        if changed_files(area, request):  # changed while being checked
            raise RequestError(f"request {request_id}: outputs changed during the checks; retry")
        manifest = {
            name: digest for name, digest in stored_file_digests(area, request).items() if digest
        }
        with (
            atomic_file(area.checks_path(request_id)) as temporary,
            atomic_file(area.manifest_path(request_id)) as manifest_copy,
        ):
            temporary.write_bytes(checks.to_json())
            # A readable copy of the manifest the signed submit entry carries; release and
            # review compare the files against the log's copy, never against this one.
            manifest_copy.write_bytes(canonical_json(manifest) + b"\n")
            action = {
                "type": ActionType.SUBMIT.value,
                "request": request_id,
                "manifest": manifest,
                "checks_sha256": sha256_file(temporary),
                "outcomes": {name: check.outcome.value for name, check in checks.outputs.items()},
            }
            work.append(researcher, action)
        return checks


def resubmit_output(
    area: ExportArea,
    *,
    researcher: Signer,
    request_id: str,
    source: str | os.PathLike[str],
    answer: str,
) -> RequestChecks:
    """Submit a new version of a returned output, with the researcher's answer to the
    checker (and any justification for an exception).

    The new file must have the output's name. The earlier version is kept under
    ``requests/ID/versions/N/``; the stored file (and its decision record, for a table
    that brings one) are replaced, the request's automated checks run again on all its
    outputs (the differencing audit is joint), and the new digests, outcomes and the
    checks' hash go into the signed entry. Reviews of earlier versions never count."""
    source_path = Path(source)
    if not answer.strip():
        raise RequestError("answer the checker's comment; the answer goes into the log")
    if not source_path.is_file():
        raise RequestError(f"{source_path}: no such file to resubmit")
    name = validate_output_name(source_path.name)
    with transaction(area) as work, contextlib.ExitStack() as stack:
        state = work.state
        request = state.resubmitting(researcher.actor_key_id, request_id, name)
        changed = changed_files(area, request)
        if changed:
            raise RequestError(
                f"request {request_id}: {', '.join(changed)} changed since submit; "
                "investigate before resubmitting"
            )
        output = request.outputs[name]
        evidence = evidence_for(source_path, output.kind)
        if {path.name for path in evidence} - set(output.evidence):
            raise RequestError(
                f"{source_path}: brings evidence the first version did not; open a new request"
            )
        # The new version is staged under its own name (a decision record beside it) and
        # checked there; only once the entry is in the log does it replace the stored one.
        staging = Path(tempfile.mkdtemp(prefix=".resubmit.", dir=area.request_dir(request_id)))
        stack.callback(shutil.rmtree, staging, ignore_errors=True)
        digests: dict[str, str] = {}
        for path in (source_path, *evidence):
            shutil.copyfile(path, staging / path.name)
            digests[path.name] = sha256_file(staging / path.name)
        files = [
            (item, staging / name if item.name == name else area.output_path(request_id, item.name))
            for item in request.outputs.values()
        ]
        checks = run_checks(
            files,
            policy_path=_project_policy(area, state),
            earlier=_earlier_released_tables(area, state),
        )
        kept = area.request_dir(request_id) / "versions" / str(request.version(name))
        kept.mkdir(parents=True, exist_ok=True)
        for stored_name in (name, *output.evidence):
            shutil.copyfile(area.output_path(request_id, stored_name), kept / stored_name)
        with atomic_file(area.checks_path(request_id)) as temporary:
            temporary.write_bytes(checks.to_json())
            action = {
                "type": ActionType.RESUBMIT.value,
                "request": request_id,
                "output": name,
                "answer": answer,
                "sha256": digests[name],
                "evidence": {key: value for key, value in digests.items() if key != name},
                "checks_sha256": sha256_file(temporary),
                "outcomes": {key: check.outcome.value for key, check in checks.outputs.items()},
            }
            work.append(researcher, action)
        for stored_name in digests:
            os.replace(staging / stored_name, area.output_path(request_id, stored_name))
        # The readable copy of the manifest follows the log (which is what counts).
        manifest = {
            key: digest
            for key, digest in stored_file_digests(area, work.state.request(request_id)).items()
            if digest
        }
        with atomic_file(area.manifest_path(request_id)) as manifest_copy:
            manifest_copy.write_bytes(canonical_json(manifest) + b"\n")
        return checks
