"""trelink's own generator with its error model turned up and down, as labelled datasets.

Each scenario is a set of identifier-error rates (``synth.rates.IdentifierErrorRates``,
changed from the generator's defaults) and a field set: names and date of birth only,
plus postcode, or plus identifiers (NHS number). ``scenario_dataset`` writes two
extracts sharing half their people (``synth.write_benchmark_extracts``), cached under
``cache`` by scenario, size, seed and rates, and returns them as a ``LabelledDataset``
(files ``gen_left`` and ``gen_right`` to link; truth: the generator's person id).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from external_data import LabelledDataset, field_declarations, text_table

from trelink.synth import DEFAULT_RATES, IdentifierErrorRates, write_benchmark_extracts

__all__ = ["FIELD_SETS", "SCENARIOS", "Scenario", "scenario_dataset"]

# Field sets: the groups of external_fields.yaml each one switches on.
FIELD_SETS: dict[str, tuple[str, ...]] = {
    "names_dob": ("names", "dob"),
    "postcode": ("names", "dob", "postcode"),
    "identifiers": ("names", "dob", "postcode", "identifiers"),
    "all": ("names", "dob", "postcode", "address", "email", "identifiers"),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    rates: IdentifierErrorRates
    fields: str  # a key of FIELD_SETS


_NO_ERRORS = IdentifierErrorRates(**{name: 0.0 for name in asdict(DEFAULT_RATES)})
_TYPOS = {"typo": 0.15, "dob_typo": 0.05, "postcode_typo": 0.05}
_NO_TYPOS = {"typo": 0.0, "dob_typo": 0.0, "postcode_typo": 0.0}
_TRANSLITERATION = {
    "transliteration": 0.6,
    "diacritics_dropped": 0.9,
    "ethiopic_abbreviation": 0.6,
    "name_order_swapped_family_first": 0.5,
    "nickname": 0.3,
}
_NO_TRANSLITERATION = dict.fromkeys(_TRANSLITERATION, 0.0) | {"name_order_swapped": 0.0}
_MISSING = {
    "missing_forename": 0.08,
    "missing_surname": 0.08,
    "missing_dob": 0.1,
    "missing_postcode": 0.25,
    "nhs_number_missing_other": 0.3,
}
_HARD = _TYPOS | _TRANSLITERATION | _MISSING
_HARD |= {"postcode_earlier_placement": 0.5, "assessed_dob_used": 0.9}


def _rates(**changes: float) -> IdentifierErrorRates:
    return replace(DEFAULT_RATES, **changes)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("gen_clean", "no errors at all", _NO_ERRORS, "postcode"),
    Scenario("gen_default_names_dob", "default error rates", DEFAULT_RATES, "names_dob"),
    Scenario("gen_default", "default error rates", DEFAULT_RATES, "postcode"),
    Scenario("gen_default_ids", "default error rates", DEFAULT_RATES, "identifiers"),
    Scenario("gen_moves_0", "nobody moved", _rates(postcode_earlier_placement=0.0), "postcode"),
    Scenario("gen_moves_50", "half moved", _rates(postcode_earlier_placement=0.5), "postcode"),
    Scenario("gen_typos_high", "typos x5", _rates(**_TYPOS), "postcode"),
    Scenario("gen_typos_none", "no typos", _rates(**_NO_TYPOS), "postcode"),
    Scenario("gen_estdob_high", "estimated dob 90%", _rates(assessed_dob_used=0.9), "postcode"),
    Scenario("gen_estdob_none", "no estimated dob", _rates(assessed_dob_used=0.0), "postcode"),
    Scenario("gen_translit_high", "transliteration up", _rates(**_TRANSLITERATION), "names_dob"),
    Scenario("gen_translit_none", "no transliteration", _rates(**_NO_TRANSLITERATION), "names_dob"),
    Scenario("gen_missing_high", "missing values up", _rates(**_MISSING), "identifiers"),
    Scenario("gen_hard", "every error up", _rates(**_HARD), "identifiers"),
    Scenario("gen_hard_names_dob", "every error up", _rates(**_HARD), "names_dob"),
)


def _rates_digest(rates: IdentifierErrorRates) -> str:
    return hashlib.sha256(repr(sorted(asdict(rates).items())).encode()).hexdigest()[:10]


def scenario_dataset(
    scenario: Scenario, *, records: int, seed: int, cache: Path
) -> LabelledDataset:
    """Two generated extracts of ``records`` each, as a dataset to link."""
    folder = cache / f"{scenario.name}-{records}-seed{seed}-{_rates_digest(scenario.rates)}"
    if not (folder / "truth.parquet").exists():
        write_benchmark_extracts(
            folder, n_records=records, overlap=0.5, seed=seed, rates=scenario.rates
        )
    declarations = field_declarations("generator")
    columns = list(declarations.identifiers)
    files = {}
    for side in ("left", "right"):
        raw = pq.read_table(folder / f"{side}.parquet", columns=columns)
        dob = raw.column("dob")
        raw = raw.set_column(raw.column_names.index("dob"), "dob", pc.strftime(dob, "%Y-%m-%d"))
        files[f"gen_{side}"] = text_table(raw)  # "left" and "right" are SQL keywords
    truth = pq.read_table(folder / "truth.parquet", columns=["dataset", "record_id", "person_id"])
    truth = pa.table(
        {
            "file": pc.binary_join_element_wise("gen_", truth.column("dataset"), ""),
            "record_id": truth.column("record_id"),
            "cluster": truth.column("person_id").cast(pa.string()),
        }
    )
    return LabelledDataset(
        name=scenario.name,
        link_type="link_only",
        files=files,
        truth=truth,
        fields=declarations,
        description=scenario.description,
    )
