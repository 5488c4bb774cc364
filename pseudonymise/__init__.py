"""The data owner's side: keys, pseudonymisation with keyed tokens, transfer packages.

Public names are listed in ``__all__``; modules not named here are internal.
"""

from pseudonymise.bloom import BloomSettings, dice
from pseudonymise.canonical import CanonicalTable, check_canonical, read_canonical
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
    private_key_path,
    public_key_path,
)
from pseudonymise.normalise import NORMALISATION_VERSION
from pseudonymise.package import OpenedPackage, build_package, open_package
from pseudonymise.prepare import PreparedSource, prepare_source, write_prepared
from pseudonymise.risk import RiskReport
from pseudonymise.spec import PseudonymiseSpec, load_pseudonymise_spec
from pseudonymise.tables import PseudonymisedTables, pseudonymise_table, write_pseudonymised
from pseudonymise.tokens import hmac_sha256, match_key_subkey, record_pid_subkey

__all__ = [
    "NORMALISATION_VERSION",
    "BloomSettings",
    "CanonicalTable",
    "IdentifierLeakError",
    "InputError",
    "KeyFileError",
    "OpenedPackage",
    "PackageError",
    "PackageVerifyError",
    "PrepareError",
    "PreparedSource",
    "PseudonymiseError",
    "PseudonymiseSpec",
    "PseudonymisedTables",
    "RecipientPrivateKey",
    "RecipientPublicKey",
    "RiskReport",
    "build_package",
    "check_canonical",
    "dice",
    "generate_recipient_keypair",
    "generate_secret",
    "generate_signer_keypair",
    "hmac_sha256",
    "key_id",
    "load_pseudonymise_spec",
    "load_recipient_private_key",
    "load_recipient_public_key",
    "load_secret",
    "load_signing_private_key",
    "load_signing_public_key",
    "match_key_subkey",
    "open_package",
    "prepare_source",
    "private_key_path",
    "pseudonymise_table",
    "public_key_path",
    "read_canonical",
    "record_pid_subkey",
    "write_prepared",
    "write_pseudonymised",
]
