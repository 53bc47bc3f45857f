"""The catalog's schema as SQLAlchemy Core tables: the one definition of every table, column,
constraint and index (Alembic's migrations are checked against it).

Core only, no ORM: a command that only reads (``videolake status``, ``videos``, ``segments``)
queries these tables without loading SQLAlchemy's ORM or mapping a class (≈ 40 % of such a
command's imports). ``videolake.catalog.models`` maps the ORM classes onto them for the code that
writes. A column is NOT NULL unless it says otherwise; timestamps are ``UtcDateTime``.
"""

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog; use UTC-aware datetimes")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


metadata = MetaData()


videos = Table(
    "videos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("size_bytes", BigInteger, nullable=False),
    Column("name", Text, nullable=False),
    Column("extension", String(16), nullable=False),
    Column("source", String(200), nullable=False, index=True),
    Column("source_type", String(16), nullable=False),
    Column("landing_uri", Text, nullable=False),
    Column("landing_date", Date, nullable=False, index=True),
    Column("ingested_at", UtcDateTime(), nullable=False, default=utcnow, index=True),
    Column("sidecar", JSON),
    # Probe fields (filled by the video_probes asset).
    Column("container", String(64)),
    Column("duration_s", Float),
    Column("width", Integer),
    Column("height", Integer),
    Column("aspect_ratio", String(16)),
    Column("video_codec", String(32)),
    Column("audio_codec", String(32)),
    Column("fps", Float),
    Column("bitrate", BigInteger),
    Column("rotation", Integer),
    Column("probe", JSON),
    Column("probed_at", UtcDateTime()),
    Column("probe_error", Text),
    # ix_videos_size: whether a file of a size could be a duplicate at all (ingest reads a new one once).
    Index("ix_videos_size", "size_bytes"),
    # Covers `status` (counts, bytes, duration and unprobed per source): an index scan, no row lookups.
    Index("ix_videos_status", "source", "source_type", "size_bytes", "duration_s", "probed_at"),
)


replicas = Table(
    "replicas",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("video_id", Integer, ForeignKey("videos.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("backend", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("size_bytes", BigInteger),
    Column("verified_sha256", String(64)),
    Column("verified_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    UniqueConstraint("video_id", "backend", name="uq_replicas_video_backend"),
    Index("ix_replicas_status", "backend", "state", "size_bytes"),  # covers `status`
)


derivatives = Table(
    "derivatives",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("video_id", Integer, ForeignKey("videos.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("backend", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("meta", JSON),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    UniqueConstraint("video_id", "kind", name="uq_derivatives_video_kind"),
    Index("ix_derivatives_kind_size", "kind", "size_bytes"),  # covers `status`
)


landings = Table(
    "landings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("video_id", Integer, ForeignKey("videos.id", ondelete="SET NULL"), index=True),
    Column("landing_uri", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("source", String(200), nullable=False),
    Column("source_type", String(16), nullable=False),
    Column("sha256", String(64)),
    Column("size_bytes", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("sidecar", JSON),
    Column("run_id", String(64)),
    Column("landed_at", UtcDateTime(), nullable=False, default=utcnow),
    Index("ix_landings_uri_sha", "landing_uri", "sha256"),
)


quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("landing_uri", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("source", String(200), nullable=False),
    Column("reason", String(64), nullable=False, index=True),
    Column("detail", Text, nullable=False),
    Column("size_bytes", BigInteger),
    Column("sha256", String(64)),
    Column("quarantined_uri", Text),
    Column("run_id", String(64)),
    Column("quarantined_at", UtcDateTime(), nullable=False, default=utcnow),
)


landing_files = Table(
    "landing_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("zone", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("mtime", Float, nullable=False),
    Column("first_seen_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("unchanged_since", UtcDateTime(), nullable=False, default=utcnow),  # last time size or mtime changed
    Column("changed_tick", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("batch_id", String(64)),
    Column("claimed_at", UtcDateTime()),
    Column("claimed_by", Text),  # host/pid/start of the claiming process
    UniqueConstraint("zone", "key", name="uq_landing_files_zone_key"),
    Index("ix_landing_files_batch", "batch_id"),
)


segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("video_id", Integer, ForeignKey("videos.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("camera_id", String(200), nullable=False),
    Column("start_at", UtcDateTime(), nullable=False),
    Column("end_at", UtcDateTime(), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("recording_date", Date, nullable=False),
    Column("time_source", String(16), nullable=False),  # "template" or "sidecar"
    UniqueConstraint("camera_id", "start_at", "video_id", name="uq_segments_camera_start_video"),
    Index("ix_segments_camera_start", "camera_id", "start_at"),
    Index("ix_segments_recording_date", "recording_date"),
    Index("ix_segments_camera_duration", "camera_id", "duration_s"),  # longest segment: one index seek
)


exports = Table(
    "exports",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("status", String(16), nullable=False),  # PENDING, PROCESSING, COMPLETED, FAILED
    Column("cameras", JSON, nullable=False),
    Column("start_at", UtcDateTime(), nullable=False),
    Column("end_at", UtcDateTime(), nullable=False),
    Column("mode", String(16), nullable=False),  # fast (keyframe cuts, stream copy) or accurate
    Column("reason", Text),
    Column("error", Text),
    Column("requested_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("started_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Column("ttl_seconds", Integer, nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("run_id", String(64)),
    Column("backend", Text),
    Column("manifest_key", Text),
    Column("manifest_sha256", String(64)),
    Column("gaps", JSON),
    Index("ix_exports_status", "status"),
)


export_outputs = Table(
    "export_outputs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("export_id", String(40), ForeignKey("exports.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("camera_id", String(200), nullable=False),
    Column("key", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("covered_start", UtcDateTime(), nullable=False),
    Column("covered_end", UtcDateTime(), nullable=False),
)


video_inputs = Table(
    "video_inputs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("video_id", Integer, ForeignKey("videos.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("input_video_id", Integer, ForeignKey("videos.id", ondelete="RESTRICT"), nullable=False, index=True),
    UniqueConstraint("video_id", "position", name="uq_video_inputs_position"),
)


audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=False, default=utcnow, index=True),
    Column("action", String(64), nullable=False, index=True),
    Column("video_id", Integer, index=True),
    Column("backend", Text),
    Column("key", Text),
    Column("size_bytes", BigInteger),
    Column("detail", JSON),
    Column("run_id", String(64)),
)


holds = Table(
    "holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("video_id", Integer, index=True),
    Column("camera_id", String(200)),
    Column("start_at", UtcDateTime()),
    Column("end_at", UtcDateTime()),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("created_by", String(200)),
    Column("released_at", UtcDateTime(), index=True),
    Column("released_by", String(200)),
    Index("ix_holds_camera_range", "camera_id", "start_at", "end_at"),
)


run_files = Table(
    "run_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("uri", Text, nullable=False),
    Column("outcome", String(16), nullable=False),  # a FileOutcome
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64)),
    Column("video_id", Integer),
    Column("detail", Text, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False, default=utcnow),
)


ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("trigger", String(64), nullable=False),  # who ran it: "cli"
    Column("zone", String(32), nullable=False),
    Column("day", String(10), nullable=False),  # the landing day (a partition key of the lineage)
    Column("success", Boolean, nullable=False),
    Column("summary", JSON, nullable=False),  # counts, bytes, seconds, probes and thumbnails made
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=False),
)


retention_plan_items = Table(
    "retention_plan_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("video_id", Integer),
    Column("export_id", String(64)),
    Column("what", String(32), nullable=False),
    Column("backend", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("policy", Text, nullable=False),
)


retention_runs = Table(
    "retention_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("applied", Boolean, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("refused", JSON, nullable=False),
    Column("report", JSON),
    Column("recorded_at", UtcDateTime(), nullable=False, default=utcnow),
)


api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("scope", String(16), nullable=False),  # an ApiScope
    Column("key_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("created_by", String(200)),
    Column("expires_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Column("last_used_at", UtcDateTime()),
)


uploads = Table(
    "uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("protocol", String(16), nullable=False),  # an UploadProtocol
    Column("state", String(16), nullable=False, index=True),  # an UploadState
    Column("name", Text, nullable=False),
    Column("length", BigInteger),  # declared total size
    Column("offset", BigInteger, nullable=False, default=0),  # bytes received
    Column("sha256", String(64)),
    Column("meta", JSON),  # sidecar metadata
    Column("alias", String(200)),  # the client's video_id
    Column("source", String(200)),  # the source name the video gets
    Column("link_hours", Float),
    Column("spool_key", Text, nullable=False),
    Column("video_id", Integer),
    Column("outcome", String(16)),  # a FileOutcome once ingested
    Column("detail", Text),
    Column("api_key_id", Integer),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("updated_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("expires_at", UtcDateTime(), index=True),
)


imports = Table(
    "imports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("host", String(255), nullable=False),  # for the per-host limit
    Column("state", String(16), nullable=False),  # an ImportState
    Column("deadline", UtcDateTime()),  # when the URL stops working
    Column("name", Text),
    Column("source", String(200)),
    Column("meta", JSON),  # generation details, as a sidecar's
    Column("attempts", Integer, nullable=False, default=0),
    Column("bytes_fetched", BigInteger, nullable=False, default=0),
    Column("failure", String(32)),  # a FetchFailure or ingest's reason
    Column("last_error", Text),
    Column("final_url", Text),
    Column("sha256", String(64)),
    Column("video_id", Integer),
    Column("run_id", String(64)),
    Column("lease_until", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("updated_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("done_at", UtcDateTime()),
    Index("ix_imports_state_deadline", "state", "deadline"),
)


video_aliases = Table(
    "video_aliases",
    metadata,
    Column("alias", String(200), primary_key=True),
    Column("video_id", Integer, nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
)
