"""What is in a landing zone: video candidates, their sidecars, lists of URLs to import
(``*.urls.jsonl``), uploads still in progress."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from videolake import constants as c
from videolake.media.inspection import REASON_NOT_REGULAR, REASON_UNSAFE_NAME
from videolake.storage import InvalidKey, ObjectInfo, StorageBackend, StorageError, validate_key

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_GENERATED_KEYS = ("provider", "model", "prompt", "generator")
MAX_SIDECAR_BYTES = 1024 * 1024
MAX_SIDECAR_DEPTH = 32


@dataclass(frozen=True)
class LandedItem:
    """One source to ingest: an object in a landing zone (``zone`` set: removed once cataloged), or a
    local file (``zone`` None: a path named on the command line, or a file an entry point wrote — a
    stitched output, later an upload or a fetched URL — never moved or removed by ingest).

    Its sidecar metadata is the JSON file beside it, or ``metadata`` when the entry point hands it
    over (then no file is looked for). Picklable: workers get it as it is.
    """

    uri: str  # where it landed, for people and the catalog
    key: str  # key in the landing backend; for external files, the absolute path
    size: int
    mtime: float
    source: str
    zone: str | None  # landing backend URL; None for external files (never moved or removed)
    regular: bool = True
    segment: Any = None  # SegmentTimes for recording segments (camera, start, optional end)
    metadata: dict[str, Any] | None = None  # sidecar metadata given with the file (source_type, generation details)
    # videolake's own finished file (a complete upload in the spool: synced, never written again):
    # a hot storage on the same filesystem keeps it by a hard link, not a second copy.
    sealed: bool = False

    @property
    def name(self) -> str:
        return display_text(PurePosixPath(self.key).name)

    @property
    def removable(self) -> bool:
        return self.zone is not None


def display_text(text: str) -> str:
    """Text safe to store: undecodable bytes from the filesystem become backslash escapes."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")


def is_in_progress(key: str) -> bool:
    """Dot files, partial downloads and editors' temp files are skipped until they are renamed."""
    name = PurePosixPath(key).name
    lowered = name.lower()
    return name.startswith(".") or name.startswith("~") or lowered.endswith(c.IN_PROGRESS_SUFFIXES)


def is_sidecar(key: str) -> bool:
    return key.lower().endswith(c.SIDECAR_SUFFIX)


def is_url_list(key: str) -> bool:
    return key.lower().endswith(c.URL_LIST_SUFFIX)


def storable_name(key: str) -> bool:
    """Whether a key can be written to the catalog as it is (valid UTF-8, no NUL)."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in key


def unsafe_name_reason(key: str) -> str | None:
    """Why a key cannot be accepted as a name, or None when it is fine."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8"
    if _CONTROL.search(key):
        return "the file name contains control characters"
    try:
        validate_key(key)
    except InvalidKey as exc:
        return f"unsafe path: {exc}"
    return None


def rejection_for_listing(info: ObjectInfo) -> tuple[str, str] | None:
    if not info.regular:
        return REASON_NOT_REGULAR, "not a regular file (a symbolic link, FIFO, device or socket); it is not followed or read"
    reason = unsafe_name_reason(info.key)
    if reason:
        return REASON_UNSAFE_NAME, reason
    return None


def source_for_key(key: str, default: str = c.DEFAULT_SOURCE) -> str:
    """Files in ``landing/<source>/...`` belong to that source; files at the top to ``default``."""
    parts = key.split("/")
    if len(parts) > 1 and parts[0] and parts[0] not in (".", ".."):
        return display_text(parts[0])[:200]
    return default


def sidecar_candidates(key: str) -> list[str]:
    """``clip.mp4.json`` first, then ``clip.json``."""
    out = [f"{key}{c.SIDECAR_SUFFIX}"]
    stem, dot, _ = key.rpartition(".")
    if dot and "/" not in key[len(stem):]:
        out.append(f"{stem}{c.SIDECAR_SUFFIX}")
    return out


@dataclass(frozen=True)
class LandingListing:
    videos: list[ObjectInfo]
    sidecars: set[str]
    in_progress: int
    orphan_sidecars: int
    url_lists: list[ObjectInfo] = field(default_factory=list)  # ``*.urls.jsonl``: imports, not videos

    def sidecar_for(self, key: str) -> str | None:
        for candidate in sidecar_candidates(key):
            if candidate in self.sidecars:
                return candidate
        return None


def list_landing(backend: StorageBackend) -> LandingListing:
    """One pass over the landing zone (paginated by the backend)."""
    videos: list[ObjectInfo] = []
    sidecars: set[str] = set()
    url_lists: list[ObjectInfo] = []
    in_progress = 0
    for info in backend.list():
        if is_in_progress(info.key):
            in_progress += 1
        elif is_sidecar(info.key) and info.regular:
            sidecars.add(info.key)
        elif is_url_list(info.key) and info.regular:
            url_lists.append(info)
        else:
            videos.append(info)
    paired = {s for v in videos for s in sidecar_candidates(v.key) if s in sidecars}
    return LandingListing(videos, sidecars, in_progress, len(sidecars - paired), url_lists)


def find_sidecar(backend: StorageBackend, key: str) -> ObjectInfo | None:
    """The sidecar of ``key`` (its key, size, version): a regular file — never a symlink, folder,
    FIFO or device — next to it."""
    for candidate in sidecar_candidates(key):
        try:
            info = backend.head(candidate)
        except (InvalidKey, OSError, StorageError):
            continue  # a name too long to exist, or unsafe: there is no such sidecar
        if info is not None and info.regular:
            return info
    return None


@dataclass(frozen=True)
class Sidecar:
    data: dict[str, Any] | None
    error: str | None

    @property
    def source_type(self) -> str:
        if not self.data:
            return c.SOURCE_UPLOADED
        declared = self.data.get("source_type")
        if declared in c.SOURCE_TYPES:
            return str(declared)
        if any(k in self.data for k in _GENERATED_KEYS):
            return c.SOURCE_GENERATED
        return c.SOURCE_UPLOADED


def too_large_sidecar(size: int) -> Sidecar:
    return Sidecar(None, f"sidecar is {size} bytes; the limit is {MAX_SIDECAR_BYTES} bytes")


def parse_sidecar(raw: bytes, size: int | None = None) -> Sidecar:
    """The sidecar's JSON object; ``size`` is the file's size when only its head was read."""
    if len(raw) > MAX_SIDECAR_BYTES or (size is not None and size > MAX_SIDECAR_BYTES):
        return too_large_sidecar(max(len(raw), size or 0))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Sidecar(None, f"sidecar is not valid JSON: {exc}")
    except RecursionError:
        return Sidecar(None, f"sidecar JSON nests deeper than {MAX_SIDECAR_DEPTH} levels")
    if not isinstance(data, dict):
        return Sidecar(None, "sidecar JSON must be an object")
    if json_depth(data) > MAX_SIDECAR_DEPTH:
        return Sidecar(None, f"sidecar JSON nests deeper than {MAX_SIDECAR_DEPTH} levels")
    return Sidecar(data, None)


def json_depth(value: Any) -> int:
    """How deeply containers nest in ``value`` (iterative: no recursion limit to hit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_SIDECAR_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def read_local_sidecar(path: Path) -> Sidecar | None:
    """A sidecar next to a file named on the command line, by the landing zone's rules: a regular
    file (a symlink is not followed, a FIFO never opened), within the size cap."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR):
            return None  # a symlink, or a name that cannot be a sidecar
        return Sidecar(None, f"sidecar unreadable: {exc.strerror}")
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_size > MAX_SIDECAR_BYTES:
            return too_large_sidecar(st.st_size)
        return parse_sidecar(fh.read(MAX_SIDECAR_BYTES + 1), st.st_size)


def read_sidecar(landing: StorageBackend | None, item: LandedItem) -> tuple[str | None, Sidecar | None]:
    """(the sidecar's key or path, its parsed content) for ``item``, or (None, None) without one.

    Metadata handed over with the item comes first (there is no sidecar file to remove then); a
    landed object's sidecar is read from its landing zone, a local file's from beside it.
    """
    if item.metadata is not None:
        return None, Sidecar(dict(item.metadata), None)
    if item.zone is None or landing is None:
        for candidate in (Path(f"{item.key}.json"), Path(item.key).with_suffix(".json")):
            sidecar = read_local_sidecar(candidate)
            if sidecar is not None:
                return str(candidate), sidecar
        return None, None
    info = find_sidecar(landing, item.key)
    if info is None:
        return None, None
    try:
        if info.size > MAX_SIDECAR_BYTES:
            return info.key, too_large_sidecar(info.size)
        with landing.open(info.key) as fh:
            raw = fh.read(MAX_SIDECAR_BYTES + 1)
    except (StorageError, OSError) as exc:
        return info.key, Sidecar(None, f"sidecar unreadable: {exc}")
    return info.key, parse_sidecar(raw, info.size)


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named on the command line; folders are walked (sorted), sidecars and partials skipped."""
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    candidate = Path(root) / name
                    if not is_in_progress(name) and not is_sidecar(name):
                        yield candidate.resolve()
        else:
            yield path.resolve() if path.exists() else path
