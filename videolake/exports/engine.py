"""Exports: footage of one or more cameras over a time range, cut into one MP4 per camera.

``create_export`` records a PENDING request; ``ExportEngine.run`` moves it to PROCESSING and then
COMPLETED (outputs and a manifest stored in the storage backend, cataloged with sha256 and
``expires_at``) or FAILED with the reason. Every output is one continuous timeline whatever the
segments' clocks (``videolake.exports.timeline``): gaps are closed in the video and listed in the
manifest, with where each piece sits in the output and when it was recorded. Fast mode
stream-copies and cuts on keyframes (the output may start up to a GOP early); accurate mode
decodes and cuts at the exact times. Segments that differ in codec, size or audio, or whose codec
an MP4 cannot carry, are re-encoded to the first segment's format whatever the mode.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from videolake.catalog.models import Export, ExportOutput, utcnow
from videolake.catalog.repository import Catalog
from videolake.constants import ExportMode, ExportStatus
from videolake.exports.sources import NoReadableCopy, local_copy
from videolake.inputs import safe_name
from videolake.media.inspection import inspect_video
from videolake.segments.index import (
    SegmentHit,
    UnknownCamera,
    coverage_gaps,
    find_segments,
    footage_extent,
    longest_segment_seconds,
    require_cameras,
)
from videolake.storage import StorageBackend, sha256_file

if TYPE_CHECKING:
    from videolake.exports.timeline import Piece

PENDING, PROCESSING, COMPLETED, FAILED = (ExportStatus.PENDING, ExportStatus.PROCESSING, ExportStatus.COMPLETED,
                                          ExportStatus.FAILED)
MODES = tuple(ExportMode)
DEFAULT_TTL_SECONDS = 48 * 3600
MAX_TTL_SECONDS = 365 * 24 * 3600
EXPORTS_PREFIX = "exports"
# Overlaps shorter than this between consecutive segments are measurement, not footage: a probed
# duration counts audio past the last frame, and names carry whole seconds.
JOIN_TOLERANCE_S = 1.0


class ExportError(Exception):
    """The export cannot be made; the message says why in words an operator can act on."""


@dataclass(frozen=True)
class ExportRequest:
    cameras: list[str]
    start: dt.datetime
    end: dt.datetime
    mode: str = "fast"
    reason: str | None = None
    ttl_seconds: int = DEFAULT_TTL_SECONDS

    def validate(self) -> None:
        if not self.cameras:
            raise ExportError("name at least one camera")
        if len(set(self.cameras)) != len(self.cameras):
            raise ExportError("a camera is named twice")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ExportError("start and end need a time zone (UTC is assumed by the CLI)")
        if self.end <= self.start:
            raise ExportError(f"the end {self.end.isoformat()} is not after the start {self.start.isoformat()}")
        if self.end - self.start > dt.timedelta(days=7):
            raise ExportError("an export covers at most 7 days; split longer ranges")
        if self.mode not in MODES:
            raise ExportError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if not 0 < self.ttl_seconds <= MAX_TTL_SECONDS:
            raise ExportError(f"the link lifetime must be between 1 s and {MAX_TTL_SECONDS // 86400} days")


class NoFootage(ExportError):
    """None of the cameras has footage in the range asked for."""


def create_export(catalog: Catalog, request: ExportRequest) -> str:
    """Validate and record a PENDING export; returns its id.

    Raises ``UnknownCamera`` for a camera with no segments, ``NoFootage`` when no camera has
    footage in the range (the message says where the footage is), ``ExportError`` otherwise.
    """
    request.validate()
    require_cameras(catalog, request.cameras)
    if not any(find_segments(catalog, camera, request.start, request.end) for camera in request.cameras):
        raise NoFootage(_no_footage(catalog, request))
    export_id = f"exp-{utcnow():%Y%m%d}-{uuid.uuid4().hex[:10]}"
    with catalog.write() as s:
        s.add(
            Export(id=export_id, status=PENDING, cameras=list(request.cameras), start_at=request.start, end_at=request.end,
                   mode=request.mode, reason=request.reason, ttl_seconds=request.ttl_seconds)
        )
    return export_id


def _no_footage(catalog: Catalog, request: ExportRequest) -> str:
    where = []
    for camera in request.cameras:
        extent = footage_extent(catalog, camera)
        if extent is not None:
            where.append(f"{camera} has footage from {extent[0].isoformat()} to {extent[1].isoformat()}")
    return (f"no footage of {', '.join(request.cameras)} between {request.start.isoformat()} and "
            f"{request.end.isoformat()}" + (f" ({'; '.join(where)})" if where else ""))


def unfinished_exports(catalog: Catalog, limit: int = 100) -> list[str]:
    """Exports not COMPLETED or FAILED yet (PENDING, or PROCESSING in a run that may have died)."""
    with catalog.read() as s:
        return list(
            s.scalars(
                select(Export.id).where(Export.status.in_([PENDING, PROCESSING])).order_by(Export.requested_at).limit(limit)
            )
        )


def give_up(catalog: Catalog, export_id: str, reason: str) -> None:
    with catalog.write() as s:
        row = s.get(Export, export_id)
        if row is not None and row.status in (PENDING, PROCESSING):
            row.status, row.error, row.finished_at = FAILED, reason, utcnow()


@dataclass
class CameraCut:
    camera: str
    hits: list[SegmentHit]
    gaps: list[Any]
    covered_start: dt.datetime
    covered_end: dt.datetime
    reencoded: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)  # where each piece sits in the output, and when it was recorded


class ExportEngine:
    def __init__(self, catalog: Catalog, storage: StorageBackend) -> None:
        self.catalog = catalog
        self.storage = storage

    def run(self, export_id: str, run_id: str | None = None) -> Export:
        """Make the export; its row ends COMPLETED or FAILED (the error is recorded, then raised)."""
        with self.catalog.write() as s:
            export = s.get(Export, export_id)
            if export is None:
                raise ExportError(f"no export {export_id!r}")
            if export.status in (COMPLETED, ExportStatus.CANCELLED, ExportStatus.EXPIRED):
                return load_export(self.catalog, export_id)  # type: ignore[return-value]  # a rerun changes nothing
            export.status, export.started_at, export.run_id, export.error = PROCESSING, utcnow(), run_id, None
            request = ExportRequest(list(export.cameras), export.start_at, export.end_at, export.mode, export.reason,
                                    export.ttl_seconds)
        try:
            cuts = self._plan(request)
            # Work beside the storage when it is local, so finished files are renamed into place.
            with tempfile.TemporaryDirectory(prefix="videolake-export-", dir=self.storage.scratch_dir()) as tmp:
                for cut in cuts:
                    self._make(export_id, request, cut, Path(tmp))
                manifest, manifest_key, manifest_sha = self._store_manifest(export_id, request, cuts)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the export
            with self.catalog.write() as s:
                row = s.get(Export, export_id)
                row.status, row.error, row.finished_at = FAILED, str(exc) or repr(exc), utcnow()
            raise
        finished = utcnow()
        with self.catalog.write() as s:
            row = s.get(Export, export_id)
            row.outputs = [
                ExportOutput(camera_id=cut.camera, key=cut.output["key"], sha256=cut.output["sha256"],
                             size_bytes=cut.output["size_bytes"], duration_s=cut.output["duration_s"],
                             covered_start=cut.covered_start, covered_end=cut.covered_end)
                for cut in cuts
            ]
            row.status, row.finished_at = COMPLETED, finished
            row.expires_at = finished + dt.timedelta(seconds=row.ttl_seconds)
            row.backend, row.manifest_key, row.manifest_sha256 = self.storage.url, manifest_key, manifest_sha
            row.gaps = manifest["gaps"]
        return load_export(self.catalog, export_id)  # type: ignore[return-value]

    # -- planning --------------------------------------------------------------------------------
    def _plan(self, request: ExportRequest) -> list[CameraCut]:
        try:
            require_cameras(self.catalog, request.cameras)
        except UnknownCamera as exc:
            raise ExportError(str(exc)) from exc
        cuts: list[CameraCut] = []
        for camera in request.cameras:
            longest = longest_segment_seconds(self.catalog, camera)
            hits = find_segments(self.catalog, camera, request.start, request.end, max_segment_s=longest)
            if not hits:
                continue
            gaps = coverage_gaps(hits, request.start, request.end)
            covered_start = max(request.start, hits[0].start)
            covered_end = min(request.end, max(h.end for h in hits))
            cuts.append(CameraCut(camera, hits, gaps, covered_start, covered_end))
        if not cuts:
            raise NoFootage(_no_footage(self.catalog, request))
        return cuts

    # -- cutting ----------------------------------------------------------------------------------
    def _local_segment(self, hit: SegmentHit, folder: Path) -> Path:
        try:
            return local_copy(self.catalog, self.storage, hit.video_id, folder)
        except NoReadableCopy as exc:
            raise ExportError(f"segment {hit.segment_id} ({hit.camera_id} {hit.start.isoformat()}): {exc}") from exc

    def _pieces(self, request: ExportRequest, cut: CameraCut, folder: Path) -> list[tuple[SegmentHit, Piece]]:
        """The part of each segment the range needs, as offsets from the segment's first frame; overlaps skipped."""
        from videolake.exports.timeline import Piece

        pieces: list[tuple[SegmentHit, Piece]] = []
        cursor = request.start
        for hit in cut.hits:
            if hit.end <= cursor:
                continue  # fully overlapped by what came before
            start_s = max(0.0, (cursor - hit.start).total_seconds())
            if start_s < JOIN_TOLERANCE_S and hit is not cut.hits[0]:
                start_s = 0.0  # a probed duration a little past the next start (audio tails) is not an overlap
            end_s = None if hit.end <= request.end else (request.end - hit.start).total_seconds()
            if end_s is not None and end_s - start_s < 0.001:
                continue
            label = f"segment {hit.segment_id} ({hit.camera_id} {hit.start.isoformat()})"
            pieces.append((hit, Piece(self._local_segment(hit, folder), start_s, end_s, label)))
            cursor = max(cursor, hit.end)
        return pieces

    def _make(self, export_id: str, request: ExportRequest, cut: CameraCut, tmp: Path) -> None:
        """Cut one camera's output: 1. the pieces of its segments; 2. their layouts decide copy or re-encode;
        3. re-encode pieces exactly when needed; 4. join them on one continuous timeline; 5. store it."""
        # PyAV is loaded when an export is cut, not when the code location loads.
        from videolake.exports.timeline import (
            LayoutMismatch,
            PieceSpan,
            TimelineError,
            join_pieces,
            layout_of,
            normalize_piece,
        )

        folder = tmp / f"cam-{hashlib.sha256(cut.camera.encode()).hexdigest()[:12]}"
        folder.mkdir()
        # 1. Pieces.
        pieces = self._pieces(request, cut, folder)
        out = folder / "out.mp4"
        try:
            joined = None
            if request.mode == ExportMode.FAST:
                # 2. Copy when every piece shares one layout an MP4 carries (each file opened once).
                try:
                    joined = join_pieces([piece for _, piece in pieces], out)  # 4. Join by stream copy.
                except LayoutMismatch as exc:
                    cut.reencoded = str(exc)
            reencode = joined is None
            if reencode:
                # 3. Decode and cut each piece at its exact times, into the first one's layout.
                layouts = [layout_of(piece.path) for _, piece in pieces]
                distinct = sorted({layout.describe() for layout in layouts})
                if len(distinct) > 1 and cut.reencoded is None:
                    cut.reencoded = "segments differ: " + "; ".join(distinct)
                with_audio = any(layout.audio_codec for layout in layouts)
                target = next((layout for layout in layouts if layout.audio_codec), layouts[0])
                target = dataclasses.replace(target, width=layouts[0].width, height=layouts[0].height, fps=layouts[0].fps)
                joinable = [
                    normalize_piece(piece, layout, target, folder / f"piece-{index:05d}", audio=with_audio)
                    for index, ((_, piece), layout) in enumerate(zip(pieces, layouts, strict=True))
                ]
                # 4. Join (a faststart index is cheap after a re-encode).
                joined = join_pieces(joinable, out, faststart=True)
        except TimelineError as exc:
            raise ExportError(f"{cut.camera}: {exc}") from exc
        # When each piece kept was recorded: its segment's start, plus where in the segment it began.
        hit_of = {piece.label: hit for hit, piece in pieces}
        cut_at = {piece.label: piece.start_s if reencode else 0.0 for _, piece in pieces}

        def recorded(span: PieceSpan, seconds: float = 0.0) -> dt.datetime:
            offset = cut_at[span.label] + span.file_start_s + seconds
            return hit_of[span.label].start + dt.timedelta(seconds=offset)

        cut.covered_start = recorded(joined.spans[0])
        cut.covered_end = recorded(joined.spans[-1], joined.spans[-1].seconds)
        cut.timeline = [
            {"at_s": round(span.out_start_s, 3), "seconds": round(span.seconds, 3),
             "recorded_at": recorded(span).isoformat(), "segment_id": hit_of[span.label].segment_id}
            for span in joined.spans
        ]
        # 5. Store.
        probe = inspect_video(out)
        sha = sha256_file(out)
        key = f"{EXPORTS_PREFIX}/{export_id}/{safe_name(cut.camera, fallback='camera')}.mp4"
        size = out.stat().st_size
        self.storage.put_file(key, out, sha256=sha, content_type="video/mp4", move=True)
        cut.output = {"key": key, "sha256": sha, "size_bytes": size, "duration_s": probe.duration_s,
                      "video_codec": probe.video_codec, "width": probe.width, "height": probe.height}
        shutil.rmtree(folder, ignore_errors=True)

    def _store_manifest(self, export_id: str, request: ExportRequest, cuts: list[CameraCut]) -> tuple[dict, str, str]:
        gaps = [
            {"camera": cut.camera, "start": g.start.isoformat(), "end": g.end.isoformat(), "seconds": round(g.seconds, 3)}
            for cut in cuts
            for g in cut.gaps
        ]
        missing = [cam for cam in request.cameras if cam not in {c.camera for c in cuts}]
        gaps += [{"camera": cam, "start": request.start.isoformat(), "end": request.end.isoformat(),
                  "seconds": (request.end - request.start).total_seconds()} for cam in missing]
        manifest = {
            "export_id": export_id,
            "reason": request.reason,
            "mode": request.mode,
            "requested": {"cameras": request.cameras, "start": request.start.isoformat(), "end": request.end.isoformat()},
            "created_at": utcnow().isoformat(),
            "outputs": [
                {
                    "camera": cut.camera,
                    **{k: cut.output[k] for k in ("key", "sha256", "size_bytes", "duration_s", "video_codec", "width", "height")},
                    "covered": {"start": cut.covered_start.isoformat(), "end": cut.covered_end.isoformat()},
                    "reencoded": cut.reencoded,
                    "timeline": cut.timeline,
                    "source_segments": [
                        {"video_id": h.video_id, "sha256": h.sha256, "start": h.start.isoformat(), "end": h.end.isoformat()}
                        for h in cut.hits
                    ],
                }
                for cut in cuts
            ],
            "gaps": gaps,
        }
        data = json.dumps(manifest, indent=2).encode("utf-8")
        sha = hashlib.sha256(data).hexdigest()
        key = f"{EXPORTS_PREFIX}/{export_id}/manifest.json"
        self.storage.put_bytes(key, data, sha256=sha, content_type="application/json")
        return manifest, key, sha


def export_to_dict(export: Export) -> dict[str, Any]:
    return {
        "id": export.id,
        "status": export.status,
        "error": export.error,
        "reason": export.reason,
        "mode": export.mode,
        "cameras": export.cameras,
        "start": export.start_at.isoformat(),
        "end": export.end_at.isoformat(),
        "requested_at": export.requested_at.isoformat(),
        "started_at": export.started_at.isoformat() if export.started_at else None,
        "finished_at": export.finished_at.isoformat() if export.finished_at else None,
        "expires_at": export.expires_at.isoformat() if export.expires_at else None,
        "manifest_uri": f"{export.backend.rstrip('/')}/{export.manifest_key}" if export.manifest_key else None,
        "gaps": export.gaps or [],
        "outputs": [
            {
                "camera": o.camera_id,
                "uri": f"{export.backend.rstrip('/')}/{o.key}",
                "sha256": o.sha256,
                "size_bytes": o.size_bytes,
                "duration_s": o.duration_s,
                "covered_start": o.covered_start.isoformat(),
                "covered_end": o.covered_end.isoformat(),
            }
            for o in export.outputs
        ],
        "run_id": export.run_id,
    }


def load_export(catalog: Catalog, export_id: str) -> Export | None:
    from sqlalchemy.orm import selectinload

    with catalog.read() as s:
        return s.scalars(select(Export).options(selectinload(Export.outputs)).where(Export.id == export_id)).first()
