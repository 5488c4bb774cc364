"""The built wheel carries the YAML contracts in ``specs/``.

The YAML stays at the repository's top level; setup.py copies it into the package as
``trelink/specs/shipped/`` at build time.
The build runs in a copy of the sources under tmp_path, so nothing is written into the
checkout; pip sets up the build requirements of pyproject.toml (setuptools, wheel) as
for any build, from its cache or the package index.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
_SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "specs"]
_PACKAGES = ["trelink", "pseudonymise", "linkage", "sdc", "tre_export"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel . --no-deps`` on a copy of the sources; the wheel's path."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in _SOURCES + _PACKAGES:
        path = _ROOT / name
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    out = root / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = out.glob("trelink-*.whl")
    return built


def test_the_wheel_carries_every_yaml_contract(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    contracts = sorted(
        path.relative_to(_ROOT / "specs") for path in (_ROOT / "specs").rglob("*.yaml")
    )
    assert contracts, "no YAML under specs/"
    missing = [
        str(path) for path in contracts if f"trelink/specs/shipped/{path.as_posix()}" not in names
    ]
    assert missing == []
    # Nothing lands beside the packages in site-packages.
    tops = {name.split("/", 1)[0] for name in names if not name.startswith("trelink-")}
    assert tops == set(_PACKAGES)
