"""Moving between providers through the verified path: local → GCS → Azure Blob → S3, each hop a move."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from tests.test_archive.test_migration_crash import register_random_videos
from videolake.archive.engine import MOVE, ArchiveEngine
from videolake.archive.scrub import scrub
from videolake.catalog.models import Replica
from videolake.catalog.repository import Catalog
from videolake.storage import open_backend


def test_moves_hop_across_every_provider_and_stay_verified(tmp_path, gcs_env, azure_env, s3_env):
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    digests = register_random_videos(catalog, tmp_path / "hot", 6)
    chain = [open_backend((tmp_path / "hot").as_uri()),
             open_backend(f"gs://{gcs_env.create_bucket()}/archive"),
             open_backend(f"az://{azure_env.create_container()}/archive"),
             open_backend(f"s3://{s3_env.create_bucket()}/archive")]
    for source, target in zip(chain, chain[1:]):
        report = ArchiveEngine(catalog, source, target, mode=MOVE, transfers=3, source_only=True).run()
        assert (len(report.archived), report.hot_deleted, report.errors) == (6, 6, [])
        assert list(source.list("videos/")) == []  # each source copy went after its copy was verified
        findings, checked = scrub(catalog, target, sample=6)
        assert findings == [] and checked == 6
    with catalog.read() as s:
        replicas = s.scalars(select(Replica)).all()
    assert {(r.backend, r.state) for r in replicas} == {(chain[-1].url, "verified")}
    for r in replicas:
        with chain[-1].open(r.key) as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == digests[r.video_id]
