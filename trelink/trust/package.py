"""Signed, encrypted transfer packages (``.tlp``) from a data owner to a TRE.

File layout (all integers big-endian)::

    magic       8 bytes   b"TRELINK\\x01"
    header      u32 length + UTF-8 JSON, in clear: format, HPKE suite, recipient and
                signer key ids, chunk size. Authenticated: its SHA-256 is the HPKE
                ``info``, the AEAD associated data of every chunk, and is in the manifest
    enc_key     u32 length + HPKE (RFC 9180, base mode, single shot) ciphertext of a fresh
                32-byte content key, sealed to the TRE's public key
    chunks      the payload, ChaCha20-Poly1305 under the content key in chunks of
                ``chunk_size`` plaintext bytes (1 MiB) + a 16-byte tag. Nonce = 8-byte
                chunk index + 3 zero bytes + final flag (1 on the last chunk only), so
                reordered, dropped, truncated or appended chunks fail authentication

The decrypted payload is ``u32 manifest length | manifest JSON | 64-byte Ed25519
signature | member bytes, back to back``. The signature is the owner's, over
``b"trelink-package/v1\\0" + manifest``; the manifest lists every member's name, size
and SHA-256, the recipient and signer key ids, the header's SHA-256 and the
pseudonymised extract's own manifest (versions, key ids, row counts, risk report).

``write_package`` writes the container around members the caller has chosen (the data
owner's ``pseudonymise.package.build_package`` decides what may go in). ``open_package``
checks the recipient, decrypts, verifies the signature against the trusted key, checks
that the manifest and header name that key as the signer and that the manifest is well
formed, and checks every member's size and hash, writing members to a directory only
the caller reads; a package that fails any check raises ``PackageVerifyError`` and the
directory is removed.
The manifest's ``created`` time (UTC, microseconds) lets import refuse an older package
of a dataset after a newer one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from trelink.atomic import atomic_file
from trelink.trust.canonical import PACKAGE_JSON, canonical_json
from trelink.trust.errors import PackageVerifyError
from trelink.trust.hashing import sha256_file
from trelink.trust.hpke import KEMS, frame, hpke_suite, recipient_problem
from trelink.trust.keys import RecipientPrivateKey, RecipientPublicKey, key_id

__all__ = [
    "CHUNK_SIZE",
    "MEMBER_NAMES",
    "PACKAGE_FORMAT",
    "OpenedPackage",
    "open_package",
    "write_package",
]

MAGIC = b"TRELINK\x01"
PACKAGE_FORMAT = "trelink-package/v1"
CHUNK_SIZE = 1 << 20
_TAG = 16
_SIGNATURE_CONTEXT = PACKAGE_FORMAT.encode() + b"\0"
_HPKE_INFO = PACKAGE_FORMAT.encode() + b"/content-key\0"
_MAX_HEADER = 1 << 16
_MAX_MANIFEST = 64 << 20
_MIN_CHUNK, _MAX_CHUNK = 1 << 10, 64 << 20
MEMBER_NAMES = ("identity.parquet", "attributes.parquet")


def _nonce(index: int, *, final: bool) -> bytes:
    return struct.pack(">Q3xB", index, 1 if final else 0)


class _ChunkWriter:
    """Buffers plaintext and writes it out as authenticated chunks."""

    def __init__(self, sink: BinaryIO, key: bytes, header_hash: bytes) -> None:
        self._sink, self._aead, self._ad = sink, ChaCha20Poly1305(key), header_hash
        self._buffer = bytearray()
        self._index = 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) > CHUNK_SIZE:  # keep one chunk back: it may be the last
            self._emit(bytes(self._buffer[:CHUNK_SIZE]), final=False)
            del self._buffer[:CHUNK_SIZE]

    def _emit(self, chunk: bytes, *, final: bool) -> None:
        self._sink.write(self._aead.encrypt(_nonce(self._index, final=final), chunk, self._ad))
        self._index += 1

    def close(self) -> None:
        self._emit(bytes(self._buffer), final=True)


def write_package(
    out: str | os.PathLike[str],
    *,
    source: Path,
    members: list[dict[str, Any]],
    extract: dict[str, Any],
    recipient: RecipientPublicKey,
    signing_key: ed25519.Ed25519PrivateKey,
) -> dict[str, Any]:
    """Seal ``members`` (each ``{"name", "size", "sha256"}`` of a file in ``source``) with
    the extract's manifest into a package at ``out``; return the signed manifest."""
    header = canonical_json(
        {
            "format": PACKAGE_FORMAT,
            "kem": recipient.kem,
            "kdf": "HKDF-SHA256",
            "aead": "ChaCha20-Poly1305",
            "chunk_size": CHUNK_SIZE,
            "recipient_key_id": recipient.key_id,
            "signer_key_id": key_id(signing_key),
        },
        encoding=PACKAGE_JSON,
    )
    header_hash = hashlib.sha256(header).digest()
    manifest: dict[str, Any] = {
        "format": PACKAGE_FORMAT,
        # Import compares creation times of one dataset's packages to refuse replays.
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "header_sha256": header_hash.hex(),
        "recipient_key_id": recipient.key_id,
        "signer_key_id": key_id(signing_key),
        "members": members,
        "extract": extract,
    }
    manifest_bytes = canonical_json(manifest, encoding=PACKAGE_JSON)
    signature = signing_key.sign(_SIGNATURE_CONTEXT + manifest_bytes)
    content_key = secrets.token_bytes(32)
    sealed_key = hpke_suite(recipient.kem).encrypt(
        content_key, recipient.key, info=_HPKE_INFO + header_hash
    )
    with atomic_file(out) as temporary, temporary.open("wb") as sink:
        sink.write(MAGIC + frame(header) + frame(sealed_key))
        writer = _ChunkWriter(sink, content_key, header_hash)
        writer.write(frame(manifest_bytes) + signature)
        for member in members:
            with (source / str(member["name"])).open("rb") as handle:
                for block in iter(lambda: handle.read(CHUNK_SIZE), b""):
                    writer.write(block)
        writer.close()
    return manifest


# --- opening -------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedPackage:
    """A verified package: its signed manifest and members extracted to ``directory``.

    ``package_sha256`` identifies the file; ``manifest_sha256`` identifies the signed
    content (the manifest names every member's SHA-256), so the same content sealed again
    under a new content key has a new ``package_sha256`` but the same ``manifest_sha256``.
    ``signer_key_id`` is the key id of the trusted key the signature verified with.
    """

    manifest: dict[str, Any]
    directory: Path
    package_sha256: str
    header: dict[str, Any]
    manifest_sha256: str
    signer_key_id: str
    created: dt.datetime

    def member(self, name: str) -> Path:
        return self.directory / name


def _fail(path: Path, problem: str) -> PackageVerifyError:
    return PackageVerifyError(f"{path}: {problem}; the package was not imported")


class _Reader(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _read_frame(handle: _Reader, path: Path, what: str, limit: int) -> bytes:
    size_bytes = handle.read(4)
    if len(size_bytes) != 4:
        raise _fail(path, f"truncated in the {what}")
    (size,) = struct.unpack(">I", size_bytes)
    if size > limit:
        raise _fail(path, f"{what} length is implausible (corrupted)")
    data = handle.read(size)
    if len(data) != size:
        raise _fail(path, f"truncated in the {what}")
    return data


def _chunks(
    handle: BinaryIO, path: Path, key: bytes, header_hash: bytes, chunk_size: int
) -> Iterator[bytes]:
    aead = ChaCha20Poly1305(key)
    index = 0
    current = handle.read(chunk_size + _TAG)
    while True:
        following = handle.read(chunk_size + _TAG)
        final = not following
        if len(current) < _TAG:
            raise _fail(path, "truncated (no final chunk)")
        try:
            yield aead.decrypt(_nonce(index, final=final), current, header_hash)
        except InvalidTag:
            if final:
                raise _fail(
                    path,
                    f"chunk {index} failed authentication or the file is "
                    "truncated or has bytes appended",
                ) from None
            raise _fail(path, f"chunk {index} failed authentication (tampered)") from None
        if final:
            return
        if len(current) != chunk_size + _TAG:
            raise _fail(path, f"chunk {index} has the wrong length")
        current, index = following, index + 1


class _Payload:
    """Reads the decrypted stream as a file-like sequence of exact-length reads."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, bytearray()

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def at_end(self) -> bool:
        return not self.read(1)


def _parse_header(path: Path, header_bytes: bytes) -> dict[str, Any]:
    try:
        header = json.loads(header_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _fail(path, "the header is not valid JSON (corrupted)") from None
    if not isinstance(header, dict) or header.get("format") != PACKAGE_FORMAT:
        raise _fail(path, f"not a {PACKAGE_FORMAT} package")
    chunk_size = header.get("chunk_size")
    # Anyone can encrypt to the TRE's public key, so bound what an unsigned header asks.
    if header.get("kem") not in KEMS or not isinstance(chunk_size, int):
        raise _fail(path, "the header names an unknown suite or chunk size")
    if not _MIN_CHUNK <= chunk_size <= _MAX_CHUNK:
        raise _fail(path, "the header's chunk size is out of range")
    return header


def _verify_manifest(
    path: Path,
    manifest_bytes: bytes,
    signature: bytes,
    trust: ed25519.Ed25519PublicKey,
    header: dict[str, Any],
    header_hash: bytes,
    recipient_id: str,
) -> dict[str, Any]:
    trusted_id = key_id(trust)
    try:
        trust.verify(signature, _SIGNATURE_CONTEXT + manifest_bytes)
    except InvalidSignature:
        raise _fail(
            path,
            f"the signature does not verify with the trusted key {trusted_id}; "
            "it was signed by another key or altered",
        ) from None
    try:
        manifest = json.loads(manifest_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _fail(path, "the signed manifest is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise _fail(path, "the signed manifest is not a JSON object")
    if manifest.get("header_sha256") != header_hash.hex():
        raise _fail(path, "the signed manifest does not match the header")
    if manifest.get("recipient_key_id") != recipient_id:
        raise _fail(path, "the signed manifest names another recipient")
    # The signature proves who signed; the ids written in the manifest and header are
    # only claims. A package whose claims name another signer is refused, so the TRE
    # never records a signer that did not sign.
    claims = {"manifest": manifest.get("signer_key_id"), "header": header.get("signer_key_id")}
    for where, claimed in claims.items():
        if claimed != trusted_id:
            raise _fail(
                path,
                f"the {where} names signer key {claimed!s} but the signature verified with "
                f"the trusted key {trusted_id}; a package must name the key that signed it",
            )
    _check_manifest_shape(path, manifest)
    return manifest


_SHA256_HEX = frozenset("0123456789abcdef")


def _check_manifest_shape(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse a signed manifest whose fields are not what ``build_package`` writes: a
    signing owner is trusted to vouch for content, not to write well-formed JSON."""
    members = manifest.get("members")
    if not isinstance(members, list) or not members:
        raise _fail(path, "the signed manifest's 'members' is not a non-empty list")
    seen: set[str] = set()
    for position, member in enumerate(members):
        where = f"the signed manifest's members[{position}]"
        if not isinstance(member, dict):
            raise _fail(path, f"{where} is not an object with name, size and sha256")
        name, size, digest = member.get("name"), member.get("size"), member.get("sha256")
        if not isinstance(name, str):
            raise _fail(path, f"{where} has no 'name'")
        if name not in MEMBER_NAMES:
            raise _fail(path, f"unexpected member {name!r}")
        if name in seen:
            raise _fail(path, f"member {name} is listed twice")
        seen.add(name)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise _fail(path, f"{where} ({name}) has no valid 'size' (a byte count)")
        if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _SHA256_HEX:
            raise _fail(path, f"{where} ({name}) has no valid 'sha256' (64 hex digits)")
    if not isinstance(manifest.get("extract", {}), dict):
        raise _fail(path, "the signed manifest's 'extract' is not an object")
    _created(path, manifest)


def _created(path: Path, manifest: dict[str, Any]) -> dt.datetime:
    """The package's signed creation time (timezone-aware)."""
    text = manifest.get("created")
    try:
        created = dt.datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        created = None
    if created is None or created.tzinfo is None:
        raise _fail(path, "the signed manifest has no valid 'created' time (ISO 8601, UTC)")
    return created


def _extract_members(path: Path, payload: _Payload, manifest: dict[str, Any], target: Path) -> None:
    for member in manifest["members"]:  # shapes checked by _check_manifest_shape
        name = str(member["name"])
        digest, remaining = hashlib.sha256(), int(member["size"])
        with (target / name).open("wb") as sink:
            while remaining:
                block = payload.read(min(remaining, CHUNK_SIZE))
                if not block:
                    raise _fail(path, f"member {name} is shorter than its manifest says")
                digest.update(block)
                sink.write(block)
                remaining -= len(block)
        if digest.hexdigest() != member["sha256"]:
            raise _fail(path, f"member {name} does not match its SHA-256 in the manifest")
    if not payload.at_end():
        raise _fail(path, "the payload has data beyond its listed members")


@contextlib.contextmanager
def open_package(
    package: str | os.PathLike[str],
    *,
    private_key: RecipientPrivateKey,
    trust: ed25519.Ed25519PublicKey,
    work_dir: str | os.PathLike[str] | None = None,
) -> Iterator[OpenedPackage]:
    """Verify a package and yield it with its members extracted; clean up afterwards.

    Every check (recipient, decryption and chunk authentication, signature, manifest,
    member sizes and hashes, no trailing data) has passed before this yields.
    """
    path = Path(package)
    if path.is_dir():
        raise PackageVerifyError(f"{path}: is a directory; give the .tlp package file")
    if not path.is_file():
        raise PackageVerifyError(f"{path}: package file not found")
    target = Path(tempfile.mkdtemp(prefix=".tlp-", dir=work_dir))
    try:
        os.chmod(target, 0o700)
        with path.open("rb") as handle:
            opened = _open(path, handle, private_key, trust, target)
        yield opened
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _open(
    path: Path,
    handle: BinaryIO,
    private_key: RecipientPrivateKey,
    trust: ed25519.Ed25519PublicKey,
    target: Path,
) -> OpenedPackage:
    if handle.read(len(MAGIC)) != MAGIC:
        raise _fail(path, "not a trelink package (bad magic bytes)")
    header_bytes = _read_frame(handle, path, "header", _MAX_HEADER)
    header = _parse_header(path, header_bytes)
    problem = recipient_problem(header, private_key)
    if problem is not None:
        raise _fail(path, problem)
    header_hash = hashlib.sha256(header_bytes).digest()
    sealed_key = _read_frame(handle, path, "sealed content key", 1 << 14)
    try:
        content_key = hpke_suite(header["kem"]).decrypt(
            sealed_key, private_key.key, info=_HPKE_INFO + header_hash
        )
    except (InvalidTag, ValueError):
        raise _fail(path, "the content key cannot be unsealed (tampered header or key)") from None
    payload = _Payload(_chunks(handle, path, content_key, header_hash, header["chunk_size"]))
    manifest_bytes = _read_frame(payload, path, "manifest", _MAX_MANIFEST)
    signature = payload.read(64)
    manifest = _verify_manifest(
        path, manifest_bytes, signature, trust, header, header_hash, private_key.key_id
    )
    _extract_members(path, payload, manifest, target)
    return OpenedPackage(
        manifest=manifest,
        directory=target,
        package_sha256=sha256_file(path),
        header=header,
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        signer_key_id=key_id(trust),
        created=_created(path, manifest),
    )
