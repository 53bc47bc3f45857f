"""Poster JPEG and scrub sprite sheet, both taken from keyframes only (cheap to decode)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videolake import constants as c
from videolake.media.inspection import full_index


class ThumbnailError(Exception):
    pass


@dataclass
class ImageOutput:
    data: bytes
    width: int
    height: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ThumbnailSet:
    poster: ImageOutput
    sprite: ImageOutput


_reformatters: dict[str, Any] = {}


def _shared_reformatter(purpose: str) -> Any:
    """One swscale context per purpose (tiles, poster) and process: a reformatter keeps the context
    of its last call, and a new one per frame costs more than the scaling (one shared by tiles and
    posters was rebuilt at every switch: 0.46 ms a call against 0.11)."""
    if purpose not in _reformatters:
        from av.video.reformatter import VideoReformatter

        _reformatters[purpose] = VideoReformatter()
    return _reformatters[purpose]


def _fit(width: int, height: int, max_width: int) -> tuple[int, int]:
    if width <= max_width:
        w, h = width, height
    else:
        w, h = max_width, round(height * max_width / width)
    return max(2, w - w % 2), max(2, h - h % 2)


def _to_jpeg(image: Any, quality: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def decode_alone(codec_context: Any, packet: Any) -> list[Any]:
    """The frames of one keyframe packet decoded on its own: sent, drained, and the decoder reset for
    the next. Only keyframes are sent: a non-key packet handed to a decoder told to skip it still
    costs its parsing (120 of every 125 packets of a 5 s clip), and without the drain the decoder
    would hold each keyframe back, for reordering, until the next one arrived."""
    frames = list(codec_context.decode(packet))
    frames += codec_context.decode(None)
    codec_context.flush_buffers()
    return frames


def _keyframe_at(container: Any, stream: Any, target_s: float) -> Any:
    """The keyframe at or before ``target_s``, decoded alone. The decoder holds a frame back for
    reordering until more arrive; with the frames after a keyframe skipped, that meant reading and
    decoding up to the next keyframe (a whole GOP, 51 packets a tile on a 24 Mbit/s file) for each
    tile. Draining right after the keyframe's packet gives it at once (31 ms a tile → 9 ms)."""
    container.seek(int(target_s * 1_000_000), backward=True, any_frame=False)
    for packet in container.demux(stream):
        if not packet.size or not packet.is_keyframe:  # size 0: the demuxer's end marker
            continue
        frames = decode_alone(stream.codec_context, packet)
        return frames[0] if frames else None
    return None


def indexed_keyframes(container: Any, stream: Any, duration: float) -> list[int] | None:
    """The keyframes' timestamps (the index's, in ``stream.time_base``) of an MP4-family file whose
    index covers its ``duration`` (within 2 s), in file order; None for other containers, an
    unknown duration, or an index that stops short (fewer entries than frames, or a fragmented file
    indexed only in part)."""
    entries = full_index(container, stream) if duration and stream.time_base else None
    if entries is None:
        return None
    if float((entries[-1].timestamp - entries[0].timestamp) * stream.time_base) < duration - 2.0:
        return None
    keys = [e.timestamp for e in entries if e.is_keyframe and not e.is_discard]
    return keys or None


def _indexed_keyframe(container: Any, stream: Any, timestamp: int) -> Any:
    """The keyframe packet the index lists at ``timestamp``: a forward seek lands on it exactly (the
    first keyframe at or after it), with no packet before it read."""
    container.seek(timestamp, stream=stream, backward=False, any_frame=False)
    for packet in container.demux(stream):
        if packet.size and packet.is_keyframe:  # size 0: the demuxer's end marker
            return packet
    return None


def _spread(keys: list[int], count: int) -> set[int]:
    """At most ``count`` of ``keys`` spread evenly: the ones the sprite keeps of all its keyframes."""
    if len(keys) <= count:
        return set(keys)
    step = len(keys) / count
    return {keys[int(i * step)] for i in range(count)}


def make_thumbnails(path: str | Path, **params: Any) -> ThumbnailSet:
    """Open ``path`` and make its poster and sprite."""
    import av
    import av.logging

    av.logging.set_level(None)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise ThumbnailError(f"cannot open {path}: {exc}") from exc
    with container:
        return thumbnails_from_container(container, **params)


def thumbnails_from_container(
    container: Any,
    *,
    first_frame: Any = None,
    poster_max_width: int = c.POSTER_MAX_WIDTH,
    tile_width: int = c.SPRITE_TILE_WIDTH,
    max_tiles: int = c.SPRITE_MAX_TILES,
    columns: int = c.SPRITE_COLUMNS,
    quality: int = c.JPEG_QUALITY,
    long_video_seconds: float = 120.0,
    from_index: bool = True,
) -> ThumbnailSet:
    """Poster and sprite from an open container: one keyframe pass, or one seek per tile when long.

    ``first_frame`` is a frame already decoded from the start (by the probe), reused as the
    first keyframe. An MP4-family file with a full index (``from_index``) has its keyframes read by
    seeking to each one the index lists (at most ``max_tiles`` of them, and the poster's): none of the
    other packets is read (demuxing all of a 5 s clip's ≈ 360 packets took ≈ 1.2 ms of its ≈ 15).
    Other containers are demuxed from the start, the keyframe packets alone decoded.
    """
    import av
    import numpy as np
    from PIL import Image

    if not container.streams.video:
        raise ThumbnailError("no video stream")
    stream = container.streams.video[0]
    stream.codec_context.skip_frame = "NONKEY"
    duration = (container.duration or 0) / 1_000_000 or (
        float(stream.duration * stream.time_base) if stream.duration else 0.0
    )
    poster_target = min(duration * 0.1, 10.0) if duration else 0.0
    src_w, src_h = stream.codec_context.width, stream.codec_context.height
    tile_w, tile_h = _fit(src_w, src_h, tile_width)
    poster_w, poster_h = _fit(src_w, src_h, poster_max_width)

    tile_scaler, poster_scaler = _shared_reformatter("tiles"), _shared_reformatter("poster")
    tiles: list[tuple[float, Any]] = []
    best: tuple[float, Any, int, float] | None = None  # (distance to target, poster frame, rotation, time)
    time_base = stream.time_base
    seen_pts: set[int] = set()

    def consider(frame: Any, as_tile: bool = True) -> None:
        nonlocal best
        if frame.pts in seen_pts or not frame.key_frame:
            return
        seen_pts.add(frame.pts)
        t = float(frame.pts * time_base) if frame.pts is not None and time_base else 0.0
        if as_tile:
            tile = tile_scaler.reformat(frame, width=tile_w, height=tile_h, format="rgb24", interpolation="AREA")
            tiles.append((t, tile.to_ndarray()))
        distance = abs(t - poster_target)
        if best is None or distance < best[0]:
            poster_frame = poster_scaler.reformat(frame, width=poster_w, height=poster_h, format="rgb24")
            best = (distance, poster_frame, int(frame.rotation or 0), t)

    try:
        if duration > long_video_seconds:
            for i in range(max_tiles):
                frame = _keyframe_at(container, stream, duration * (i + 0.5) / max_tiles)
                if frame is not None:
                    consider(frame)
        elif (keys := indexed_keyframes(container, stream, duration) if from_index else None) is not None:
            if first_frame is not None:
                consider(first_frame)  # its packet is passed over below, not decoded again
            # Index timestamps are decode times: shifted by the first keyframe's to compare with the poster's.
            shift = keys[0] - (first_frame.pts if first_frame is not None and first_frame.pts is not None else keys[0])
            poster_key = min(keys, key=lambda k: abs(float((k - shift) * time_base) - poster_target))
            as_tiles = _spread(keys, max_tiles)  # the tiles the demuxing path would keep of all keyframes
            for timestamp in sorted({*as_tiles, poster_key}):
                packet = _indexed_keyframe(container, stream, timestamp)
                if packet is not None and packet.pts not in seen_pts:
                    for frame in decode_alone(stream.codec_context, packet):
                        consider(frame, as_tile=timestamp in as_tiles)
        else:
            if first_frame is not None:
                consider(first_frame)  # its packet is passed over below, not decoded again
            # From the start: a probe without an index (MPEG-TS, Matroska) has read to the end.
            container.seek(0)
            flagged = 0
            for packet in container.demux(stream):
                if not packet.size or not packet.is_keyframe:  # size 0: the demuxer's end marker
                    continue
                flagged += 1
                if packet.pts not in seen_pts:
                    for frame in decode_alone(stream.codec_context, packet):
                        consider(frame)
            if not flagged:
                # No other packet is flagged a keyframe (some raw or broken streams): decode them all,
                # the decoder skipping what is not a keyframe.
                container.seek(0)
                for frame in container.decode(stream):
                    consider(frame)
    except av.error.FFmpegError as exc:
        if not tiles:
            raise ThumbnailError(f"no keyframe decodes: {exc}") from exc
    if best is None:
        raise ThumbnailError("no decodable keyframe")

    rotation = best[2] % 360
    poster_image = Image.fromarray(best[1].to_ndarray(), "RGB")  # to_image() copies row by row: 3x slower
    if rotation:
        poster_image = poster_image.rotate(rotation, expand=True)
    poster = ImageOutput(
        data=_to_jpeg(poster_image, quality),
        width=poster_image.width,
        height=poster_image.height,
        meta={"time_s": round(best[3], 3)},
    )

    tiles.sort(key=lambda item: item[0])
    if len(tiles) > max_tiles:
        step = len(tiles) / max_tiles
        tiles = [tiles[int(i * step)] for i in range(max_tiles)]
    if rotation:
        # PIL rotates counter-clockwise like the display matrix; numpy's rot90 likewise.
        tiles = [(t, np.rot90(arr, k=rotation // 90)) for t, arr in tiles]
    th, tw = tiles[0][1].shape[:2]
    cols = min(columns, len(tiles))
    rows = (len(tiles) + cols - 1) // cols
    grid = np.zeros((rows * th, cols * tw, 3), dtype=np.uint8)
    for i, (_, arr) in enumerate(tiles):
        r, col = divmod(i, cols)
        grid[r * th : (r + 1) * th, col * tw : (col + 1) * tw] = arr
    sheet = Image.fromarray(grid, "RGB")
    sprite = ImageOutput(
        data=_to_jpeg(sheet, quality),
        width=sheet.width,
        height=sheet.height,
        meta={
            "tile_width": tw,
            "tile_height": th,
            "columns": cols,
            "rows": rows,
            "tiles": len(tiles),
            "times_s": [round(t, 3) for t, _ in tiles],
        },
    )
    return ThumbnailSet(poster=poster, sprite=sprite)
