"""stdout holds results only, whole lines, however long, when a command is piped.

Run as a script runs ``trelink``: a subprocess whose stdout is a pipe. The disclosure
commands solve linear programs with HiGHS, whose banner used to land on stdout; Rich
used to wrap lines at 80 columns when stdout was not a terminal.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.entry_point import trelink_process


def _trelink(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    # No COLUMNS: Rich's piped default.
    return trelink_process(*arguments, env={"PATH": "/usr/bin:/bin", "TERM": "dumb"})


@pytest.mark.slow  # three trelink processes
def test_piped_results_are_whole_lines_without_the_solver_banner(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    microdata = pd.DataFrame(
        {
            "region": rng.choice(list("ABCDEFG"), 120),
            "sex": rng.choice(["F", "M"], 120),
            "age": rng.choice(["0-9", "10-13", "14-17", "18+"], 120),
        }
    )
    folder = tmp_path / ("a_folder_name_long_enough_that_paths_pass_eighty_columns_" * 2)
    folder.mkdir()
    microdata.to_csv(folder / "micro.csv", index=False)
    table = folder / "region_and_sex_by_age.csv"
    protected = _trelink("sdc", "protect", "--in", folder / "micro.csv", "--rows", "region",
                         "sex", "--cols", "age", "--out", table)  # fmt: skip
    assert protected.returncode == 0, protected.stderr
    (line,) = protected.stdout.splitlines()  # one result line, not wrapped
    assert line.startswith(f"{table}: ") and "secondary suppressions" in line
    assert len(line) > 200

    checked = _trelink("sdc", "check", table)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == f"{table}: safe\n"

    audited = _trelink("sdc", "audit", table, "--json")
    assert audited.returncode == 0, audited.stderr
    document = json.loads(audited.stdout)  # nothing but the document on stdout
    assert document["passed"] is True and document["files"] == [str(table)]
    assert document["cells"] and "HiGHS" not in audited.stdout
    assert "audited" in audited.stderr
