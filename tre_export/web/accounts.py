"""Web sign-in, and how a decision made on the page is as attributable as one on the CLI.

Design (the threat model is written up in ``docs/output-checker.md``):

* A person's own private key never reaches the server. Instead ``trelink export passwd``
  (run by the person, with ``--key``) makes a fresh Ed25519 *web key*, and appends a
  ``web-key`` entry to the log, signed with the person's own key, that delegates to it.
  A new password makes a new web key and revokes the old one.
* The web key's private half is stored only encrypted (AES-256-GCM) under a key derived
  from the password with argon2id; the password is also checked against an argon2id
  hash. At rest, the server holds nothing that can sign.
* Signing in unwraps the web key into the server's memory for that session only; every
  decision on the page is signed with it, and the log records channel ``web``. The
  audit verifies it against the delegation, which verifies against the enrolment.

So forging a web decision needs the person's password (or a live, signed-in session on
the server), just as forging a CLI decision needs their private key file.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import asdict, dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tre_export.area import ExportArea
from tre_export.errors import IdentityError
from tre_export.model import ActionType, Channel, Enrolment
from tre_export.signing import Signer, public_key_raw
from tre_export.state import ProjectState, transaction
from trelink.atomic import atomic_file
from trelink.trust.canonical import canonical_json
from trelink.trust.keys import key_id

__all__ = ["MINIMUM_PASSWORD_LENGTH", "PasswordCost", "WebSession", "set_password", "sign_in"]

MINIMUM_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class PasswordCost:
    """argon2id cost; the default is RFC 9106's second recommended setting. The cost is
    stored with each account, so raising it later keeps old accounts usable."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            type=Type.ID,
        )

    def wrapping_key(self, password: str, salt: bytes) -> bytes:
        """The AES key that encrypts the web key, derived from the password."""
        return hash_secret_raw(
            password.encode("utf-8"),
            salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=32,
            type=Type.ID,
        )


@dataclass(frozen=True)
class WebSession:
    """A signed-in person and the signer for their decisions on the page."""

    person: Enrolment
    signer: Signer


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def set_password(
    area: ExportArea, *, owner: Signer, password: str, cost: PasswordCost | None = None
) -> Enrolment:
    """Set ``owner``'s web password: make, delegate and store (encrypted) a web key."""
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise IdentityError(
            f"the password must be at least {MINIMUM_PASSWORD_LENGTH} characters long"
        )
    cost = cost or PasswordCost()
    web_key = ed25519.Ed25519PrivateKey.generate()
    web_key_id = key_id(web_key)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    associated = f"{owner.actor_key_id}:{web_key_id}".encode("ascii")
    wrapped = AESGCM(cost.wrapping_key(password, salt)).encrypt(
        nonce, web_key.private_bytes_raw(), associated
    )
    account = {
        "version": 1,
        "actor": owner.actor_key_id,
        "web_key_id": web_key_id,
        "password_hash": cost.hasher().hash(password),
        "cost": asdict(cost),
        "salt": _b64(salt),
        "nonce": _b64(nonce),
        "wrapped_key": _b64(wrapped),
    }
    with transaction(area) as work:
        person = work.state.active_person(owner.actor_key_id)
        with atomic_file(area.accounts_dir / f"{owner.actor_key_id}.json", mode=0o600) as temp:
            temp.write_bytes(canonical_json(account) + b"\n")
            action = {"type": ActionType.WEB_KEY.value, "public_key": _b64(public_key_raw(web_key))}
            work.append(owner, action)
    return person


def _refused() -> IdentityError:
    # One message for every failure, so the page does not tell who is enrolled.
    return IdentityError("wrong name or password")


def sign_in(area: ExportArea, state: ProjectState, *, name: str, password: str) -> WebSession:
    """Check ``password`` for the person enrolled as ``name``; unwrap their web key."""
    person = state.active_by_name(name)
    account_path = area.accounts_dir / f"{person.key_id if person else 'none'}.json"
    if person is None or not account_path.is_file():
        PasswordCost().hasher().hash(password)  # spend the time a real attempt takes
        raise _refused()
    try:
        account = json.loads(account_path.read_text(encoding="utf-8"))
        cost = PasswordCost(**account["cost"])
        cost.hasher().verify(account["password_hash"], password)
        salt, nonce, wrapped = (
            base64.b64decode(account[field], validate=True)
            for field in ("salt", "nonce", "wrapped_key")
        )
        associated = f"{person.key_id}:{account['web_key_id']}".encode("ascii")
        raw = AESGCM(cost.wrapping_key(password, salt)).decrypt(nonce, wrapped, associated)
    except (VerificationError, InvalidHashError, InvalidTag):
        raise _refused() from None
    except (OSError, ValueError, KeyError, TypeError, binascii.Error):
        raise IdentityError(
            f"{account_path}: the web account is damaged; run passwd again"
        ) from None
    web_key = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
    delegated = state.web_keys.get(key_id(web_key))
    if delegated is None or delegated[0] != person.key_id:
        raise IdentityError(
            f"the web key of {person.name} is not (or no longer) delegated in the log; "
            "run `trelink export passwd` again"
        )
    return WebSession(
        person, Signer(actor_key_id=person.key_id, channel=Channel.WEB, private_key=web_key)
    )
