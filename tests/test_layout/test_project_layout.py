"""The user's layout, a Definitions smoke test, and no configuration read at import time."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parents[2]


def test_top_level_packages_import_from_this_repository():
    for name in ("pipelines", "assets", "resources", "sensors"):
        module = importlib.import_module(name)
        assert Path(module.__file__).resolve().parent == REPO / name
    for path in ("workspace.yaml", "dagster.yaml", "pyproject.toml", "tests"):
        assert (REPO / path).exists()


def test_definitions_load_and_hold_the_lineage():
    from pipelines.definitions import defs

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"landing_zone", "ingested_videos", "video_probes", "video_thumbnails"} <= keys
    assert graph.get(dg.AssetKey("video_thumbnails")).parent_keys == {dg.AssetKey("video_probes")}
    assert graph.get(dg.AssetKey("video_probes")).parent_keys == {dg.AssetKey("ingested_videos")}
    assert graph.get(dg.AssetKey("ingested_videos")).parent_keys == {dg.AssetKey("landing_zone")}
    partitions = graph.get(dg.AssetKey("ingested_videos")).partitions_def
    assert isinstance(partitions, dg.DynamicPartitionsDefinition) and partitions.name == "landing_days"
    for name in ("landing_zone_sensor", "catalog_quality_sensor"):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_schedule_def("catalog_quality_nightly").job_name == "catalog_quality_job"
    checks = {k.name for k in graph.asset_check_keys}
    assert {"sha256_format", "positive_duration", "known_codecs", "sane_dimensions"} <= checks
    # The ingest job leaves the Great Expectations checks (3 s of import) to their own job.
    assert defs.resolve_job_def("ingest_job").asset_layer.asset_graph.asset_check_keys == set()
    quality = defs.resolve_job_def("catalog_quality_job").asset_layer.asset_graph.asset_check_keys
    assert {k.name for k in quality} == {"sha256_format", "positive_duration", "known_codecs", "sane_dimensions"}
    integrity = defs.resolve_job_def("integrity_job").asset_layer.asset_graph.asset_check_keys
    assert {k.name for k in integrity} == {"hot_storage_integrity", "archive_integrity"}
    assert defs.resolve_job_def("archive_job").asset_layer.asset_graph.asset_check_keys == set()


def test_import_reads_no_configuration_and_stays_light():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDEOLAKE_", "AWS_", "DAGSTER_HOME"))}
    code = (
        "import sys, pipelines.definitions as d; "
        "heavy = [m for m in ('great_expectations', 'boto3', 'av') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""  # heavy clients are imported lazily, when a run needs them
