from __future__ import annotations

import datetime as dt

import dagster as dg

from pipelines.definitions import defs
from videolake.catalog.models import Video, utcnow


def add_video(catalog, **fields):
    base = dict(size_bytes=1, name="n", extension="mp4", source="s", source_type="uploaded", landing_uri="file:///x",
                landing_date=dt.date(2026, 11, 20), duration_s=5.0, width=640, height=360, video_codec="h264",
                audio_codec="aac", probed_at=utcnow())
    base.update(fields)
    with catalog.write() as s:
        s.add(Video(**base))


def run_checks(lake, monkeypatch):
    monkeypatch.setenv("VIDEOLAKE_CATALOG_URL", lake.catalog_url)
    result = defs.resolve_job_def("catalog_quality_job").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_checks_pass_on_a_clean_catalog_and_fail_with_a_table(sqlite_lake, monkeypatch):
    catalog = sqlite_lake.catalog()
    add_video(catalog, sha256="a" * 64)
    add_video(catalog, sha256="b" * 64, audio_codec=None)
    results = run_checks(sqlite_lake, monkeypatch)
    assert set(results) == {"sha256_format", "positive_duration", "known_codecs", "sane_dimensions"}
    assert all(r.passed for r in results.values())

    add_video(catalog, sha256="NOT-A-HASH", duration_s=0.0, video_codec="weird9", width=4)
    results = run_checks(sqlite_lake, monkeypatch)
    assert not any(r.passed for r in results.values())
    table = results["known_codecs"].metadata["what_is_wrong"].value
    assert "weird9" in table and "| 3 |" in table
    assert results["sane_dimensions"].metadata["failing_rows"].value == 1
