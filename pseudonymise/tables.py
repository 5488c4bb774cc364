"""Pseudonymise a canonical table: identity tokens, attributes, the owner's lookup.

``pseudonymise_table`` splits one canonical table into

* ``identity``: ``record_pid`` then one column per match key, in spec order (scalar keys
  ``int64``, list keys ``list<int64>``, null where the source value is missing or
  invalid). Event tables (no identifier columns) have no identity table;
* ``attributes``: ``record_pid`` then every non-identifying column (``sex`` included,
  as a low-risk attribute), minus the spec's ``drop`` list. Columns named in the spec's
  ``owner_ids`` (by default ``person_ref``, the justice system's person number) are
  replaced by an HMAC under the owner's key, so rows still group by person but the
  number cannot be looked up outside the owner;
* ``lookup``: ``record_id``, ``record_pid``; it stays with the owner;
* ``manifest``: versions, key ids, row counts, token columns, counts of invalid values
  and the risk report. It never holds a value, a token or a key.

``write_pseudonymised`` writes them as ``identity.parquet``, ``attributes.parquet``,
``lookup.parquet`` and ``manifest.json`` into a directory that appears complete or not
at all.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pseudonymise.bloom import BloomSettings, bloom_column
from pseudonymise.canonical import (
    AttributeColumns,
    CanonicalTable,
    SpecProblems,
    attribute_columns,
    check_canonical,
    duplicate_record_ids,
)
from pseudonymise.encoded import Encoded, EncodedLists, encode
from pseudonymise.errors import InputError
from pseudonymise.match_keys import DerivedKeys, derive_match_keys, derive_parts
from pseudonymise.normalise import NORMALISATION_VERSION
from pseudonymise.risk import RiskReport, assess_risk
from pseudonymise.spec import PseudonymiseSpec
from pseudonymise.tokens import (
    HmacBatch,
    HmacJob,
    default_workers,
    hex_strings,
    int64_tokens,
    match_key_subkey,
    owner_id_subkey,
    record_pid_subkey,
)
from trelink.atomic import atomic_directory
from trelink.specs.match_keys import MatchKey, MatchKeySpec, load_match_key_spec
from trelink.trust.canonical import PACKAGE_JSON, canonical_json
from trelink.trust.hashing import sha256_bytes, sha256_file
from trelink.trust.keys import key_id

__all__ = [
    "MANIFEST_FORMAT",
    "PseudonymisedTables",
    "pseudonymise_table",
    "write_pseudonymised",
]

MANIFEST_FORMAT = "trelink-pseudonymised/v1"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PseudonymisedTables:
    """The owner's output for one canonical table."""

    identity: pa.Table | None
    attributes: pa.Table
    lookup: pa.Table
    manifest: dict[str, Any]
    risk: RiskReport = field(repr=False)


def _hmac_values(part: Encoded | EncodedLists) -> pa.Array:
    if isinstance(part, Encoded):
        return part.array
    return pa.array([item for items in part.lists for item in items], pa.string())


def _token_array(part: Encoded | EncodedLists, distinct: npt.NDArray[np.int64]) -> pa.Array:
    """Broadcast tokens of the distinct values (in ``_hmac_values`` order) to the rows."""
    valid = part.codes >= 0
    safe_codes = np.where(valid, part.codes, 0)
    if isinstance(part, Encoded):
        if len(distinct) == 0:
            return pa.nulls(len(part.codes), pa.int64())
        return pa.array(distinct[safe_codes], pa.int64(), mask=~valid)
    lengths = np.fromiter((len(items) for items in part.lists), np.int64, len(part.lists))
    if len(lengths) == 0:
        return pa.nulls(len(part.codes), pa.list_(pa.int64()))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    row_lengths = np.where(valid, lengths[safe_codes], 0)
    offsets = np.concatenate([[0], np.cumsum(row_lengths)]).astype(np.int32)
    # For each row, the positions starts[code] .. starts[code] + length - 1 of the flat list.
    index = np.repeat(starts[safe_codes] - offsets[:-1], row_lengths) + np.arange(offsets[-1])
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(distinct[index], pa.int64()), mask=pa.array(~valid)
    )


def _spec_columns(
    canonical: CanonicalTable, settings: PseudonymiseSpec, spec_source: str | None
) -> AttributeColumns:
    """The dropped, owner-keyed and quasi-identifier columns the spec names, as the
    table calls them; what the table cannot give is refused in one error
    (``read_canonical`` given the same lists has refused it already)."""
    problems = SpecProblems()
    chosen = attribute_columns(
        canonical.names, canonical.table.column_names, settings.attribute_lists(), problems
    )
    if problems:
        raise problems.error(spec_source, canonical.source)
    return chosen


def _as_table(frame: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(frame, preserve_index=False)


def _spec_digest(spec: MatchKeySpec) -> str:
    return sha256_bytes(canonical_json(spec.model_dump(mode="json"), encoding=PACKAGE_JSON))


@dataclass(frozen=True)
class _Hashed:
    """Every HMAC of one table, broadcast back to rows."""

    pid_column: pa.Array
    lookup: pa.Table
    identity: pa.Table | None
    owner_ids: dict[str, pa.Array]


def _hash_everything(
    canonical: CanonicalTable,
    *,
    linkage_key: bytes,
    owner_key: bytes,
    spec: MatchKeySpec,
    owner_id_columns: list[str],
    unique_record_id: bool,
    workers: int | None,
    report: Progress,
) -> tuple[_Hashed, DerivedKeys]:
    """Derive match keys and hash them; workers hash while the next key is derived."""
    table = canonical.table
    record_codes = encode(table.column("record_id"))
    if unique_record_id and not canonical.is_events and len(record_codes) != table.num_rows:
        raise duplicate_record_ids(canonical.source, table.column("record_id"))
    owner_codes = {name: encode(table.column(name)) for name in owner_id_columns}
    count = workers if workers is not None else default_workers(table.num_rows)
    with HmacBatch(workers=count) as batch:
        batch.submit(HmacJob(record_pid_subkey(owner_key), record_codes.array, 16))
        for name, codes in owner_codes.items():
            batch.submit(HmacJob(owner_id_subkey(owner_key, name), codes.array, 16))

        def hash_key(match_key: MatchKey, part: Encoded | EncodedLists) -> None:
            report(f"match key {match_key.name}")
            subkey = match_key_subkey(linkage_key, match_key.domain)
            batch.submit(HmacJob(subkey, _hmac_values(part), 8))

        derived = DerivedKeys({}, {})
        if not canonical.is_events:
            derived = derive_match_keys(table, spec, on_key=hash_key)
        report("waiting for hashing")
        digests = iter(batch.results())
    pids = hex_strings(next(digests))
    owner_ids = {
        name: _masked_take(hex_strings(next(digests)), codes.codes)
        for name, codes in owner_codes.items()
    }
    pid_column = pids.take(pa.array(record_codes.codes))
    identity = None
    if derived.keys:
        columns: dict[str, pa.Array] = {"record_pid": pid_column}
        for match_key, digest in zip(spec.match_keys, digests, strict=True):
            columns[match_key.name] = _token_array(
                derived.keys[match_key.name], int64_tokens(digest)
            )
        identity = pa.table(columns)
    lookup = pa.table({"record_id": record_codes.array.cast(pa.string()), "record_pid": pids})
    return _Hashed(pid_column, lookup, identity, owner_ids), derived


def _with_bloom(
    hashed: _Hashed, table: pa.Table, linkage_key: bytes, settings: BloomSettings
) -> _Hashed:
    parts = derive_parts(table, [*settings.fields, "dob_year"])
    years = parts["dob_year"]
    identity = hashed.identity
    if not isinstance(years, Encoded) or identity is None:
        raise TypeError("Bloom filters need an identity table and scalar name parts")
    birth_years = [years.values[code] if code >= 0 else None for code in years.codes.tolist()]
    for name_field in settings.fields:
        names = parts[name_field]
        if not isinstance(names, Encoded):
            raise TypeError(f"{name_field} is a scalar derivation")
        column = bloom_column(
            names,
            field=name_field,
            linkage_key=linkage_key,
            settings=settings,
            birth_years=birth_years,
        )
        identity = identity.append_column(f"bf_{name_field}", column)
    return _Hashed(hashed.pid_column, hashed.lookup, identity, hashed.owner_ids)


def _masked_take(values: pa.Array, codes: npt.NDArray[np.int64]) -> pa.Array:
    """``values[codes]`` with null where the code is -1 (missing)."""
    valid = codes >= 0
    if len(values) == 0:
        return pa.nulls(len(codes), pa.string())
    taken = values.take(pa.array(np.where(valid, codes, 0)))
    return pc.if_else(pa.array(valid), taken, pa.scalar(None, pa.string()))


def pseudonymise_table(
    frame: pd.DataFrame | pa.Table | CanonicalTable,
    *,
    linkage_key: bytes,
    owner_key: bytes,
    spec: MatchKeySpec | None = None,
    options: PseudonymiseSpec | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    spec_source: str | None = None,
) -> PseudonymisedTables:
    """Tokenise one canonical table (see the module docstring for the outputs).

    ``workers`` processes share the hashing of large tables (default: one per CPU).
    The columns ``options`` names (``drop``, ``owner_ids``, ``quasi_identifiers``) are
    found as headers are; one the table does not have is refused, naming
    ``spec_source`` (the spec file) and the key.
    """
    match_key_spec = spec if spec is not None else load_match_key_spec()
    settings = options if options is not None else PseudonymiseSpec(version=1)
    canonical = frame if isinstance(frame, CanonicalTable) else check_canonical(_as_table(frame))
    if linkage_key == owner_key:
        raise InputError(
            "the linkage key and the owner key are the same file contents; the owner key "
            "must be the owner's own secret (`trelink keys secret`)"
        )
    table = canonical.table
    report = progress or (lambda _step: None)
    chosen = _spec_columns(canonical, settings, spec_source)
    kept, owner_id_columns = list(chosen.released), list(chosen.owner_ids)
    report("record pids")
    hashed, derived = _hash_everything(
        canonical,
        linkage_key=linkage_key,
        owner_key=owner_key,
        spec=match_key_spec,
        owner_id_columns=owner_id_columns,
        unique_record_id=settings.unique_record_id,
        workers=workers,
        report=report,
    )
    if settings.bloom is not None and hashed.identity is not None:
        report("bloom filters")
        hashed = _with_bloom(hashed, canonical.table, linkage_key, settings.bloom)
    attributes = pa.Table.from_arrays(
        [hashed.pid_column, *(hashed.owner_ids.get(name, table.column(name)) for name in kept)],
        names=["record_pid", *kept],
    )
    report("risk report")
    risk = assess_risk(
        derived.keys,
        attributes,
        quasi_identifiers=chosen.quasi_identifiers,
        limits=settings.risk,
    )
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "kind": "events" if canonical.is_events else "identity",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "normalisation_version": NORMALISATION_VERSION,
        "match_key_spec": {
            "version": match_key_spec.version,
            "sha256": _spec_digest(match_key_spec),
            "token_bits": match_key_spec.token_bits,
        },
        "linkage_key_id": key_id(linkage_key),
        "owner_key_id": key_id(owner_key),
        "source_encoding": canonical.encoding,
        "rows": {
            "identity": 0 if hashed.identity is None else hashed.identity.num_rows,
            "attributes": attributes.num_rows,
            "lookup": hashed.lookup.num_rows,
        },
        "token_columns": list(derived.keys),
        "token_domains": {
            key.name: key.domain for key in match_key_spec.match_keys if key.name in derived.keys
        },
        "record_ids_unique": len(hashed.lookup) == table.num_rows,
        "attribute_columns": kept,
        "owner_keyed_columns": owner_id_columns,
        "bloom": None if settings.bloom is None else settings.bloom.model_dump(),
        "dropped_columns": list(chosen.dropped),
        "empty_identifier_columns": canonical.empty_identifiers,
        "invalid_values": {
            column: canonical.invalid.get(column, 0) + derived.invalid.get(column, 0)
            for column in {**canonical.invalid, **derived.invalid}
        },
        "risk": risk.to_dict(),
    }
    return PseudonymisedTables(hashed.identity, attributes, hashed.lookup, manifest, risk)


def _write_and_hash(table: pa.Table, path: Path) -> str:
    pq.write_table(table, path)
    return sha256_file(path)


def write_pseudonymised(
    tables: PseudonymisedTables, out: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write the four outputs into directory ``out`` atomically; return its path."""
    target = Path(out)
    try:
        with atomic_directory(target, overwrite=overwrite) as temporary:
            parts = {
                "identity.parquet": tables.identity,
                "attributes.parquet": tables.attributes,
                "lookup.parquet": tables.lookup,
            }
            # Parquet writing and SHA-256 release the GIL: write the files side by side.
            with ThreadPoolExecutor(max_workers=len(parts)) as pool:
                digests = {
                    name: pool.submit(_write_and_hash, table, temporary / name)
                    for name, table in parts.items()
                    if table is not None
                }
                members = {name: future.result() for name, future in digests.items()}
            members.pop("lookup.parquet")  # the lookup never travels: no checksum to share
            manifest = {**tables.manifest, "members": members}
            (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            os.chmod(temporary / "lookup.parquet", 0o600)
    except FileExistsError:
        raise InputError(
            f"{target}: already exists and is not empty; choose another --out"
        ) from None
    return target
