"""Creating an export area and enrolling the people who work in it.

The administrator who creates the area signs its first log entry, which names the
project, the number of distinct checkers each output needs, and the administrator's own
public key. Only that key may enrol researchers and checkers afterwards, so a person
with write access to the area cannot quietly give themselves a second checker identity
without the administrator's private key.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from tre_export.area import ExportArea
from tre_export.errors import AreaError, IdentityError
from tre_export.model import ActionType, Enrolment, Role
from tre_export.signing import Signer, public_key_raw, read_public_key
from tre_export.state import MINIMUM_APPROVALS, ProjectState, Transaction, transaction
from trelink.atomic import atomic_directory
from trelink.trust.canonical import canonical_json
from trelink.trust.hashing import sha256_file

__all__ = ["enrol", "init_area", "revoke"]


def init_area(
    root: str | os.PathLike[str],
    *,
    project: str,
    administrator: Signer,
    administrator_name: str = "administrator",
    required_approvals: int = MINIMUM_APPROVALS,
    policy: str | os.PathLike[str] | None = None,
    blind_reviews: bool = True,
) -> ExportArea:
    """Create an export area at ``root`` (which must not exist or be empty).

    ``blind_reviews``: a checker sees no other checker's decision on an output until
    they have recorded their own."""
    if required_approvals < MINIMUM_APPROVALS:
        raise AreaError(
            f"--approvals {required_approvals}: outputs need at least {MINIMUM_APPROVALS} "
            "distinct checkers"
        )
    if not project.strip():
        raise AreaError("--project must name the project")
    policy_path = Path(policy) if policy is not None else None
    if policy_path is not None and policy_path.is_dir():
        raise AreaError(f"{policy_path}: is a directory; give the policy YAML file")
    if policy_path is not None and not policy_path.is_file():
        raise AreaError(f"{policy_path}: policy file not found")
    try:
        with atomic_directory(root) as temporary:
            area = ExportArea.at(temporary)
            area.log_path.parent.mkdir(parents=True)
            area.marker_path.write_bytes(canonical_json(area.marker(project=project)) + b"\n")
            policy_sha256 = None
            if policy_path is not None:
                shutil.copyfile(policy_path, area.policy_path)
                policy_sha256 = sha256_file(area.policy_path)
            area.log_path.touch()
            action = {
                "type": ActionType.INIT.value,
                "project": project,
                "required_approvals": required_approvals,
                "policy_sha256": policy_sha256,
                "blind_reviews": blind_reviews,
                "administrator": {
                    "name": administrator_name,
                    "public_key": _encoded(public_key_raw(administrator.private_key)),
                },
            }
            Transaction(area, ProjectState()).append(administrator, action)
    except FileExistsError:
        raise AreaError(f"{root}: already exists and is not empty; choose another --dir") from None
    return ExportArea.open(root)


def enrol(
    area: ExportArea,
    *,
    administrator: Signer,
    name: str,
    role: Role,
    public_key: str | os.PathLike[str] | ed25519.Ed25519PublicKey,
) -> Enrolment:
    """Enrol a researcher or checker by their public key, signed by the administrator."""
    if role is Role.ADMINISTRATOR:
        raise IdentityError("--role must be researcher or checker")
    raw = (
        public_key_raw(public_key)
        if isinstance(public_key, ed25519.Ed25519PublicKey)
        else read_public_key(public_key)
    )
    action = {
        "type": ActionType.ENROL.value,
        "name": name,
        "role": role.value,
        "public_key": _encoded(raw),
    }
    with transaction(area) as work:
        work.append(administrator, action)
        return next(person for person in work.state.enrolments.values() if person.name == name)


def _encoded(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def revoke(area: ExportArea, *, administrator: Signer, name: str, reason: str) -> Enrolment:
    """Revoke the active key enrolled as ``name`` (signed by the administrator).

    The key signs nothing afterwards, its web key goes with it, and its reviews of
    requests not yet released stop counting. Enrol the person again with a new key.
    """
    with transaction(area) as work:
        person = work.state.active_by_name(name)
        if person is None:
            raise IdentityError(f"nobody named {name!r} has an active enrolment to revoke")
        action = {"type": ActionType.REVOKE.value, "key_id": person.key_id, "reason": reason}
        work.append(administrator, action)
        return work.state.person(person.key_id)
