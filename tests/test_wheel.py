"""The built wheel carries the YAML contracts in ``specs/`` and works once installed.

The YAML stays at the repository's top level; setup.py copies it into the package as
``trelink/specs/shipped/`` at build time, and ``trelink.specs.loader`` reads it there.
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


def test_a_checkout_reads_the_top_level_specs() -> None:
    from trelink.specs import SPECS_DIR

    assert SPECS_DIR == _ROOT / "specs"


@pytest.mark.slow  # a virtual environment and an install
def test_the_installed_wheel_runs_and_reads_its_contracts(wheel: Path, tmp_path: Path) -> None:
    """Installed without the checkout: ``trelink --help`` and ``trelink demo --help`` run,
    and the shipped dataset spec and SDC policy load from inside the package."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (site,) = venv.glob("lib/python*/site-packages")
    # trelink's dependencies come from this environment's site-packages, read as a plain
    # path (its .pth files, among them the checkout's editable install, are not run).
    (site / "trelink_dependencies.pth").write_text(
        "\n".join(path for path in sys.path if path.endswith("site-packages")) + "\n",
        encoding="utf-8",
    )
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    away = tmp_path / "elsewhere"
    away.mkdir()
    for arguments in (["--help"], ["demo", "--help"]):
        ran = subprocess.run(
            [str(venv / "bin" / "trelink"), *arguments],
            capture_output=True,
            text=True,
            cwd=away,
            timeout=300,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "Usage" in ran.stdout
    probe = (
        "from trelink.specs import SPECS_DIR\n"
        "from trelink.specs.dataset import dataset_spec_path, load_dataset_spec\n"
        "from sdc.policy import DEFAULT_POLICY, load_policy\n"
        "load_dataset_spec(dataset_spec_path('nrm'))\n"
        "load_policy(DEFAULT_POLICY)\n"
        "print(SPECS_DIR)\n"
    )
    loaded = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, cwd=away, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr
    assert Path(loaded.stdout.strip()).is_relative_to(site / "trelink" / "specs" / "shipped")
