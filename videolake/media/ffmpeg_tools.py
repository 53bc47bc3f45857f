"""Locate an ffmpeg executable: the one shipped in the imageio-ffmpeg wheel, else one on PATH."""

from __future__ import annotations

import functools
import shutil


class FfmpegNotFound(RuntimeError):
    pass


@functools.cache
def ffmpeg_executable() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - wheel missing or has no binary for this platform
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise FfmpegNotFound(
        "no ffmpeg executable: install the Python package imageio-ffmpeg (./scripts/run does) "
        "or put ffmpeg on PATH"
    )
