"""The data owner's side: keys, pseudonymisation with keyed tokens, transfer packages.

Public names are listed in ``__all__``; modules not named here are internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trelink.lazy import lazy_module_hooks

if TYPE_CHECKING:
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
    from pseudonymise.normalise import NORMALISATION_VERSION
    from pseudonymise.package import build_package
    from pseudonymise.prepare import PreparedSource, prepare_source, write_prepared
    from pseudonymise.risk import RiskReport
    from pseudonymise.spec import PseudonymiseSpec, load_pseudonymise_spec
    from pseudonymise.tables import PseudonymisedTables, pseudonymise_table, write_pseudonymised
    from pseudonymise.tokens import hmac_sha256, match_key_subkey, record_pid_subkey
    from trelink.trust.keys import (
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
    from trelink.trust.package import OpenedPackage, open_package

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

# Public name -> the module that defines it, imported on first use (trelink.lazy).
_EXPORTS: dict[str, str] = {
    "NORMALISATION_VERSION": "pseudonymise.normalise",
    "BloomSettings": "pseudonymise.bloom",
    "CanonicalTable": "pseudonymise.canonical",
    "IdentifierLeakError": "pseudonymise.errors",
    "InputError": "pseudonymise.errors",
    "KeyFileError": "pseudonymise.errors",
    "OpenedPackage": "trelink.trust.package",
    "PackageError": "pseudonymise.errors",
    "PackageVerifyError": "pseudonymise.errors",
    "PrepareError": "pseudonymise.errors",
    "PreparedSource": "pseudonymise.prepare",
    "PseudonymiseError": "pseudonymise.errors",
    "PseudonymiseSpec": "pseudonymise.spec",
    "PseudonymisedTables": "pseudonymise.tables",
    "RecipientPrivateKey": "trelink.trust.keys",
    "RecipientPublicKey": "trelink.trust.keys",
    "RiskReport": "pseudonymise.risk",
    "build_package": "pseudonymise.package",
    "check_canonical": "pseudonymise.canonical",
    "dice": "pseudonymise.bloom",
    "generate_recipient_keypair": "trelink.trust.keys",
    "generate_secret": "trelink.trust.keys",
    "generate_signer_keypair": "trelink.trust.keys",
    "hmac_sha256": "pseudonymise.tokens",
    "key_id": "trelink.trust.keys",
    "load_pseudonymise_spec": "pseudonymise.spec",
    "load_recipient_private_key": "trelink.trust.keys",
    "load_recipient_public_key": "trelink.trust.keys",
    "load_secret": "trelink.trust.keys",
    "load_signing_private_key": "trelink.trust.keys",
    "load_signing_public_key": "trelink.trust.keys",
    "match_key_subkey": "pseudonymise.tokens",
    "open_package": "trelink.trust.package",
    "prepare_source": "pseudonymise.prepare",
    "private_key_path": "trelink.trust.keys",
    "pseudonymise_table": "pseudonymise.tables",
    "public_key_path": "trelink.trust.keys",
    "read_canonical": "pseudonymise.canonical",
    "record_pid_subkey": "pseudonymise.tokens",
    "write_prepared": "pseudonymise.prepare",
    "write_pseudonymised": "pseudonymise.tables",
}


__getattr__, __dir__ = lazy_module_hooks(__name__, _EXPORTS)
