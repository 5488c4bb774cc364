"""HMAC-SHA256 against RFC 4231, HKDF domain separation, token determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pseudonymise.tokens import (
    PIECE_VALUES,
    Hmac,
    HmacJob,
    hmac_sha256,
    match_key_subkey,
    record_pid_subkey,
    run_hmac_jobs,
)

_LONG_KEY = b"\xaa" * 131
RFC_4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        b"\xaa" * 20,
        b"\xdd" * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ),
    (
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (
        _LONG_KEY,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        _LONG_KEY,
        b"This is a test using a larger than block-size key and a larger than block-size data."
        b" The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]


@pytest.mark.parametrize(("key", "message", "expected"), RFC_4231)
def test_hmac_sha256_rfc_4231(key: bytes, message: bytes, expected: str) -> None:
    assert hmac_sha256(key, message).hex() == expected


def test_rfc_4231_truncated_case() -> None:
    digest = hmac_sha256(b"\x0c" * 20, b"Test With Truncation")
    assert digest[:16].hex() == "a3b6167473100ee06e0c796c2955552b"


def test_tokens64_are_the_first_64_bits_big_endian() -> None:
    key = b"k" * 32
    token = Hmac(key).tokens64(["SMITH"])[0]
    expected = int.from_bytes(hmac_sha256(key, b"SMITH")[:8], "big", signed=True)
    assert token == expected
    assert Hmac(key).tokens64([]).dtype == np.int64


def test_subkeys_are_separated_by_domain_and_purpose() -> None:
    key = bytes(32)
    subkeys = {
        match_key_subkey(key, "name_part"),
        match_key_subkey(key, "full_name"),
        record_pid_subkey(key),
        key,
    }
    assert len(subkeys) == 4
    assert match_key_subkey(key, "dob") == match_key_subkey(key, "dob")


names = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20, unique=True)


@given(values=names, key=st.binary(min_size=32, max_size=32))
def test_same_key_gives_same_tokens_every_run(values: list[str], key: bytes) -> None:
    first = Hmac(match_key_subkey(key, "name_part")).tokens64(values)
    again = Hmac(match_key_subkey(key, "name_part")).tokens64(list(values))
    assert first.tolist() == again.tolist()
    assert len(set(first.tolist())) == len(values)


@given(
    values=names,
    key=st.binary(min_size=32, max_size=32),
    other=st.binary(min_size=32, max_size=32),
)
def test_another_key_shares_no_token(values: list[str], key: bytes, other: bytes) -> None:
    if key == other:
        return
    ours = set(Hmac(match_key_subkey(key, "name_part")).tokens64(values).tolist())
    theirs = set(Hmac(match_key_subkey(other, "name_part")).tokens64(values).tolist())
    assert not ours & theirs


def test_worker_processes_give_the_same_digests_in_order() -> None:
    values = [f"NAME{index}" for index in range(PIECE_VALUES + 7)]
    jobs = [HmacJob(b"a" * 32, values, 8), HmacJob(b"b" * 32, values[:3], 16)]
    serial = run_hmac_jobs(jobs, workers=1)
    assert run_hmac_jobs(jobs, workers=2) == serial
    assert serial[0][:8] == hmac_sha256(b"a" * 32, b"NAME0")[:8]
    assert len(serial[1]) == 3 * 16
