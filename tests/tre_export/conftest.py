"""Shared fixtures: signer keys for each person and a ready export area."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tre_export.area import ExportArea
from tre_export.checks import RequestChecks
from tre_export.enrolment import enrol, init_area
from tre_export.model import OutputKind, Role
from tre_export.signing import Signer, cli_signer
from tre_export.web.accounts import PasswordCost, set_password
from trelink.trust.keys import generate_signer_keypair, private_key_path, public_key_path


@dataclass(frozen=True)
class Person:
    name: str
    private: Path
    public: Path

    @property
    def signer(self) -> Signer:
        return cli_signer(self.private)


@dataclass(frozen=True)
class Team:
    admin: Person
    researcher: Person
    other_researcher: Person
    checker1: Person
    checker2: Person
    checker3: Person
    stranger: Person  # has a key, never enrolled


def _person(directory: Path, name: str) -> Person:
    prefix = directory / name.lower()
    generate_signer_keypair(prefix)
    return Person(name, private_key_path(prefix), public_key_path(prefix))


@pytest.fixture()
def team(tmp_path: Path) -> Team:
    keys = tmp_path / "keys"
    keys.mkdir()
    names = ["Admin", "Rita", "Omar", "Carl", "Dana", "Eve", "Mallory"]
    return Team(*(_person(keys, name) for name in names))


@pytest.fixture()
def area(tmp_path: Path, team: Team) -> ExportArea:
    created = init_area(tmp_path / "E", project="Demo", administrator=team.admin.signer)
    for person, role in [
        (team.researcher, Role.RESEARCHER),
        (team.other_researcher, Role.RESEARCHER),
        (team.checker1, Role.CHECKER),
        (team.checker2, Role.CHECKER),
        (team.checker3, Role.CHECKER),
    ]:
        enrol(
            created,
            administrator=team.admin.signer,
            name=person.name,
            role=role,
            public_key=person.public,
        )
    return created


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    output: str


def run_cli(*args: str | Path, input_text: str | None = None) -> CliResult:
    """Run ``trelink ARGS`` in process, mapping deliberate errors as ``trelink.cli.main`` does.

    The application holds only what ``tre_export.cli.register`` adds, so these tests do
    not depend on other roles' commands (the umbrella is exercised by a subprocess test).
    """
    import typer
    from typer.testing import CliRunner

    from tre_export.cli import register
    from trelink.errors import TrelinkError

    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    result = CliRunner().invoke(app, [str(arg) for arg in args], input=input_text)
    if isinstance(result.exception, TrelinkError):
        return CliResult(3, result.output + f"error: {result.exception}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.output)


PASSWORD = "correct horse battery staple"
# Cheap argon2id for tests only: the default cost is exercised by test_passwd_command.
CHEAP = PasswordCost(time_cost=1, memory_kib=8 * 1024, parallelism=1)


def submit_outputs(
    area: ExportArea,
    team: Team,
    folder: Path,
    outputs: Sequence[tuple[str, str | bytes, OutputKind]],
    *,
    title: str,
) -> tuple[str, RequestChecks]:
    """The team's researcher opens a request, adds each (file name, content, kind)
    written under ``folder``, and submits it: the request's id and its checks."""
    from tests.tre_export import tables
    from tre_export.request import add_output, new_request, submit_request

    researcher = team.researcher.signer
    request_id = new_request(area, researcher=researcher, title=title)
    for name, content, kind in outputs:
        add_output(
            area,
            researcher=researcher,
            request_id=request_id,
            source=tables.write(folder, name, content),
            kind=kind,
            description=f"the {kind.value}",
        )
    return request_id, submit_request(area, researcher=researcher, request_id=request_id)


@pytest.fixture()
def web_area(area: ExportArea, team: Team, tmp_path: Path) -> ExportArea:
    """The area with R0001 submitted (a safe table, an unsafe table, a figure) and web
    passwords set for two checkers and a researcher."""
    from tests.tre_export import tables
    from tre_export.model import OutputKind

    outputs = [
        ("by_sex_age.csv", tables.SAFE_BY_SEX_AGE, OutputKind.TABLE),
        ("raw.csv", tables.UNSAFE_RAW, OutputKind.TABLE),
        ("trend.png", tables.PNG, OutputKind.FIGURE),
    ]
    submit_outputs(area, team, tmp_path / "work", outputs, title="NRM referrals by region")
    for person in (team.checker1, team.checker2, team.researcher):
        set_password(area, owner=person.signer, password=PASSWORD, cost=CHEAP)
    return area
