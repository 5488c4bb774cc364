"""The data owner's side: keys, pseudonymisation with keyed tokens, transfer packages.

Public names are listed in ``__all__``; modules not named here are internal.
"""

from pseudonymise.errors import (
    IdentifierLeakError,
    InputError,
    KeyFileError,
    PackageError,
    PackageVerifyError,
    PrepareError,
    PseudonymiseError,
)
from pseudonymise.keys import (
    RecipientPrivateKey,
    RecipientPublicKey,
    generate_recipient_keypair,
    generate_secret,
    generate_signer_keypair,
    key_id,
    load_recipient_private_key,
    load_recipient_public_key,
    load_secret,
    load_signing_private_key,
    load_signing_public_key,
)

__all__ = [
    "IdentifierLeakError",
    "InputError",
    "KeyFileError",
    "PackageError",
    "PackageVerifyError",
    "PrepareError",
    "PseudonymiseError",
    "RecipientPrivateKey",
    "RecipientPublicKey",
    "generate_recipient_keypair",
    "generate_secret",
    "generate_signer_keypair",
    "key_id",
    "load_recipient_private_key",
    "load_recipient_public_key",
    "load_secret",
    "load_signing_private_key",
    "load_signing_public_key",
]
