"""Errors raised on the data owner's side of the boundary.

Exception tree::

    TrelinkError
    ├── PseudonymiseError            anything the owner-side tools refuse or cannot do
    │   ├── PrepareError             a raw extract could not be read or harmonised
    │   └── InputError               a canonical extract is unusable (missing or
    │                                duplicated columns, an undecodable or misshapen file,
    │                                duplicate record ids, empty file); bad values are
    │                                nulled and counted instead
    └── TrustError                   the trust layer's (``trelink.trust.errors``): keys and
        │                            packages, which every role uses
        ├── KeyFileError             a key file is missing, of the wrong type, truncated,
        │                            has loose permissions, or would be overwritten
        └── PackageError             a package could not be built, or failed a check
            ├── IdentifierLeakError  a member would carry direct identifiers or the lookup
            └── PackageVerifyError   signature, recipient, checksum, chunk or framing check
                                     failed while opening a package

Every message names the file (and row and column where there is one) and says how to
fix the problem. No message ever contains an identifier value, a key, or a token.
"""

from __future__ import annotations

from trelink.errors import TrelinkError
from trelink.trust.errors import KeyFileError, PackageError, PackageVerifyError

__all__ = [
    "IdentifierLeakError",
    "InputError",
    "KeyFileError",
    "PackageError",
    "PackageVerifyError",
    "PrepareError",
    "PseudonymiseError",
]


class PseudonymiseError(TrelinkError):
    """Root of every error the owner-side tools raise deliberately."""


class PrepareError(PseudonymiseError):
    """A raw extract could not be read or harmonised by its dataset spec."""


class InputError(PseudonymiseError):
    """A canonical extract cannot be pseudonymised as it stands."""


class IdentifierLeakError(PackageError):
    """A package member would carry direct identifiers or the re-identification lookup."""
