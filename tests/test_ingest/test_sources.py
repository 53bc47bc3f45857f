"""Every way in is a ``Source`` for the same ingestor: a landing-zone object is removed once stored
and cataloged, a local file never is; metadata that comes with a source says what it is."""

from __future__ import annotations

import datetime as dt
import shutil

from videolake.catalog.repository import Catalog
from videolake.catalog.video_search import list_video_records
from videolake.ingest.engine import IngestEngine, IngestSettings
from videolake.ingest.sources import LandingObject, LocalFile, Source
from videolake.storage.local_backend import LocalBackend


def test_landing_objects_and_local_files_go_through_one_ingestor(sqlite_lake, clips, tmp_path):
    lake = sqlite_lake
    landing = LocalBackend(lake.landing)
    shutil.copyfile(clips.good, lake.landing / "dropped.mp4")
    outside = tmp_path / "outside" / "generated.mp4"
    outside.parent.mkdir()
    shutil.copyfile(clips.other, outside)
    engine = IngestEngine(Catalog(lake.catalog_url), LocalBackend(lake.storage), LocalBackend(lake.quarantine),
                          landing, IngestSettings(workers=1))
    st = (lake.landing / "dropped.mp4").stat()
    sources: list[Source] = [
        LandingObject(landing, "dropped.mp4", st.st_size, st.st_mtime, source_name="cams"),
        LocalFile(outside, source="studio", given_metadata={"provider": "acme", "prompt": "a red kite"}),
    ]
    assert all(isinstance(s, Source) for s in sources)
    assert sources[0].open().read(8) == clips.good.read_bytes()[:8] and sources[1].size == clips.other.stat().st_size

    report = engine.ingest_sources(sources, dt.date(2026, 12, 1), run_id="run-sources", thumbnails=True)

    assert sorted(r.outcome for r in report.results) == ["ingested", "ingested"]
    videos = {v.name: v for v in list_video_records(engine.catalog)}
    assert videos["dropped.mp4"].source == "cams" and videos["dropped.mp4"].source_type == "uploaded"
    generated = videos["generated.mp4"]
    assert generated.source == "studio" and generated.source_type == "generated"
    assert generated.sidecar == {"provider": "acme", "prompt": "a red kite"}
    assert not (lake.landing / "dropped.mp4").exists()  # landed: removed once stored and cataloged
    assert outside.exists()  # a local file stays where it is
    assert [f.outcome for f in engine.catalog.run_files(["run-sources"])] == ["ingested", "ingested"]
