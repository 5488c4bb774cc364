"""A package built before the trust layer existed still opens, and its signed bytes are
what the package encoding reproduces.

``data/before-trust-layer.tlp`` was built by ``pseudonymise/package.py`` as of commit
1c2453b (the last before ``trelink.trust``) from 8 synthetic people of
``tests/pseudonymise/conftest.py``; ``tre.private.pem`` and ``owner.public.pem`` are
that run's throwaway test keys.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pyarrow.parquet as pq

from trelink.trust import keys
from trelink.trust.canonical import PACKAGE_JSON, canonical_json
from trelink.trust.hashing import sha256_bytes
from trelink.trust.package import MAGIC, open_package

DATA = Path(__file__).parent / "data"


def test_a_package_built_before_the_trust_layer_opens(tmp_path: Path) -> None:
    private = tmp_path / "tre.private.pem"
    shutil.copy(DATA / "tre.private.pem", private)
    private.chmod(0o600)  # a checkout does not keep the mode; key loading insists on it
    with open_package(
        DATA / "before-trust-layer.tlp",
        private_key=keys.load_recipient_private_key(private),
        trust=keys.load_signing_public_key(DATA / "owner.public.pem"),
    ) as opened:
        assert pq.read_table(opened.member("identity.parquet")).num_rows == 8
        assert pq.read_table(opened.member("attributes.parquet")).num_rows == 8
        # Import recomputes this digest for datasets imported before it was kept.
        signed = canonical_json(opened.manifest, encoding=PACKAGE_JSON)
        assert sha256_bytes(signed) == opened.manifest_sha256
        header = opened.header
    data = (DATA / "before-trust-layer.tlp").read_bytes()
    (length,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    header_bytes = data[len(MAGIC) + 4 : len(MAGIC) + 4 + length]
    assert canonical_json(header, encoding=PACKAGE_JSON) == header_bytes
