"""The whole request lifecycle through the command line, and every refusal on the way."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from tests.tre_export import tables
from tests.tre_export.conftest import Team, run_cli
from tre_export.area import ExportArea
from tre_export.state import read_state, verify_area
from trelink.trust.keys import generate_signer_keypair, private_key_path, public_key_path


def _export(*args: str | Path) -> tuple[int, str]:
    result = run_cli("export", *args)
    return result.exit_code, result.output


def _new(root: Path, key: Path, title: str = "t") -> str:
    code, output = _export("new", "--dir", root, "--key", key, "--title", title)
    assert code == 0, output
    return output.strip().splitlines()[-1]  # the id is the last line


def _add(
    root: Path, key: Path, request_id: str, path: Path, kind: str = "table"
) -> tuple[int, str]:
    options = ["--request", request_id, "--kind", kind, "--description", f"the {kind}"]
    return _export("add", path, "--dir", root, "--key", key, *options)


def _submit(root: Path, key: Path, request_id: str) -> tuple[int, str]:
    return _export("submit", "--dir", root, "--request", request_id, "--key", key)


def _review(
    area: ExportArea, key: Path, output: str, *flags: str, request_id: str = "R0001"
) -> tuple[int, str]:
    options = ["--request", request_id, "--output", output, "--reason", "looked at every cell"]
    return _export("review", "--dir", area.root, "--key", key, *options, *flags)


def _release(root: Path, key: Path, request_id: str, outbox: Path) -> tuple[int, str]:
    return _export("release", "--dir", root, "--request", request_id, "--key", key, "--out", outbox)


def _submitted_request(area: ExportArea, team: Team, folder: Path) -> str:
    """R0001 with a safe table, an unsafe raw table, a figure and a text, submitted."""
    key = team.researcher.private
    request_id = _new(area.root, key, "NRM referrals")
    assert request_id == "R0001"
    for name, content, kind in [
        ("by_sex_age.csv", tables.SAFE_BY_SEX_AGE, "table"),
        ("raw.csv", tables.UNSAFE_RAW, "table"),
        ("trend.png", tables.PNG, "figure"),
        ("notes.txt", "Referrals rose in 2021.\n", "text"),
    ]:
        code, output = _add(area.root, key, request_id, tables.write(folder, name, content), kind)
        assert code == 0, output
    code, output = _submit(area.root, key, request_id)
    assert code == 0, output
    return request_id


def test_whole_lifecycle(area: ExportArea, team: Team, tmp_path: Path) -> None:
    request_id = _submitted_request(area, team, tmp_path / "work")
    request = read_state(area).request(request_id)
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
    stored = area.output_path(request_id, "by_sex_age.csv").read_bytes()
    assert request.outputs["by_sex_age.csv"].sha256 == hashlib.sha256(stored).hexdigest()
    frozen = json.loads(area.manifest_path(request_id).read_text())
    assert frozen["by_sex_age.csv"] == request.outputs["by_sex_age.csv"].sha256
    assert sorted(frozen) == ["by_sex_age.csv", "notes.txt", "raw.csv", "trend.png"]

    # A researcher cannot review, their own request or anyone's.
    code, output = _review(area, team.researcher.private, "by_sex_age.csv", "--approve")
    assert code == 3 and "may not review outputs" in output
    # A failed automated check needs an explicit override to approve.
    code, output = _review(area, team.checker1.private, "raw.csv", "--approve")
    assert code == 3 and "--override" in output
    # A checker counts once however often they approve.
    for _ in range(2):
        assert _review(area, team.checker1.private, "by_sex_age.csv", "--approve")[0] == 0
    outbox = tmp_path / "outbox"
    code, output = _release(area.root, team.checker1.private, request_id, outbox)
    assert code == 3 and "needs approval by 2 distinct checkers" in output
    assert not outbox.exists()

    code, output = _review(area, team.checker2.private, "by_sex_age.csv", "--approve")
    assert code == 0 and "now approved" in output
    override = ["--override", "counts are published elsewhere"]
    for checker in (team.checker1, team.checker2):
        assert _review(area, checker.private, "trend.png", "--approve")[0] == 0
        assert _review(area, checker.private, "raw.csv", "--approve", *override)[0] == 0
    assert _review(area, team.checker3.private, "raw.csv", "--reject")[0] == 0  # one rejection wins
    assert _review(area, team.checker3.private, "notes.txt", "--reject")[0] == 0

    # Reviews are blind by default: the administrator, who reviews nothing, sees them all.
    code, output = _export(
        "status", "--dir", area.root, "--request", request_id, "--key", team.admin.private
    )
    assert code == 0 and "rejected" in output and "Carl, Dana (2/2)" in output
    # Eve's rejection of raw.csv, which Carl and Dana approved, is a conflict: release
    # waits until the three agree a decision (or a fourth checker reviews it).
    assert "conflict" in output and "the checkers disagree on raw.csv" in output
    code, output = _release(area.root, team.checker2.private, request_id, outbox)
    assert code == 3 and "the checkers disagree on raw.csv" in output
    assert not outbox.exists()
    for checker in (team.checker1, team.checker2, team.checker3):
        code, output = _export(
            "consensus", "--dir", area.root, "--request", request_id, "--key", checker.private,
            "--output", "raw.csv", "--reject", "--reason", "agreed: North F is 3",
        )  # fmt: skip
        assert code == 0, output
    assert "now rejected" in output

    code, output = _release(area.root, team.checker2.private, request_id, outbox)
    assert code == 0, output
    released = ["SHA256SUMS", "by_sex_age.csv", "manifest.json", "release.html", "trend.png"]
    assert sorted(path.name for path in outbox.iterdir()) == released
    manifest = json.loads((outbox / "manifest.json").read_text())
    assert manifest["withheld"] == ["notes.txt", "raw.csv"]
    assert [output["name"] for output in manifest["outputs"]] == ["by_sex_age.csv", "trend.png"]
    assert {a["name"] for a in manifest["outputs"][0]["approved_by"]} == {"Carl", "Dana"}
    for line in (outbox / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((outbox / name).read_bytes()).hexdigest() == digest
    # The manifest points at the release entry of the log, an anchor for later audits.
    last_line = area.log_path.read_bytes().splitlines()[-1]
    assert hashlib.sha256(last_line).hexdigest() == manifest["audit_log"]["release_entry_sha256"]

    # After release: no more reviews, no second release, and the log verifies.
    code, output = _review(area, team.checker3.private, "trend.png", "--reject")
    assert code == 3 and "already released" in output
    code, output = _release(area.root, team.checker2.private, request_id, tmp_path / "again")
    assert code == 3 and not (tmp_path / "again").exists()
    code, output = _export("audit", "--dir", area.root)
    assert code == 0, output
    assert "released" in _export("list", "--dir", area.root)[1]


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
    request_id = _new(area.root, team.researcher.private)
    code, output = _add(area.root, team.researcher.private, request_id, csv_path)
    assert code == 0 and record_path.name in output
    assert area.output_path(request_id, record_path.name).is_file()
    assert _submit(area.root, team.researcher.private, request_id)[0] == 0
    for checker in (team.checker1, team.checker2):
        code, _ = _review(
            area, checker.private, "protected.csv", "--approve", request_id=request_id
        )
        assert code == 0
    outbox = tmp_path / "outbox"
    assert _release(area.root, team.checker1.private, request_id, outbox)[0] == 0
    assert (outbox / "protected.csv").is_file() and not (outbox / record_path.name).exists()


def test_differencing_against_this_request_and_earlier_releases(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    folder = tmp_path / "work"
    first = tables.write(folder, "by_region_age.csv", tables.SAFE_BY_REGION_AGE)
    second = tables.write(folder, "by_sex_age.csv", tables.SAFE_BY_SEX_AGE)
    key = team.researcher.private

    def draft(*paths: Path) -> str:
        request_id = _new(area.root, key)
        for path in paths:
            assert _add(area.root, key, request_id, path)[0] == 0
        return request_id

    def submitted(*paths: Path) -> str:
        request_id = draft(*paths)
        assert _submit(area.root, key, request_id)[0] == 0
        return request_id

    # Each table passes alone; together a suppressed cell is recovered exactly.
    together = submitted(first, second)
    assert read_state(area).request(together).check_outcomes["by_sex_age.csv"].value == "fail"

    alone = submitted(first)
    assert read_state(area).request(alone).check_outcomes["by_region_age.csv"].value == "pass"
    for checker in (team.checker1, team.checker2):
        _review(area, checker.private, "by_region_age.csv", "--approve", request_id=alone)
    assert _release(area.root, team.checker1.private, alone, tmp_path / "o1")[0] == 0

    later = submitted(second)
    verdict = json.loads(area.checks_path(later).read_text())["outputs"]["by_sex_age.csv"]
    assert verdict["outcome"] == "fail"
    assert any("request-wide audit" in reason for reason in verdict["reasons"])
    assert ["North", "sex: F | age: old"] in verdict["flagged_cells"]

    # A released table altered in the area would make the differencing audit meaningless.
    area.output_path(alone, "by_region_age.csv").write_text("changed", encoding="utf-8")
    code, output = _submit(area.root, key, draft(second))
    assert code == 3 and f"{alone}/by_region_age.csv was released but its stored copy" in output


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
    log_before = area.log_path.read_bytes()
    outbox = tmp_path / "outbox"
    code, output = _release(area.root, team.checker1.private, request_id, outbox)
    assert code == 3 and "by_sex_age.csv no longer match" in output
    assert not outbox.exists()
    assert area.log_path.read_bytes() == log_before
    code, output = _review(area, team.checker3.private, "by_sex_age.csv", "--approve")
    assert code == 3 and "no longer matches the bytes frozen at submit" in output
    stored.unlink()
    code, output = _review(area, team.checker3.private, "by_sex_age.csv", "--approve")
    assert code == 3 and "missing" in output
    assert verify_area(area).passed


def test_refusals(area: ExportArea, team: Team, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    table = tables.write(folder, "by_sex_age.csv", tables.SAFE_BY_SEX_AGE)
    root, rita = area.root, team.researcher.private
    # Unknown request, unenrolled key, wrong role, a public key offered as a private one.
    code, output = _submit(root, rita, "R0042")
    assert code == 3 and "no request 'R0042'" in output
    code, output = _export("new", "--dir", root, "--key", team.stranger.private, "--title", "t")
    assert code == 3 and "is not enrolled" in output
    code, output = _export("new", "--dir", root, "--key", team.checker1.private, "--title", "t")
    assert code == 3 and "may not open requests" in output
    code, output = _export("new", "--dir", root, "--key", team.researcher.public, "--title", "t")
    assert code == 3
    request_id = _new(root, rita)
    # Someone else's request; duplicates; names that could escape; missing files.
    code, output = _add(root, team.other_researcher.private, request_id, table)
    assert code == 3 and "belongs to another researcher" in output
    assert _add(root, rita, request_id, table)[0] == 0
    code, output = _add(root, rita, request_id, table)
    assert code == 3 and "already holds a file named 'by_sex_age.csv'" in output
    for bad in (".hidden", "a b", "..x"):
        code, output = _add(root, rita, request_id, tables.write(folder, bad, "x"))
        assert code == 3 and "is not allowed" in output
    code, output = _add(root, rita, request_id, tables.write(folder, "manifest.json", "{}"))
    assert code == 3 and "reserved" in output
    code, output = _add(root, rita, request_id, folder / "absent.csv")
    assert code == 3 and "no such file" in output
    # Reviews before submit; submit twice; add after submit; unknown outputs; bad flags.
    code, output = _review(
        area, team.checker1.private, "by_sex_age.csv", "--approve", request_id=request_id
    )
    assert code == 3 and "has not been submitted" in output
    assert _submit(root, rita, request_id)[0] == 0
    code, output = _submit(root, rita, request_id)
    assert code == 3 and "is submitted" in output
    code, output = _add(root, rita, request_id, table)
    assert code == 3 and "frozen" in output
    code, output = _review(
        area, team.checker1.private, "nope.csv", "--approve", request_id=request_id
    )
    assert code == 3 and "no output named 'nope.csv'" in output
    both = ["--approve", "--reject"]
    code, output = _review(
        area, team.checker1.private, "by_sex_age.csv", *both, request_id=request_id
    )
    assert code == 3 and "exactly one" in output
    override = ["--approve", "--override", "x"]
    code, output = _review(
        area, team.checker1.private, "by_sex_age.csv", *override, request_id=request_id
    )
    assert code == 3 and "only for approving an output that failed" in output
    # Only a checker releases, and a non-empty outbox is never overwritten.
    for checker in (team.checker1, team.checker2):
        _review(area, checker.private, "by_sex_age.csv", "--approve", request_id=request_id)
    code, output = _release(root, rita, request_id, tmp_path / "o2")
    assert code == 3 and "may not release" in output
    outbox = tables.write(tmp_path / "outbox", "keep.txt", "mine").parent
    code, output = _release(root, team.checker1.private, request_id, outbox)
    assert code == 3 and "not empty" in output
    assert sorted(path.name for path in outbox.iterdir()) == ["keep.txt"]
    assert verify_area(area).passed


def test_enrolment_and_area_refusals(area: ExportArea, team: Team, tmp_path: Path) -> None:
    root, admin = area.root, team.admin.private

    def enrol(public: Path, key: Path) -> tuple[int, str]:
        options = ["--name", "Zed", "--role", "checker", "--public-key", public, "--key", key]
        return _export("enrol", "--dir", root, *options)

    code, output = enrol(team.stranger.public, team.checker1.private)
    assert code == 3 and "may not enrol people" in output
    code, output = enrol(team.checker1.public, admin)
    assert code == 3 and "already enrolled" in output
    code, output = _export("init", "--dir", root, "--project", "P", "--key", admin)
    assert code == 3 and "already exists" in output
    new_root = tmp_path / "E2"
    code, output = _export(
        "init", "--dir", new_root, "--project", "P", "--key", admin, "--approvals", "1"
    )
    assert code == 3 and "at least 2" in output and not new_root.exists()
    code, output = _export("list", "--dir", tmp_path / "nowhere")
    assert code == 3 and "no export area here" in output
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "export-area.json").write_text("{not json")
    code, output = _export("audit", "--dir", tmp_path / "broken")
    assert code == 3 and "damaged" in output


def test_command_line_exit_status_and_message(area: ExportArea, team: Team) -> None:
    """The installed command exits 3 (refused) with a one-line message, no traceback."""
    command = ["export", "new", "--dir", str(area.root), "--title", "t"]
    completed = subprocess.run(
        [sys.executable, "-m", "trelink", *command, "--key", str(team.stranger.private)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 3
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
    large = pd.DataFrame({"x": rng.normal(size=200)})
    large["y"] = 2 * large["x"] + rng.normal(size=200)
    sdc.fit_model("ols", "y ~ x", large, policy=policy).write(folder / "good.model.json")
    sdc.fit_model("ols", "y ~ x", large.head(8), policy=policy).write(folder / "tiny.model.json")
    tables.write(folder, "coefficients.csv", "term,estimate\nx,2.0\n")
    key = team.researcher.private
    request_id = _new(area.root, key)
    for name in ("good.model.json", "tiny.model.json", "coefficients.csv"):
        code, output = _add(area.root, key, request_id, folder / name, "model")
        assert code == 0, output
    assert _submit(area.root, key, request_id)[0] == 0
    outcomes = read_state(area).request(request_id).check_outcomes
    assert {name: outcome.value for name, outcome in outcomes.items()} == {
        "good.model.json": "pass",  # enough residual degrees of freedom
        "tiny.model.json": "fail",  # 6 residual degrees of freedom, fewer than 10
        "coefficients.csv": "manual",  # no metadata to re-check: a checker judges it
    }


def test_project_policy_is_used_and_protected(team: Team, tmp_path: Path) -> None:
    from sdc import DEFAULT_POLICY

    default_text = Path(DEFAULT_POLICY).read_text(encoding="utf-8")
    strict = tables.write(
        tmp_path, "strict.yaml", default_text.replace("threshold: 10", "threshold: 30")
    )
    root, admin, rita = tmp_path / "P", team.admin.private, team.researcher.private
    assert (
        _export("init", "--dir", root, "--project", "P", "--key", admin, "--policy", strict)[0] == 0
    )
    enrolment = ["--name", "Rita", "--role", "researcher", "--public-key", team.researcher.public]
    assert _export("enrol", "--dir", root, *enrolment, "--key", admin)[0] == 0
    table = tables.write(tmp_path / "work", "by_sex_age.csv", tables.SAFE_BY_SEX_AGE)

    def submit() -> tuple[int, str]:
        request_id = _new(root, rita)
        _add(root, rita, request_id, table)
        return _submit(root, rita, request_id)

    assert submit()[0] == 0
    # Cells of 12 and 13 pass the default threshold of 10 but not this project's 30.
    area = ExportArea.open(root)
    assert read_state(area).request("R0001").check_outcomes["by_sex_age.csv"].value == "fail"
    area.policy_path.write_text(default_text, encoding="utf-8")
    code, output = submit()
    assert code == 3 and "policy is missing or changed" in output


def test_show_prints_the_evidence_with_flagged_cells(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    request_id = _submitted_request(area, team, tmp_path / "work")
    _review(area, team.checker1.private, "raw.csv", "--reject")
    code, output = _export(
        "show", "--dir", area.root, "--request", request_id, "--output", "raw.csv",
        "--key", team.checker1.private,
    )  # fmt: skip
    assert code == 0, output
    assert "cell (North, sex: F) is published but breaks: threshold" in output
    assert "3*" in output and "14*" not in output  # only the flagged cell is starred
    assert re.search(
        r"Carl rejected via cli on \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC: "
        r"looked at every cell",
        output,
    )
    assert "by_sex_age.csv" not in output
    code, output = _export("show", "--dir", area.root, "--request", request_id)
    assert code == 0 and "suppressed" in output and "trend.png" in output


def test_revoked_key_signs_nothing_and_its_open_reviews_stop_counting(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    request_id = _submitted_request(area, team, tmp_path / "work")
    for checker in (team.checker1, team.checker2):
        assert _review(area, checker.private, "by_sex_age.csv", "--approve")[0] == 0
    revoke = ["--name", "Carl", "--reason", "laptop stolen"]
    code, output = _export("revoke", "--dir", area.root, *revoke, "--key", team.checker2.private)
    assert code == 3 and "may not revoke keys" in output
    code, output = _export("revoke", "--dir", area.root, *revoke, "--key", team.admin.private)
    assert code == 0, output
    state = read_state(area)
    assert state.output_status(state.request(request_id), "by_sex_age.csv").value == "pending"
    code, output = _review(area, team.checker1.private, "trend.png", "--approve")
    assert code == 3 and "was revoked" in output
    code, output = _export("revoke", "--dir", area.root, *revoke, "--key", team.admin.private)
    assert code == 3 and "has an active enrolment" in output
    # Carl comes back with a new key under the same name, and must review again.
    fresh = tmp_path / "keys" / "carl-new"
    generate_signer_keypair(fresh)
    enrolment = ["--name", "Carl", "--role", "checker", "--public-key", public_key_path(fresh)]
    assert _export("enrol", "--dir", area.root, *enrolment, "--key", team.admin.private)[0] == 0
    code, output = _review(area, private_key_path(fresh), "by_sex_age.csv", "--approve")
    assert code == 0 and "now approved" in output
    assert _export("audit", "--dir", area.root)[0] == 0
