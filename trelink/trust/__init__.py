"""The trust layer: what every role uses to trust a file, and no role owns.

Modules::

    trelink.trust.errors     TrustError and its branch (key files, packages)
    trelink.trust.keys       key files: the linkage secret, the TRE's HPKE pair, signers
    trelink.trust.canonical  the canonical JSON encodings of everything signed or hashed
    trelink.trust.hashing    SHA-256 of bytes and of files (streamed)
    trelink.trust.package    the transfer package container (``.tlp``): writing one and
                             opening it with every check
    trelink.trust.sealed     small sealed files (HPKE + Ed25519, one shot) between the
                             parties of a clerical review

The data owner builds packages (``pseudonymise.package.build_package``: what may go in);
the TRE opens them (``linkage.importer``); the export workflow signs its log and
requests with the same keys and canonical JSON. Nothing here imports a role package.
"""

__all__ = ["canonical", "errors", "hashing", "keys", "package", "sealed"]
