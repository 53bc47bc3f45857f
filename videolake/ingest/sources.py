"""What ingest takes in: a ``Source``. Every way in is one — an object in a landing zone, a local
path named on the command line, a file an entry point wrote (a stitched output), an upload spooled
beside the landing zone (``SpooledUpload``), a file fetched from a URL (``FetchedFile``) — and all
go through the same ingestor (``IngestEngine.ingest_sources``): hashed, probed, stored,
deduplicated, cataloged, quarantined.

A source says what it is (name, size, where it came from, its source name and type, the sidecar
metadata that came with it), opens as a stream, and hands the ingestor's workers a picklable
``LandedItem``. Whether ingest removes it afterwards is the item's ``removable``: only what landed
in a landing zone is removed, and only once its content is stored and cataloged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from videolake.constants import DEFAULT_SOURCE, SourceType
from videolake.ingest.landing import LandedItem, display_text, source_for_key
from videolake.storage import StorageBackend


@runtime_checkable
class Source(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def origin_uri(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def source_type(self) -> SourceType | None:
        """What the source says it is; None: the sidecar (or the default, uploaded) decides."""

    @property
    def metadata(self) -> dict[str, Any] | None:
        """Sidecar metadata that came with it (None: read the sidecar file beside it, if any)."""

    def open(self) -> BinaryIO: ...

    def item(self) -> LandedItem: ...


@dataclass(frozen=True)
class LandingObject:
    """An object in a landing zone: removed from there once stored and cataloged."""

    landing: StorageBackend
    key: str
    size: int
    mtime: float
    source_name: str | None = None  # None: the landing folder it is in (``landing/<source>/…``), else default
    regular: bool = True

    @property
    def name(self) -> str:
        return self.item().name

    @property
    def source(self) -> str:
        return self.source_name or source_for_key(self.key, DEFAULT_SOURCE)

    @property
    def origin_uri(self) -> str:
        return display_text(f"{self.landing.url.rstrip('/')}/{self.key}")

    @property
    def source_type(self) -> SourceType | None:
        return None

    @property
    def metadata(self) -> dict[str, Any] | None:
        return None

    def open(self) -> BinaryIO:
        return self.landing.open(self.key)

    def item(self) -> LandedItem:
        return LandedItem(self.origin_uri, self.key, self.size, self.mtime,
                          self.source, self.landing.url, self.regular)


@dataclass(frozen=True)
class LocalFile:
    """A file on this machine: a path named on the command line, or a file an entry point wrote
    with what it is (``source_type``, ``metadata``). Never moved or removed by ingest."""

    path: Path
    source: str = DEFAULT_SOURCE
    declared_type: SourceType | None = None
    given_metadata: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return display_text(self.path.name)

    @property
    def size(self) -> int:
        return self.path.lstat().st_size

    @property
    def origin_uri(self) -> str:
        return display_text(self.path.absolute().as_uri())

    @property
    def source_type(self) -> SourceType | None:
        return self.declared_type

    @property
    def metadata(self) -> dict[str, Any] | None:
        if self.declared_type is None:
            return self.given_metadata
        return {**(self.given_metadata or {}), "source_type": str(self.declared_type)}

    def open(self) -> BinaryIO:
        return self.path.open("rb")

    def item(self) -> LandedItem:
        st = self.path.lstat()
        return LandedItem(self.origin_uri, str(self.path), st.st_size, st.st_mtime, self.source, None,
                          self.path.is_file() and not self.path.is_symlink(), metadata=self.metadata)


@dataclass(frozen=True)
class SpooledUpload:
    """A file received over the HTTP API, complete in the upload spool (``ingest/spool.py``), with
    the metadata that came with it. The spool is its landing zone: removed from there once stored
    and cataloged, moved to quarantine when it is not a usable video."""

    spool: StorageBackend
    key: str  # <upload id>/<file name>
    upload_id: str
    source: str = DEFAULT_SOURCE
    given_metadata: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return display_text(self.key.rsplit("/", 1)[-1])

    @property
    def size(self) -> int:
        info = self.spool.head(self.key)
        return info.size if info is not None else 0

    @property
    def origin_uri(self) -> str:
        return f"upload:{self.key}"

    @property
    def source_type(self) -> SourceType | None:
        return None

    @property
    def metadata(self) -> dict[str, Any] | None:
        return self.given_metadata  # None: no metadata came (the spool never holds a sidecar file)

    def open(self) -> BinaryIO:
        return self.spool.open(self.key)

    def item(self) -> LandedItem:
        info = self.spool.head(self.key)
        if info is None:
            raise FileNotFoundError(f"upload {self.upload_id}: {self.key} is not in the spool")
        return LandedItem(self.origin_uri, self.key, info.size, info.mtime, self.source, self.spool.url,
                          True, metadata=self.metadata, sealed=True)


@dataclass(frozen=True)
class FetchedFile(LocalFile):
    """A file fetched from a URL (``videolake import``), complete and synced in the import work
    folder: a local file whose origin is the URL. Ingest never removes it; the import use case
    does, once its video is cataloged. Its bytes are never written again, so local storage links it."""

    url: str = ""

    @property
    def origin_uri(self) -> str:
        return display_text(self.url)

    def item(self) -> LandedItem:
        st = self.path.stat()
        return LandedItem(self.origin_uri, str(self.path), st.st_size, st.st_mtime, self.source, None, True,
                          metadata=self.metadata, sealed=True)
