"""Installing trelink adds no generic top-level import name a user's own files could shadow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("shadow", ["demo", "synth", "specs"])
def test_a_users_own_module_does_not_break_trelink(tmp_path: Path, shadow: str) -> None:
    # A researcher's notebook folder holding demo.py, synth.py and specs.py: trelink's
    # own modules live under trelink, so neither its CLI nor its imports pick them up.
    for name in ("demo", "synth", "specs"):
        (tmp_path / f"{name}.py").write_text("raise ImportError('the user module')\n")
    probe = f"import trelink.cli, trelink.{shadow}; print('ok')"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_trelink_help_runs_beside_generic_modules(tmp_path: Path) -> None:
    for name in ("demo", "synth", "specs"):
        (tmp_path / f"{name}.py").write_text("raise ImportError('the user module')\n")
    trelink = Path(sys.executable).with_name("trelink")
    done = subprocess.run([str(trelink), "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_only_the_designed_top_level_names_are_installed() -> None:
    from importlib.metadata import packages_distributions

    tops = {name for name, dists in packages_distributions().items() if "trelink" in dists}
    assert tops == {"trelink", "pseudonymise", "linkage", "sdc", "tre_export"}
