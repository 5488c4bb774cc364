"""Run ``trelink`` as a script would: through its console entry point in this process, or
as a new process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
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


def trelink_process(
    *arguments: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``trelink ARGUMENTS`` in a new process, as a user runs it: exit status, stdout and
    stderr as text. ``env`` replaces the environment (None: this process's)."""
    return subprocess.run(
        [sys.executable, "-m", "trelink", *map(str, arguments)],
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else dict(env),
    )
