"""Optional, opt-in: keyed Bloom-filter (CLK-style) encodings of names for Dice similarity.

Exact-match tokens cannot say that KHALED and KHALID are close; a Bloom filter of each
name's letter bigrams can, by the Dice coefficient of two filters. Enabled only by the
pseudonymise spec::

    bloom:
      fields: [forename, surname]
      bits: 1024       # filter length before folding; a multiple of 16
      hashes: 15       # bit positions per bigram
      salt_with_birth_year: true

Hardening, because plain Bloom filters of names fall to frequency and pattern-mining
attacks:

* **keyed hashing**: bit positions come from HMAC-SHA256 under an HKDF subkey of the
  linkage key per field (``info = trelink/bloom/v1/<field>``), so nobody without the
  key can build a dictionary of filters;
* **attribute salting**: with ``salt_with_birth_year`` each bigram is hashed together
  with the year of birth, so the same name in different birth cohorts sets unrelated
  bits (two records can only agree when their birth years agree; leave it off when
  years of birth are often wrong);
* **XOR folding**: the two halves of the filter are XORed together, which breaks the
  link between single bits and single bigrams.

Each field becomes a ``binary`` column ``bf_<field>`` in ``identity.parquet`` (null
when the name is missing). ``dice`` compares two of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from pydantic import Field, field_validator

from pseudonymise.encoded import Encoded
from pseudonymise.tokens import Hmac, bloom_subkey
from trelink.specs.loader import FrozenModel

__all__ = ["BloomSettings", "bigrams", "bloom_column", "dice"]


class BloomSettings(FrozenModel):
    """The ``bloom:`` section of the pseudonymise spec."""

    fields: tuple[str, ...] = ("forename", "surname")
    bits: int = Field(default=1024, ge=64, le=8192)
    hashes: int = Field(default=15, ge=1, le=64)
    salt_with_birth_year: bool = False

    @field_validator("bits")
    @classmethod
    def _foldable(cls, bits: int) -> int:
        if bits % 16:
            raise ValueError("bits must be a multiple of 16 (folded in half, then bytes)")
        return bits

    @field_validator("fields")
    @classmethod
    def _names_only(cls, fields: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(fields) - {"forename", "surname"})
        if unknown:
            raise ValueError(f"Bloom filters encode forename and surname only, not {unknown}")
        return fields


def bigrams(name: str) -> list[str]:
    """Letter bigrams of ``_NAME_``, so first and last letters count as much as others."""
    padded = f"_{name}_"
    return [padded[index : index + 2] for index in range(len(padded) - 1)]


def _filter(name: str, salt: str, hmac: Hmac, settings: BloomSettings) -> bytes:
    bits = np.zeros(settings.bits, dtype=bool)
    for bigram in bigrams(name):
        digest = hmac.digest(f"{salt}\x1f{bigram}".encode())
        # double hashing (Kirsch-Mitzenmacher): position_i = h1 + i * h2
        first = int.from_bytes(digest[:8], "big")
        second = int.from_bytes(digest[8:16], "big") | 1
        positions = [(first + index * second) % settings.bits for index in range(settings.hashes)]
        bits[positions] = True
    half = settings.bits // 2
    return np.packbits(bits[:half] ^ bits[half:]).tobytes()


def bloom_column(
    names: Encoded,
    *,
    field: str,
    linkage_key: bytes,
    settings: BloomSettings,
    birth_years: Sequence[str | None] | None = None,
) -> pa.Array:
    """Filters for every row of a normalised name column, computed per distinct value.

    ``birth_years`` (one per row) salts each filter when the settings ask for it.
    """
    hmac = Hmac(bloom_subkey(linkage_key, field))
    salts: list[str] = (
        [year or "" for year in birth_years]
        if settings.salt_with_birth_year and birth_years is not None
        else [""] * len(names.codes)
    )
    cache: dict[tuple[int, str], bytes] = {}
    values: list[bytes | None] = []
    for code, salt in zip(names.codes.tolist(), salts, strict=True):
        if code < 0:
            values.append(None)
            continue
        key = (code, salt)
        if key not in cache:
            cache[key] = _filter(names.values[code], salt, hmac, settings)
        values.append(cache[key])
    return pa.array(values, pa.binary(settings.bits // 16))


def dice(left: bytes, right: bytes) -> float:
    """Dice coefficient of two filters: 2|A∩B| / (|A| + |B|)."""
    first: npt.NDArray[np.uint8] = np.unpackbits(np.frombuffer(left, dtype=np.uint8))
    second: npt.NDArray[np.uint8] = np.unpackbits(np.frombuffer(right, dtype=np.uint8))
    total = int(first.sum()) + int(second.sum())
    return 2 * int((first & second).sum()) / total if total else 0.0
