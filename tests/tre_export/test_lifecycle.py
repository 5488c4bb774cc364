"""The whole request lifecycle through the command line, and every refusal on the way."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from tests.tre_export import tables
from tests.tre_export.conftest import Team, run_cli
from tre_export.area import ExportArea
from tre_export.state import read_state, verify_area


def _export(*args: str | Path) -> tuple[int, str]:
    result = run_cli("export", *args)
    return result.exit_code, result.output


def _submitted_request(area: ExportArea, team: Team, folder: Path) -> str:
    """R0001 with a safe table, an unsafe raw table, a figure and a text, submitted."""
    code, output = _export(
        "new", "--dir", area.root, "--key", team.researcher.private, "--title", "NRM referrals"
    )
    assert code == 0, output
    request_id = output.strip().splitlines()[-1]
    assert request_id == "R0001"
    outputs = [
        (tables.write(folder, "by_sex_age.csv", tables.SAFE_BY_SEX_AGE), "table"),
        (tables.write(folder, "raw.csv", tables.UNSAFE_RAW), "table"),
        (tables.write(folder, "trend.png", tables.PNG), "figure"),
        (tables.write(folder, "notes.txt", "Referrals rose in 2021.\n"), "text"),
    ]
    for path, kind in outputs:
        code, output = _export(
            "add", path, "--dir", area.root, "--request", request_id,
            "--key", team.researcher.private, "--kind", kind, "--description", f"the {kind}",
        )  # fmt: skip
        assert code == 0, output
    code, output = _export(
        "submit", "--dir", area.root, "--request", request_id, "--key", team.researcher.private
    )
    assert code == 0, output
    return request_id


def _review(
    area: ExportArea, key: Path, output: str, *flags: str, request_id: str = "R0001"
) -> tuple[int, str]:
    return _export(
        "review", "--dir", area.root, "--request", request_id, "--key", key,
        "--output", output, "--reason", "looked at every cell", *flags,
    )  # fmt: skip


def test_whole_lifecycle(area: ExportArea, team: Team, tmp_path: Path) -> None:
    request_id = _submitted_request(area, team, tmp_path / "work")
    state = read_state(area)
    request = state.request(request_id)
    outcomes = {name: outcome.value for name, outcome in request.check_outcomes.items()}
    assert outcomes == {
        "by_sex_age.csv": "pass",
        "raw.csv": "fail",
        "trend.png": "manual",
        "notes.txt": "manual",
    }
    checks = json.loads(area.checks_path(request_id).read_text())
    assert ["North", "sex: F"] in checks["outputs"]["raw.csv"]["flagged_cells"]
    # The stored outputs keep their original names; the frozen hashes are the file bytes.
    stored = area.output_path(request_id, "by_sex_age.csv")
    assert (
        request.outputs["by_sex_age.csv"].sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    )

    # A researcher cannot review, their own request or anyone's.
    code, output = _review(area, team.researcher.private, "by_sex_age.csv", "--approve")
    assert code == 2 and "may not review outputs" in output
    # A failed automated check needs an explicit override to approve.
    code, output = _review(area, team.checker1.private, "raw.csv", "--approve")
    assert code == 2 and "--override" in output
    # A checker counts once however often they approve.
    for _ in range(2):
        assert _review(area, team.checker1.private, "by_sex_age.csv", "--approve")[0] == 0
    code, output = _export(
        "release",
        "--dir",
        area.root,
        "--request",
        request_id,
        "--key",
        team.checker1.private,
        "--out",
        tmp_path / "outbox",
    )
    assert code == 2 and "needs approval by 2 distinct checkers" in output
    assert not (tmp_path / "outbox").exists()

    code, output = _review(area, team.checker2.private, "by_sex_age.csv", "--approve")
    assert code == 0 and "now approved" in output
    for checker in (team.checker1, team.checker2):
        assert _review(area, checker.private, "trend.png", "--approve")[0] == 0
        code, output = _review(
            area,
            checker.private,
            "raw.csv",
            "--approve",
            "--override",
            "counts are published elsewhere",
        )
        assert code == 0, output
    assert _review(area, team.checker3.private, "raw.csv", "--reject")[0] == 0  # one rejection wins
    assert _review(area, team.checker3.private, "notes.txt", "--reject")[0] == 0

    code, output = _export("status", "--dir", area.root, "--request", request_id)
    assert code == 0 and "rejected" in output and "Carl, Dana (2/2)" in output

    outbox = tmp_path / "outbox"
    code, output = _export(
        "release",
        "--dir",
        area.root,
        "--request",
        request_id,
        "--key",
        team.checker2.private,
        "--out",
        outbox,
    )
    assert code == 0, output
    assert sorted(path.name for path in outbox.iterdir()) == [
        "SHA256SUMS",
        "by_sex_age.csv",
        "manifest.json",
        "trend.png",
    ]
    manifest = json.loads((outbox / "manifest.json").read_text())
    assert manifest["withheld"] == ["notes.txt", "raw.csv"]
    assert [o["name"] for o in manifest["outputs"]] == ["by_sex_age.csv", "trend.png"]
    assert {a["name"] for a in manifest["outputs"][0]["approved_by"]} == {"Carl", "Dana"}
    for line in (outbox / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((outbox / name).read_bytes()).hexdigest() == digest
    # The decision record of a table never leaves; the manifest points at the log entry.
    lines = area.log_path.read_bytes().splitlines()
    assert hashlib.sha256(lines[-1]).hexdigest() == manifest["audit_log"]["release_entry_sha256"]

    # After release: no more reviews, no second release, and the log verifies.
    code, output = _review(area, team.checker3.private, "trend.png", "--reject")
    assert code == 2 and "already released" in output
    code, output = _export(
        "release",
        "--dir",
        area.root,
        "--request",
        request_id,
        "--key",
        team.checker2.private,
        "--out",
        tmp_path / "again",
    )
    assert code == 2 and not (tmp_path / "again").exists()
    code, output = _export("audit", "--dir", area.root)
    assert code == 0, output
    code, output = _export("list", "--dir", area.root)
    assert "released" in output


def test_decision_record_is_kept_as_evidence_never_released(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    import pandas as pd

    import sdc

    frame = pd.DataFrame(
        {"region": ["North"] * 30 + ["South"] * 25, "sex": ["F", "M"] * 27 + ["F"]}
    )
    table = sdc.frequency_table(frame, ["region"], ["sex"], policy=sdc.load_policy())
    csv_path, record_path = sdc.write_table(table, tmp_path / "work" / "protected.csv")
    code, output = _export(
        "new", "--dir", area.root, "--key", team.researcher.private, "--title", "t"
    )
    request_id = output.strip().splitlines()[-1]
    code, output = _export(
        "add",
        csv_path,
        "--dir",
        area.root,
        "--request",
        request_id,
        "--key",
        team.researcher.private,
        "--kind",
        "table",
        "--description",
        "d",
    )
    assert code == 0 and record_path.name in output
    assert area.output_path(request_id, record_path.name).is_file()
    _export("submit", "--dir", area.root, "--request", request_id, "--key", team.researcher.private)
    for checker in (team.checker1, team.checker2):
        assert (
            _review(area, checker.private, "protected.csv", "--approve", request_id=request_id)[0]
            == 0
        )
    outbox = tmp_path / "outbox"
    assert (
        _export(
            "release",
            "--dir",
            area.root,
            "--request",
            request_id,
            "--key",
            team.checker1.private,
            "--out",
            outbox,
        )[0]
        == 0
    )
    assert not (outbox / record_path.name).exists()


def test_differencing_against_this_request_and_earlier_releases(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    folder = tmp_path / "work"
    first = tables.write(folder, "by_region_age.csv", tables.SAFE_BY_REGION_AGE)
    second = tables.write(folder, "by_sex_age.csv", tables.SAFE_BY_SEX_AGE)
    key = team.researcher.private

    def submit(*paths: Path) -> str:
        request_id = (
            _export("new", "--dir", area.root, "--key", key, "--title", "t")[1]
            .strip()
            .splitlines()[-1]
        )
        for path in paths:
            _export(
                "add",
                path,
                "--dir",
                area.root,
                "--request",
                request_id,
                "--key",
                key,
                "--kind",
                "table",
                "--description",
                "d",
            )
        assert _export("submit", "--dir", area.root, "--request", request_id, "--key", key)[0] == 0
        return request_id

    together = submit(first, second)
    state = read_state(area)
    assert state.request(together).check_outcomes["by_sex_age.csv"].value == "fail"

    alone = submit(first)
    assert read_state(area).request(alone).check_outcomes["by_region_age.csv"].value == "pass"
    for checker in (team.checker1, team.checker2):
        _review(area, checker.private, "by_region_age.csv", "--approve", request_id=alone)
    assert (
        _export(
            "release",
            "--dir",
            area.root,
            "--request",
            alone,
            "--key",
            team.checker1.private,
            "--out",
            tmp_path / "o1",
        )[0]
        == 0
    )

    later = submit(second)
    checks = json.loads(area.checks_path(later).read_text())
    verdict = checks["outputs"]["by_sex_age.csv"]
    assert verdict["outcome"] == "fail"
    assert any("request-wide audit" in reason for reason in verdict["reasons"])
    assert ["North", "sex: F | age: old"] in verdict["flagged_cells"]


def test_changed_file_after_review_blocks_review_and_release(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    request_id = _submitted_request(area, team, tmp_path / "work")
    for checker in (team.checker1, team.checker2):
        for name in ("by_sex_age.csv", "trend.png", "notes.txt"):
            assert _review(area, checker.private, name, "--approve")[0] == 0
        _review(area, checker.private, "raw.csv", "--reject")
    stored = area.output_path(request_id, "by_sex_age.csv")
    stored.write_text(tables.SAFE_BY_SEX_AGE.replace("44", "45"), encoding="utf-8")
    lines_before = area.log_path.read_bytes()
    code, output = _export(
        "release",
        "--dir",
        area.root,
        "--request",
        request_id,
        "--key",
        team.checker1.private,
        "--out",
        tmp_path / "outbox",
    )
    assert code == 2 and "by_sex_age.csv no longer match" in output
    assert not (tmp_path / "outbox").exists()
    assert area.log_path.read_bytes() == lines_before
    code, output = _review(area, team.checker3.private, "by_sex_age.csv", "--approve")
    assert code == 2 and "no longer matches the bytes frozen at submit" in output
    stored.unlink()
    code, output = _review(area, team.checker3.private, "by_sex_age.csv", "--approve")
    assert code == 2 and "missing" in output
    assert verify_area(area).passed


def test_refusals(area: ExportArea, team: Team, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    table = tables.write(folder, "by_sex_age.csv", tables.SAFE_BY_SEX_AGE)
    root = area.root
    # Unknown request, unenrolled key, wrong role.
    code, output = _export(
        "submit", "--dir", root, "--request", "R0042", "--key", team.researcher.private
    )
    assert code == 2 and "no request 'R0042'" in output
    code, output = _export("new", "--dir", root, "--key", team.stranger.private, "--title", "t")
    assert code == 2 and "is not enrolled" in output
    code, output = _export("new", "--dir", root, "--key", team.checker1.private, "--title", "t")
    assert code == 2 and "may not open requests" in output
    code, output = _export("new", "--dir", root, "--key", team.researcher.public, "--title", "t")
    assert code == 2  # a public key is not a private key
    request_id = (
        _export("new", "--dir", root, "--key", team.researcher.private, "--title", "t")[1]
        .strip()
        .splitlines()[-1]
    )
    add = ["--dir", root, "--request", request_id, "--kind", "table", "--description", "d"]
    # Someone else's request; duplicates; names that could escape; missing files.
    code, output = _export("add", table, *add, "--key", team.other_researcher.private)
    assert code == 2 and "belongs to another researcher" in output
    assert _export("add", table, *add, "--key", team.researcher.private)[0] == 0
    code, output = _export("add", table, *add, "--key", team.researcher.private)
    assert code == 2 and "already holds a file named 'by_sex_age.csv'" in output
    for bad in (".hidden", "a b", "..x"):
        code, output = _export(
            "add", tables.write(folder, bad, "x"), *add, "--key", team.researcher.private
        )
        assert code == 2 and "is not allowed" in output
    code, output = _export("add", folder / "absent.csv", *add, "--key", team.researcher.private)
    assert code == 2 and "no such file" in output
    # Reviews before submit; unknown outputs; submit twice; add after submit.
    code, output = _review(
        area, team.checker1.private, "by_sex_age.csv", "--approve", request_id=request_id
    )
    assert code == 2 and "has not been submitted" in output
    assert (
        _export("submit", "--dir", root, "--request", request_id, "--key", team.researcher.private)[
            0
        ]
        == 0
    )
    code, output = _export(
        "submit", "--dir", root, "--request", request_id, "--key", team.researcher.private
    )
    assert code == 2 and "is submitted" in output
    code, output = _export("add", table, *add, "--key", team.researcher.private)
    assert code == 2 and "frozen" in output
    code, output = _review(
        area, team.checker1.private, "nope.csv", "--approve", request_id=request_id
    )
    assert code == 2 and "no output named 'nope.csv'" in output
    code, output = _review(
        area,
        team.checker1.private,
        "by_sex_age.csv",
        "--approve",
        "--reject",
        request_id=request_id,
    )
    assert code == 2 and "exactly one" in output
    code, output = _review(
        area,
        team.checker1.private,
        "by_sex_age.csv",
        "--approve",
        "--override",
        "x",
        request_id=request_id,
    )
    assert code == 2 and "only for approving an output that failed" in output
    # A non-empty outbox is never overwritten.
    for checker in (team.checker1, team.checker2):
        _review(area, checker.private, "by_sex_age.csv", "--approve", request_id=request_id)
    outbox = tables.write(tmp_path / "outbox", "keep.txt", "mine").parent
    code, output = _export(
        "release",
        "--dir",
        root,
        "--request",
        request_id,
        "--key",
        team.researcher.private,
        "--out",
        tmp_path / "o2",
    )
    assert code == 2 and "may not release" in output
    code, output = _export(
        "release",
        "--dir",
        root,
        "--request",
        request_id,
        "--key",
        team.checker1.private,
        "--out",
        outbox,
    )
    assert code == 2 and "not empty" in output
    assert sorted(p.name for p in outbox.iterdir()) == ["keep.txt"]
    assert verify_area(area).passed


def test_enrolment_and_area_refusals(area: ExportArea, team: Team, tmp_path: Path) -> None:
    root = area.root
    code, output = _export(
        "enrol",
        "--dir",
        root,
        "--name",
        "Zed",
        "--role",
        "checker",
        "--public-key",
        team.stranger.public,
        "--key",
        team.checker1.private,
    )
    assert code == 2 and "may not enrol people" in output
    code, output = _export(
        "enrol",
        "--dir",
        root,
        "--name",
        "Zed",
        "--role",
        "checker",
        "--public-key",
        team.checker1.public,
        "--key",
        team.admin.private,
    )
    assert code == 2 and "already enrolled" in output
    code, output = _export("init", "--dir", root, "--project", "P", "--key", team.admin.private)
    assert code == 2 and "already exists" in output
    code, output = _export(
        "init",
        "--dir",
        tmp_path / "E2",
        "--project",
        "P",
        "--key",
        team.admin.private,
        "--approvals",
        "1",
    )
    assert code == 2 and "at least 2" in output and not (tmp_path / "E2").exists()
    code, output = _export("list", "--dir", tmp_path / "nowhere")
    assert code == 2 and "no export area here" in output
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "export-area.json").write_text("{not json")
    code, output = _export("audit", "--dir", tmp_path / "broken")
    assert code == 2 and "damaged" in output


def test_command_line_exit_status_and_message(area: ExportArea, team: Team) -> None:
    """The installed command exits 2 with a one-line message, no traceback."""
    command = ["export", "new", "--dir", str(area.root), "--title", "t"]
    completed = subprocess.run(
        [sys.executable, "-m", "trelink", *command, "--key", str(team.stranger.private)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "is not enrolled" in completed.stderr and "Traceback" not in completed.stderr


def test_required_approvals_is_a_project_setting(team: Team, tmp_path: Path) -> None:
    root = tmp_path / "E3"
    code, _ = _export(
        "init", "--dir", root, "--project", "P", "--key", team.admin.private, "--approvals", "3"
    )
    assert code == 0
    assert read_state(ExportArea.open(root)).settings().required_approvals == 3


def test_models_are_rechecked_from_their_metadata(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    import numpy as np
    import pandas as pd

    import sdc

    policy = sdc.load_policy()
    rng = np.random.default_rng(3)
    folder = tmp_path / "work"
    folder.mkdir()
    large = pd.DataFrame({"x": rng.normal(size=200)}).assign(
        y=lambda f: 2 * f.x + rng.normal(size=200)
    )
    small = large.head(8)
    sdc.fit_model("ols", "y ~ x", large, policy=policy).write(folder / "good.model.json")
    sdc.fit_model("ols", "y ~ x", small, policy=policy).write(folder / "tiny.model.json")
    tables.write(folder, "coefficients.csv", "term,estimate\nx,2.0\n")
    request_id = (
        _export("new", "--dir", area.root, "--key", team.researcher.private, "--title", "m")[1]
        .strip()
        .splitlines()[-1]
    )
    for name in ("good.model.json", "tiny.model.json", "coefficients.csv"):
        code, output = _export(
            "add",
            folder / name,
            "--dir",
            area.root,
            "--request",
            request_id,
            "--key",
            team.researcher.private,
            "--kind",
            "model",
            "--description",
            "d",
        )
        assert code == 0, output
    assert (
        _export(
            "submit", "--dir", area.root, "--request", request_id, "--key", team.researcher.private
        )[0]
        == 0
    )
    outcomes = read_state(area).request(request_id).check_outcomes
    assert {name: outcome.value for name, outcome in outcomes.items()} == {
        "good.model.json": "pass",
        "tiny.model.json": "fail",
        "coefficients.csv": "manual",
    }
