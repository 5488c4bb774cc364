"""Hand-made packages for hostile tests: what a dishonest owner or a replaying insider
could produce with the keys they hold. Built from ``trelink.trust.package``'s own framing
so that every check except the one under test passes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from trelink.trust import package as tlp
from trelink.trust.hpke import frame, hpke_suite
from trelink.trust.keys import RecipientPrivateKey, RecipientPublicKey, key_id

__all__ = ["forge_package", "rewrap"]


def _seal(out: Path, header: bytes, recipient: RecipientPublicKey, payload: list[bytes]) -> None:
    header_hash = hashlib.sha256(header).digest()
    content_key = secrets.token_bytes(32)
    sealed = hpke_suite(recipient.kem).encrypt(
        content_key, recipient.key, info=tlp._HPKE_INFO + header_hash
    )
    with out.open("wb") as sink:
        sink.write(tlp.MAGIC + frame(header) + frame(sealed))
        writer = tlp._ChunkWriter(sink, content_key, header_hash)
        for part in payload:
            writer.write(part)
        writer.close()


def forge_package(
    extract: Path,
    out: Path,
    *,
    recipient: RecipientPublicKey,
    signing_key: ed25519.Ed25519PrivateKey,
    edit: Callable[[dict[str, Any]], None] | None = None,
    header_signer_id: str | None = None,
) -> dict[str, Any]:
    """A package of ``extract``'s members whose manifest ``edit`` may change before it is
    signed with ``signing_key``; the header may name another signer id."""
    names = [name for name in tlp.MEMBER_NAMES if (extract / name).exists()]
    data = {name: (extract / name).read_bytes() for name in names}
    header = json.dumps(
        {
            "format": tlp.PACKAGE_FORMAT,
            "kem": recipient.kem,
            "kdf": "HKDF-SHA256",
            "aead": "ChaCha20-Poly1305",
            "chunk_size": tlp.CHUNK_SIZE,
            "recipient_key_id": recipient.key_id,
            "signer_key_id": header_signer_id or key_id(signing_key),
        },
        sort_keys=True,
    ).encode()
    manifest: dict[str, Any] = {
        "format": tlp.PACKAGE_FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "header_sha256": hashlib.sha256(header).hexdigest(),
        "recipient_key_id": recipient.key_id,
        "signer_key_id": key_id(signing_key),
        "members": [
            {"name": name, "size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
            for name, blob in data.items()
        ],
        "extract": json.loads((extract / "manifest.json").read_text(encoding="utf-8")),
    }
    if edit is not None:
        edit(manifest)
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    signature = signing_key.sign(tlp._SIGNATURE_CONTEXT + manifest_bytes)
    _seal(out, header, recipient, [frame(manifest_bytes) + signature, *data.values()])
    return manifest


def rewrap(package: Path, out: Path, *, private_key: RecipientPrivateKey) -> None:
    """The same signed payload sealed again under a fresh content key, as anyone holding
    the TRE's private key could do: only the wrapping (and so the file's hash) changes."""
    with package.open("rb") as handle:
        assert handle.read(len(tlp.MAGIC)) == tlp.MAGIC
        header = tlp._read_frame(handle, package, "header", 1 << 16)
        sealed = tlp._read_frame(handle, package, "sealed key", 1 << 14)
        header_hash = hashlib.sha256(header).digest()
        content_key = hpke_suite(private_key.kem).decrypt(
            sealed, private_key.key, info=tlp._HPKE_INFO + header_hash
        )
        chunk_size = json.loads(header)["chunk_size"]
        payload = list(tlp._chunks(handle, package, content_key, header_hash, chunk_size))
    _seal(out, header, private_key.public, payload)
