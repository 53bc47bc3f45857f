"""Exports cut from real segments made with ffmpeg and ingested through the lineage."""

from __future__ import annotations

import hashlib
import json

import pytest

from videolake.exports.engine import (
    COMPLETED,
    FAILED,
    ExportEngine,
    ExportError,
    ExportRequest,
    NoFootage,
    create_export,
    export_to_dict,
    load_export,
)
from videolake.catalog.models import Export
from videolake.media.inspection import inspect_video
from videolake.segments.index import UnknownCamera
from videolake.storage.local_backend import LocalBackend

from tests.test_exports.conftest import at


def engine(lake):
    return ExportEngine(lake.catalog(), LocalBackend(lake.storage))


def test_fast_export_with_gap_and_manifest(site):
    catalog = site.catalog()
    export_id = create_export(catalog, ExportRequest(["cam3"], at("10:00:01"), at("10:00:15"), reason="incident 4711"))
    assert load_export(catalog, export_id).status == "PENDING"
    done = engine(site).run(export_id, run_id="r1")
    assert done.status == COMPLETED and done.expires_at > done.finished_at
    info = export_to_dict(done)
    [output] = info["outputs"]
    path = site.storage / done.outputs[0].key
    assert hashlib.sha256(path.read_bytes()).hexdigest() == output["sha256"]
    probe = inspect_video(path)
    assert probe.video_codec == "h264" and 9.0 <= probe.duration_s <= 16.0  # keyframe cuts widen the range
    manifest = json.loads((site.storage / done.manifest_key).read_text())
    segs = manifest["outputs"][0]["source_segments"]
    assert [s["start"][11:19] for s in segs] == ["10:00:00", "10:00:04", "10:00:12"]
    assert all(len(s["sha256"]) == 64 for s in segs)
    assert [(g["start"][11:19], round(g["seconds"])) for g in manifest["gaps"]] == [("10:00:08", 4)]
    assert manifest["reason"] == "incident 4711" and info["gaps"] == manifest["gaps"]
    # Rerunning a finished export changes nothing.
    assert engine(site).run(export_id).finished_at == done.finished_at


def test_accurate_export_cuts_at_the_exact_times(site):
    catalog = site.catalog()
    export_id = create_export(catalog, ExportRequest(["cam3"], at("10:00:01"), at("10:00:06"), mode="accurate"))
    done = engine(site).run(export_id)
    probe = inspect_video(site.storage / done.outputs[0].key)
    assert probe.duration_s == pytest.approx(5.0, abs=0.15)


def test_two_cameras_and_mixed_formats(site):
    catalog = site.catalog()
    export_id = create_export(catalog, ExportRequest(["cam3", "cam7"], at("10:00:02"), at("10:00:20")))
    done = engine(site).run(export_id)
    outputs = {o.camera_id: o for o in done.outputs}
    assert set(outputs) == {"cam3", "cam7"}
    manifest = json.loads((site.storage / done.manifest_key).read_text())
    cam3 = next(o for o in manifest["outputs"] if o["camera"] == "cam3")
    # A 640x360 segment among 320x180 ones: re-encoded to the first segment's size, whatever the mode.
    assert cam3["reencoded"].startswith("segments differ") and (cam3["width"], cam3["height"]) == (320, 180)
    assert inspect_video(site.storage / outputs["cam3"].key).duration_s == pytest.approx(14.0, abs=0.3)
    gaps = {(g["camera"], g["start"][11:19], round(g["seconds"])) for g in manifest["gaps"]}
    assert gaps == {("cam3", "10:00:08", 4), ("cam7", "10:00:04", 16)}  # partial footage completes, gaps listed


def test_bad_requests_and_no_footage(site):
    catalog = site.catalog()
    with pytest.raises(UnknownCamera, match="unknown camera cam99: no segments of it in the catalog; cameras with "
                                            "footage: cam3, cam7"):
        create_export(catalog, ExportRequest(["cam99"], at("10:00:00"), at("10:01:00")))
    with pytest.raises(ExportError, match="not after the start"):
        create_export(catalog, ExportRequest(["cam3"], at("10:01:00"), at("10:00:00")))
    # No footage in the range: refused at once, saying where the camera's footage is.
    with pytest.raises(NoFootage, match=r"no footage of cam3 between .*11:00:00.* \(cam3 has footage from "
                                        r"2026-11-20T10:00:00\+00:00 to 2026-11-20T10:00:2"):
        create_export(catalog, ExportRequest(["cam3"], at("11:00:00"), at("11:30:00")))
    # Footage that went away between the request and the run (a sweep): the export fails with the reason.
    with catalog.write() as s:
        s.add(Export(id="exp-gone", status="PENDING", cameras=["cam3"], start_at=at("11:00:00"), end_at=at("11:30:00"),
                     mode="fast", ttl_seconds=3600))
    export_id = "exp-gone"
    with pytest.raises(ExportError, match="no footage of cam3"):
        engine(site).run(export_id)
    failed = load_export(catalog, export_id)
    assert failed.status == FAILED and "no footage" in failed.error and failed.outputs == []
