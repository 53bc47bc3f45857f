"""SQLAlchemy models of the catalog: the single source of per-file state."""


import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
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


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, list[dict[str, Any]]: JSON, dt.datetime: UtcDateTime}


class Video(Base):
    """One distinct content (by sha256); duplicates are extra rows in ``landings``."""

    __tablename__ = "videos"
    # Covers `status` (counts, bytes, duration and unprobed per source): an index scan, no row lookups.
    # ix_videos_size: whether a file of a size could be a duplicate at all (ingest reads a new one once).
    __table_args__ = (Index("ix_videos_status", "source", "source_type", "size_bytes", "duration_s", "probed_at"),
                      Index("ix_videos_size", "size_bytes"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)
    extension: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200), index=True)
    source_type: Mapped[str] = mapped_column(String(16))
    landing_uri: Mapped[str] = mapped_column(Text)
    landing_date: Mapped[dt.date] = mapped_column(Date, index=True)
    ingested_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    sidecar: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Probe fields (filled by the video_probes asset).
    container: Mapped[str | None] = mapped_column(String(64), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    aspect_ratio: Mapped[str | None] = mapped_column(String(16), nullable=True)
    video_codec: Mapped[str | None] = mapped_column(String(32), nullable=True)
    audio_codec: Mapped[str | None] = mapped_column(String(32), nullable=True)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    bitrate: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rotation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    probed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    probe_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    replicas: Mapped[list["Replica"]] = relationship(back_populates="video", cascade="all, delete-orphan")
    derivatives: Mapped[list["Derivative"]] = relationship(back_populates="video", cascade="all, delete-orphan")
    landings: Mapped[list["Landing"]] = relationship(back_populates="video")


class Replica(Base):
    """A stored copy of a video's content in one backend."""

    __tablename__ = "replicas"
    __table_args__ = (UniqueConstraint("video_id", "backend", name="uq_replicas_video_backend"),
                      Index("ix_replicas_status", "backend", "state", "size_bytes"))  # covers `status`

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    backend: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    verified_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    video: Mapped[Video] = relationship(back_populates="replicas")


class Derivative(Base):
    """A file derived from a video (poster, scrub sprite)."""

    __tablename__ = "derivatives"
    __table_args__ = (UniqueConstraint("video_id", "kind", name="uq_derivatives_video_kind"),
                      Index("ix_derivatives_kind_size", "kind", "size_bytes"))  # covers `status`

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    backend: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    video: Mapped[Video] = relationship(back_populates="derivatives")


class Landing(Base):
    """Every file that landed and what became of it: ingested, duplicate (a link) or quarantined."""

    __tablename__ = "landings"
    __table_args__ = (Index("ix_landings_uri_sha", "landing_uri", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int | None] = mapped_column(
        ForeignKey("videos.id", ondelete="SET NULL"), nullable=True, index=True
    )
    landing_uri: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    source_type: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))
    sidecar: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    landed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    video: Mapped[Video | None] = relationship(back_populates="landings")


class QuarantineItem(Base):
    """A landed file that was moved aside (never deleted), with the reason."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    landing_uri: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quarantined_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quarantined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LandingFile(Base):
    """Sensor bookkeeping: a file currently in a landing zone and whether it is stable or claimed."""

    __tablename__ = "landing_files"
    __table_args__ = (
        UniqueConstraint("zone", "key", name="uq_landing_files_zone_key"),
        Index("ix_landing_files_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[float] = mapped_column(Float)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    unchanged_since: Mapped[dt.datetime] = mapped_column(default=utcnow)  # last time size or mtime changed
    changed_tick: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(Text, nullable=True)  # host/pid/start of the claiming process


class Segment(Base):
    """A recording segment of one camera, indexed by (camera, start) for range queries."""

    __tablename__ = "segments"
    __table_args__ = (
        UniqueConstraint("camera_id", "start_at", "video_id", name="uq_segments_camera_start_video"),
        Index("ix_segments_camera_start", "camera_id", "start_at"),
        Index("ix_segments_camera_duration", "camera_id", "duration_s"),  # longest segment: one index seek
        Index("ix_segments_recording_date", "recording_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[dt.datetime] = mapped_column()
    end_at: Mapped[dt.datetime] = mapped_column()
    duration_s: Mapped[float] = mapped_column(Float)
    recording_date: Mapped[dt.date] = mapped_column(Date)
    time_source: Mapped[str] = mapped_column(String(16))  # "template" or "sidecar"

    video: Mapped[Video] = relationship()


class Export(Base):
    """A request to cut footage of one or more cameras over a time range, and what came of it."""

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_status", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # PENDING, PROCESSING, COMPLETED, FAILED
    cameras: Mapped[list[str]] = mapped_column(JSON)
    start_at: Mapped[dt.datetime] = mapped_column()
    end_at: Mapped[dt.datetime] = mapped_column()
    mode: Mapped[str] = mapped_column(String(16))  # fast (keyframe cuts, stream copy) or accurate
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    ttl_seconds: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    backend: Mapped[str | None] = mapped_column(Text, nullable=True)
    manifest_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    gaps: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)

    outputs: Mapped[list["ExportOutput"]] = relationship(back_populates="export", cascade="all, delete-orphan")


class ExportOutput(Base):
    """One file of an export: an MP4 per camera."""

    __tablename__ = "export_outputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    export_id: Mapped[str] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float] = mapped_column(Float)
    covered_start: Mapped[dt.datetime] = mapped_column()
    covered_end: Mapped[dt.datetime] = mapped_column()

    export: Mapped[Export] = relationship(back_populates="outputs")


class VideoInput(Base):
    """The inputs of a derived video (a stitch), in order."""

    __tablename__ = "video_inputs"
    __table_args__ = (UniqueConstraint("video_id", "position", name="uq_video_inputs_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    input_video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="RESTRICT"), index=True)


class AuditEvent(Base):
    """Append-only record of every destructive or state-changing step."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    video_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    backend: Mapped[str | None] = mapped_column(Text, nullable=True)
    key: Mapped[str | None] = mapped_column(Text, nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Hold(Base):
    """A legal hold: footage of a camera over a time range, or one video, that no sweep may delete."""

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_camera_range", "camera_id", "start_at", "end_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    camera_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    start_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    end_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    released_at: Mapped[dt.datetime | None] = mapped_column(nullable=True, index=True)
    released_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class RunFile(Base):
    """What one ingest run did with one file: the run's complete outcome, read back by run id."""

    __tablename__ = "run_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(Text)
    uri: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))  # a FileOutcome
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    video_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IngestRunRecord(Base):
    """An ingest run made outside Dagster (``videolake ingest``): its summary, which the catalog-runs
    sensor reports to Dagster as materializations of the ingest lineage, in ``id`` order (its cursor)."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    trigger: Mapped[str] = mapped_column(String(64))  # who ran it: "cli"
    zone: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))  # the landing day (a partition key of the lineage)
    success: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # counts, bytes, seconds, probes and thumbnails made
    started_at: Mapped[dt.datetime] = mapped_column()
    finished_at: Mapped[dt.datetime] = mapped_column()


class RetentionPlanItem(Base):
    """One object a retention run planned to delete (and, applied, deleted unless it is in the failures)."""

    __tablename__ = "retention_plan_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    video_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    export_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    what: Mapped[str] = mapped_column(String(32))
    backend: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    policy: Mapped[str] = mapped_column(Text)


class RetentionRun(Base):
    """A retention run's summary: the plan's figures, what a guardrail refused and, applied, what was done."""

    __tablename__ = "retention_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    refused: Mapped[list[str]] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)



class ApiKey(Base):
    """A key a program sends to the HTTP API. Only its SHA-256 is kept: the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))  # an ApiScope
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class Upload(Base):
    """One upload through the HTTP API, from its first byte to the video it became (or why not).

    The bytes wait in the upload spool (``spool_key``) until ingest has stored and cataloged them;
    a resumable upload's offset lives here, so any API process can continue what another began.
    """

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(16))  # an UploadProtocol
    state: Mapped[str] = mapped_column(String(16), index=True)  # an UploadState
    name: Mapped[str] = mapped_column(Text)
    length: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # declared total size
    offset: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes received
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # sidecar metadata
    alias: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the client's video_id
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the source name the video gets
    link_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    spool_key: Mapped[str] = mapped_column(Text)
    video_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # a FileOutcome once ingested
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    api_key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True, index=True)


class Import(Base):
    """One URL to fetch and keep before it expires: its deadline, its state, what the last attempt
    said, and the video it became. Fetch runs take them earliest deadline first."""

    __tablename__ = "imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255))  # for the per-host limit
    state: Mapped[str] = mapped_column(String(16))  # an ImportState
    deadline: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # when the URL stops working
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # generation details, as a sidecar's
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    bytes_fetched: Mapped[int] = mapped_column(BigInteger, default=0)
    failure: Mapped[str | None] = mapped_column(String(32), nullable=True)  # a FetchFailure or ingest's reason
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    final_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    video_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_imports_state_deadline", "state", "deadline"),)


class VideoAlias(Base):
    """A name a client gave a video (the ``video_id`` of the upload-and-serve API): one video, many names."""

    __tablename__ = "video_aliases"

    alias: Mapped[str] = mapped_column(String(200), primary_key=True)
    video_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
