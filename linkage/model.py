"""The Splink model of a run: settings built from the specs, saved and reloaded as JSON.

Settings are always generated from the match-key spec for the backend's dialect. A
saved model (``model.json``) contributes only what training learned (the prior and
each level's m and u), copied onto freshly generated settings after checking that
its comparisons and levels are the same. That way a model trained on DuckDB runs on
Spark, whose SQL differs, and a job's current blocking rules always apply.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from splink import Linker, SettingsCreator
from splink.internals.blocking_rule_creator import BlockingRuleCreator

from linkage.comparisons import Dialect, build_attribute_comparison, build_comparisons
from linkage.errors import LinkageError
from linkage.job import LinkType
from trelink.specs.match_keys import ComparisonSpec

__all__ = ["apply_trained_parameters", "build_settings", "level_gammas", "read_model"]

_LEARNED = ("m_probability", "u_probability")


def build_settings(
    comparisons: Sequence[ComparisonSpec],
    *,
    dialect: Dialect,
    link_type: LinkType,
    blocking_rules: Sequence[BlockingRuleCreator],
    retain_intermediate: bool,
    attribute_columns: Sequence[str] = (),
) -> dict[str, Any]:
    """A Splink settings dictionary for ``dialect``; attributes compared after tokens."""
    creator = SettingsCreator(
        link_type=link_type,
        unique_id_column_name="record_pid",
        comparisons=[
            *build_comparisons(comparisons, dialect=dialect),
            *(build_attribute_comparison(column) for column in attribute_columns),
        ],
        blocking_rules_to_generate_predictions=list(blocking_rules),
        # Matching columns hold tokens only; intermediate columns feed the waterfall.
        retain_matching_columns=retain_intermediate,
        retain_intermediate_calculation_columns=retain_intermediate,
        probability_two_random_records_match=1e-4,
    )
    return creator.create_settings_dict(dialect)


def read_model(path: Path) -> dict[str, Any]:
    """Read a saved model JSON (``LinkageError`` if it is not one)."""
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LinkageError(f"{path}: cannot read the model ({error})") from error
    if not isinstance(model, dict) or not isinstance(model.get("comparisons"), list):
        raise LinkageError(f"{path}: not a Splink model file (no `comparisons` list)")
    return model


def _shape(settings: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [
        (
            str(comparison.get("output_column_name")),
            [str(level.get("label_for_charts")) for level in comparison["comparison_levels"]],
        )
        for comparison in settings["comparisons"]
    ]


def apply_trained_parameters(
    settings: dict[str, Any], model: dict[str, Any], *, source: Path
) -> dict[str, Any]:
    """``settings`` with the prior, m and u of a saved ``model`` (same comparisons)."""
    if _shape(settings) != _shape(model):
        expected = [name for name, _ in _shape(settings)]
        found = [name for name, _ in _shape(model)]
        raise LinkageError(
            f"{source}: the model's comparisons or levels differ from this job's "
            f"(model: {found}; job: {expected}); retrain without --model, or use the "
            "match-key spec the model was trained with"
        )
    merged = json.loads(json.dumps(settings))
    merged["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    for comparison, trained in zip(merged["comparisons"], model["comparisons"], strict=True):
        for level, trained_level in zip(
            comparison["comparison_levels"], trained["comparison_levels"], strict=True
        ):
            for parameter in _LEARNED:
                if parameter in trained_level:
                    level[parameter] = trained_level[parameter]
    return dict(merged)


def level_gammas(linker: Linker) -> dict[tuple[str, str], int]:
    """(comparison, level label) -> the level's value in the ``gamma_<comparison>`` column.

    Splink numbers levels from the strongest down to 1, then 0 for "else" and -1 for
    "missing"; reading the numbers from the linker's settings keeps SQL that names a
    level by its label right whatever the comparison holds.
    """
    return {
        (comparison.output_column_name, level.label_for_charts): level.comparison_vector_value
        for comparison in linker._settings_obj.comparisons
        for level in comparison.comparison_levels
    }
