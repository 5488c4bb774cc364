"""``trelink link`` from the command line, in quick mode and on an imported TRE database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from linkage.job import load_link_job
from linkage.run import link_datasets
from linkage.sources import database_sources
from pseudonymise import NORMALISATION_VERSION
from pseudonymise.package import build_package
from tests.entry_point import trelink_process as _trelink
from trelink.trust import keys

from .conftest import TokenisedPair, import_into_tre


def test_quick_mode_links_folders(tokenised_pair: TokenisedPair, tmp_path: Path) -> None:
    out = tmp_path / "linked"
    done = _trelink(
        "link", str(tokenised_pair.left), str(tokenised_pair.right), "--out", str(out),
        "--threshold", "0.95", "--truth", str(tokenised_pair.truth), "--link-type", "link_only",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "against the truth: precision" in done.stdout
    assert "the model expects precision" in done.stdout  # from its probabilities
    assert "match probability" in done.stdout and ">= 0.95" in done.stdout
    pairs = pq.read_table(out / "pairs.parquet")
    assert min(pairs.column("match_probability").to_pylist()) >= 0.95
    held = pq.read_table(out / "held_back.parquet").num_rows
    # Possible twins: whether the rule applied, and why, is said where the researcher
    # will look (it applies only when the pattern's pairs differ in sex beyond chance).
    assert "hold-back rules" in done.stdout
    applied = "hold-back rules applied" in done.stdout
    assert (held > 0) == applied
    if applied:
        assert f"held back from the links (see held_back.parquet): {held:,} pairs" in done.stdout


def _said(stderr: str) -> str:
    """Stderr with Click's error box taken away, its lines joined."""
    return " ".join(stderr.replace("│", " ").split())


def test_bad_requests_exit_2_with_a_message(tokenised_pair: TokenisedPair, tmp_path: Path) -> None:
    no_db = _trelink("link", "--db", str(tmp_path / "missing.duckdb"), "--job",
                     "specs/linkage/spine.yaml", "--out", str(tmp_path / "o"))  # fmt: skip
    assert no_db.returncode == 3
    assert "no such TRE database" in no_db.stderr
    folders = (str(tokenised_pair.left), str(tokenised_pair.right), "--out", str(tmp_path / "o"))
    # A flag's bad value is a wrong command line (exit 2), named by its flag.
    backend = _trelink("link", *folders, "--backend", "hadoop")
    said = _said(backend.stderr)
    assert backend.returncode == 2, said
    assert "Invalid value for --backend: must be duckdb or spark, not 'hadoop'" in said
    kind = _trelink("link", str(tokenised_pair.left), "--out", str(tmp_path / "o"),
                    "--link-type", "merge")  # fmt: skip
    assert kind.returncode == 2 and "Invalid value for --link-type" in kind.stderr
    threshold = _trelink("link", *folders, "--threshold", "best")
    said = _said(threshold.stderr)
    assert threshold.returncode == 2 and "--threshold: must be a match probability" in said
    assert "or auto, not 'best'" in said and "Traceback" not in said
    for setting, problem in (
        ("BAD", "'BAD' is not a Spark key"),
        ("driver.memory=8g", "'driver.memory' is not a Spark key"),
        ("spark.=8g", "'spark.' is not a Spark key"),
        ("spark.driver.memory", "'spark.driver.memory' has no value"),
        ("spark.driver.memory=", "'spark.driver.memory' has no value"),
    ):
        spark = _trelink("link", *folders, "--backend", "spark", "--spark-conf", setting)
        said = _said(spark.stderr)
        assert spark.returncode == 2, said
        assert f"Invalid value for --spark-conf: must be spark.KEY=VALUE; {problem}" in said
        assert "Traceback" not in said
    # The value of a refused setting is not echoed: it may be a password.
    secret = _trelink("link", *folders, "--backend", "spark", "--spark-conf",
                      "hadoop.fs.s3a.secret.key=s3cr3t-value")  # fmt: skip
    assert secret.returncode == 2 and "s3cr3t-value" not in secret.stderr
    duck = _trelink("link", *folders, "--spark-conf", "spark.driver.memory=8g")
    said = _said(duck.stderr)
    assert duck.returncode == 2 and "--spark-conf: applies to --backend spark only" in said
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def tre_database(tokenised_pair: TokenisedPair, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two tokenised extracts, packaged by their owner and imported into a TRE."""
    return import_into_tre(
        tmp_path_factory.mktemp("tre"),
        {"left": tokenised_pair.left, "right": tokenised_pair.right},
    )


def test_production_mode_links_imported_datasets(
    tre_database: Path, tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    job_path = tmp_path / "job.yaml"
    job_path.write_text("version: 1\nname: pair\ndatasets: [left, right]\nlink_type: link_only\n")
    job = load_link_job(job_path)
    result = link_datasets(
        database_sources(tre_database, job.datasets),
        out_dir=tmp_path / "out",
        job=job,
        truth_path=tokenised_pair.truth,
        show_progress=False,
    )
    assert result.records == {"left": 1500, "right": 1500}
    assert result.metrics is not None and result.metrics.overall.f1 >= 0.92
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "nationality" in report  # subgroup rates come from the imported attributes


def test_production_mode_refuses_unknown_datasets(tre_database: Path, tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("version: 1\ndatasets: [left, health]\n")
    done = _trelink(
        "link", "--db", str(tre_database), "--job", str(job), "--out", str(tmp_path / "o")
    )
    assert done.returncode == 3
    assert "'health'" in done.stderr and "left" in done.stderr
    assert not (tmp_path / "o").exists()


def test_production_mode_refuses_datasets_of_different_normalisation_versions(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    """The version travels in the signed package and is kept by import, so the TRE
    refuses to link imported datasets pseudonymised under different versions."""
    older = tmp_path / "older"
    shutil.copytree(tokenised_pair.right, older)
    manifest = json.loads((older / "manifest.json").read_text())
    manifest["normalisation_version"] = NORMALISATION_VERSION - 1
    (older / "manifest.json").write_text(json.dumps(manifest))
    database = import_into_tre(tmp_path / "tre", {"left": tokenised_pair.left, "right": older})
    job = tmp_path / "job.yaml"
    job.write_text("version: 1\ndatasets: [left, right]\n")
    done = _trelink("link", "--db", str(database), "--job", str(job), "--out", str(tmp_path / "o"))
    said = " ".join(done.stderr.split())
    assert done.returncode == 3, said
    assert "different normalisation versions" in said and "Traceback" not in said
    assert f"left={NORMALISATION_VERSION}, right={NORMALISATION_VERSION - 1}" in said
    assert not (tmp_path / "o").exists()


def test_import_warns_when_the_registry_holds_another_normalisation_version(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    """The custodian hears of the mismatch at import, not only when a link is refused."""
    older = tmp_path / "older"
    shutil.copytree(tokenised_pair.right, older)
    manifest = json.loads((older / "manifest.json").read_text())
    manifest["normalisation_version"] = NORMALISATION_VERSION - 1
    (older / "manifest.json").write_text(json.dumps(manifest))
    root = tmp_path / "tre"
    database = import_into_tre(root, {"left": tokenised_pair.left})
    recipient = keys.load_recipient_public_key(keys.public_key_path(root / "tre"))
    signer = keys.load_signing_private_key(keys.private_key_path(root / "owner"))
    build_package(older, recipient=recipient, signing_key=signer, out=tmp_path / "right.tlp")
    done = _trelink(
        "import", str(tmp_path / "right.tlp"),
        "--private-key", str(keys.private_key_path(root / "tre")),
        "--trust", str(keys.public_key_path(root / "owner")),
        "--db", str(database), "--dataset", "right", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert "normalisation version" in said and f"'left': {NORMALISATION_VERSION}" in said
    document = json.loads(done.stdout)
    assert document["normalisation_version"] == NORMALISATION_VERSION - 1
    assert document["other_normalisation_versions"] == {"left": NORMALISATION_VERSION}
    # The same version raises nothing.
    again = _trelink(
        "import", str(tmp_path / "right.tlp"),
        "--private-key", str(keys.private_key_path(root / "tre")),
        "--trust", str(keys.public_key_path(root / "owner")),
        "--db", str(tmp_path / "fresh.duckdb"), "--dataset", "right", "--json",
    )  # fmt: skip
    assert again.returncode == 0 and json.loads(again.stdout)["other_normalisation_versions"] == {}


def test_one_folder_is_deduplicated_with_a_model_trained_on_more_data(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    trained = tmp_path / "trained"
    done = _trelink(
        "link", str(tokenised_pair.left), str(tokenised_pair.right), "--out", str(trained),
        "--link-type", "link_only",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = tmp_path / "deduped"
    done = _trelink(
        "link", str(tokenised_pair.left), "--out", str(out),
        "--model", str(trained / "model.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    clusters = pq.read_table(out / "clusters.parquet").to_pylist()
    assert {row["dataset"] for row in clusters} == {tokenised_pair.left.name}
    identity = pq.read_table(tokenised_pair.left / "identity.parquet", columns=["record_pid"])
    assert sorted(row["record_pid"] for row in clusters) == sorted(
        identity.column("record_pid").to_pylist()
    )


def test_data_too_sparse_for_em_are_refused_with_advice(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    # 1,500 records, each child once: no two share a name and postcode district, and
    # the other blocks find too few pairs for EM to converge.
    out = tmp_path / "deduped"
    done = _trelink("link", str(tokenised_pair.left), "--out", str(out))
    assert done.returncode == 3
    assert "no EM session estimated m for comparison(s) ['name'" in done.stderr
    assert "EM block name_set + pc_district found no candidate pairs" in done.stderr
    assert "--model" in done.stderr and "training.label_column" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_two_folders_of_one_dataset_name_are_refused_naming_both(
    tokenised_pair: TokenisedPair, tmp_path: Path
) -> None:
    # x/left and y/LEFT both become the dataset 'left': one would stand for the other.
    first = shutil.copytree(tokenised_pair.left, tmp_path / "x" / "left")
    second = shutil.copytree(tokenised_pair.left, tmp_path / "y" / "LEFT")
    result = _trelink("link", str(first), str(second), "--out", str(tmp_path / "o"))
    said = " ".join(result.stderr.replace("│", " ").split())
    assert result.returncode == 3, said
    assert "datasets given more than once: 'left'" in said
    assert str(first) in said and str(second) in said
    assert "Traceback" not in said and not (tmp_path / "o").exists()
