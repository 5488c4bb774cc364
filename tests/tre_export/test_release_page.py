"""``release.html`` beside the released files (issue 16, item 5): what left, with
suppressed cells marked, figures, who approved what and when, and the log's head hash;
made from any outbox, and nothing in it that did not leave."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.tre_export import tables
from tests.tre_export.conftest import Team, run_cli
from tests.tre_export.test_evidence import _model, _protected
from tre_export.area import ExportArea
from tre_export.state import verify_area

_READABLE = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC")


def _export(*args: str | Path) -> tuple[int, str]:
    result = run_cli("export", *args)
    return result.exit_code, result.output


def _released(area: ExportArea, team: Team, tmp_path: Path) -> Path:
    """R0001: a protected table (with its decision record), a figure, a model and a text
    whose description tries markup, approved by two checkers; an unsafe table rejected."""
    folder = tmp_path / "work"
    key = team.researcher.private
    code, output = _export("new", "--dir", area.root, "--key", key, "--title", "Referrals <b>")
    assert code == 0, output
    files = [
        (_protected(folder), "table"),
        (tables.write(folder, "raw.csv", tables.UNSAFE_RAW), "table"),
        (tables.write(folder, "trend.png", tables.PNG), "figure"),
        (_model(folder), "model"),
        (tables.write(folder, "notes.txt", "Referrals rose in 2021.\n"), "text"),
    ]
    for path, kind in files:
        description = "<script>alert(1)</script>" if kind == "text" else f"the {kind}"
        options = ["--request", "R0001", "--kind", kind, "--description", description]
        code, output = _export("add", path, "--dir", area.root, "--key", key, *options)
        assert code == 0, output
    code, output = _export("submit", "--dir", area.root, "--request", "R0001", "--key", key)
    assert code == 0, output
    for name, _ in [(path.name, kind) for path, kind in files]:
        for checker in (team.checker1, team.checker2):
            flags = ["--reject"] if name == "raw.csv" else ["--approve"]
            if name in ("closure.model.json",) and flags == ["--approve"]:
                flags += ["--override", "the small group is published elsewhere"]
            options = ["--request", "R0001", "--output", name, "--reason", "looked at it"]
            code, output = _export(
                "review", "--dir", area.root, "--key", checker.private, *options, *flags
            )
            assert code == 0, output
    outbox = tmp_path / "outbox"
    code, output = _export(
        "release", "--dir", area.root, "--request", "R0001", "--key", team.checker1.private,
        "--out", outbox,
    )  # fmt: skip
    assert code == 0, output
    assert f"summary page: {outbox / 'release.html'}" in output
    return outbox


def test_release_writes_an_offline_page_of_what_left(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    outbox = _released(area, team, tmp_path)
    page = (outbox / "release.html").read_text(encoding="utf-8")
    manifest = json.loads((outbox / "manifest.json").read_text(encoding="utf-8"))
    head = manifest["audit_log"]["release_entry_sha256"]
    verification = verify_area(area)
    assert verification.head_digest == head
    assert f'<code id="head">{head}</code>' in page
    # Tables with suppressed cells marked, and nothing of the decision record.
    assert '<td class="suppressed">suppressed</td>' in page
    for secret in ("primary", "secondary", "interval", "sdc.json"):
        assert secret not in page
    # The figure embedded, the model's coefficients, the text in full.
    assert '<img src="data:image/png;base64,' in page
    assert "<code>closed ~ months + C(nationality)</code>" in page
    assert "<th>C(nationality)[T.C]</th>" in page
    assert "Referrals rose in 2021." in page
    # Who approved what and when, in words; what was withheld.
    section = page[page.index('data-output="trend.png"') :]
    section = section[: section.index("</section>")]
    assert "<strong>Carl</strong>" in section and "<strong>Dana</strong>" in section
    assert _READABLE.search(section) and "+00:00" not in page
    assert "Withheld (rejected): raw.csv" in page and 'data-output="raw.csv"' not in page
    # Escaped, offline and scriptless.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    assert "Referrals &lt;b&gt;" in page
    assert "http://" not in page and "https://" not in page
    assert 'src="/' not in page and "href=" not in page


def test_the_page_can_be_made_for_any_outbox(area: ExportArea, team: Team, tmp_path: Path) -> None:
    outbox = _released(area, team, tmp_path)
    (outbox / "release.html").unlink()
    code, output = _export("release-page", "--outbox", outbox)
    assert code == 0, output
    assert "trend.png" in (outbox / "release.html").read_text(encoding="utf-8")
    code, output = _export("release-page", "--outbox", tmp_path / "work")
    assert code == 3 and "no readable manifest.json" in output
    assert not (tmp_path / "work" / "release.html").exists()
