"""Sealed files: small signed, encrypted messages between the parties of a review.

The clerical review round trip (``linkage.review_pack``, ``pseudonymise.review``) sends
small files between four parties: the TRE, each data owner, and the reviewer. Each is
a *sealed file*: the same trust machinery as a transfer package (``trelink.trust.package``),
sized for messages of a few megabytes, so the whole payload is sealed in one HPKE
operation instead of a chunked stream.

File layout (integers big-endian)::

    magic       8 bytes   b"TRELINKS"
    header      u32 length + UTF-8 JSON in clear: format, kind, HPKE suite, recipient
                and signer key ids. Authenticated: its SHA-256 is the HPKE ``info`` and
                is named in the signed manifest
    sealed      the rest: HPKE (RFC 9180, base mode, single shot; X25519 or
                ML-KEM-768 + X25519, HKDF-SHA256, ChaCha20-Poly1305) ciphertext of
                ``u32 manifest length | manifest JSON | 64-byte Ed25519 signature |
                member bytes, back to back``

The signature is over ``b"trelink-sealed/v1\\0" + manifest``; the manifest names the
kind of message, the header's SHA-256, the recipient and signer key ids, each member's
name, size and SHA-256, and the message's own fields (``meta``). ``open_sealed`` checks
the recipient, decrypts, verifies the signature with the trusted key, checks that the
manifest names that key as signer, this recipient and the expected kind, and checks
every member; any failure raises ``SealedFileError`` naming the file and the check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519

from trelink.atomic import atomic_file
from trelink.trust.canonical import PACKAGE_JSON, canonical_json
from trelink.trust.errors import PackageError
from trelink.trust.hpke import KEMS, frame, hpke_suite, recipient_problem
from trelink.trust.keys import RecipientPrivateKey, RecipientPublicKey, key_id

__all__ = [
    "EVIDENCE_KIND",
    "LABELS_KIND",
    "PART_KIND",
    "REQUEST_KIND",
    "SEALED_FORMAT",
    "SealedFileError",
    "SealedMessage",
    "header_claims",
    "open_sealed",
    "seal",
]

SEALED_FORMAT = "trelink-sealed/v1"
# The kinds of sealed file the clerical review round trip sends: the TRE's request to an
# owner and its evidence for the reviewer, an owner's re-identified part, the
# reviewer's signed labels. Both sides name them, so they live here.
REQUEST_KIND = "review-request"
EVIDENCE_KIND = "review-evidence"
PART_KIND = "review-part"
LABELS_KIND = "review-labels"
MAGIC = b"TRELINKS"
_SIGNATURE_CONTEXT = SEALED_FORMAT.encode() + b"\0"
_HPKE_INFO = SEALED_FORMAT.encode() + b"/payload\0"
_MAX_HEADER = 1 << 16
_MAX_FILE = 256 << 20


class SealedFileError(PackageError):
    """A sealed file failed a check (decryption, signature, manifest, kind, members) or
    would overwrite a file. A ``PackageError``, so the CLI reports it like one."""


@dataclass(frozen=True)
class SealedMessage:
    """A verified sealed file: its kind, signed fields, members and the signer's key id."""

    kind: str
    meta: dict[str, Any]
    members: dict[str, bytes]
    signer_key_id: str
    file_sha256: str
    manifest_sha256: str


def seal(
    out: str | os.PathLike[str],
    *,
    kind: str,
    meta: dict[str, Any],
    members: dict[str, bytes],
    recipient: RecipientPublicKey,
    signing_key: ed25519.Ed25519PrivateKey,
) -> str:
    """Sign ``meta`` and ``members`` and encrypt them for ``recipient`` into ``out``.

    Never overwrites a file; returns the SHA-256 of the manifest (the signed content).
    """
    target = Path(out)
    if target.exists():
        raise SealedFileError(f"{target}: already exists; choose another path")
    signer_id = key_id(signing_key)
    header = canonical_json(
        {
            "format": SEALED_FORMAT,
            "kind": kind,
            "kem": recipient.kem,
            "recipient_key_id": recipient.key_id,
            "signer_key_id": signer_id,
        },
        encoding=PACKAGE_JSON,
    )
    header_hash = hashlib.sha256(header).digest()
    manifest = {
        "format": SEALED_FORMAT,
        "kind": kind,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "header_sha256": header_hash.hex(),
        "recipient_key_id": recipient.key_id,
        "signer_key_id": signer_id,
        "members": [
            {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in members.items()
        ],
        "meta": meta,
    }
    manifest_bytes = canonical_json(manifest, encoding=PACKAGE_JSON)
    signature = signing_key.sign(_SIGNATURE_CONTEXT + manifest_bytes)
    payload = frame(manifest_bytes) + signature + b"".join(members.values())
    sealed = hpke_suite(recipient.kem).encrypt(
        payload, recipient.key, info=_HPKE_INFO + header_hash
    )
    with atomic_file(target) as temporary:
        temporary.write_bytes(MAGIC + frame(header) + sealed)
    return hashlib.sha256(manifest_bytes).hexdigest()


def _fail(path: Path, problem: str) -> SealedFileError:
    return SealedFileError(f"{path}: {problem}; the file was refused")


def _read(path: Path) -> bytes:
    if path.is_dir():
        raise SealedFileError(f"{path}: is a directory; give the sealed file")
    try:
        if path.stat().st_size > _MAX_FILE:
            raise _fail(path, "too large for a sealed review file")
        return path.read_bytes()
    except FileNotFoundError:
        raise SealedFileError(f"{path}: file not found") from None
    except OSError as error:
        raise SealedFileError(f"{path}: cannot be read ({error.strerror})") from None


def _header(path: Path, data: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise _fail(path, "not a trelink sealed file (bad magic bytes)")
    (size,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if size > _MAX_HEADER or start + size > len(data):
        raise _fail(path, "the header is truncated or its length is implausible")
    header_bytes = data[start : start + size]
    try:
        header = json.loads(header_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _fail(path, "the header is not valid JSON (corrupted)") from None
    if not isinstance(header, dict) or header.get("format") != SEALED_FORMAT:
        raise _fail(path, f"not a {SEALED_FORMAT} file")
    if header.get("kem") not in KEMS:
        raise _fail(path, "the header names an unknown HPKE suite")
    return header, header_bytes, data[start + size :]


def header_claims(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The clear header of a sealed file: unverified claims (kind, recipient and signer
    key ids), for choosing which trusted key to verify it with."""
    source = Path(path)
    header, _header_bytes, _sealed = _header(source, _read(source))
    return header


def open_sealed(
    path: str | os.PathLike[str],
    *,
    kind: str,
    private_key: RecipientPrivateKey,
    trust: ed25519.Ed25519PublicKey,
) -> SealedMessage:
    """Decrypt and verify a sealed file of ``kind`` signed by ``trust``; every check
    (recipient, decryption, signature, signer and recipient named, kind, members) has
    passed before this returns."""
    source = Path(path)
    data = _read(source)
    header, header_bytes, sealed = _header(source, data)
    problem = recipient_problem(header, private_key)
    if problem is not None:
        raise _fail(source, problem)
    header_hash = hashlib.sha256(header_bytes).digest()
    try:
        payload = hpke_suite(header["kem"]).decrypt(
            sealed, private_key.key, info=_HPKE_INFO + header_hash
        )
    except (InvalidTag, ValueError):
        raise _fail(source, "it does not decrypt (altered, truncated or another key)") from None
    if len(payload) < 4:
        raise _fail(source, "the payload is truncated")
    (size,) = struct.unpack(">I", payload[:4])
    manifest_bytes = payload[4 : 4 + size]
    signature = payload[4 + size : 4 + size + 64]
    body = payload[4 + size + 64 :]
    if len(manifest_bytes) != size or len(signature) != 64:
        raise _fail(source, "the payload is truncated")
    trusted_id = key_id(trust)
    try:
        trust.verify(signature, _SIGNATURE_CONTEXT + manifest_bytes)
    except InvalidSignature:
        raise _fail(
            source,
            f"the signature does not verify with the trusted key {trusted_id}; it was "
            "signed by another key or altered",
        ) from None
    manifest = json.loads(manifest_bytes)  # signed by the trusted key, written by seal()
    checks = {
        "header_sha256": header_hash.hex(),
        "recipient_key_id": private_key.key_id,
        "signer_key_id": trusted_id,
        "kind": kind,
        "format": SEALED_FORMAT,
    }
    for field, expected in checks.items():
        if manifest.get(field) != expected:
            found = manifest.get(field)
            raise _fail(source, f"the signed manifest's {field} is {found!s}, expected {expected}")
    if header.get("signer_key_id") != trusted_id or header.get("kind") != kind:
        raise _fail(source, "the header does not match the signed manifest")
    members: dict[str, bytes] = {}
    offset = 0
    for member in manifest.get("members", []):
        name, length = str(member["name"]), int(member["size"])
        content = body[offset : offset + length]
        if len(content) != length or hashlib.sha256(content).hexdigest() != member["sha256"]:
            raise _fail(source, f"member {name} does not match its SHA-256 in the manifest")
        members[name] = content
        offset += length
    if offset != len(body):
        raise _fail(source, "the payload has data beyond its listed members")
    meta = manifest.get("meta")
    if not isinstance(meta, dict):
        raise _fail(source, "the signed manifest has no 'meta' object")
    return SealedMessage(
        kind=kind,
        meta=meta,
        members=members,
        signer_key_id=trusted_id,
        file_sha256=hashlib.sha256(data).hexdigest(),
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
    )
