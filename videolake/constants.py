"""Constants shared by the domain core and the Dagster layer: one place for names and limits."""

import datetime as dt
from enum import IntEnum, StrEnum


class CatalogLock(StrEnum):
    """Catalog-wide locks (``videolake.catalog.locks``)."""

    SCHEMA = "schema"  # creating or migrating the catalog's tables
    QUARANTINE = "quarantine"  # recording a quarantined file once, whoever gets there first
    HOLDS = "holds"  # adding a legal hold / a retention batch deleting: a hold lands before or after, never between


class KeyframeSnap(StrEnum):
    """Where a stream-copied part of a segment begins, relative to the moment asked for."""

    BEFORE = "before"  # the last keyframe at or before it: the first part of an export (never cut what was asked)
    AFTER = "after"  # the first keyframe at or after it: a part overlapping the one before (never shown twice)


class Env(StrEnum):
    """The environment variables (read only through Dagster ``EnvVar``, or by the CLI at run time)."""

    HOME = "VIDEOLAKE_HOME"
    LANDING = "VIDEOLAKE_LANDING"
    SEGMENTS_LANDING = "VIDEOLAKE_SEGMENTS_LANDING"
    SEGMENT_TEMPLATE = "VIDEOLAKE_SEGMENT_TEMPLATE"
    CATALOG_URL = "VIDEOLAKE_CATALOG_URL"
    HOT_STORAGE = "VIDEOLAKE_HOT_STORAGE"
    QUARANTINE = "VIDEOLAKE_QUARANTINE"
    STABLE_AFTER_SECONDS = "VIDEOLAKE_STABLE_AFTER_SECONDS"  # the age rule (network file systems); 0: off
    SETTLE_SECONDS = "VIDEOLAKE_SETTLE_SECONDS"
    BATCH_MAX_FILES = "VIDEOLAKE_BATCH_MAX_FILES"
    WORKERS = "VIDEOLAKE_WORKERS"
    ARCHIVE_STORAGE = "VIDEOLAKE_ARCHIVE_STORAGE"
    MIGRATION = "VIDEOLAKE_MIGRATION"  # copy (keep both) or move (free the hot copy once verified)
    ARCHIVE_AFTER_DAYS = "VIDEOLAKE_ARCHIVE_AFTER_DAYS"
    WRITE_MODE = "VIDEOLAKE_WRITE_MODE"  # LOCAL (hot only), REMOTE (archive only) or BOTH (dual write) at ingest
    RETENTION = "VIDEOLAKE_RETENTION"  # the retention policy file (YAML)
    METRICS_FILE = "VIDEOLAKE_METRICS_FILE"  # Prometheus textfile the storage report writes
    PUBLIC_URL = "VIDEOLAKE_PUBLIC_URL"  # base of the download links `videolake serve` answers
    LINK_SECRET = "VIDEOLAKE_LINK_SECRET"  # optional; else a secret kept in $VIDEOLAKE_HOME/link-secret
    OPERATOR = "VIDEOLAKE_OPERATOR"  # who the audit names for holds added from this shell (default: the login)
    UPLOAD_SPOOL = "VIDEOLAKE_UPLOAD_SPOOL"  # the folder uploads are received in until ingest has stored them
    MAX_UPLOAD_BYTES = "VIDEOLAKE_MAX_UPLOAD_BYTES"  # the largest upload the HTTP API accepts
    UPLOAD_EXPIRES_HOURS = "VIDEOLAKE_UPLOAD_EXPIRES_HOURS"  # an unfinished resumable upload is removed after this
    API_FREE_KEY_FAILURES = "VIDEOLAKE_API_FREE_KEY_FAILURES"  # failed keys per client per 5 min before answers slow down
    API_WORKERS = "VIDEOLAKE_API_WORKERS"  # processes `videolake api` answers requests with (default 1)
    IMPORT_DIR = "VIDEOLAKE_IMPORT_DIR"  # where URL imports are fetched to before ingest
    IMPORT_ALLOW_PRIVATE = "VIDEOLAKE_IMPORT_ALLOW_PRIVATE"  # 1: imports may fetch private and loopback addresses
    IMPORT_PER_HOST = "VIDEOLAKE_IMPORT_PER_HOST"  # fetches from one host at once (all runs together)
    IMPORT_BATCH = "VIDEOLAKE_IMPORT_BATCH"  # imports one fetch run takes
    # How long a fetch run holds its imports without renewing the hold (it renews a quarter of that
    # apart); a run killed mid-fetch lets them go when it ends, and the next run continues them.
    IMPORT_LEASE_SECONDS = "VIDEOLAKE_IMPORT_LEASE_SECONDS"


class ExitCode(IntEnum):
    """What the ``videolake`` command returns (each use-case error names its own)."""

    OK = 0
    FAILED = 1  # the work could not be done (a backend or the catalog down, a refusal, a failed run)
    USAGE = 2  # bad input or configuration: nothing was tried
    PARTIAL = 3  # done, but some files were quarantined, skipped or left


DEFAULT_HOME = ".videolake"

DEFAULT_ARCHIVE_AFTER_DAYS = 30

# Landing zones.
ZONE_UPLOADS = "uploads"
ZONE_SEGMENTS = "segments"


class RunTrigger(StrEnum):
    """Who started a run made outside the daemon (Dagster runs also carry a sensor's name)."""

    CLI = "cli"
    API = "api"  # an upload received by `videolake api` (plain or resumable), ingested in the API's workers


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
    CANCELLED = "CANCELLED"  # withdrawn before it was cut
    EXPIRED = "EXPIRED"  # its files were deleted by retention once its links ran out


class WriteMode(StrEnum):
    """Where ingest writes a new video (``VIDEOLAKE_WRITE_MODE``)."""

    LOCAL = "LOCAL"  # the hot tier only (the archive job copies later)
    REMOTE = "REMOTE"  # the archive only: staged hot, copied and verified, then the hot copy deleted
    BOTH = "BOTH"  # dual write: hot, then a verified archive copy in the same run


class ApiScope(StrEnum):
    """What an API key may do; each scope includes the ones before it."""

    READ = "read"  # list, get and download videos, mint links
    WRITE = "write"  # upload
    ADMIN = "admin"  # delete videos, clean up storage, see every key's uploads


class UploadProtocol(StrEnum):
    FORM = "form"  # one multipart/form-data POST
    TUS = "tus"  # resumable (tus 1.0), PATCH by PATCH


class UploadState(StrEnum):
    """An upload through the API, from its first byte to its video."""

    RECEIVING = "receiving"  # bytes are coming in (a resumable upload may pause here)
    RECEIVED = "received"  # complete and hashed in the spool, waiting for ingest
    INGESTING = "ingesting"  # one process is ingesting it now
    DONE = "done"  # ingested: a new video, or a duplicate of one (``outcome`` says which)
    QUARANTINED = "quarantined"  # not a usable video: moved aside with the reason
    FAILED = "failed"  # ingest could not store it; the spooled file is kept and retried
    EXPIRED = "expired"  # an unfinished upload given up on; its bytes are removed
    CANCELLED = "cancelled"  # terminated by the client


class ImportState(StrEnum):
    """A URL handed to videolake to keep (``videolake import``), from queued to its video."""

    PENDING = "pending"  # queued, waiting for a fetch run (earliest deadline first)
    FETCHING = "fetching"  # a run holds it (until ``lease_until``: a run that died lets it go)
    DONE = "done"  # fetched and ingested (``video_id``: a new video or the one with its content)
    FAILED = "failed"  # a final answer (404, an HTML page, a refused address, not a video) or attempts used up
    EXPIRED = "expired"  # its deadline passed before the file was whole


OPEN_IMPORT_STATES = (ImportState.PENDING, ImportState.FETCHING)  # not settled yet


DEFAULT_IMPORT_LEASE_SECONDS = 120  # a fetch run's hold on its imports, renewed a quarter of it apart
IMPORT_AT_RISK = dt.timedelta(minutes=10)  # an import not done this close to its deadline is at risk


class FetchFailure(StrEnum):
    """Why fetching a URL did not give its file (``imports/fetch.py``; each error says whether it is
    worth trying again: a 503 is, a 404 is not)."""

    BAD_URL = "bad_url"  # not http(s), no host, credentials in it
    REFUSED_ADDRESS = "refused_address"  # a private, loopback or link-local address
    HTTP_STATUS = "http_status"  # an answer that is not the file (4xx, 5xx)
    RATE_LIMITED = "rate_limited"  # 429 (Retry-After honoured)
    CONNECTION = "connection"  # refused, reset, cut in the middle of the body
    TIMEOUT = "timeout"  # no byte for the read timeout, or no connection in the connect timeout
    TOO_MANY_REDIRECTS = "too_many_redirects"
    TOO_LARGE = "too_large"  # over the size cap (declared or sent)
    SIZE_MISMATCH = "size_mismatch"  # fewer or more bytes than Content-Length / Content-Range said
    NOT_A_FILE = "not_a_file"  # an HTML page sent with 200 (an error or login page)
    DEADLINE = "deadline"  # the deadline passed before the file was whole


class ExportMode(StrEnum):
    FAST = "fast"  # stream copy, cut on keyframes
    ACCURATE = "accurate"  # decoded, cut at the exact times


# The names the code used before the vocabularies above; the same values.
ENV_HOME = Env.HOME.value
ENV_LANDING = Env.LANDING.value
ENV_SEGMENTS_LANDING = Env.SEGMENTS_LANDING.value
ENV_SEGMENT_TEMPLATE = Env.SEGMENT_TEMPLATE.value
ENV_CATALOG_URL = Env.CATALOG_URL.value
ENV_HOT_STORAGE = Env.HOT_STORAGE.value
ENV_QUARANTINE = Env.QUARANTINE.value
ENV_STABLE_AFTER_SECONDS = Env.STABLE_AFTER_SECONDS.value
ENV_SETTLE_SECONDS = Env.SETTLE_SECONDS.value
ENV_BATCH_MAX_FILES = Env.BATCH_MAX_FILES.value
ENV_WORKERS = Env.WORKERS.value
ENV_ARCHIVE_STORAGE = Env.ARCHIVE_STORAGE.value
ENV_MIGRATION = Env.MIGRATION.value
ENV_ARCHIVE_AFTER_DAYS = Env.ARCHIVE_AFTER_DAYS.value
ENV_WRITE_MODE = Env.WRITE_MODE.value
ENV_RETENTION = Env.RETENTION.value
ENV_METRICS_FILE = Env.METRICS_FILE.value
ENV_PUBLIC_URL = Env.PUBLIC_URL.value
ENV_LINK_SECRET = Env.LINK_SECRET.value
ENV_OPERATOR = Env.OPERATOR.value
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
# Files per ingest run. Each run is a process that starts Dagster (2–5 s here, more while other runs
# use the cores): 3,000 clips went 0.65–0.78× the CLI's pace in 6 runs of 500, 0.88–1.01× in 2 of 1,500.
DEFAULT_BATCH_MAX_FILES = 1500
DEFAULT_BATCH_MAX_BYTES = 20 * 1024**3
DEFAULT_MAX_BATCHES_PER_TICK = 100
DEFAULT_REQUEUE_AFTER_SECONDS = 900

# The HTTP API.
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024**3
DEFAULT_UPLOAD_EXPIRES_HOURS = 24  # an unfinished resumable upload is removed after a day
DEFAULT_FREE_KEY_FAILURES = 3
DEFAULT_LINK_HOURS = 720  # the upload-and-serve API's default link lifetime (30 days)

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
URL_LIST_SUFFIX = ".urls.jsonl"  # a list of URLs to import, dropped in the landing zone

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
