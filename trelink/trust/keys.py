"""Key files: the project linkage secret, owner secrets, the TRE's HPKE pair, signers.

Three kinds of key, each with a key id (a fingerprint manifests record):

* **secret** (``trelink keys secret``): 256 random bits for HMAC, written as one line
  ``trelink-secret-v1:<64 hex digits>`` with mode 0600. Its key id is an HMAC of a fixed
  label under the secret, so the id reveals nothing about the secret itself.
* **recipient** (``trelink keys recipient``): the TRE's HPKE key pair. X25519 by default
  (PKCS#8 / SubjectPublicKeyInfo PEM); ``mlkem768-x25519`` is the post-quantum hybrid,
  stored as two PEM blocks in one file (ML-KEM-768 first, then X25519) because
  ``cryptography`` has no single encoding for the hybrid key.
* **signer** (``trelink keys signer``): the owner's Ed25519 pair.

Public key ids are the first 16 hex digits of SHA-256 over the raw public key bytes
(for the hybrid, the ML-KEM bytes followed by the X25519 bytes).

Private files are written 0600 and refused when group or others may read them; no file
is ever overwritten. Errors name the file and what is wrong, never the key material.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519

from trelink.atomic import atomic_file
from trelink.trust.errors import KeyFileError

__all__ = [
    "RecipientKem",
    "RecipientPrivateKey",
    "RecipientPublicKey",
    "describe_key_file",
    "generate_recipient_keypair",
    "generate_secret",
    "generate_signer_keypair",
    "key_id",
    "load_recipient_private_key",
    "load_recipient_public_key",
    "load_secret",
    "load_signing_private_key",
    "load_signing_public_key",
    "private_key_path",
    "public_key_path",
]

RecipientKem = Literal["x25519", "mlkem768-x25519"]

SECRET_BYTES = 32
_SECRET_PREFIX = "trelink-secret-v1:"
_SECRET_ID_LABEL = b"trelink/key-id/v1"
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----\s*", re.DOTALL)


@dataclass(frozen=True)
class RecipientPublicKey:
    """The TRE's public HPKE key, ready for ``hpke.Suite.encrypt``."""

    kem: RecipientKem
    key: x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
    raw: bytes

    @property
    def key_id(self) -> str:
        return _fingerprint(self.raw)


@dataclass(frozen=True)
class RecipientPrivateKey:
    """The TRE's private HPKE key, ready for ``hpke.Suite.decrypt``."""

    kem: RecipientKem
    key: x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey
    public: RecipientPublicKey

    @property
    def key_id(self) -> str:
        return self.public.key_id


def private_key_path(prefix: str | os.PathLike[str]) -> Path:
    """``PREFIX.private.pem``."""
    return Path(f"{os.fspath(prefix)}.private.pem")


def public_key_path(prefix: str | os.PathLike[str]) -> Path:
    """``PREFIX.public.pem``."""
    return Path(f"{os.fspath(prefix)}.public.pem")


def _fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def key_id(
    key: bytes
    | RecipientPublicKey
    | RecipientPrivateKey
    | ed25519.Ed25519PublicKey
    | ed25519.Ed25519PrivateKey,
) -> str:
    """Fingerprint of a key: 16 hex digits, safe to publish in manifests and logs.

    For a secret (``bytes``) it is an HMAC of a fixed label under the secret, so it
    cannot be used to guess the secret; for key pairs it identifies the public key.
    """
    if isinstance(key, bytes):
        return hmac.new(key, _SECRET_ID_LABEL, hashlib.sha256).hexdigest()[:16]
    if isinstance(key, RecipientPublicKey | RecipientPrivateKey):
        return key.key_id
    public = key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key
    return _fingerprint(public.public_bytes_raw())


# --- writing -------------------------------------------------------------------------


def _refuse_existing(*paths: Path) -> None:
    for path in paths:
        if path.exists():
            raise KeyFileError(
                f"{path}: already exists; trelink never overwrites a key. "
                "Move it away or choose another --out"
            )


def _write(path: Path, data: bytes, *, private: bool) -> None:
    with atomic_file(path, mode=0o600 if private else 0o644) as temporary:
        temporary.write_bytes(data)


def generate_secret(path: str | os.PathLike[str]) -> str:
    """Write a fresh 256-bit secret to ``path`` (mode 0600) and return its key id."""
    target = Path(path)
    _refuse_existing(target)
    secret = secrets.token_bytes(SECRET_BYTES)
    _write(target, f"{_SECRET_PREFIX}{secret.hex()}\n".encode("ascii"), private=True)
    return key_id(secret)


def _pkcs8(key: x25519.X25519PrivateKey | mlkem.MLKEM768PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _spki(key: x25519.X25519PublicKey | mlkem.MLKEM768PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_recipient_keypair(
    prefix: str | os.PathLike[str], *, kem: RecipientKem = "x25519"
) -> str:
    """Write the TRE's HPKE pair as ``PREFIX.private.pem`` / ``.public.pem``; return key id."""
    private_path, public_path = private_key_path(prefix), public_key_path(prefix)
    _refuse_existing(private_path, public_path)
    classical = x25519.X25519PrivateKey.generate()
    private_pem = _pkcs8(classical)
    public_pem = _spki(classical.public_key())
    if kem == "mlkem768-x25519":
        post_quantum = mlkem.MLKEM768PrivateKey.generate()
        private_pem = _pkcs8(post_quantum) + private_pem
        public_pem = _spki(post_quantum.public_key()) + public_pem
    _write(private_path, private_pem, private=True)
    _write(public_path, public_pem, private=False)
    return load_recipient_public_key(public_path).key_id


def generate_signer_keypair(prefix: str | os.PathLike[str]) -> str:
    """Write an Ed25519 pair as ``PREFIX.private.pem`` / ``.public.pem``; return key id."""
    private_path, public_path = private_key_path(prefix), public_key_path(prefix)
    _refuse_existing(private_path, public_path)
    signer = ed25519.Ed25519PrivateKey.generate()
    private_pem = signer.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = signer.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write(private_path, private_pem, private=True)
    _write(public_path, public_pem, private=False)
    return key_id(signer)


# --- reading -------------------------------------------------------------------------


def _read(path: Path, *, private: bool) -> bytes:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: key file not found") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path}: is a directory, not a key file") from None
    except OSError as error:
        raise KeyFileError(f"{path}: cannot be read ({error.strerror})") from None
    if not stat.S_ISREG(mode):
        raise KeyFileError(f"{path}: not a regular file")
    # A public key where a private one is expected is a mix-up of the two halves, not an
    # exposed secret: say so before judging its (public, 0644) permissions.
    if private and b"PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        raise KeyFileError(
            f"{path}: holds a public key where a private key is expected; give the "
            "PREFIX.private.pem half of the pair"
        )
    if private and mode & 0o077:
        raise KeyFileError(
            f"{path}: permissions {stat.S_IMODE(mode):04o} let others read this private "
            f"key; run `chmod 600 {path}` (and consider whether it was exposed)"
        )
    if not data.strip():
        raise KeyFileError(f"{path}: key file is empty")
    return data


def load_secret(path: str | os.PathLike[str]) -> bytes:
    """Read a secret written by ``generate_secret`` (refused if mode is looser than 0600)."""
    source = Path(path)
    data = _read(source, private=True)
    text = data.decode("ascii", errors="replace").strip()
    if not text.startswith(_SECRET_PREFIX):
        kind = "a PEM key" if text.startswith("-----BEGIN") else "not a trelink secret"
        raise KeyFileError(f"{source}: {kind}; expected a secret made by `trelink keys secret`")
    digits = text.removeprefix(_SECRET_PREFIX)
    if len(digits) != 2 * SECRET_BYTES or not re.fullmatch(r"[0-9a-f]+", digits):
        raise KeyFileError(
            f"{source}: secret is truncated or corrupted (expected {2 * SECRET_BYTES} hex "
            f"digits, found {len(digits)} characters)"
        )
    return bytes.fromhex(digits)


def _pem_blocks(source: Path, data: bytes) -> list[bytes]:
    blocks = [match.group(0) for match in _PEM_BLOCK.finditer(data)]
    if not blocks:
        hint = " (it looks like a secret)" if data.startswith(_SECRET_PREFIX.encode()) else ""
        raise KeyFileError(f"{source}: no complete PEM key found{hint}; truncated or wrong file?")
    return blocks


def _parse_private(source: Path, block: bytes) -> object:
    try:
        return serialization.load_pem_private_key(block, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(
            f"{source}: not a readable private key (truncated, corrupted, encrypted, "
            "or a public key)"
        ) from None


def _parse_public(source: Path, block: bytes) -> object:
    try:
        return serialization.load_pem_public_key(block)
    except (ValueError, TypeError):
        raise KeyFileError(
            f"{source}: not a readable public key (truncated, corrupted, or a private key)"
        ) from None


def _describe(key: object) -> str:
    name = type(key).__name__.removeprefix("_")
    return name.replace("PrivateKey", " private key").replace("PublicKey", " public key")


def _wrong_type(source: Path, found: object, expected: str) -> KeyFileError:
    return KeyFileError(f"{source}: holds an {_describe(found)}; expected {expected}")


def _load_pem(path: str | os.PathLike[str], *, private: bool) -> tuple[Path, list[object]]:
    """The file's path and every key in it (private files must be 0600 or stricter)."""
    source = Path(path)
    blocks = _pem_blocks(source, _read(source, private=private))
    parse = _parse_private if private else _parse_public
    return source, [parse(source, block) for block in blocks]


_RECIPIENT = "an HPKE recipient key made by `trelink keys recipient`"
_SIGNER = "an Ed25519 key made by `trelink keys signer`"


def load_recipient_public_key(path: str | os.PathLike[str]) -> RecipientPublicKey:
    """Read the TRE's public key (X25519 or ML-KEM-768 + X25519)."""
    source, keys = _load_pem(path, private=False)
    if len(keys) == 1 and isinstance(keys[0], x25519.X25519PublicKey):
        return RecipientPublicKey("x25519", keys[0], keys[0].public_bytes_raw())
    if (
        len(keys) == 2
        and isinstance(keys[0], mlkem.MLKEM768PublicKey)
        and isinstance(keys[1], x25519.X25519PublicKey)
    ):
        hybrid = hpke.MLKEM768X25519PublicKey(keys[0], keys[1])
        raw = keys[0].public_bytes_raw() + keys[1].public_bytes_raw()
        return RecipientPublicKey("mlkem768-x25519", hybrid, raw)
    raise _wrong_type(source, keys[0], _RECIPIENT)


def load_recipient_private_key(path: str | os.PathLike[str]) -> RecipientPrivateKey:
    """Read the TRE's private key (refused if group or others may read it)."""
    source, keys = _load_pem(path, private=True)
    if len(keys) == 1 and isinstance(keys[0], x25519.X25519PrivateKey):
        classical_public = keys[0].public_key()
        raw_public = classical_public.public_bytes_raw()
        return RecipientPrivateKey(
            "x25519", keys[0], RecipientPublicKey("x25519", classical_public, raw_public)
        )
    if (
        len(keys) == 2
        and isinstance(keys[0], mlkem.MLKEM768PrivateKey)
        and isinstance(keys[1], x25519.X25519PrivateKey)
    ):
        post_quantum, classical = keys[0], keys[1]
        hybrid = hpke.MLKEM768X25519PrivateKey(post_quantum, classical)
        raw = (
            post_quantum.public_key().public_bytes_raw() + classical.public_key().public_bytes_raw()
        )
        hybrid_public = RecipientPublicKey("mlkem768-x25519", hybrid.public_key(), raw)
        return RecipientPrivateKey("mlkem768-x25519", hybrid, hybrid_public)
    raise _wrong_type(source, keys[0], _RECIPIENT)


def load_signing_private_key(path: str | os.PathLike[str]) -> ed25519.Ed25519PrivateKey:
    """Read an owner's (or checker's) Ed25519 signing key."""
    source, keys = _load_pem(path, private=True)
    if len(keys) != 1 or not isinstance(keys[0], ed25519.Ed25519PrivateKey):
        raise _wrong_type(source, keys[0], _SIGNER)
    return keys[0]


def describe_key_file(path: str | os.PathLike[str]) -> tuple[str, str]:
    """What kind of trelink key ``path`` holds, and its key id (never the key)."""
    source = Path(path)
    data = _read(source, private=False)
    if data.startswith(_SECRET_PREFIX.encode()):
        return "secret", key_id(load_secret(source))
    blocks = _pem_blocks(source, data)
    if b"PRIVATE KEY" in blocks[0]:
        for private_loader in (load_recipient_private_key, load_signing_private_key):
            try:
                loaded = private_loader(source)
            except KeyFileError as error:
                if "permissions" in str(error):
                    raise
                continue
            kind = (
                "Ed25519 private key"
                if isinstance(loaded, ed25519.Ed25519PrivateKey)
                else (f"{loaded.kem} recipient private key")
            )
            return kind, key_id(loaded)
    else:
        try:
            recipient = load_recipient_public_key(source)
            return f"{recipient.kem} recipient public key", recipient.key_id
        except KeyFileError:
            pass
        return "Ed25519 public key", key_id(load_signing_public_key(source))
    raise KeyFileError(f"{source}: not a key trelink made")


def load_signing_public_key(path: str | os.PathLike[str]) -> ed25519.Ed25519PublicKey:
    """Read an Ed25519 public key to verify signatures with."""
    source, keys = _load_pem(path, private=False)
    if len(keys) != 1 or not isinstance(keys[0], ed25519.Ed25519PublicKey):
        raise _wrong_type(source, keys[0], _SIGNER)
    return keys[0]
