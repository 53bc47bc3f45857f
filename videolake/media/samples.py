"""Generate real sample video files with ffmpeg (demo landing zone, tests, benchmarks)."""

from __future__ import annotations

import json
from pathlib import Path

import ffmpeg as ffmpeg_python  # the ffmpeg-python package

from videolake.media.ffmpeg_tools import ffmpeg_executable

PATTERNS = ("testsrc2", "smptebars", "mandelbrot", "rgbtestsrc", "yuvtestsrc")


def make_clip(
    path: str | Path,
    *,
    duration: float = 5.0,
    size: str = "640x360",
    fps: int = 25,
    pattern: str = "testsrc2",
    audio: bool = True,
    video: bool = True,
    video_codec: str = "libx264",
    audio_codec: str = "aac",
    gop: int | None = None,
    frequency: int = 440,
    extra_output_args: dict | None = None,
) -> Path:
    """Write a clip made by lavfi sources; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    streams = []
    if video:
        streams.append(ffmpeg_python.input(f"{pattern}=size={size}:rate={fps}", f="lavfi", t=duration))
    if audio:
        streams.append(
            ffmpeg_python.input(f"sine=frequency={frequency}:sample_rate=48000", f="lavfi", t=duration)
        )
    kwargs: dict = {}
    if video:
        kwargs.update({"vcodec": video_codec, "pix_fmt": "yuv420p", "g": gop or fps})
        if video_codec == "libx264":
            kwargs["preset"] = "veryfast"
    else:
        kwargs["vn"] = None
    if audio:
        kwargs["acodec"] = audio_codec
    kwargs.update(extra_output_args or {})
    (
        ffmpeg_python.output(*streams, str(path), **kwargs)
        .global_args("-nostdin", "-v", "error")
        .run(cmd=ffmpeg_executable(), overwrite_output=True, quiet=True)
    )
    return path


def write_sidecar(video_path: str | Path, metadata: dict) -> Path:
    sidecar = Path(f"{video_path}.json")
    sidecar.write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    return sidecar


def seed_demo_landing(landing: str | Path, count: int = 6) -> list[Path]:
    """Fill an empty landing folder with a few varied clips, one AI-generated with a sidecar."""
    landing = Path(landing)
    made = []
    for i in range(count):
        pattern = PATTERNS[i % len(PATTERNS)]
        clip = make_clip(
            landing / "uploads" / f"demo clip {i + 1:02d}.mp4",
            duration=4 + i % 3,
            pattern=pattern,
            frequency=330 + 110 * i,
        )
        made.append(clip)
    generated = make_clip(landing / "generated" / "sunset-timelapse.mp4", duration=6, pattern="mandelbrot")
    write_sidecar(
        generated,
        {
            "provider": "demo-provider",
            "model": "demo-video-model-1",
            "prompt": "a timelapse of a sunset over a harbour",
            "parameters": {"seed": 42, "steps": 30},
        },
    )
    made.append(generated)
    return made
