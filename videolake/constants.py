"""Constants shared by the domain core and the Dagster layer: one place for names and limits."""

from enum import StrEnum


class CatalogLock(StrEnum):
    """Catalog-wide locks (``videolake.catalog.locks``)."""

    SCHEMA = "schema"  # creating or migrating the catalog's tables
    QUARANTINE = "quarantine"  # recording a quarantined file once, whoever gets there first
    HOLDS = "holds"  # adding a legal hold / a retention batch deleting: a hold lands before or after, never between


class KeyframeSnap(StrEnum):
    """Where a stream-copied part of a segment begins, relative to the moment asked for."""

    BEFORE = "before"  # the last keyframe at or before it: the first part of an export (never cut what was asked)
    AFTER = "after"  # the first keyframe at or after it: a part overlapping the one before (never shown twice)


# Environment variables (read only through Dagster EnvVar, or by the CLI at run time).
ENV_HOME = "VIDEOLAKE_HOME"
ENV_LANDING = "VIDEOLAKE_LANDING"
ENV_SEGMENTS_LANDING = "VIDEOLAKE_SEGMENTS_LANDING"
ENV_SEGMENT_TEMPLATE = "VIDEOLAKE_SEGMENT_TEMPLATE"
ENV_CATALOG_URL = "VIDEOLAKE_CATALOG_URL"
ENV_HOT_STORAGE = "VIDEOLAKE_HOT_STORAGE"
ENV_QUARANTINE = "VIDEOLAKE_QUARANTINE"
ENV_STABLE_AFTER_SECONDS = "VIDEOLAKE_STABLE_AFTER_SECONDS"  # the age rule (network file systems); 0: off
ENV_SETTLE_SECONDS = "VIDEOLAKE_SETTLE_SECONDS"
ENV_BATCH_MAX_FILES = "VIDEOLAKE_BATCH_MAX_FILES"
ENV_WORKERS = "VIDEOLAKE_WORKERS"
ENV_ARCHIVE_STORAGE = "VIDEOLAKE_ARCHIVE_STORAGE"
ENV_MIGRATION = "VIDEOLAKE_MIGRATION"  # copy (keep both) or move (free the hot copy once verified)
ENV_ARCHIVE_AFTER_DAYS = "VIDEOLAKE_ARCHIVE_AFTER_DAYS"
ENV_WRITE_MODE = "VIDEOLAKE_WRITE_MODE"  # LOCAL (hot only), REMOTE (archive only) or BOTH (dual write) at ingest
ENV_RETENTION = "VIDEOLAKE_RETENTION"  # the retention policy file (YAML)
ENV_METRICS_FILE = "VIDEOLAKE_METRICS_FILE"  # Prometheus textfile the storage report writes
ENV_PUBLIC_URL = "VIDEOLAKE_PUBLIC_URL"  # base of the download links `videolake serve` answers
ENV_LINK_SECRET = "VIDEOLAKE_LINK_SECRET"  # optional; else a secret kept in $VIDEOLAKE_HOME/link-secret

DEFAULT_HOME = ".videolake"

# Dagster names.
GROUP_INGEST = "ingest"
ASSET_LANDING_ZONE = "landing_zone"
ASSET_INGESTED_VIDEOS = "ingested_videos"
ASSET_VIDEO_PROBES = "video_probes"
ASSET_VIDEO_THUMBNAILS = "video_thumbnails"
OP_INGEST_LINEAGE = "ingest_lineage"
ASSET_VIDEO_EXPORTS = "video_exports"
GROUP_EXPORTS = "exports"
GROUP_ARCHIVE = "archive"
ASSET_ARCHIVED_VIDEOS = "archived_videos"
JOB_ARCHIVE = "archive_job"
JOB_INTEGRITY = "integrity_job"
GROUP_RETENTION = "retention"
ASSET_RETENTION_SWEEP = "retention_sweep"
JOB_RETENTION = "retention_job"
ASSET_STORAGE_REPORT = "storage_report"
DEFAULT_ARCHIVE_AFTER_DAYS = 30
JOB_EXPORT = "export_job"
SENSOR_EXPORTS = "export_requests_sensor"  # the multi-asset computing the three above
JOB_INGEST = "ingest_job"
JOB_CATALOG_QUALITY = "catalog_quality_job"
SENSOR_LANDING = "landing_zone_sensor"
SENSOR_SEGMENTS = "segments_sensor"
ZONE_UPLOADS = "uploads"
ZONE_SEGMENTS = "segments"
SENSOR_CATALOG_QUALITY = "catalog_quality_sensor"
PARTITIONS_LANDING_DAYS = "landing_days"  # dynamic: a day is added once it has files
TAG_BATCH = "videolake/batch"
TAG_SOURCE = "videolake/source"
TAG_TRIGGER = "videolake/trigger"
CHECK_HOT_INTEGRITY = "hot_storage_integrity"
CHECK_ARCHIVE_INTEGRITY = "archive_integrity"

class SourceType(StrEnum):
    """How a video came to be."""

    UPLOADED = "uploaded"
    GENERATED = "generated"
    STITCHED = "stitched"
    SEGMENT = "segment"


class ReplicaState(StrEnum):
    PENDING = "pending"  # a copy is being made; not to be read yet
    VERIFIED = "verified"  # the backend holds it and it hashed right
    DELETING = "deleting"  # its object is being deleted; a rerun finishes the job


class FileOutcome(StrEnum):
    """What became of one landed (or named) file in an ingest run."""

    INGESTED = "ingested"
    DUPLICATE = "duplicate"  # a catalog link to content already stored
    QUARANTINED = "quarantined"  # moved aside with a reason
    SKIPPED = "skipped"  # left for a later run (being deleted right now, changed while read)
    FAILED = "failed"  # could not be stored; it stays where it landed


class LandingState(StrEnum):
    """Sensor bookkeeping of a file in a landing zone."""

    SEEN = "seen"
    CLAIMED = "claimed"


class DerivativeKind(StrEnum):
    POSTER = "poster"
    SPRITE = "sprite"


class ExportStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class ExportMode(StrEnum):
    FAST = "fast"  # stream copy, cut on keyframes
    ACCURATE = "accurate"  # decoded, cut at the exact times


# The names the code used before the vocabularies above; the same values.
SOURCE_UPLOADED, SOURCE_GENERATED = SourceType.UPLOADED, SourceType.GENERATED
SOURCE_STITCHED, SOURCE_SEGMENT = SourceType.STITCHED, SourceType.SEGMENT
SOURCE_TYPES = tuple(SourceType)
DEFAULT_SOURCE = "default"
SEGMENTS_SOURCE = "segments"  # the source of everything from the segments landing zone
REPLICA_PENDING, REPLICA_VERIFIED, REPLICA_DELETING = ReplicaState.PENDING, ReplicaState.VERIFIED, ReplicaState.DELETING
OUTCOME_INGESTED, OUTCOME_DUPLICATE, OUTCOME_QUARANTINED = (FileOutcome.INGESTED, FileOutcome.DUPLICATE,
                                                           FileOutcome.QUARANTINED)
LANDING_SEEN, LANDING_CLAIMED = LandingState.SEEN, LandingState.CLAIMED
DERIVATIVE_POSTER, DERIVATIVE_SPRITE = DerivativeKind.POSTER, DerivativeKind.SPRITE

# Ingest defaults.
DEFAULT_STABLE_AFTER_SECONDS = 0  # the age rule, off: on network file systems set e.g. 60
DEFAULT_SETTLE_SECONDS = 2  # a local file unchanged this long, with no process writing it, is complete
DEFAULT_BATCH_MAX_FILES = 500
DEFAULT_BATCH_MAX_BYTES = 20 * 1024**3
DEFAULT_MAX_BATCHES_PER_TICK = 100
DEFAULT_REQUEUE_AFTER_SECONDS = 900

# Media sanity limits (inclusive).
MIN_DIMENSION = 16
MAX_DIMENSION = 16384
MAX_ASPECT_RATIO = 10.0
TRUNCATION_TOLERANCE = 0.9  # demuxed duration below this share of the header's means truncated

# Thumbnails.
POSTER_MAX_WIDTH = 1280
SPRITE_TILE_WIDTH = 160
SPRITE_MAX_TILES = 100
SPRITE_COLUMNS = 10
JPEG_QUALITY = 85

# Files in a landing zone that are skipped, never quarantined: uploads in progress and dot files.
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".uploading", ".filepart")
SIDECAR_SUFFIX = ".json"

# Content-addressed layout in storage backends.
VIDEOS_PREFIX = "videos"
DERIVATIVES_PREFIX = "derivatives"

# Codecs the data-quality checks accept.
KNOWN_VIDEO_CODECS = (
    "h264", "hevc", "av1", "vp8", "vp9", "mpeg4", "mpeg2video", "mpeg1video", "mjpeg", "prores",
    "dnxhd", "theora", "wmv2", "wmv3", "vc1", "h263", "ffv1", "png", "rawvideo", "msmpeg4v3",
)
KNOWN_AUDIO_CODECS = (
    "aac", "mp3", "opus", "vorbis", "ac3", "eac3", "flac", "alac", "pcm_s16le", "pcm_s24le",
    "pcm_s16be", "pcm_f32le", "pcm_mulaw", "pcm_alaw", "mp2", "wmav2", "amr_nb", "amr_wb", "dts",
)
