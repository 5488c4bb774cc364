"""Build a signed, encrypted transfer package (``.tlp``) from a pseudonymised extract.

The container (layout, encryption, signature, and every check on opening) is the trust
layer's: ``trelink.trust.package``. This module decides what may go in: the members of
a ``trelink pseudonymise`` output directory, never the owner's lookup, and no column
whose *values* look like direct identifiers (see ``identifiers``); each member must
still match the checksum ``pseudonymise`` recorded for it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from pseudonymise.errors import PackageError
from pseudonymise.identifiers import check_members
from trelink.trust.hashing import sha256_file
from trelink.trust.keys import RecipientPublicKey
from trelink.trust.package import MEMBER_NAMES, write_package

__all__ = ["build_package"]


def build_package(
    directory: str | os.PathLike[str],
    *,
    recipient: RecipientPublicKey,
    signing_key: ed25519.Ed25519PrivateKey,
    out: str | os.PathLike[str],
) -> dict[str, Any]:
    """Package a ``trelink pseudonymise`` output directory; return the signed manifest."""
    source = Path(directory)
    if not source.is_dir():
        what = "not found" if not source.exists() else "not a directory"
        raise PackageError(f"{source}: {what}; give the output directory of `trelink pseudonymise`")
    try:
        extract_manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(f"{source}: no manifest.json; is this a pseudonymise output?") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PackageError(f"{source / 'manifest.json'}: not valid JSON") from None
    if not isinstance(extract_manifest, dict):
        raise PackageError(f"{source / 'manifest.json'}: not a pseudonymise manifest (an object)")
    names = [name for name in MEMBER_NAMES if (source / name).exists()]
    if not names:
        raise PackageError(f"{source}: holds neither identity.parquet nor attributes.parquet")
    check_members(
        [source / name for name in names],
        lookup=source / "lookup.parquet",
        token_columns=extract_manifest.get("token_columns", ()),
    )
    members = [
        {
            "name": name,
            "size": (source / name).stat().st_size,
            "sha256": sha256_file(source / name),
        }
        for name in names
    ]
    recorded = extract_manifest.get("members", {})
    if not isinstance(recorded, dict):
        raise PackageError(
            f"{source / 'manifest.json'}: 'members' is not a mapping of file name to SHA-256; "
            "pseudonymise again"
        )
    for member in members:
        expected = recorded.get(member["name"])
        if expected is not None and expected != member["sha256"]:
            raise PackageError(
                f"{source / str(member['name'])}: changed since `trelink pseudonymise` wrote it "
                "(checksum differs from manifest.json); pseudonymise again"
            )
    return write_package(
        out,
        source=source,
        members=members,
        extract=extract_manifest,
        recipient=recipient,
        signing_key=signing_key,
    )
