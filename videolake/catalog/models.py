"""The catalog's ORM classes, mapped onto the Core tables of ``videolake.catalog.tables`` (where
every column, constraint and index is defined): what the code that writes works with. Commands that
only read use the tables and never load these."""

import datetime as dt
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from videolake.catalog import tables
from videolake.catalog.tables import UtcDateTime as UtcDateTime  # noqa: F401 - where callers found it
from videolake.catalog.tables import utcnow as utcnow  # noqa: F401 - where callers found it


class Base(DeclarativeBase):
    metadata = tables.metadata


class Video(Base):
    """One distinct content (by sha256); duplicates are extra rows in ``landings``."""

    __table__ = tables.videos

    id: Mapped[int]
    sha256: Mapped[str]
    size_bytes: Mapped[int]
    name: Mapped[str]
    extension: Mapped[str]
    source: Mapped[str]
    source_type: Mapped[str]
    landing_uri: Mapped[str]
    landing_date: Mapped[dt.date]
    ingested_at: Mapped[dt.datetime]
    sidecar: Mapped[dict[str, Any] | None]
    container: Mapped[str | None]
    duration_s: Mapped[float | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    aspect_ratio: Mapped[str | None]
    video_codec: Mapped[str | None]
    audio_codec: Mapped[str | None]
    fps: Mapped[float | None]
    bitrate: Mapped[int | None]
    rotation: Mapped[int | None]
    probe: Mapped[dict[str, Any] | None]
    probed_at: Mapped[dt.datetime | None]
    probe_error: Mapped[str | None]

    replicas: Mapped[list["Replica"]] = relationship(back_populates="video", cascade="all, delete-orphan")
    derivatives: Mapped[list["Derivative"]] = relationship(back_populates="video", cascade="all, delete-orphan")
    landings: Mapped[list["Landing"]] = relationship(back_populates="video")


class Replica(Base):
    """A stored copy of a video's content in one backend."""

    __table__ = tables.replicas

    id: Mapped[int]
    video_id: Mapped[int]
    backend: Mapped[str]
    key: Mapped[str]
    state: Mapped[str]
    size_bytes: Mapped[int | None]
    verified_sha256: Mapped[str | None]
    verified_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]

    video: Mapped[Video] = relationship(back_populates="replicas")


class Derivative(Base):
    """A file derived from a video (poster, scrub sprite)."""

    __table__ = tables.derivatives

    id: Mapped[int]
    video_id: Mapped[int]
    kind: Mapped[str]
    backend: Mapped[str]
    key: Mapped[str]
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    sha256: Mapped[str]
    meta: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime]

    video: Mapped[Video] = relationship(back_populates="derivatives")


class Landing(Base):
    """Every file that landed and what became of it: ingested, duplicate (a link) or quarantined."""

    __table__ = tables.landings

    id: Mapped[int]
    video_id: Mapped[int | None]
    landing_uri: Mapped[str]
    name: Mapped[str]
    source: Mapped[str]
    source_type: Mapped[str]
    sha256: Mapped[str | None]
    size_bytes: Mapped[int]
    outcome: Mapped[str]
    sidecar: Mapped[dict[str, Any] | None]
    run_id: Mapped[str | None]
    landed_at: Mapped[dt.datetime]

    video: Mapped[Video | None] = relationship(back_populates="landings")


class QuarantineItem(Base):
    """A landed file that was moved aside (never deleted), with the reason."""

    __table__ = tables.quarantine

    id: Mapped[int]
    landing_uri: Mapped[str]
    name: Mapped[str]
    source: Mapped[str]
    reason: Mapped[str]
    detail: Mapped[str]
    size_bytes: Mapped[int | None]
    sha256: Mapped[str | None]
    quarantined_uri: Mapped[str | None]
    run_id: Mapped[str | None]
    quarantined_at: Mapped[dt.datetime]


class LandingFile(Base):
    """Sensor bookkeeping: a file currently in a landing zone and whether it is stable or claimed."""

    __table__ = tables.landing_files

    id: Mapped[int]
    zone: Mapped[str]
    key: Mapped[str]
    size_bytes: Mapped[int]
    mtime: Mapped[float]
    first_seen_at: Mapped[dt.datetime]
    unchanged_since: Mapped[dt.datetime]
    changed_tick: Mapped[int]
    state: Mapped[str]
    batch_id: Mapped[str | None]
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None]


class Segment(Base):
    """A recording segment of one camera, indexed by (camera, start) for range queries."""

    __table__ = tables.segments

    id: Mapped[int]
    video_id: Mapped[int]
    camera_id: Mapped[str]
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    duration_s: Mapped[float]
    recording_date: Mapped[dt.date]
    time_source: Mapped[str]

    video: Mapped[Video] = relationship()


class Export(Base):
    """A request to cut footage of one or more cameras over a time range, and what came of it."""

    __table__ = tables.exports

    id: Mapped[str]
    status: Mapped[str]
    cameras: Mapped[list[str]]
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    mode: Mapped[str]
    reason: Mapped[str | None]
    error: Mapped[str | None]
    requested_at: Mapped[dt.datetime]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    ttl_seconds: Mapped[int]
    expires_at: Mapped[dt.datetime | None]
    run_id: Mapped[str | None]
    backend: Mapped[str | None]
    manifest_key: Mapped[str | None]
    manifest_sha256: Mapped[str | None]
    gaps: Mapped[list[dict[str, Any]] | None]

    outputs: Mapped[list["ExportOutput"]] = relationship(back_populates="export", cascade="all, delete-orphan")


class ExportOutput(Base):
    """One file of an export: an MP4 per camera."""

    __table__ = tables.export_outputs

    id: Mapped[int]
    export_id: Mapped[str]
    camera_id: Mapped[str]
    key: Mapped[str]
    sha256: Mapped[str]
    size_bytes: Mapped[int]
    duration_s: Mapped[float]
    covered_start: Mapped[dt.datetime]
    covered_end: Mapped[dt.datetime]

    export: Mapped[Export] = relationship(back_populates="outputs")


class VideoInput(Base):
    """The inputs of a derived video (a stitch), in order."""

    __table__ = tables.video_inputs

    id: Mapped[int]
    video_id: Mapped[int]
    position: Mapped[int]
    input_video_id: Mapped[int]


class AuditEvent(Base):
    """Append-only record of every destructive or state-changing step."""

    __table__ = tables.audit_events

    id: Mapped[int]
    at: Mapped[dt.datetime]
    action: Mapped[str]
    video_id: Mapped[int | None]
    backend: Mapped[str | None]
    key: Mapped[str | None]
    size_bytes: Mapped[int | None]
    detail: Mapped[dict[str, Any] | None]
    run_id: Mapped[str | None]


class Hold(Base):
    """A legal hold: footage of a camera over a time range, or one video, that no sweep may delete."""

    __table__ = tables.holds

    id: Mapped[int]
    video_id: Mapped[int | None]
    camera_id: Mapped[str | None]
    start_at: Mapped[dt.datetime | None]
    end_at: Mapped[dt.datetime | None]
    reason: Mapped[str]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str | None]
    released_at: Mapped[dt.datetime | None]
    released_by: Mapped[str | None]


class RunFile(Base):
    """What one ingest run did with one file: the run's complete outcome, read back by run id."""

    __table__ = tables.run_files

    id: Mapped[int]
    run_id: Mapped[str]
    name: Mapped[str]
    uri: Mapped[str]
    outcome: Mapped[str]
    size_bytes: Mapped[int]
    sha256: Mapped[str | None]
    video_id: Mapped[int | None]
    detail: Mapped[str]
    recorded_at: Mapped[dt.datetime]


class IngestRunRecord(Base):
    """An ingest run made outside Dagster (``videolake ingest``): its summary, which the catalog-runs
    sensor reports to Dagster as materializations of the ingest lineage, in ``id`` order (its cursor)."""

    __table__ = tables.ingest_runs

    id: Mapped[int]
    run_id: Mapped[str]
    trigger: Mapped[str]
    zone: Mapped[str]
    day: Mapped[str]
    success: Mapped[bool]
    summary: Mapped[dict[str, Any]]
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime]


class RetentionPlanItem(Base):
    """One object a retention run planned to delete (and, applied, deleted unless it is in the failures)."""

    __table__ = tables.retention_plan_items

    id: Mapped[int]
    run_id: Mapped[str]
    action: Mapped[str]
    video_id: Mapped[int | None]
    export_id: Mapped[str | None]
    what: Mapped[str]
    backend: Mapped[str]
    key: Mapped[str]
    size_bytes: Mapped[int]
    policy: Mapped[str]


class RetentionRun(Base):
    """A retention run's summary: the plan's figures, what a guardrail refused and, applied, what was done."""

    __table__ = tables.retention_runs

    run_id: Mapped[str]
    applied: Mapped[bool]
    summary: Mapped[dict[str, Any]]
    refused: Mapped[list[str]]
    report: Mapped[dict[str, Any] | None]
    recorded_at: Mapped[dt.datetime]


class ApiKey(Base):
    """A key a program sends to the HTTP API. Only its SHA-256 is kept: the key itself is shown once."""

    __table__ = tables.api_keys

    id: Mapped[int]
    name: Mapped[str]
    scope: Mapped[str]
    key_sha256: Mapped[str]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str | None]
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]


class Upload(Base):
    """One upload through the HTTP API, from its first byte to the video it became (or why not).

    The bytes wait in the upload spool (``spool_key``) until ingest has stored and cataloged them;
    a resumable upload's offset lives here, so any API process can continue what another began."""

    __table__ = tables.uploads

    id: Mapped[str]
    protocol: Mapped[str]
    state: Mapped[str]
    name: Mapped[str]
    length: Mapped[int | None]
    offset: Mapped[int]
    sha256: Mapped[str | None]
    meta: Mapped[dict[str, Any] | None]
    alias: Mapped[str | None]
    source: Mapped[str | None]
    link_hours: Mapped[float | None]
    spool_key: Mapped[str]
    video_id: Mapped[int | None]
    outcome: Mapped[str | None]
    detail: Mapped[str | None]
    api_key_id: Mapped[int | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]


class Import(Base):
    """One URL to fetch and keep before it expires: its deadline, its state, what the last attempt
    said, and the video it became. Fetch runs take them earliest deadline first."""

    __table__ = tables.imports

    id: Mapped[str]
    url: Mapped[str]
    host: Mapped[str]
    state: Mapped[str]
    deadline: Mapped[dt.datetime | None]
    name: Mapped[str | None]
    source: Mapped[str | None]
    meta: Mapped[dict[str, Any] | None]
    attempts: Mapped[int]
    bytes_fetched: Mapped[int]
    failure: Mapped[str | None]
    last_error: Mapped[str | None]
    final_url: Mapped[str | None]
    sha256: Mapped[str | None]
    video_id: Mapped[int | None]
    run_id: Mapped[str | None]
    lease_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]


class VideoAlias(Base):
    """A name a client gave a video (the ``video_id`` of the upload-and-serve API): one video, many names."""

    __table__ = tables.video_aliases

    alias: Mapped[str]
    video_id: Mapped[int]
    created_at: Mapped[dt.datetime]
