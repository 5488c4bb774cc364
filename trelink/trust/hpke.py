"""What both sealed containers share: transfer packages (``trelink.trust.package``) and
sealed review files (``trelink.trust.sealed``) are encrypted to the recipient with one
of the same HPKE suites (RFC 9180, base mode: X25519 or ML-KEM-768 + X25519 with
HKDF-SHA256 and ChaCha20-Poly1305), frame their parts the same way, and refuse a
private key that is not the one the clear header names.
"""

from __future__ import annotations

import struct
from typing import Any

from cryptography.hazmat.primitives import hpke

from trelink.trust.keys import RecipientPrivateKey

__all__ = ["KEMS", "frame", "hpke_suite", "recipient_problem"]

KEMS = {"x25519": hpke.KEM.X25519, "mlkem768-x25519": hpke.KEM.MLKEM768_X25519}


def hpke_suite(kem: str) -> hpke.Suite:
    """The HPKE suite of a key encapsulation named in ``KEMS``."""
    return hpke.Suite(KEMS[kem], hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def frame(data: bytes) -> bytes:
    """``data`` after its length (4 bytes, big-endian)."""
    return struct.pack(">I", len(data)) + data


def recipient_problem(header: dict[str, Any], private_key: RecipientPrivateKey) -> str | None:
    """Why a container whose clear ``header`` names its recipient cannot be opened with
    ``private_key`` (another recipient, another key type); ``None`` when it can."""
    claimed = header.get("recipient_key_id")
    if claimed != private_key.key_id:
        return (
            f"addressed to recipient key {claimed!s}, but the private key given is "
            f"{private_key.key_id}"
        )
    if header.get("kem") != private_key.kem:
        return "sealed with another key type than the private key given"
    return None
