"""The leak scanner, attacked as a hostile data owner would: identifiers hidden where a
scanner looks least (any column name, text, numbers, late rows, near-copies, the lookup
under another name), and clean extracts that must still package."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from faker import Faker
from faker.providers.address.en_US import Provider as Addresses

from pseudonymise.errors import IdentifierLeakError
from pseudonymise.identifiers import check_members
from pseudonymise.package import build_package
from pseudonymise.tables import pseudonymise_table, write_pseudonymised
from trelink.specs.identifier_types import IDENTITY_ROLES
from trelink.trust import keys

ROWS = 2_000
COUNTRIES = sorted(set(Addresses.countries))


def _population(rows: int = ROWS, seed: int = 5) -> pd.DataFrame:
    """An owner's canonical extract: children's names, dates of birth, postcodes."""
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    draw = random.Random(seed)
    referral = [dt.date(2019, 1, 1) + dt.timedelta(days=draw.randrange(1_000)) for _ in range(rows)]
    dob = [day - dt.timedelta(days=draw.randrange(4 * 365, 17 * 365)) for day in referral]
    return pd.DataFrame(
        {
            "record_id": [f"NRM-{index:06d}" for index in range(rows)],
            "forename": [fake.first_name() for _ in range(rows)],
            "surname": [fake.last_name() for _ in range(rows)],
            "dob": dob,
            "sex": [draw.choice("MF") for _ in range(rows)],
            "postcode": [fake.postcode() for _ in range(rows)],
            "nationality": [
                draw.choice(["vietnamese", "albanian", "eritrean"]) for _ in range(rows)
            ],
            "first_responder_type": [
                draw.choice(["ngo", "police", "local_authority"]) for _ in range(rows)
            ],
            "referral_date": referral,
        }
    )


class Owner:
    """A data owner's folder: keys, and the pseudonymised extract it wants to package."""

    def __init__(self, root: Path) -> None:
        self.root = root
        keys.generate_secret(root / "linkage.key")
        keys.generate_secret(root / "owner.key")
        keys.generate_recipient_keypair(root / "tre")
        keys.generate_signer_keypair(root / "owner")
        self.frame = _population()

    def pseudonymise(self, extra: dict[str, list[object]] | None = None) -> Path:
        """``trelink pseudonymise`` of the extract with the attacker's columns added."""
        frame = self.frame.assign(**(extra or {}))
        tables = pseudonymise_table(
            frame,
            linkage_key=keys.load_secret(self.root / "linkage.key"),
            owner_key=keys.load_secret(self.root / "owner.key"),
        )
        target = self.root / "extract"
        shutil.rmtree(target, ignore_errors=True)
        return write_pseudonymised(tables, target)

    def package(self, extract: Path) -> Path:
        """``trelink package``."""
        out = self.root / "extract.tlp"
        build_package(
            extract,
            recipient=keys.load_recipient_public_key(keys.public_key_path(self.root / "tre")),
            signing_key=keys.load_signing_private_key(keys.private_key_path(self.root / "owner")),
            out=out,
        )
        return out


@pytest.fixture(scope="module")
def owner(tmp_path_factory: pytest.TempPathFactory) -> Owner:
    return Owner(tmp_path_factory.mktemp("owner"))


def _replace_member(extract: Path, name: str, table: pa.Table) -> None:
    """Write a member by hand and fix its SHA-256 in manifest.json, as an attacker would."""
    pq.write_table(table, extract / name)
    manifest = json.loads((extract / "manifest.json").read_text())
    manifest["members"][name] = hashlib.sha256((extract / name).read_bytes()).hexdigest()
    (extract / "manifest.json").write_text(json.dumps(manifest))


def _move_lookup_away(owner: Owner, extract: Path) -> None:
    (extract / "lookup.parquet").rename(owner.root / "lookup-elsewhere.parquet")


def _refused(owner: Owner, extract: Path, *expected: str) -> str:
    with pytest.raises(IdentifierLeakError) as caught:
        owner.package(extract)
    message = str(caught.value)
    for part in expected:
        assert part in message
    assert not (owner.root / "extract.tlp").exists()
    return message


def _no_values(message: str, values: list[object]) -> None:
    for value in values:
        assert str(value) not in message


def _attributes(extract: Path) -> pa.Table:
    return pq.read_table(extract / "attributes.parquet")


# --- dates of birth in any format, in a column of any name ---------------------------------

DATE_WRITERS: dict[str, Callable[[dt.date], object]] = {
    "text with the month's name": lambda day: f"{day.day} {day:%B %Y}",
    "YYYYMMDD as a number": lambda day: int(f"{day:%Y%m%d}"),
    "YYYYMMDD as text": lambda day: f"{day:%Y%m%d}",
    "day/month/year": lambda day: f"{day:%d/%m/%Y}",
    "month name first": lambda day: f"{day:%B} {day.day}, {day:%Y}",
}


@pytest.mark.parametrize("writer", DATE_WRITERS, ids=list(DATE_WRITERS))
def test_a_date_of_birth_in_any_format_under_any_name_is_refused(owner: Owner, writer: str) -> None:
    written = [DATE_WRITERS[writer](day) for day in owner.frame["dob"]]
    extract = owner.pseudonymise({"case_stage": written})
    message = _refused(owner, extract, "'case_stage' holds values that look like dates of birth")
    _no_values(message, written[:50])


def test_a_date_of_birth_hidden_in_the_identity_member_is_refused(owner: Owner) -> None:
    """No other date in that member: the scanner compares it with the attributes' dates."""
    extract = owner.pseudonymise()
    identity = pq.read_table(extract / "identity.parquet")
    written = [f"{day:%Y-%m-%d}" for day in owner.frame["dob"]]
    _replace_member(extract, "identity.parquet", identity.append_column("k", pa.array(written)))
    _refused(owner, extract, "identity.parquet: column 'k' holds values that look like dates")


# --- free text ------------------------------------------------------------------------------


def test_notes_holding_a_name_a_postcode_and_a_birth_date_are_refused(owner: Owner) -> None:
    frame = owner.frame
    notes = [
        f"her name is {forename} {surname}; lives at {postcode}; born {day.day} {day:%B %Y}"
        for forename, surname, postcode, day in zip(
            frame["forename"], frame["surname"], frame["postcode"], frame["dob"], strict=True
        )
    ]
    extract = owner.pseudonymise({"notes": notes})
    message = _refused(
        owner,
        extract,
        "'notes' holds values that look like postcodes",
        "'notes' holds values that look like person names",
        "'notes' holds values that look like dates of birth",
    )
    _no_values(message, [*frame["forename"][:50], *frame["surname"][:50], *frame["postcode"][:50]])


def test_a_postcode_inside_a_sentence_is_refused(owner: Owner) -> None:
    sentences = [
        f"placed with carers near {code} after the referral" for code in owner.frame["postcode"]
    ]
    extract = owner.pseudonymise({"placement_note": sentences})
    _refused(owner, extract, "'placement_note' holds values that look like postcodes")


def test_names_in_one_row_in_five_among_distinct_filler_are_refused(owner: Owner) -> None:
    draw = random.Random(11)
    filler = ["".join(draw.choices("abcdefghijklmnopqrstuvwxyz", k=9)) for _ in range(ROWS)]
    full_names = (owner.frame["forename"] + " " + owner.frame["surname"]).tolist()
    mixed = [name if index % 5 == 0 else filler[index] for index, name in enumerate(full_names)]
    extract = owner.pseudonymise({"keyword": mixed})
    _refused(owner, extract, "'keyword' holds values that look like person names")


def test_record_ids_inside_free_text_are_refused(owner: Owner) -> None:
    text = [f"see file {record_id} for history" for record_id in owner.frame["record_id"]]
    draw = random.Random(3)
    draw.shuffle(text)  # not on their own rows: found by value, not by row
    extract = owner.pseudonymise({"history": text})
    _refused(owner, extract, "'history' holds the owner's record ids")


# --- every row, not the first 50,000 --------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("person names", lambda fake: f"{fake.first_name()} {fake.last_name()}"),
        ("postcodes", lambda fake: fake.postcode()),
    ],
)
def test_identifiers_only_after_row_50000_are_refused(
    owner: Owner, kind: str, values: Callable[[Faker], str]
) -> None:
    fake = Faker("en_GB")
    fake.seed_instance(9)
    rows = 60_000
    late = [values(fake) for _ in range(rows - 50_000)]
    column = ["not recorded"] * 50_000 + late
    pids = [hashlib.sha256(str(index).encode()).hexdigest()[:32] for index in range(rows)]
    extract = owner.pseudonymise()
    table = pa.table({"record_pid": pids, "sex": ["F", "M"] * (rows // 2), "remark": column})
    _replace_member(extract, "attributes.parquet", table)
    _refused(owner, extract, f"'remark' holds values that look like {kind}")


# --- record ids and the lookup --------------------------------------------------------------


def test_a_copy_of_the_record_id_is_refused_once_the_lookup_is_moved_away(owner: Owner) -> None:
    extract = owner.pseudonymise({"case_ref": owner.frame["record_id"].tolist()})
    _move_lookup_away(owner, extract)
    message = _refused(owner, extract, "'case_ref' holds a key one-to-one with record_pid")
    _no_values(message, owner.frame["record_id"].tolist())


NEAR_COPIES: dict[str, Callable[[str], object]] = {
    "prefix and suffix": lambda record_id: f"X{record_id}/2",
    "punctuation changed": lambda record_id: record_id.replace("-", " ").lower(),
    "digits only": lambda record_id: int(record_id.split("-")[1]) + 0,
}


@pytest.mark.parametrize("lookup_beside", [True, False], ids=["lookup beside", "lookup moved"])
@pytest.mark.parametrize("copy", NEAR_COPIES, ids=list(NEAR_COPIES))
def test_near_copies_of_the_record_id_are_refused(
    owner: Owner, copy: str, lookup_beside: bool
) -> None:
    copies = [NEAR_COPIES[copy](record_id) for record_id in owner.frame["record_id"]]
    extract = owner.pseudonymise({"file_no": copies})
    if not lookup_beside:
        _move_lookup_away(owner, extract)
    what = "holds the owner's record ids" if lookup_beside else "holds a key one-to-one"
    _refused(owner, extract, f"'file_no' {what}")


@pytest.mark.parametrize("lookup_beside", [True, False], ids=["lookup beside", "lookup moved"])
def test_the_lookup_under_another_name_is_refused(owner: Owner, lookup_beside: bool) -> None:
    extract = owner.pseudonymise()
    lookup = pq.read_table(extract / "lookup.parquet").rename_columns(["case_ref", "record_pid"])
    _replace_member(extract, "attributes.parquet", lookup)
    if not lookup_beside:
        _move_lookup_away(owner, extract)
    message = _refused(
        owner, extract, "attributes.parquet: is the owner's lookup under another name"
    )
    _no_values(message, owner.frame["record_id"].tolist())


PID_DISGUISES: dict[str, Callable[[list[str]], pa.Array]] = {
    "as text": lambda ids: pa.array(ids),
    "in a list": lambda ids: pa.array([[record_id] for record_id in ids]),
    "in a struct": lambda ids: pa.array([{"id": record_id} for record_id in ids]),
    "as bytes": lambda ids: pa.array([record_id.encode() for record_id in ids]),
}


@pytest.mark.parametrize("disguise", PID_DISGUISES, ids=list(PID_DISGUISES))
def test_record_ids_shipped_as_the_pid_are_refused(owner: Owner, disguise: str) -> None:
    extract = owner.pseudonymise()
    attributes = _attributes(extract)
    ids = PID_DISGUISES[disguise](owner.frame["record_id"].tolist())
    _replace_member(extract, "attributes.parquet", attributes.set_column(0, "record_pid", ids))
    _refused(owner, extract, "'record_pid' does not hold pseudonymous ids")


# --- clean extracts must package --------------------------------------------------------------


def test_a_column_named_as_any_identity_role_of_the_registry_is_refused(owner: Owner) -> None:
    """The leak scanner reads the identity table's columns from the registry of
    identifier types: each (but sex, a released attribute) in clear is refused by name,
    even holding values nothing else would flag."""
    extract = owner.pseudonymise()
    attributes = _attributes(extract)
    named = [role for role in IDENTITY_ROLES if role != "sex"]
    for role in named:
        if role not in attributes.column_names:
            attributes = attributes.append_column(role, pa.array(["A", "B"] * (ROWS // 2)))
    _replace_member(extract, "attributes.parquet", attributes)
    message = _refused(owner, extract, "named as an identifier")
    for role in named:
        assert f"column {role!r} is named as an identifier" in message, role


def test_clean_categories_codes_and_event_dates_package(owner: Owner) -> None:
    """Values that share a spelling with a name ("Max", "NGO", countries) or hold numbers
    and dates."""
    draw = random.Random(2)
    referral = owner.frame["referral_date"]
    extract = owner.pseudonymise(
        {
            "responder": [
                draw.choice(["NGO", "Ngo", "Police", "Max", "Salvation Army"]) for _ in range(ROWS)
            ],
            "site": [
                draw.choice(["Birmingham", "Jordan Well", "Kent", "Lincoln", "Sutton"])
                for _ in range(ROWS)
            ],
            "nationality_label": [
                draw.choice(["Sierra Leone", "Jordan", "Georgia", "Chad"]) for _ in range(ROWS)
            ],
            # Every country: 40 of them are also forenames or surnames (Jordan, Chad ...).
            "country_of_birth": [draw.choice(COUNTRIES) for _ in range(ROWS)],
            "decision_date": [day + dt.timedelta(days=draw.randrange(400)) for day in referral],
            "academic_year": [draw.choice(["2016/17", "2019/20"]) for _ in range(ROWS)],
            "period": [draw.choice(["2016-17-2019-20", "2017-2019"]) for _ in range(ROWS)],
            "sessions": [draw.randrange(400) for _ in range(ROWS)],
            "amount_pence": [draw.randrange(1_000, 3_000) for _ in range(ROWS)],
            "score": [draw.random() * 60 for _ in range(ROWS)],
        }
    )
    owner.package(extract)
    (owner.root / "extract.tlp").unlink()


def test_clean_synthetic_extracts_package(tmp_path: Path) -> None:
    """Every source the generator writes, prepared and pseudonymised, is accepted."""
    from pseudonymise.prepare import prepare_source
    from trelink.specs.dataset import dataset_spec_path, load_dataset_spec
    from trelink.synth.generate import SOURCES, generate

    generate(tmp_path / "raw", seed=4, scale=0.05)
    linkage_key, owner_key = b"l" * 32, b"o" * 32
    checked = 0
    for source in SOURCES:
        spec = load_dataset_spec(dataset_spec_path(source))
        prepared = prepare_source(spec, tmp_path / "raw" / source)
        unique = {table.name: table.unique_record_id for table in spec.tables}
        for name, table in prepared.tables.items():
            from pseudonymise.spec import PseudonymiseSpec

            tables = pseudonymise_table(
                table,
                linkage_key=linkage_key,
                owner_key=owner_key,
                options=PseudonymiseSpec(version=1, unique_record_id=unique[name]),
            )
            folder = write_pseudonymised(tables, tmp_path / "out" / source / name)
            members = [folder / m for m in ("identity.parquet", "attributes.parquet")]
            check_members(
                [member for member in members if member.exists()],
                lookup=folder / "lookup.parquet",
                token_columns=tables.manifest["token_columns"],
            )
            checked += 1
    assert checked >= 7


HIDING_PLACES: dict[str, Callable[[list[str]], pa.Array]] = {
    "a struct field": lambda codes: pa.array([{"note": code, "n": 1} for code in codes]),
    "a list element": lambda codes: pa.array([["none", code] for code in codes]),
    "a map value": lambda codes: pa.array(
        [[("where", code)] for code in codes], pa.map_(pa.string(), pa.string())
    ),
    "binary bytes": lambda codes: pa.array([code.encode() + b"\xff" for code in codes]),
    "a dictionary": lambda codes: pa.array(codes).dictionary_encode(),
}


@pytest.mark.parametrize("place", HIDING_PLACES, ids=list(HIDING_PLACES))
def test_postcodes_in_nested_binary_or_encoded_columns_are_refused(
    owner: Owner, place: str
) -> None:
    extract = owner.pseudonymise()
    attributes = _attributes(extract)
    hidden = HIDING_PLACES[place](owner.frame["postcode"].tolist())
    _replace_member(extract, "attributes.parquet", attributes.append_column("extra", hidden))
    _refused(owner, extract, "'extra", "holds values that look like postcodes")


def test_a_member_that_is_not_parquet_is_refused_without_a_traceback(owner: Owner) -> None:
    extract = owner.pseudonymise()
    (extract / "attributes.parquet").write_bytes(b"PAR1 not really parquet")
    manifest = json.loads((extract / "manifest.json").read_text())
    manifest["members"]["attributes.parquet"] = hashlib.sha256(
        (extract / "attributes.parquet").read_bytes()
    ).hexdigest()
    (extract / "manifest.json").write_text(json.dumps(manifest))
    _refused(owner, extract, "attributes.parquet: cannot be read as Parquet")


def test_record_id_copies_in_one_row_in_five_are_refused_without_the_lookup(owner: Owner) -> None:
    copies = [
        record_id if index % 5 == 0 else "n/a"
        for index, record_id in enumerate(owner.frame["record_id"])
    ]
    extract = owner.pseudonymise({"old_ref": copies})
    _move_lookup_away(owner, extract)
    _refused(owner, extract, "'old_ref' holds a key one-to-one with record_pid")


def test_e_mail_addresses_and_mobile_numbers_in_a_contact_note_are_refused(owner: Owner) -> None:
    fake = Faker("en_GB")
    fake.seed_instance(21)
    notes = [f"carer {fake.email()} tel 07{fake.numerify('### ######')}" for _ in range(ROWS)]
    extract = owner.pseudonymise({"contact_note": notes})
    _refused(
        owner,
        extract,
        "'contact_note' holds values that look like e-mail addresses",
    )
    mobiles = [f"call 07{fake.numerify('### ######')} after 5" for _ in range(ROWS)]
    extract = owner.pseudonymise({"contact_note": mobiles})
    _refused(owner, extract, "'contact_note' holds values that look like phone numbers")


def test_names_written_surname_comma_forename_are_refused(owner: Owner) -> None:
    names = [
        f"{surname.upper()}, {forename}"
        for surname, forename in zip(owner.frame["surname"], owner.frame["forename"], strict=True)
    ]
    extract = owner.pseudonymise({"who": names})
    _refused(owner, extract, "'who' holds values that look like person names")


def test_hex_digests_with_long_digit_runs_package(owner: Owner) -> None:
    """Owner-keyed HMACs (32 hex digits) hold digit runs between letters that read like
    a mobile number or an NHS number; they are not one (found on a synthetic justice
    extract, seed 2)."""
    draw = random.Random(8)

    def digest() -> str:
        run = "07" + "".join(draw.choices("0123456789", k=9))
        tail = "".join(draw.choices("0123456789abcdef", k=19))
        return f"a{run}f{tail}"

    extract = owner.pseudonymise({"case_digest": [digest() for _ in range(ROWS)]})
    owner.package(extract)
    (owner.root / "extract.tlp").unlink()


def test_names_in_lower_case_after_name_is_are_refused(owner: Owner) -> None:
    notes = [
        f"child says her name is {forename.lower()} {surname.lower()} and she is well"
        for forename, surname in zip(owner.frame["forename"], owner.frame["surname"], strict=True)
    ]
    extract = owner.pseudonymise({"keyworker_note": notes})
    _refused(owner, extract, "'keyworker_note' holds values that look like person names")
