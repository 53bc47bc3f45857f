"""Data-quality rules on the probed catalog, run with Great Expectations 1.x (it and pandas imported
lazily: every command and run loads the Definitions, few check the catalog)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from videolake import constants as c
from videolake.catalog.models import Video
from videolake.catalog.repository import Catalog

if TYPE_CHECKING:
    import pandas as pd

RULE_SHA256 = "sha256_format"
RULE_DURATION = "positive_duration"
RULE_CODECS = "known_codecs"
RULE_DIMENSIONS = "sane_dimensions"
RULES = (RULE_SHA256, RULE_DURATION, RULE_CODECS, RULE_DIMENSIONS)


@dataclass
class RuleResult:
    rule: str
    passed: bool
    checked: int
    failures: list[dict[str, Any]] = field(default_factory=list)  # {"id", "column", "value", "expectation"}

    def markdown(self, limit: int = 25) -> str:
        if not self.failures:
            return f"all {self.checked} probed videos pass"
        rows = ["| video id | column | value | expectation |", "|---:|---|---|---|"]
        for f in self.failures[:limit]:
            rows.append(f"| {f['id']} | {f['column']} | {f['value']} | {f['expectation']} |")
        if len(self.failures) > limit:
            rows.append(f"| … | | | {len(self.failures) - limit} more |")
        return "\n".join(rows)


def load_probed_videos(catalog: Catalog) -> pd.DataFrame:
    import pandas as pd

    with catalog.read() as s:
        rows = s.execute(
            select(Video.id, Video.sha256, Video.duration_s, Video.width, Video.height, Video.video_codec, Video.audio_codec)
            .where(Video.probed_at.is_not(None), Video.probe_error.is_(None))
        ).all()
    return pd.DataFrame(rows, columns=["id", "sha256", "duration_s", "width", "height", "video_codec", "audio_codec"])


def validate_probed_catalog(df: pd.DataFrame) -> dict[str, RuleResult]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if df.empty:
        return {rule: RuleResult(rule, True, 0) for rule in RULES}
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        ctx.data_sources.add_pandas("catalog")
        .add_dataframe_asset("probed_videos")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": df})
    )
    E = gx.expectations
    plan = [
        (RULE_SHA256, E.ExpectColumnValuesToMatchRegex(column="sha256", regex=r"^[0-9a-f]{64}$"), "64 lowercase hex digits"),
        (RULE_SHA256, E.ExpectColumnValuesToBeUnique(column="sha256"), "unique"),
        (RULE_DURATION, E.ExpectColumnValuesToNotBeNull(column="duration_s"), "not null"),
        (RULE_DURATION, E.ExpectColumnValuesToBeBetween(column="duration_s", min_value=0, strict_min=True), "> 0 s"),
        (RULE_CODECS, E.ExpectColumnValuesToBeInSet(column="video_codec", value_set=list(c.KNOWN_VIDEO_CODECS)), "a known video codec"),
        (RULE_CODECS, E.ExpectColumnValuesToBeInSet(column="audio_codec", value_set=list(c.KNOWN_AUDIO_CODECS)), "a known audio codec or none"),
        (RULE_DIMENSIONS, E.ExpectColumnValuesToBeBetween(column="width", min_value=c.MIN_DIMENSION, max_value=c.MAX_DIMENSION), f"{c.MIN_DIMENSION}..{c.MAX_DIMENSION} px"),
        (RULE_DIMENSIONS, E.ExpectColumnValuesToBeBetween(column="height", min_value=c.MIN_DIMENSION, max_value=c.MAX_DIMENSION), f"{c.MIN_DIMENSION}..{c.MAX_DIMENSION} px"),
    ]
    suite = gx.ExpectationSuite(name="probed_catalog", expectations=[e for _, e, _ in plan])
    validation = batch.validate(suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["id"]})
    results = {rule: RuleResult(rule, True, len(df)) for rule in RULES}
    for (rule, expectation, wording), outcome in zip(plan, validation.results, strict=True):
        if outcome.success:
            continue
        out = results[rule]
        out.passed = False
        column = expectation.column
        for entry in outcome.result.get("unexpected_index_list") or []:
            out.failures.append({"id": int(entry["id"]), "column": column, "value": _plain(entry.get(column)), "expectation": wording})
        if not outcome.result.get("unexpected_index_list"):
            out.failures.append({"id": "?", "column": column, "value": outcome.result.get("partial_unexpected_list"), "expectation": wording})
    return results


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value
