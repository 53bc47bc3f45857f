"""Uploads and video aliases in the catalog: each upload's state from its first byte to its video,
and the names clients gave videos (one video, many names; a name never moves to another video)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from videolake.catalog.models import Upload, Video, VideoAlias, utcnow
from videolake.catalog.repository import Catalog, insert_ignoring_conflicts
from videolake.catalog.video_search import ALIAS_TARGET
from videolake.constants import UploadState


class UploadStore:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def add(self, upload: Upload) -> Upload:
        with self.catalog.write() as s:
            s.add(upload)
        return upload

    def get(self, upload_id: str) -> Upload | None:
        with self.catalog.read() as s:
            return s.get(Upload, upload_id)

    def update(self, upload_id: str, *, expect: Sequence[str] | None = None, **values: Any) -> bool:
        """Set ``values`` (and ``updated_at``); with ``expect``, only from one of those states.
        True when the row changed (a compare-and-set: two processes never both move one upload)."""
        stmt = update(Upload).where(Upload.id == upload_id)
        if expect is not None:
            stmt = stmt.where(Upload.state.in_(list(expect)))
        with self.catalog.write() as s:
            return s.execute(stmt.values(updated_at=utcnow(), **values)).rowcount == 1

    def advance(self, upload_id: str, offset: int, expected_offset: int) -> bool:
        """Move a resumable upload's offset from ``expected_offset`` to ``offset`` (compare-and-set)."""
        with self.catalog.write() as s:
            return s.execute(update(Upload).where(Upload.id == upload_id, Upload.offset == expected_offset,
                                                  Upload.state == UploadState.RECEIVING)
                             .values(offset=offset, updated_at=utcnow())).rowcount == 1

    def in_state(self, states: Sequence[str], *, limit: int = 1000) -> Sequence[Upload]:
        with self.catalog.read() as s:
            return s.scalars(select(Upload).where(Upload.state.in_(list(states)))
                             .order_by(Upload.created_at).limit(limit)).all()

    def expired(self, now: dt.datetime, *, limit: int = 1000) -> Sequence[Upload]:
        """Unfinished uploads past their expiry."""
        with self.catalog.read() as s:
            return s.scalars(select(Upload).where(Upload.state == UploadState.RECEIVING, Upload.expires_at < now)
                             .order_by(Upload.expires_at).limit(limit)).all()

    def live_ids(self) -> set[str]:
        """Uploads whose bytes belong in the spool (receiving, received, or failed and to be retried)."""
        with self.catalog.read() as s:
            return set(s.scalars(select(Upload.id).where(Upload.state.in_(
                [UploadState.RECEIVING, UploadState.RECEIVED, UploadState.FAILED]))).all())

    # -- aliases ----------------------------------------------------------------------------------
    def alias_target(self, alias: str) -> int | None:
        with self.catalog.engine.connect() as conn:
            return conn.scalar(ALIAS_TARGET, {"alias": alias})

    def video_by_sha256(self, sha256: str) -> Video | None:
        with self.catalog.read() as s:
            return s.scalars(select(Video).where(Video.sha256 == sha256)).first()

    def claim_alias(self, alias: str, video_id: int) -> int:
        """Name ``video_id`` ``alias`` unless the name is taken; returns the video the name now names."""
        with self.catalog.write() as s:
            s.execute(insert_ignoring_conflicts(s.connection(), VideoAlias, ["alias"])
                      .values(alias=alias, video_id=video_id, created_at=utcnow()))
            return int(s.scalar(select(VideoAlias.video_id).where(VideoAlias.alias == alias)))
