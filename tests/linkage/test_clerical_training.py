"""Clerical labels as training data: the pack is a known probability sample of the
scored pairs, and labels weighted by their inverse inclusion probabilities estimate
what the whole population of pairs would."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage.clerical import LABEL_PRIOR_STRENGTH, record_pairs, shrink, weighted_shares
from linkage.errors import ClericalReviewError
from linkage.review_pack import CANDIDATES_FILE, export_review_pack
from trelink.trust import keys


def _candidates(folder: Path, *, sampled: bool = True, held_back: int = 10) -> Path:
    """A run's candidates: 10 held back, 40 near the threshold, and samples of 300
    below, 200 above and 500 far above it (sampled at rates 0.5, 1 and 0.1)."""
    rows = []
    strata = [("held back", held_back, 1.0, 5.0), ("near threshold", 40, 1.0, 0.5)]
    if sampled:
        strata += [
            ("below", 300, 0.5, -8.0),
            ("above", 200, 1.0, 6.0),
            ("far above", 500, 0.1, 20.0),
        ]
    for stratum, count, rate, bits in strata:
        for number in range(count):
            reason = (
                "held back: twins"
                if stratum == "held back"
                else stratum
                if stratum == "near threshold"
                else f"sample: {'below' if bits < 0 else 'above'} the threshold"
            )
            row = {
                "dataset_l": "a",
                "record_pid_l": f"{stratum}-{number}-l",
                "dataset_r": "b",
                "record_pid_r": f"{stratum}-{number}-r",
                "match_weight": bits + 3.0,
                "match_probability": 0.5,
                "bits_from_threshold": bits,
                "reason": reason,
                "level_name": "exact",
            }
            if sampled:
                row |= {"stratum": stratum, "candidate_rate": rate}
            rows.append(row)
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), folder / CANDIDATES_FILE)
    return folder


def _pack(tmp_path: Path, link_dir: Path, **options: object) -> dict[str, object]:
    for name in ("owner-a", "owner-b", "reviewer"):
        keys.generate_recipient_keypair(tmp_path / name)
    keys.generate_signer_keypair(tmp_path / "tre")
    export_review_pack(
        link_dir,
        out=tmp_path / "pack",
        owners={
            side: keys.load_recipient_public_key(keys.public_key_path(tmp_path / f"owner-{side}"))
            for side in ("a", "b")
        },
        reviewer=keys.load_recipient_public_key(keys.public_key_path(tmp_path / "reviewer")),
        signing_key=keys.load_signing_private_key(keys.private_key_path(tmp_path / "tre")),
        **options,  # type: ignore[arg-type]
    )
    design: dict[str, object] = json.loads((tmp_path / "pack" / "tre" / "pack.json").read_text())[
        "design"
    ]
    return design


def test_the_pack_draws_every_stratum_with_a_known_probability(tmp_path: Path) -> None:
    design = _pack(tmp_path, _candidates(tmp_path / "link"), max_pairs=100, training_share=0.25)
    assert design["probability_sample"] is True
    strata = design["strata"]
    assert isinstance(strata, dict)
    # the review strata first (held back, then near the threshold) up to 75 pairs ...
    assert strata["held back"]["drawn"] == 10 and strata["near threshold"]["drawn"] == 40
    # ... the other 50 shared equally among the strata away from the threshold
    assert [strata[name]["drawn"] for name in ("below", "above", "far above")] == [17, 17, 16]
    assert strata["far above"]["rate"] == 0.1 and strata["far above"]["candidates"] == 500
    pairs = pq.read_table(tmp_path / "pack" / "tre" / "pairs.parquet").to_pylist()
    assert len(pairs) == 100
    assert {row["stratum"] for row in pairs} == {
        "held back",
        "near threshold",
        "below",
        "above",
        "far above",
    }


def test_many_held_back_pairs_leave_room_for_the_near_threshold_ones(tmp_path: Path) -> None:
    # 200 held-back pairs would fill the 75 pairs of the review share alone
    design = _pack(
        tmp_path, _candidates(tmp_path / "link", held_back=200), max_pairs=100, training_share=0.25
    )
    assert design["probability_sample"] is True
    strata = design["strata"]
    assert isinstance(strata, dict)
    assert strata["held back"]["drawn"] == 38 and strata["near threshold"]["drawn"] == 37


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({}, "--training-share 0"),  # the default: a review-only pack
        ({"training_share": 0.25, "held_back": False}, "held back"),
    ],
)
def test_a_pack_that_skips_a_stratum_is_not_a_probability_sample(
    tmp_path: Path, options: dict[str, object], why: str
) -> None:
    design = _pack(tmp_path, _candidates(tmp_path / "link"), max_pairs=100, **options)
    assert design["probability_sample"] is False
    assert why in str(design["why_not"])


def test_a_run_that_sampled_nothing_away_from_the_threshold_says_so(tmp_path: Path) -> None:
    design = _pack(tmp_path, _candidates(tmp_path / "link", sampled=False), max_pairs=100)
    assert design["probability_sample"] is False
    assert "link again" in str(design["why_not"])


def test_a_training_share_outside_zero_to_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClericalReviewError, match="--training-share"):
        _pack(tmp_path, _candidates(tmp_path / "link"), training_share=1.0)


def test_weighting_by_inclusion_recovers_the_population_share() -> None:
    # 1,000 matches: 900 clear links all agreeing (level 2), 100 near the threshold
    # half agreeing. m(agree) = 950 / 1000. The pack labels a tenth of the clear links
    # (inclusion 0.1) and every near-threshold pair (inclusion 1).
    labelled = [(10.0, 2)] * 90 + [(1.0, 2)] * 50 + [(1.0, 1)] * 50
    shares, effective = weighted_shares(labelled)
    assert shares[2] == pytest.approx(0.95) and shares[1] == pytest.approx(0.05)
    unweighted, _ = weighted_shares([(1.0, level) for _weight, level in labelled])
    assert unweighted[2] == pytest.approx(140 / 190)  # what the biased count would say
    # Kish's effective number: fewer than the 190 labels, since weights differ
    assert effective == pytest.approx(1000**2 / (90 * 100 + 100))


def test_few_labels_move_the_model_little_and_many_replace_it() -> None:
    assert shrink(0.9, 0.5, 0.0) == 0.5
    assert shrink(0.9, 0.5, LABEL_PRIOR_STRENGTH) == pytest.approx(0.7)
    assert shrink(0.9, 0.5, 1e6) == pytest.approx(0.9, abs=1e-4)
    assert shrink(0.9, None, 3.0) == 0.9  # no model estimate: the labels' own


def test_the_prior_counts_pairs_as_splink_does() -> None:
    assert record_pairs({"a": 10, "b": 20}, "link_only") == 200
    assert record_pairs({"a": 10, "b": 20}, "link_and_dedupe") == 30 * 29 // 2
    assert record_pairs({"a": 10}, "dedupe_only") == 45


def test_a_seed_repeats_the_choice_of_pairs_but_not_their_ids(tmp_path: Path) -> None:
    link_dir = _candidates(tmp_path / "link")
    chosen = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        _pack(tmp_path / run, link_dir, max_pairs=60, seed=3, training_share=0.25)
        rows = pq.read_table(tmp_path / run / "pack" / "tre" / "pairs.parquet").to_pylist()
        chosen.append(rows)
    assert {row["record_pid_l"] for row in chosen[0]} == {row["record_pid_l"] for row in chosen[1]}
    assert len(chosen[0]) == 60
