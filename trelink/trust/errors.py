"""Errors of the trust layer (keys, packages), shared by every role.

Exception tree::

    TrelinkError
    └── TrustError                   a key or a package cannot be trusted or used
        ├── KeyFileError             a key file is missing, of the wrong type, truncated,
        │                            has loose permissions, or would be overwritten
        └── PackageError             a package could not be built, or failed a check
            └── PackageVerifyError   signature, recipient, checksum, chunk or framing check
                                     failed while opening a package

The data owner's ``pseudonymise.errors`` adds ``IdentifierLeakError`` under
``PackageError``. Messages name the file and the check; never a key or a value.
"""

from __future__ import annotations

from trelink.errors import TrelinkError

__all__ = ["KeyFileError", "PackageError", "PackageVerifyError", "TrustError"]


class TrustError(TrelinkError):
    """Root of the trust layer's errors."""


class KeyFileError(TrustError):
    """A key file is missing, wrong, truncated, too open, or would be overwritten."""


class PackageError(TrustError):
    """A transfer package could not be built or opened."""


class PackageVerifyError(PackageError):
    """An integrity or authenticity check failed while opening a package."""
