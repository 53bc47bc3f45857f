"""Stitch catalog videos into one new catalog video (source_type ``stitched``, inputs recorded).

Inputs that share codecs, frame size, frame rate and audio layout are joined by stream copy on one
continuous timeline (``videolake.exports.timeline``);
otherwise everything is re-encoded to the first input's size and frame rate (letterboxed, with
silence for inputs without audio). The result goes through the normal ingest path (stored
content-addressed, probed, thumbnailed), with a sidecar that declares it stitched.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from videolake import constants as c
from videolake.catalog.models import Video, VideoInput
from videolake.catalog.repository import Catalog
from videolake.exports.sources import NoReadableCopy, local_copy
from videolake.exports.timeline import LayoutMismatch, Piece, TimelineError, join_pieces
from videolake.ingest.engine import IngestEngine
from videolake.ingest.sources import LocalFile
from videolake.media.ffmpeg_tools import ffmpeg_executable


class StitchError(Exception):
    pass


@dataclass(frozen=True)
class StitchResult:
    video_id: int
    name: str
    reencoded: str | None
    duplicate: bool


def _inputs(catalog: Catalog, ids: list[int]) -> list[Video]:
    if len(ids) < 2:
        raise StitchError("name at least two videos to stitch")
    with catalog.read() as s:
        found = {v.id: v for v in s.scalars(select(Video).where(Video.id.in_(ids)))}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise StitchError(f"no video {', '.join(missing)} in the catalog")
    unusable = [str(v.id) for v in found.values() if v.probed_at is None or v.probe_error or not v.width]
    if unusable:
        raise StitchError(f"video {', '.join(unusable)} has no usable probe (see `videolake videos`)")
    return [found[i] for i in ids]


def stitch(engine: IngestEngine, ids: list[int], name: str | None = None) -> StitchResult:
    catalog = engine.catalog
    videos = _inputs(catalog, ids)
    name = name or f"stitched-{'-'.join(str(i) for i in ids[:6])}.mp4"
    if not re.fullmatch(r"[^/\\\x00-\x1f]{1,200}", name):
        raise StitchError(f"name {name!r} must be a plain file name")
    if not name.lower().endswith(".mp4"):
        name += ".mp4"
    formats = {(v.video_codec, v.width, v.height, round(v.fps or 0, 2), v.audio_codec) for v in videos}
    reencode = None
    if len(formats) > 1:
        reencode = "inputs differ in codec, frame size, frame rate or audio"
    with tempfile.TemporaryDirectory(prefix="videolake-stitch-", dir=engine.hot.scratch_dir()) as tmp:
        folder = Path(tmp)
        try:
            paths = [local_copy(catalog, engine.hot, v.id, folder) for v in videos]
        except NoReadableCopy as exc:
            raise StitchError(str(exc)) from exc
        out = folder / name
        if reencode is None:
            try:  # one continuous timeline whatever each input's clock; the join checks the layouts
                join_pieces([Piece(path, 0.0, None, f"video {v.id}") for v, path in zip(videos, paths, strict=True)],
                            out, faststart=True)
            except LayoutMismatch:
                reencode = "inputs differ in container or stream layout"
            except TimelineError as exc:
                raise StitchError(f"the videos could not be joined: {exc}") from exc
        if reencode is not None:
            cmd = [ffmpeg_executable(), "-nostdin", "-v", "error", "-y"]
            first = videos[0]
            width, height, fps = first.width, first.height, first.fps or 25
            any_audio = any(v.audio_codec for v in videos)
            parts, labels = [], []
            for i, (video, path) in enumerate(zip(videos, paths, strict=True)):
                cmd += ["-i", str(path)]
                parts.append(
                    f"[{i}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
                    f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={fps},format=yuv420p[v{i}]"
                )
                labels.append(f"[v{i}]")
                if any_audio:
                    if video.audio_codec:
                        parts.append(f"[{i}:a:0]aresample=48000,aformat=channel_layouts=stereo[a{i}]")
                    else:
                        parts.append(f"anullsrc=r=48000:cl=stereo,atrim=duration={video.duration_s:.3f}[a{i}]")
                    labels.append(f"[a{i}]")
            parts.append(f"{''.join(labels)}concat=n={len(videos)}:v=1:a={1 if any_audio else 0}[v]" + ("[a]" if any_audio else ""))
            cmd += ["-filter_complex", ";".join(parts), "-map", "[v]"]
            if any_audio:
                cmd += ["-map", "[a]", "-c:a", "aac"]
            cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]
            cmd += ["-movflags", "+faststart", str(out)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise StitchError(f"ffmpeg could not stitch: {proc.stderr.strip()[-500:]}")
        inputs = [{"video_id": v.id, "sha256": v.sha256, "name": v.name} for v in videos]
        # The output is one more source for the same ingest; what it is comes with it, no sidecar file.
        output = LocalFile(out, source=c.SOURCE_STITCHED, declared_type=c.SourceType.STITCHED,
                           given_metadata={"stitched_from": inputs, "reencoded": reencode})
        report = engine.ingest_sources([output], dt.datetime.now(dt.timezone.utc).date(), thumbnails=True)
    [result] = report.results
    if result.outcome not in (c.OUTCOME_INGESTED, c.OUTCOME_DUPLICATE) or result.video_id is None:
        raise StitchError(f"the stitched file could not be cataloged: {result.detail}")
    duplicate = result.outcome == c.OUTCOME_DUPLICATE
    if not duplicate:
        with catalog.write() as s:
            video = s.get(Video, result.video_id)
            video.name = name
            for position, source in enumerate(videos):
                s.add(VideoInput(video_id=result.video_id, position=position, input_video_id=source.id))
    return StitchResult(result.video_id, name, reencode, duplicate)
