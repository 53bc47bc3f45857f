"""Probe a video in-process with PyAV and decide whether it is acceptable.

``inspect_video`` raises ``MediaRejected`` with a short reason code and a human sentence for
every kind of bad input (empty, not a video, audio only, truncated, corrupt, absurd
dimensions, unreadable). It never modifies the file.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from videolake import constants as c

# Reason codes recorded in the quarantine table.
REASON_EMPTY = "empty"
REASON_UNREADABLE = "unreadable"
REASON_NOT_VIDEO = "not_video"
REASON_AUDIO_ONLY = "audio_only"
REASON_STILL_IMAGE = "still_image"
REASON_TRUNCATED = "truncated"
REASON_CORRUPT = "corrupt"
REASON_ABSURD_DIMENSIONS = "absurd_dimensions"
REASON_NO_DURATION = "no_duration"
REASON_UNSAFE_NAME = "unsafe_name"
REASON_NOT_REGULAR = "not_regular_file"
REASON_BAD_URL_LIST = "bad_url_list"  # a *.urls.jsonl that cannot be queued as it is

_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "tiff_pipe", "gif_pipe", "svg_pipe"}
# Text FFmpeg renders as a picture (ANSI art): its "video" is any text file, a note or a log.
_TEXT_FORMATS = {"tty", "bin", "xbin", "adf", "idf"}


class MediaRejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class MediaLimits:
    min_dimension: int = c.MIN_DIMENSION
    max_dimension: int = c.MAX_DIMENSION
    max_aspect_ratio: float = c.MAX_ASPECT_RATIO
    truncation_tolerance: float = c.TRUNCATION_TOLERANCE


@dataclass
class ProbeResult:
    container: str
    duration_s: float
    width: int
    height: int
    aspect_ratio: str
    video_codec: str
    audio_codec: str | None
    fps: float | None
    bitrate: int | None
    rotation: int
    pix_fmt: str | None
    size_bytes: int
    video_frames: int | None
    streams: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(width: int, height: int, sar: Fraction | None) -> str:
    if not width or not height:
        return ""
    num = width * (sar.numerator if sar else 1)
    den = height * (sar.denominator if sar else 1)
    g = math.gcd(num, den) or 1
    return f"{num // g}:{den // g}"


def _quiet_av() -> Any:
    import av
    import av.logging

    av.logging.set_level(None)  # FFmpeg's own stderr chatter would drown real errors
    return av


def _container_signature(path: Path) -> str | None:
    """Name the container a file's first bytes claim, for clearer errors on damaged files."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        return "an MP4/QuickTime file"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "a Matroska/WebM file"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "an AVI file"
    return None


def inspect_video(path: str | Path, limits: MediaLimits | None = None) -> ProbeResult:
    """Probe ``path`` fully (headers, index or packets, first decoded frame) or raise MediaRejected."""
    with open_media(path) as (container, size, av):
        probe, _first = probe_container(container, Path(path), size, limits or MediaLimits(), av)
        return probe


@contextlib.contextmanager
def open_media(path: str | Path) -> Iterator[tuple[Any, int, Any]]:
    """Open ``path`` with PyAV; yields (container, size, av). Raises MediaRejected for unusable files."""
    path = Path(path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise MediaRejected(REASON_UNREADABLE, "the file vanished or is a dangling link") from None
    except OSError as exc:
        raise MediaRejected(REASON_UNREADABLE, f"cannot stat the file: {exc.strerror or exc}") from exc
    if size == 0:
        raise MediaRejected(REASON_EMPTY, "the file is empty (0 bytes)")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise MediaRejected(REASON_UNREADABLE, f"cannot read the file: {exc.strerror or exc}") from exc

    av = _quiet_av()
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError as exc:
        kind = _container_signature(path)
        if kind:
            raise MediaRejected(
                REASON_TRUNCATED,
                f"looks like {kind} but its index cannot be read; the file was probably cut short "
                f"({exc.strerror or exc})",
            ) from exc
        raise MediaRejected(
            REASON_NOT_VIDEO, f"not a media file FFmpeg can read ({exc.strerror or exc})"
        ) from exc
    except (av.error.FFmpegError, OSError) as exc:
        message = str(getattr(exc, "strerror", None) or exc)
        if "moov atom not found" in message or "End of file" in message:
            raise MediaRejected(REASON_TRUNCATED, f"the file ends early: {message}") from exc
        raise MediaRejected(REASON_CORRUPT, f"FFmpeg cannot open it: {message}") from exc
    with container:
        yield container, size, av


def full_index(container: Any, stream: Any) -> Any:
    """The index entries of ``stream`` in an MP4-family file, or None where the container has no
    index (MPEG-TS, Matroska) or it holds fewer entries than the stream's frames (fragmented or
    incomplete): then the packets themselves are read."""
    if not container.format.name.startswith("mov,mp4"):
        return None
    entries = stream.index_entries
    if not entries or (stream.frames and len(entries) < stream.frames):
        return None
    return entries


def _indexed_data_end(container: Any) -> tuple[int, int] | None:
    """(end of the last indexed packet, video packets) for MP4-family files with a full index."""
    end = 0
    video_packets = 0
    for stream in container.streams:
        entries = full_index(container, stream)
        if entries is None:
            return None
        end = max(end, max(e.pos + e.size for e in entries))
        if stream.type == "video":
            video_packets = len(entries)
    return end, video_packets


def _demux_check(container: Any, v: Any, header_duration: float | None, limits: MediaLimits, av: Any) -> tuple[int, float]:
    """Demux every video packet from the start: finds files cut short and counts the real end."""
    try:
        container.seek(0)
    except av.error.FFmpegError:
        pass
    end_time = 0.0
    video_packets = 0
    demux_error = None
    try:
        for packet in container.demux(v):
            if packet.size == 0:
                continue  # flush packet
            video_packets += 1
            if packet.pts is not None and packet.time_base is not None:
                t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                end_time = max(end_time, t)
    except av.error.FFmpegError as exc:
        demux_error = str(exc)
    start = float(v.start_time * v.time_base) if v.start_time is not None and v.time_base else 0.0
    demuxed_duration = max(0.0, end_time - start)
    if demux_error and video_packets == 0:
        raise MediaRejected(REASON_CORRUPT, f"no video packet can be read: {demux_error}")
    if header_duration and header_duration > 0:
        if demuxed_duration < header_duration * limits.truncation_tolerance:
            raise MediaRejected(
                REASON_TRUNCATED,
                f"the header promises {header_duration:.2f} s but the data ends at {demuxed_duration:.2f} s",
            )
    elif demux_error:
        raise MediaRejected(REASON_TRUNCATED, f"reading stopped with an error: {demux_error}")
    return video_packets, header_duration or demuxed_duration


FIRST_KEYFRAMES_TRIED = 3


def _first_frame(container: Any, v: Any) -> Any:
    """The first frame that decodes, from the first keyframes decoded alone (the decoder would
    otherwise hold it back for reordering and decode the frames after it first); a stream with no
    packet flagged a keyframe is decoded from the start as it comes."""
    from videolake.media.thumbnails import decode_alone

    tried = 0
    for packet in container.demux(v):
        if not packet.size or not packet.is_keyframe:  # size 0: the demuxer's end marker
            continue
        frames = decode_alone(v.codec_context, packet)
        if frames:
            return frames[0]
        tried += 1
        if tried >= FIRST_KEYFRAMES_TRIED:
            break
    container.seek(0)
    return next(container.decode(v), None)


def probe_container(container: Any, path: Path, size: int, limits: MediaLimits, av: Any) -> tuple[ProbeResult, Any]:
    """Probe an open container; returns the probe and the first decoded video frame."""
    fmt = container.format.name
    videos = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    audios = list(container.streams.audio)
    if fmt in _IMAGE_FORMATS:
        raise MediaRejected(REASON_STILL_IMAGE, f"a still image ({fmt}), not a video")
    if fmt in _TEXT_FORMATS:
        raise MediaRejected(REASON_NOT_VIDEO, f"text (FFmpeg would draw it as {fmt} art), not a video")
    if not videos:
        if audios:
            codec = audios[0].codec_context.codec.canonical_name
            raise MediaRejected(REASON_AUDIO_ONLY, f"audio only ({codec}); there is no video stream")
        raise MediaRejected(REASON_NOT_VIDEO, f"no video stream in this {fmt} file")
    v = videos[0]
    cc = v.codec_context
    width, height = int(cc.width or 0), int(cc.height or 0)
    if width <= 0 or height <= 0:
        raise MediaRejected(REASON_CORRUPT, "the video stream has no frame size")
    if min(width, height) < limits.min_dimension or max(width, height) > limits.max_dimension:
        raise MediaRejected(
            REASON_ABSURD_DIMENSIONS,
            f"{width}x{height} is outside {limits.min_dimension}..{limits.max_dimension} pixels",
        )
    aspect = max(width, height) / min(width, height)
    if aspect > limits.max_aspect_ratio:
        raise MediaRejected(
            REASON_ABSURD_DIMENSIONS,
            f"{width}x{height} has an aspect ratio of {aspect:.1f}:1 (limit {limits.max_aspect_ratio:g}:1)",
        )

    # Decode the first frame: proves the stream decodes and gives the display rotation.
    cc.thread_count = 1  # callers parallelise across files
    try:
        first = _first_frame(container, v)
    except av.error.FFmpegError as exc:
        raise MediaRejected(REASON_CORRUPT, f"the first video frame does not decode: {exc}") from exc
    if first is None:
        raise MediaRejected(REASON_TRUNCATED, "the video stream holds no decodable frame")
    rotation = int(round(getattr(first, "rotation", 0) or 0)) % 360

    header_duration = None
    if container.duration:
        header_duration = container.duration / 1_000_000
    elif v.duration and v.time_base:
        header_duration = float(v.duration * v.time_base)
    indexed = _indexed_data_end(container)
    if indexed is not None:
        # The container's sample index says where every packet lies: a file shorter than the
        # last packet's end was cut short. No need to read the packets themselves.
        data_end, packets = indexed
        if data_end > size:
            raise MediaRejected(
                REASON_TRUNCATED,
                f"the index places data up to byte {data_end} but the file ends at byte {size} "
                f"({size / data_end:.0%} of it is there)",
            )
        video_packets = packets
        duration = header_duration or 0.0
    else:
        video_packets, duration = _demux_check(container, v, header_duration, limits, av)
    if not duration or duration <= 0:
        raise MediaRejected(REASON_NO_DURATION, "the video has no measurable duration")

    fps = None
    rate = v.average_rate or v.guessed_rate or v.base_rate
    if rate:
        fps = round(float(rate), 3)
    bitrate = container.bit_rate or (int(size * 8 / duration) if duration else None)
    audio_codec = audios[0].codec_context.codec.canonical_name if audios else None
    frames = v.frames or video_packets or None
    streams = []
    for s in container.streams:
        info: dict[str, Any] = {"index": s.index, "type": s.type, "codec": s.codec_context.codec.canonical_name}
        if s.type == "video":
            info.update(width=s.codec_context.width, height=s.codec_context.height)
        elif s.type == "audio":
            info.update(sample_rate=s.codec_context.sample_rate, channels=s.codec_context.channels)
        if s.language:
            info["language"] = s.language
        streams.append(info)
    if rotation in (90, 270):
        width, height = height, width
    probe = ProbeResult(
        container=fmt,
        duration_s=round(float(duration), 3),
        width=width,
        height=height,
        aspect_ratio=_ratio(width, height, v.sample_aspect_ratio),
        video_codec=cc.codec.canonical_name,  # the codec (av1), not the decoder (libdav1d)
        audio_codec=audio_codec,
        fps=fps,
        bitrate=int(bitrate) if bitrate else None,
        rotation=rotation,
        pix_fmt=cc.format.name if cc.format else None,
        size_bytes=size,
        video_frames=frames,
        streams=streams,
        tags={str(k): str(v)[:500] for k, v in list(container.metadata.items())[:50]},
    )
    return probe, first
