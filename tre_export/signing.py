"""Who signs an action, and how signatures are checked.

A ``Signer`` pairs the enrolled person an action is attributed to (the actor) with the
private key that signs it. On the command line the two are the same key: the person's
own Ed25519 key, loaded through ``trelink.trust.keys`` so every role reads key files one
way. On the web page the signer is the web key the person delegated with their own key
(see ``web/accounts.py``). Signatures cover a domain label and the canonical JSON of the
entry, so a signature made for another purpose can never be replayed into the log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from tre_export.model import Channel
from trelink.trust.keys import key_id, load_signing_private_key, load_signing_public_key

__all__ = [
    "Signer",
    "cli_signer",
    "public_key_id",
    "public_key_raw",
    "read_public_key",
    "verify_signature",
]

_DOMAIN = b"trelink/export-log/v1\n"


@dataclass(frozen=True)
class Signer:
    """The actor an action is attributed to and the private key that signs it."""

    actor_key_id: str
    channel: Channel
    private_key: ed25519.Ed25519PrivateKey

    @property
    def signer_key_id(self) -> str:
        return key_id(self.private_key)

    def sign(self, payload: bytes) -> bytes:
        return self.private_key.sign(_DOMAIN + payload)


def cli_signer(private_key_path: str | os.PathLike[str]) -> Signer:
    """The signer for ``--key PRIVATE``: the person is whoever enrolled its public key."""
    private_key = load_signing_private_key(private_key_path)
    return Signer(actor_key_id=key_id(private_key), channel=Channel.CLI, private_key=private_key)


def public_key_raw(key: ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of a public key (what enrolments record)."""
    public = key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key
    return public.public_bytes_raw()


def public_key_id(raw: bytes) -> str:
    """Key id of a raw public key; ``ValueError`` if the bytes are not an Ed25519 key."""
    return key_id(ed25519.Ed25519PublicKey.from_public_bytes(raw))


def read_public_key(path: str | os.PathLike[str]) -> bytes:
    """Raw bytes of the Ed25519 public key in a PEM file made by ``trelink keys signer``."""
    return public_key_raw(load_signing_public_key(path))


def verify_signature(public_raw: bytes, payload: bytes, signature: bytes) -> bool:
    """True when ``signature`` is the holder of ``public_raw`` signing ``payload``."""
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, _DOMAIN + payload)
    except (InvalidSignature, ValueError):
        return False
    return True
