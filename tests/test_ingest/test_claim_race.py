"""A run that finishes while the sensor's tick lists the zone: the files it removed are not
recorded as new and claimed a second time (they were: a queued batch of files already cataloged)."""

from __future__ import annotations

import os
import time

from videolake.catalog.repository import Catalog
from videolake.ingest.engine import IngestEngine, IngestSettings
from videolake.storage import open_backend


def test_files_a_run_removes_during_the_listing_are_not_claimed_again(tmp_path, monkeypatch):
    zone_dir = tmp_path / "landing"
    zone_dir.mkdir()
    an_hour_ago = time.time() - 3600
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        (zone_dir / name).write_bytes(name.encode() * 100)
        os.utime(zone_dir / name, (an_hour_ago, an_hour_ago))
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    landing = open_backend(zone_dir.as_uri())
    engine = IngestEngine(catalog, open_backend((tmp_path / "hot").as_uri()),
                          open_backend((tmp_path / "quarantine").as_uri()), landing, settings=IngestSettings())
    # The first tick claims all three for a run (claimed by this process, which lives on).
    _, [batch], _ = engine.observe_and_claim(1)
    assert batch.files == 3
    zone = landing.url
    done = ["a.mp4", "b.mp4"]  # what the run has stored and cataloged when the next tick lists the zone
    list_zone = landing.list

    def list_while_the_run_finishes(prefix: str = ""):
        listed = list(list_zone(prefix))  # the listing still has them ...
        landing.delete_many(done)  # ... then the run removes the landed files, and after them their rows
        catalog.release_landing_files(zone, done)
        return iter(listed)

    monkeypatch.setattr(landing, "list", list_while_the_run_finishes)
    summary, batches, _ = engine.observe_and_claim(2)
    assert batches == [], [b.files for b in batches]
    assert summary.new == 0
    monkeypatch.undo()
    # The next tick finds the zone as it is: c.mp4, still the run's.
    summary, batches, _ = engine.observe_and_claim(3)
    assert batches == [] and summary.listed == 1
    assert [f.key for f in catalog.batch_files(zone, batch.batch_id)] == ["c.mp4"]
