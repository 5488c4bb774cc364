"""``trelink link --json``: one JSON document on stdout, the human summary on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trelink.cli import app

from .conftest import TokenisedPair


@pytest.mark.slow
def test_link_json(tokenised_pair: TokenisedPair, tmp_path: Path) -> None:
    out = tmp_path / "linked"
    arguments = [
        "link", str(tokenised_pair.left), str(tokenised_pair.right), "--out", str(out),
        "--threshold", "0.95", "--truth", str(tokenised_pair.truth), "--json",
    ]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["out_dir"] == str(out) and document["threshold"] == 0.95
    assert sum(document["records"].values()) == 3000 and len(document["records"]) == 2
    assert document["pairs"] > 0 and 0 < document["persons"] <= 3000
    assert {"repeat_persons", "held_back", "seconds", "notes", "expected"} <= set(document)
    assert {"recommended_threshold"} <= set(document)
    metrics = document["metrics"]
    assert 0.5 < metrics["precision"] <= 1 and 0.5 < metrics["recall"] <= 1
    assert metrics["true_pairs"] > 0
    assert "linked 3,000 records" in result.stderr  # the summary a person reads
