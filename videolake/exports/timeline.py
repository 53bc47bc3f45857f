"""Join parts of recording segments into one continuous MP4 timeline.

A camera's segments come in two kinds: files that each start their own clock (MPEG-TS from an
encoder started per file begins at 1.4 s) and files cut from one recording whose timestamps run on
across files (NVRs, ``ffmpeg -f segment``). A segment may be missing, or overlap the one before.
``join_pieces`` places every packet itself, so the output timeline is continuous whatever the
inputs' clocks: no jump between consecutive video packets beyond a frame, gaps closed (the
manifest lists them), audio in sync.

Invariants:
- A piece's offsets (``start_s``, ``end_s``) count from its file's first video frame; the file's
  own timestamps are read, never assumed to start at 0.
- Output time advances by exactly the span of video kept from each piece.
- An audio packet keeps its place relative to its piece's video. One that would overlap audio
  already written by more than half a frame is dropped, one past its piece's last video frame too,
  so audio is never off by more than half an audio frame at any join, however many joins.
- Stream copy cuts on keyframes (``KeyframeSnap``): the first piece begins at the last keyframe at
  or before its start (wider than asked, never narrower); a later piece at its first keyframe at
  or after its start (nothing shown twice). A piece ends before the first packet, in decode order,
  shown at or after its end, so every frame kept decodes.

Steps of ``join_pieces`` (each piece is opened once):
1. read the piece's stream layout; it must be copy-compatible with the first's (else
   ``LayoutMismatch``: ``normalize_piece`` re-encodes pieces into one layout);
2. per piece: seek near its start, buffer packets until its first keyframe is decided, then copy
   its video and audio packets, shifted onto the output timeline, up to its end;
3. advance the output position by the video span kept and go on with the next piece.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from videolake.constants import KeyframeSnap
from videolake.media.ffmpeg_tools import ffmpeg_executable

# All times are integer ticks of the MPEG-TS clock (90 kHz): exact for TS input, sub-microsecond
# for any other, and cheap per packet (an hour of audio and video is ~260,000 packets).
TICKS = 90_000
TICK_BASE = Fraction(1, TICKS)
_INSTANT = TICKS // 1000  # timestamps closer than a millisecond are the same moment
_AUDIO_HOLD = TICKS  # audio waits this long behind the video, so a piece's tail can be cut at its last frame
_SEEK_MARGIN = TICKS  # seek this far before a piece's start, then read forward to its keyframe
_NO_END = 10**15
# What an MP4 carries by stream copy; anything else is re-encoded.
MP4_VIDEO_CODECS = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"})
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"})


class TimelineError(Exception):
    """A piece cannot be read, joined or re-encoded; the message names the file."""


@dataclass(frozen=True)
class Piece:
    """A part of one file: from ``start_s`` to ``end_s`` after its first video frame (``None``: to its end)."""

    path: Path
    start_s: float
    end_s: float | None
    label: str = ""


@dataclass(frozen=True)
class StreamLayout:
    """What two files must share for their packets to go into one output stream."""

    container: str
    video_codec: str
    width: int
    height: int
    fps: Fraction
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None
    video_offset_s: float  # the first video frame's time after the container's start (ffmpeg -ss counts from there)

    def copy_key(self) -> tuple:
        # The frame rate may differ (an MP4 carries variable rates); the bitstream and audio may not.
        return (self.container, self.video_codec, self.width, self.height, self.audio_codec, self.sample_rate,
                self.channels)

    def copies_into_mp4(self) -> bool:
        return self.video_codec in MP4_VIDEO_CODECS and (self.audio_codec is None or self.audio_codec in MP4_AUDIO_CODECS)

    def describe(self) -> str:
        audio = f"{self.audio_codec} {self.sample_rate} Hz {self.channels} ch" if self.audio_codec else "no audio"
        return f"{self.video_codec} {self.width}x{self.height}, {audio}"


@dataclass(frozen=True)
class PieceSpan:
    """Where a piece landed: at ``out_start_s`` in the output, from ``file_start_s`` after its first frame."""

    label: str
    out_start_s: float
    file_start_s: float
    seconds: float


@dataclass
class Joined:
    duration_s: float
    spans: list[PieceSpan] = field(default_factory=list)
    audio_packets_dropped: int = 0


@dataclass(slots=True)
class _Timed:
    """A packet with its times in ticks of its file's clock (slots: one is made per packet)."""

    packet: av.Packet
    pts: int
    dts: int | None
    duration: int
    is_video: bool


def layout_of(path: Path) -> StreamLayout:
    try:
        with av.open(str(path)) as container:
            return _layout(container, path)
    except av.FFmpegError as exc:
        raise TimelineError(f"{path.name} cannot be read: {exc}") from exc


def _layout(container: av.container.InputContainer, path: Path) -> StreamLayout:
    if not container.streams.video:
        raise TimelineError(f"{path.name} has no video stream")
    video = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    origin = Fraction(_video_origin(container), TICKS)
    container_start = Fraction(container.start_time or 0, av.time_base)
    return StreamLayout(
        container=container.format.name,
        video_codec=video.codec_context.name,
        width=video.codec_context.width,
        height=video.codec_context.height,
        fps=Fraction(video.average_rate or video.guessed_rate or 25),
        audio_codec=audio.codec_context.name if audio is not None else None,
        sample_rate=audio.codec_context.sample_rate if audio is not None else None,
        channels=audio.codec_context.channels if audio is not None else None,
        video_offset_s=float(max(Fraction(0), origin - container_start)),
    )


class LayoutMismatch(TimelineError):
    """The pieces cannot be joined by stream copy (they differ, or an MP4 cannot carry them): re-encode."""


def _video_origin(container: av.container.InputContainer) -> int:
    """Ticks of the file's first video frame: 1.4 s in a fresh MPEG-TS, more when a recording runs on."""
    video = container.streams.video[0]
    if video.start_time is not None:
        return _ticks(video.start_time, video.time_base)
    for packet in container.demux(video):
        if packet.pts is not None:
            container.seek(0)
            return _ticks(packet.pts, packet.time_base)
    raise TimelineError("it has no video packet")


def _ticks(value: int, time_base: Fraction) -> int:
    return (value * time_base.numerator * TICKS + time_base.denominator // 2) // time_base.denominator


def _timed(container: av.container.InputContainer, streams: list, frame: int, audio_frame: int) -> Iterator[_Timed]:
    """The streams' packets in file order, times in ticks (an hour is ~260,000 packets: kept lean)."""
    # Per stream index: (ticks numerator, time base denominator, half of it for rounding, is video, default duration).
    scale = {}
    for stream in streams:
        tb = stream.time_base
        video = stream.type == "video"
        scale[stream.index] = (tb.numerator * TICKS, tb.denominator, tb.denominator // 2, video,
                               frame if video else audio_frame)
    for packet in container.demux(*streams):
        pts = packet.pts
        if pts is None:
            continue  # the demuxer's flush packets
        num, den, half, is_video, default = scale[packet.stream_index]
        duration = packet.duration
        dts = packet.dts
        yield _Timed(packet, (pts * num + half) // den, (dts * num + half) // den if dts is not None else None,
                     (duration * num + half) // den if duration else default, is_video)


class _LandedLate(Exception):
    """A seek landed after the piece's start (MPEG-TS seeks by timestamp, not to keyframes)."""


def _from_keyframe(items: Iterator[_Timed], start: int, snap: KeyframeSnap, frame: int, seeked: bool) -> list[_Timed]:
    """The packets from the keyframe ``snap`` picks for ``start`` to the moment the pick is certain.

    That keyframe comes first, then video after it in decode order and all audio read meanwhile
    (the cut decides about audio before the keyframe); ``items`` goes on from there. At most a
    GOP is buffered after a seek. Raises ``_LandedLate`` when a seek began reading past ``start``
    or past the keyframe before it, so the caller seeks further back.
    """
    buffered: list[_Timed] = []
    chosen: int | None = None  # index of the keyframe in ``buffered``
    first_video: int | None = None
    for item in items:
        buffered.append(item)
        if not item.is_video:
            continue
        if first_video is None:
            first_video = item.pts
            if seeked and item.pts > start + _INSTANT:
                raise _LandedLate
        if item.packet.is_keyframe:
            if snap is KeyframeSnap.BEFORE and (item.pts <= start + _INSTANT or chosen is None):
                chosen = len(buffered) - 1
            elif snap is KeyframeSnap.AFTER and chosen is None and item.pts >= start - frame // 2:
                chosen = len(buffered) - 1
        if chosen is not None and (snap is KeyframeSnap.AFTER or item.pts > start + _INSTANT):
            break
    if chosen is None:
        return []
    if seeked and snap is KeyframeSnap.BEFORE and buffered[chosen].pts > start + _INSTANT:
        raise _LandedLate  # landed between the keyframe before the start and the start
    return [buffered[chosen]] + [item for index, item in enumerate(buffered)
                                 if index != chosen and not (item.is_video and index < chosen)]


class _PieceCut:
    """Cuts a piece's packets at its end. ``keyframe`` and ``video_end`` are where its kept video
    begins and ends, in ticks of its file's clock."""

    def __init__(self, end: int, with_audio: bool, audio_lead: int) -> None:
        self.end = end
        self.with_audio = with_audio
        self.audio_lead = audio_lead  # audio kept this far before the first frame (the output's overlap rule decides)
        self.keyframe: int | None = None
        self.video_end: int | None = None
        self.layout: StreamLayout | None = None  # the piece's streams, and its first frame's time
        self.origin = 0

    def packets(self, items: Iterable[_Timed]) -> Iterator[_Timed]:
        held: collections.deque[_Timed] = collections.deque()  # audio waits until the video is past it
        video_stopped = False
        for item in items:
            if item.is_video:
                if video_stopped:
                    if item.pts > self.end + _AUDIO_HOLD:
                        break  # audio muxed that far behind the video is not coming
                    continue
                if self.keyframe is None:
                    self.keyframe = item.pts
                if item.pts >= self.end - _INSTANT:
                    video_stopped = True  # the first packet shown at or after the end: stop before it
                    if not self.with_audio:
                        break
                    continue
                self.video_end = max(self.video_end or item.pts, item.pts + item.duration)
                yield item
                while held and held[0].pts + _AUDIO_HOLD < item.pts:
                    yield held.popleft()
            elif self.keyframe is not None:
                if item.pts + item.duration // 2 < self.keyframe - self.audio_lead:
                    continue  # before the first frame kept (audio is muxed behind the video)
                if item.pts >= min(self.end, self.video_end or self.end) and video_stopped:
                    break
                held.append(item)
        limit = self.video_end if self.video_end is not None else self.end
        for item in held:
            if item.pts + item.duration // 2 <= limit:
                yield item


class _Output:
    """The output file: streams made from the first piece's, packets placed in order, timestamps kept monotonic."""

    def __init__(self, path: Path, faststart: bool, container_format: str) -> None:
        options = {"movflags": "+faststart"} if faststart else {}
        self.format = container_format
        self.container = av.open(str(path), "w", format=container_format, options=options)
        self.video: av.VideoStream | None = None
        self.audio: av.AudioStream | None = None
        self.last_video_dts: int | None = None
        self.last_audio_pts: int | None = None
        self.audio_end: int | None = None  # where the audio written so far ends (output ticks)
        self.audio_dropped = 0

    def carries(self, layout: StreamLayout) -> bool:
        """Whether this container takes those streams by stream copy (Matroska takes anything)."""
        return self.format != "mp4" or layout.copies_into_mp4()

    def add_streams(self, source: av.container.InputContainer, with_audio: bool) -> None:
        self.video = self.container.add_stream_from_template(source.streams.video[0])
        if with_audio and source.streams.audio:
            self.audio = self.container.add_stream_from_template(source.streams.audio[0])

    def write(self, item: _Timed, shift: int) -> None:
        packet = item.packet
        if item.is_video:
            pts = item.pts + shift
            dts = item.dts + shift if item.dts is not None else pts
            if self.last_video_dts is not None and dts <= self.last_video_dts:
                dts = self.last_video_dts + 1
            packet.time_base, packet.dts, packet.pts = TICK_BASE, dts, max(pts, dts)
            self.last_video_dts = dts
            packet.stream = self.video
        else:
            pts = item.pts + shift
            if self.audio_end is not None and pts < self.audio_end - item.duration // 2:
                self.audio_dropped += 1  # it would overlap what is already written
                return
            if self.last_audio_pts is not None and pts <= self.last_audio_pts:
                self.audio_dropped += 1
                return
            packet.time_base, packet.pts, packet.dts = TICK_BASE, pts, pts
            self.last_audio_pts = pts
            self.audio_end = pts + item.duration
            packet.stream = self.audio
        self.container.mux(packet)

    def close(self) -> None:
        self.container.close()


def join_pieces(pieces: Sequence[Piece], out: Path, *, faststart: bool = False,
                container_format: str = "mp4") -> Joined:
    """Write ``pieces`` one after another into ``out`` by stream copy, on one continuous timeline.

    Each piece is opened once. Raises ``LayoutMismatch`` at the first piece whose streams differ
    from the first's (or when the first's cannot go into ``container_format``): re-encode then.
    """
    if not pieces:
        raise TimelineError("nothing to join")
    joined = Joined(duration_s=0.0)
    position = 0
    first: StreamLayout | None = None
    output = _Output(out, faststart, container_format)
    # The next piece is opened (and its streams probed, ~3 ms a file) while this one is copied.
    opener = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="videolake-open")
    upcoming = opener.submit(_open, pieces[0].path)
    try:
        for index, piece in enumerate(pieces):
            opened, upcoming = upcoming, (opener.submit(_open, pieces[index + 1].path) if index + 1 < len(pieces)
                                          else None)
            # 1. One layout for all, read as each piece is opened.
            # 2. From the keyframe to the end of the piece, shifted onto the output.
            cut = _cut_piece(piece, KeyframeSnap.BEFORE if index == 0 else KeyframeSnap.AFTER, output, position,
                             first, opened)
            if first is None:
                first = cut.layout
            if cut.keyframe is None or cut.video_end is None:
                continue  # no keyframe inside it: nothing of it can be shown by stream copy
            # 3. Advance by the video kept.
            seconds = cut.video_end - cut.keyframe
            joined.spans.append(PieceSpan(piece.label, position / TICKS, (cut.keyframe - cut.origin) / TICKS,
                                          seconds / TICKS))
            position += seconds
    except av.FFmpegError as exc:
        raise TimelineError(f"{out.name}: {exc}") from exc
    finally:
        if upcoming is not None:
            upcoming.cancel()
            try:
                upcoming.result().close()
            except (concurrent.futures.CancelledError, av.FFmpegError, OSError):
                pass
        opener.shutdown(wait=True)
        output.close()
    if not joined.spans:
        raise TimelineError("no keyframe in the footage asked for: nothing can be cut by stream copy")
    joined.duration_s = position / TICKS
    joined.audio_packets_dropped = output.audio_dropped
    return joined


def _open(path: Path) -> av.container.InputContainer:
    return av.open(str(path))


def _cut_piece(piece: Piece, snap: KeyframeSnap, output: _Output, position: int,
               first: StreamLayout | None, opened: concurrent.futures.Future | None = None) -> _PieceCut:
    """Copy one piece onto the output at ``position``; the cut says where its kept video began and ended.

    ``opened`` is the piece's container being opened ahead; a retried seek opens it again."""
    margin = _SEEK_MARGIN
    name = piece.label or piece.path.name
    while True:
        try:
            container = opened.result() if opened is not None else _open(piece.path)
            opened = None
            with container:
                layout = _layout(container, piece.path)
                if first is None:
                    if not output.carries(layout):
                        raise LayoutMismatch(f"{layout.describe()} cannot be stream-copied into {output.format}")
                    if output.video is None:  # once, not again when a seek is retried
                        output.add_streams(container, layout.audio_codec is not None)
                elif layout.copy_key() != first.copy_key():
                    raise LayoutMismatch(f"segments differ: {name} is {layout.describe()}, the first is "
                                         f"{first.describe()}")
                with_audio = output.audio is not None
                video = container.streams.video[0]
                audio = container.streams.audio[0] if with_audio and container.streams.audio else None
                origin = _video_origin(container)
                start = origin + round(piece.start_s * TICKS)
                end = origin + round(piece.end_s * TICKS) if piece.end_s is not None else _NO_END
                seeked = start - origin > margin
                if seeked:
                    container.seek(int((start - margin) * TICK_BASE / video.time_base), stream=video, backward=True)
                frame = round(TICKS / layout.fps)
                streams = [video] + ([audio] if audio is not None else [])
                items = _timed(container, streams, frame, 1024 * TICKS // (layout.sample_rate or 48000))
                try:
                    head = _from_keyframe(items, start, snap, frame, seeked)
                except _LandedLate:
                    margin *= 4  # seek further back; past the start of the file, read it from the beginning
                    continue
                cut = _PieceCut(end, audio is not None, 0 if position == 0 else _AUDIO_HOLD)
                cut.layout, cut.origin = layout, origin
                shift: int | None = None
                for item in cut.packets(itertools.chain(head, items)):
                    if shift is None:
                        shift = position - cut.keyframe  # the keyframe lands at the current output position
                    output.write(item, shift)
        except av.FFmpegError as exc:
            raise TimelineError(f"{name}: {exc}") from exc
        return cut


def normalize_piece(piece: Piece, layout: StreamLayout, target: StreamLayout, folder: Path, *, audio: bool) -> Piece:
    """Re-encode ``piece`` cut at its exact times into ``target``'s size and rate: an MPEG-TS in ``folder``.

    The piece is first copied from its keyframe (found as ``join_pieces`` finds it: seeking in an
    MPEG-TS lands anywhere in a GOP) into a Matroska file, then decoded from there and cut where
    asked. Every normalized piece starts on a keyframe and has audio when ``audio`` is set
    (silence when its source has none), so normalized pieces join by stream copy. ``folder`` is
    the piece's own.
    """
    folder.mkdir(parents=True, exist_ok=True)
    copied, dest = folder / "from-keyframe.mkv", folder / "exact.ts"
    span = join_pieces([piece], copied, container_format="matroska").spans[0]
    lead = max(0.0, piece.start_s - span.file_start_s)  # from the keyframe to the moment asked for
    width, height = target.width, target.height
    rate = target.fps or Fraction(25)
    cmd = [ffmpeg_executable(), "-nostdin", "-v", "error", "-y", "-i", str(copied)]
    if audio and layout.audio_codec is None:
        cmd += ["-f", "lavfi", "-i", f"anullsrc=r={target.sample_rate or 48000}:cl=stereo"]
    cmd += ["-ss", f"{lead:.6f}"]
    if piece.end_s is not None:
        cmd += ["-t", f"{piece.end_s - piece.start_s:.6f}"]
    cmd += ["-map", "0:v:0",
            "-vf", f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
                   f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={rate.numerator}/{rate.denominator},"
                   "format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]
    if audio:
        # Audio follows its timestamps (silence fills a hole) and lasts as long as the video.
        cmd += ["-map", "1:a:0" if layout.audio_codec is None else "0:a:0",
                "-af", "aresample=async=1:first_pts=0,apad", "-shortest",
                "-c:a", "aac", "-ar", str(target.sample_rate or 48000), "-ac", str(target.channels or 2)]
    cmd += ["-f", "mpegts", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    copied.unlink(missing_ok=True)
    if proc.returncode != 0 or not dest.exists():
        raise TimelineError(f"ffmpeg could not re-encode {piece.label or piece.path.name}: {proc.stderr.strip()[-500:]}")
    return Piece(dest, 0.0, None, piece.label)
