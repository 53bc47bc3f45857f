"""Real video files made with ffmpeg (good and bad), for tests and benchmarks."""

from __future__ import annotations

import shutil
from pathlib import Path

from videolake.media.samples import make_clip


def make_bad_files(folder: Path, good_clip: Path) -> dict[str, Path]:
    """One file per kind of bad input; returns {expected reason: path}."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    files["empty"] = folder / "empty.mp4"
    files["empty"].write_bytes(b"")
    files["not_video"] = folder / "notes.mp4"
    files["not_video"].write_text("this is not a video\n" * 50)
    files["text_file"] = folder / "notes.txt"  # FFmpeg's tty demuxer would draw it as a video of text
    files["text_file"].write_text("camera 3 was moved on Tuesday\n" * 50)
    files["audio_only"] = make_clip(folder / "voice memo.m4a", video=False, duration=2)
    files["absurd_dimensions"] = make_clip(folder / "strip.mp4", size="2000x16", audio=False, duration=1)
    still = folder / "photo.mp4"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(still, format="JPEG")
    files["still_image"] = still
    faststart = make_clip(folder / "_fs.mp4", extra_output_args={"movflags": "+faststart"}, duration=4)
    data = faststart.read_bytes()
    files["truncated"] = folder / "cut short.mp4"
    files["truncated"].write_bytes(data[: len(data) // 2])
    faststart.unlink()
    index_at_end = good_clip.read_bytes()
    files["truncated_index"] = folder / "no index.mp4"
    files["truncated_index"].write_bytes(index_at_end[: len(index_at_end) // 2])
    return files


def copy_clip(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest
