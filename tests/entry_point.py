"""Run ``trelink`` through its console entry point, as a script would."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from trelink.cli import main


def run_trelink(monkeypatch: pytest.MonkeyPatch, *arguments: str | Path) -> int:
    """``trelink ARGUMENTS`` in this process; its exit status."""
    monkeypatch.setattr(sys, "argv", ["trelink", *map(str, arguments)])
    try:
        main()
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0
