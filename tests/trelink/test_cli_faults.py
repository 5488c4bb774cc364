"""The console entry point never ends in a traceback: refusals exit 3, faults exit 1."""

from __future__ import annotations

import pytest

import trelink.cli
from trelink.errors import TrelinkError


def _raising(error: Exception):  # type: ignore[no-untyped-def]
    def run() -> None:
        raise error

    return run


def test_a_fault_is_one_line_without_its_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRELINK_DEBUG", raising=False)
    monkeypatch.setattr(trelink.cli, "app", _raising(KeyError("Mohammed Ali 2001-04-23")))
    with pytest.raises(SystemExit) as exited:
        trelink.cli.main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "KeyError" in err
    assert "Traceback" not in err and "Mohammed" not in err


def test_a_refusal_keeps_its_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(trelink.cli, "app", _raising(TrelinkError("in.csv: line 3, column 'dob'")))
    with pytest.raises(SystemExit) as exited:
        trelink.cli.main()
    assert exited.value.code == 3
    assert "in.csv: line 3, column 'dob'" in capsys.readouterr().err


def test_developers_can_see_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELINK_DEBUG", "1")
    monkeypatch.setattr(trelink.cli, "app", _raising(KeyError("x")))
    with pytest.raises(KeyError):
        trelink.cli.main()
