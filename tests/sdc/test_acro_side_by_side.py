"""ACRO 1.0.2 and trelink on the same synthetic data.

ACRO suppresses the small cells of a crosstab but hides nothing else and recomputes
the margins from the visible cells, so subtracting its own one-way table of the
column variable gives back every suppressed cell that is alone in its column. Here:
every cell ACRO flags is suppressed by trelink too, and none of the cells ACRO leaks
can be recovered from trelink's outputs (the two-way table and both one-way tables,
audited together). ACRO also passes a logit whose three-person dummy separates the
outcome; trelink refuses it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc import CellStatus, audit_outputs, frequency_table, load_policy, write_table


def children() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    size = 500
    frame = pd.DataFrame(
        {
            "region": rng.choice(
                ["North", "South", "East", "Wales"], size, p=[0.4, 0.3, 0.26, 0.04]
            ),
            "age": rng.choice(["0-9", "10-13", "14-17"], size, p=[0.1, 0.3, 0.6]),
        }
    )
    frame["all"] = "all"
    return frame


@pytest.mark.filterwarnings("ignore::pandas.errors.SettingWithCopyWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_trelink_protects_what_acro_flags_and_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acro import ACRO

    data = children()
    monkeypatch.chdir(tmp_path)  # ACRO writes its evidence into the working folder
    acro = ACRO(suppress=True)
    acro_two_way = acro.crosstab(data["region"], data["age"], margins=True)
    acro_ages = acro.crosstab(data["age"], data["all"])
    truth = pd.crosstab(data["region"], data["age"])

    interior = acro_two_way.drop(index="All", columns="All")
    flagged = {(region, age) for region, age in zip(*np.where(interior.isna()), strict=True)}
    flagged = {(interior.index[i], interior.columns[j]) for i, j in flagged}
    assert flagged, "the data must give ACRO something to flag"

    # The leak: a true column total (ACRO's own one-way table) minus the visible cells.
    leaked = {}
    for age in interior.columns:
        hidden = interior.index[interior[age].isna()]
        if len(hidden) == 1:
            recovered = acro_ages.loc[age, "all"] - interior[age].sum()
            leaked[(hidden[0], age)] = recovered
            assert recovered == truth.loc[hidden[0], age]
    assert leaked, "ACRO's output should leak at least one suppressed cell"
    # ACRO's margins are totals of the visible cells, not the true totals.
    assert acro_two_way.loc["All", "All"] < len(data)

    policy = load_policy()
    two_way = frequency_table(data, ["region"], ["age"], policy=policy)
    statuses = {
        two_way.grid.cell_labels(index): status for index, status in enumerate(two_way.statuses)
    }
    for region, age in flagged:
        assert statuses[(region, age)] is CellStatus.PRIMARY
    assert two_way.values[-1] == len(data)  # the grand total is the true total

    paths = [
        write_table(two_way, tmp_path / "out" / "region_by_age.csv")[0],
        write_table(
            frequency_table(data, ["age"], ["all"], policy=policy), tmp_path / "out" / "age.csv"
        )[0],
        write_table(
            frequency_table(data, ["region"], ["all"], policy=policy),
            tmp_path / "out" / "region.csv",
        )[0],
    ]
    report = audit_outputs(paths, policy=policy)
    assert report.passed, report.failures
    ranges = {(cell.row, cell.column): cell for cell in report.cells}
    for region, age in leaked:
        cell = ranges[(region, f"age: {age}")]
        assert cell.width >= policy.count_protection


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_acro_passes_a_three_person_dummy_that_trelink_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import statsmodels.api as sm
    from acro import ACRO

    from sdc import fit_model

    rng = np.random.default_rng(4)
    size = 300
    frame = pd.DataFrame(
        {
            "months": rng.integers(1, 36, size).astype(float),
            "nationality": ["Eritrea"] * 3 + ["UK"] * (size - 3),
            "closed": (rng.random(size) < 0.5).astype(int),
        }
    )
    frame.loc[:2, "closed"] = 1  # the three Eritrean children all closed: separation
    monkeypatch.chdir(tmp_path)
    acro = ACRO(suppress=True)
    exog = sm.add_constant(
        pd.DataFrame(
            {"months": frame["months"], "eritrea": (frame["nationality"] == "Eritrea") * 1.0}
        )
    )
    fitted = acro.logit(frame["closed"], exog)
    record = list(acro.results.results.values())[-1]
    assert record.status == "pass"  # ACRO checks residual dof only
    assert fitted.bse["eritrea"] > 100 * abs(fitted.params["eritrea"])  # an exploded error

    policy = load_policy()
    ours = fit_model("logit", "closed ~ months + C(nationality)", frame, policy=policy)
    assert not ours.check.safe
    assert any("separation" in reason for reason in ours.check.reasons)
