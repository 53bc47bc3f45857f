"""Great Expectations rules as Dagster asset checks on the probed catalog."""


import dagster as dg

from pipelines import names
from resources import CatalogResource
from videolake import constants as c
from videolake.quality import RULES, load_probed_videos, validate_probed_catalog

_DESCRIPTIONS = {
    "sha256_format": "every content hash is 64 lowercase hex digits and unique",
    "positive_duration": "every probed video lasts longer than 0 s",
    "known_codecs": "video and audio codecs are ones players and the pipeline know",
    "sane_dimensions": f"width and height within {c.MIN_DIMENSION}..{c.MAX_DIMENSION} px",
}


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name=rule, asset=names.ASSET_VIDEO_PROBES, description=_DESCRIPTIONS[rule])
        for rule in RULES
    ],
    name="catalog_quality_checks",
    can_subset=True,
)
def catalog_quality_checks(context: dg.AssetCheckExecutionContext, catalog: CatalogResource):
    df = load_probed_videos(catalog.catalog())
    results = validate_probed_catalog(df)
    selected = {key.name for key in context.selected_asset_check_keys}
    for rule in RULES:
        if rule not in selected:
            continue
        result = results[rule]
        yield dg.AssetCheckResult(
            check_name=rule,
            asset_key=names.ASSET_VIDEO_PROBES,
            passed=result.passed,
            metadata={
                "videos_checked": dg.MetadataValue.int(result.checked),
                "failing_rows": dg.MetadataValue.int(len(result.failures)),
                "what_is_wrong": dg.MetadataValue.md(result.markdown()),
            },
        )
