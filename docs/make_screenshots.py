"""Regenerate the screenshots of docs/output-checker.md: the whole checker flow, done on
the web page in Debian's headless Chromium (driven by Playwright), on synthetic outputs.

    .venv/bin/python docs/make_screenshots.py [--out docs/images]

A throwaway export area is made in a temporary folder (administrator, the researcher
Rita, the checkers Carl, Dana and Eve). Rita opens a request on the page and uploads
four outputs: a table protected by ``trelink sdc protect`` with its decision record, a
pandas crosstab with two small cells, a logistic model with a small dummy, and a figure.
Carl reviews them, asks a question and returns the crosstab; Rita answers and uploads
version 2; Carl and Dana review blind; they disagree on the model and Eve's third review
settles it; Carl releases from the page; the offline release.html is opened last.

Every number in the pictures comes from synthetic data drawn here with fixed seeds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import uvicorn

import sdc
from tre_export.area import ExportArea
from tre_export.enrolment import enrol, init_area
from tre_export.model import Role
from tre_export.signing import cli_signer
from tre_export.web.accounts import PasswordCost, set_password
from tre_export.web.app import create_app
from trelink.demo.charts import Coefficient, forest_plot
from trelink.trust.keys import generate_signer_keypair, private_key_path, public_key_path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PASSWORD = "correct horse battery staple"
# A throwaway area: a cheap argon2id cost keeps the run short (never for a real area).
CHEAP = PasswordCost(time_cost=1, memory_kib=8 * 1024, parallelism=1)
PEOPLE = [("Rita", Role.RESEARCHER), ("Carl", Role.CHECKER), ("Dana", Role.CHECKER)]
PEOPLE.append(("Eve", Role.CHECKER))


def _outputs(folder: Path) -> dict[str, Path]:
    """Four synthetic outputs as a researcher would make them (fixed seeds)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(16)
    people = pd.DataFrame(
        {
            "region": rng.choice(["North", "South", "East", "West"], 600),
            "exploitation": rng.choice(["criminal", "sexual", "labour"], 600, p=[0.55, 0.4, 0.05]),
        }
    )
    protected = sdc.frequency_table(
        people, ["region"], ["exploitation"], policy=sdc.load_policy(None)
    )
    table, _ = sdc.write_table(protected, folder / "exploitation_by_region.csv")
    # A crosstab written straight from pandas (margins named All): two cells are small.
    referrals = pd.DataFrame(
        [
            (group, sex)
            for group, sex, count in [
                ("North old", "F", 3),
                ("North old", "M", 15),
                ("North young", "F", 12),
                ("North young", "M", 11),
                ("South old", "F", 20),
                ("South old", "M", 13),
                ("South young", "F", 14),
                ("South young", "M", 4),
            ]
            for _ in range(count)
        ],
        columns=["group", "sex"],
    )
    crosstab = folder / "referrals_crosstab.csv"
    pd.crosstab(referrals.group, referrals.sex, margins=True).to_csv(crosstab)
    merged = folder / "v2" / "referrals_crosstab.csv"
    merged.parent.mkdir()
    region = referrals.group.str.split().str[0].rename("region")
    pd.crosstab(region, referrals.sex, margins=True).to_csv(merged)
    frame = pd.DataFrame(
        {
            "months": rng.normal(10, 3, 300),
            "nationality": rng.choice(["A", "B", "C"], 300, p=[0.5, 0.47, 0.03]),
            "closed": (rng.random(300) < 0.4).astype(int),
        }
    )
    fitted = sdc.fit_model(
        "logit", "closed ~ months + C(nationality)", frame, policy=sdc.load_policy(None)
    )
    model = fitted.write(folder / "closure.model.json")
    # The figure plots the model's own published terms (months and nationality B).
    labels = {"months": "months", "C(nationality)[T.B]": "nationality B (ref. A)"}
    document = json.loads(model.read_text(encoding="utf-8"))
    coefficients = [
        Coefficient(labels[item["term"]], float(item["coefficient"]), item["std_error"])
        for item in document["parameters"]
        if item["term"] in labels
    ]
    figure = folder / "closure_forest.svg"
    figure.write_text(str(forest_plot(coefficients, title="Closure, logit")), encoding="utf-8")
    return {
        "table": table,
        "crosstab": crosstab,
        "crosstab_v2": merged,
        "model": model,
        "figure": figure,
        "record": sdc.decision_record_path(table),
    }


def _area(root: Path) -> ExportArea:
    keys = root / "keys"
    keys.mkdir()
    paths = {}
    for name in ["Admin", *(person for person, _ in PEOPLE)]:
        generate_signer_keypair(keys / name.lower())
        paths[name] = keys / name.lower()
    admin = cli_signer(private_key_path(paths["Admin"]))
    area = init_area(root / "E", project="Exploitation study", administrator=admin)
    for name, role in PEOPLE:
        enrol(
            area,
            administrator=admin,
            name=name,
            role=role,
            public_key=public_key_path(paths[name]),
        )
        owner = cli_signer(private_key_path(paths[name]))
        set_password(area, owner=owner, password=PASSWORD, cost=CHEAP)
    return area


@contextlib.contextmanager
def _serve(area: ExportArea, outbox: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    app = create_app(area, outbox_root=outbox)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Walk:
    """One Chromium page walking the flow, saving pictures into ``out``."""

    def __init__(self, page: Any, server: str, out: Path) -> None:
        self.page = page
        self.server = server
        self.out = out
        self.saved: list[Path] = []

    def sign_in(self, name: str, path: str = "/requests/R0001") -> None:
        page = self.page
        if page.locator("text=Sign out").count():
            page.click("text=Sign out")
        page.goto(f"{self.server}/login")
        page.fill("#name", name)
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#who")
        page.goto(f"{self.server}{path}")

    def section(self, name: str) -> Any:
        return self.page.locator(f'section[data-output="{name}"]')

    def shot(self, name: str, target: Any = None) -> None:
        path = self.out / name
        if target is None:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            target.screenshot(path=str(path))
        self.saved.append(path)

    def decide(self, output: str, button: str, reason: str, override: str = "") -> None:
        section = self.section(output)
        section.locator("form.review textarea[name=reason]").last.fill(reason)
        if override:
            section.locator("textarea[name=override]").last.fill(override)
        section.locator(f"button.{button}").last.click()
        self.page.wait_for_selector("#notice")

    def comment(self, output: str, text: str) -> None:
        form = self.section(output).locator("form[data-role=comment]")
        form.locator("textarea").fill(text)
        form.locator("button").click()
        self.page.wait_for_selector("#notice")


def _walk(walk: Walk, files: dict[str, Path], outbox: Path) -> None:
    page = walk.page
    # The researcher: open a request, upload four outputs, submit.
    walk.sign_in("Rita", "/")
    page.fill("#open-request input[name=title]", "Exploitation by region; closure model")
    page.click("#open-request button")
    uploads = [
        ("table", files["table"], "Referrals by region and type of exploitation (protected)"),
        ("table", files["crosstab"], "Referrals by region, age group and sex (pandas crosstab)"),
        ("model", files["model"], "Logit of closure on months in service and nationality"),
        ("figure", files["figure"], "Forest plot of the closure model"),
    ]
    for kind, path, description in uploads:
        form = page.locator("#add-output")
        form.locator("input[name=file]").set_input_files(str(path))
        form.locator("select[name=kind]").select_option(kind)
        form.locator("textarea[name=description]").fill(description)
        if path == files["table"]:
            form.locator("input[name=record]").set_input_files(str(files["record"]))
        form.locator("button").click()
        page.wait_for_selector("#notice")
    walk.shot("researcher-draft.png", page.locator("#draft"))
    page.click("#submit-request button")
    page.wait_for_selector("#notice")

    # Carl: the queue, the evidence on each output, the decision record.
    walk.sign_in("Carl", "/")
    walk.shot("queue.png", page.locator("main"))
    page.goto(f"{walk.server}/requests/R0001")
    walk.shot("evidence-protected-table.png", walk.section("exploitation_by_region.csv"))
    walk.shot("crosstab-flagged.png", walk.section("referrals_crosstab.csv"))
    walk.shot("evidence-model.png", walk.section("closure.model.json"))
    walk.shot("evidence-figure.png", walk.section("closure_forest.svg"))
    page.click("text=Decision record exploitation_by_region.sdc.json")
    walk.shot("decision-record.png", page.locator("main"))
    page.goto(f"{walk.server}/requests/R0001")
    # A question without a new version, then the crosstab returned.
    walk.comment("closure.model.json", "Is months counted from referral or from allocation?")
    walk.decide(
        "referrals_crosstab.csv",
        "return",
        "North old F is 3 and South young M is 4: merge the age groups",
    )

    # Rita answers the question and uploads version 2 of the crosstab.
    walk.sign_in("Rita")
    walk.comment("closure.model.json", "From referral: the date the case was opened.")
    form = walk.section("referrals_crosstab.csv").locator("form[data-role=resubmit]")
    form.locator("input[type=file]").set_input_files(str(files["crosstab_v2"]))
    form.locator("textarea[name=answer]").fill("Merged the age groups: every cell is 13 or more")
    form.locator("button").click()
    page.wait_for_selector("#notice")

    # Carl and Dana review blind; they disagree on the model.
    walk.sign_in("Carl")
    walk.decide("exploitation_by_region.csv", "approve", "suppressed cells hold; ranges wide")
    walk.decide("referrals_crosstab.csv", "approve", "version 2: every cell at least 13")
    walk.decide("closure_forest.svg", "approve", "shows the two published coefficients")
    walk.decide(
        "closure.model.json",
        "approve",
        "the C dummy is not reported in the paper",
        override="only months and B are published; the C row stays in the TRE",
    )
    walk.sign_in("Dana")
    walk.shot("blind-review.png", walk.section("referrals_crosstab.csv"))
    walk.decide("exploitation_by_region.csv", "approve", "agree: protected")
    walk.decide("referrals_crosstab.csv", "approve", "all cells 13 or more")
    walk.decide("closure_forest.svg", "approve", "fine")
    walk.decide("closure.model.json", "reject", "group C has 8 people: its dummy is disclosive")
    walk.shot("request-resubmitted.png", walk.section("referrals_crosstab.csv"))
    walk.shot("conflict.png", walk.section("closure.model.json"))

    # Eve, blind to both, settles the conflict.
    walk.sign_in("Eve")
    walk.decide("closure.model.json", "reject", "the file released would carry the C dummy")
    walk.shot("conflict-settled.png", walk.section("closure.model.json"))

    # Carl releases from the page; the release page opens offline.
    walk.sign_in("Carl")
    page.click("#release")
    page.wait_for_selector("#notice")
    walk.shot("released.png", page.locator("main"))
    page.goto((outbox / "R0001" / "release.html").as_uri())
    walk.shot("release-page.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "images")
    arguments = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    arguments.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trelink-screenshots-") as folder:
        root = Path(folder)
        files = _outputs(root / "work")
        area = _area(root)
        outbox = root / "outbox"
        with _serve(area, outbox) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            walk = Walk(page, server, arguments.out)
            _walk(walk, files, outbox)
            browser.close()
    for path in walk.saved:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
