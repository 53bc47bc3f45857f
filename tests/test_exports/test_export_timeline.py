"""Exports from MPEG-TS recordings as cameras and NVRs write them, checked with ffprobe's packet timestamps.

Two kinds of segments: files that each start their own clock (an encoder started per file: every
file begins at 1.4 s), and one recording cut by a segmenter whose timestamps run on across files
(``ffmpeg -f segment``, as NVRs write them). Each kind with audio, one without, and each with a
file missing inside the range. An export through the CLI must be one continuous timeline of the
footage covered, with audio in sync, in fast and in accurate mode.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import cli
from videolake.media.ffmpeg_tools import ffmpeg_executable

FPS = 25
GOP_S = 2.0  # keyframes every 2 s: the range's start (5 s into the first file) is not on one
SEGMENT_S = 10
FRAME_S = 1 / FPS
START, END = "2026-11-20T10:00:05Z", "2026-11-20T10:00:55Z"  # 50 s over six segments from 10:00:00


def _encode(args: list[str]) -> None:
    subprocess.run([ffmpeg_executable(), "-nostdin", "-v", "error", "-y", *args], check=True)


def _sources(seconds: float, audio: bool, frequency: int = 440) -> list[str]:
    args = ["-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={FPS}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=48000"]
    args += ["-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", str(int(GOP_S * FPS)),
             "-pix_fmt", "yuv420p"]
    return args + (["-c:a", "aac"] if audio else [])


def own_clock_segments(folder: Path) -> list[Path]:
    """Six files encoded one by one: each MPEG-TS starts its own clock at 1.4 s."""
    paths = []
    for i in range(6):
        path = folder / f"own{i}.ts"
        _encode([*_sources(SEGMENT_S, audio=True, frequency=300 + 100 * i), "-f", "mpegts", str(path)])
        paths.append(path)
    return paths


def running_clock_segments(folder: Path, audio: bool) -> list[Path]:
    """One minute of recording cut into 10 s files; timestamps run on from file to file."""
    pattern = folder / f"run-{'av' if audio else 'v'}%d.ts"
    _encode([*_sources(6 * SEGMENT_S, audio=audio), "-f", "segment", "-segment_time", str(SEGMENT_S), str(pattern)])
    return [folder / f"run-{'av' if audio else 'v'}{i}.ts" for i in range(6)]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, list[Path | None]]:
    folder = tmp_path_factory.mktemp("recordings")
    own = own_clock_segments(folder)
    running = running_clock_segments(folder, audio=True)
    mute = running_clock_segments(folder, audio=False)
    holey = lambda files: [None if i == 2 else f for i, f in enumerate(files)]  # noqa: E731 - 10:00:20-30 missing
    return {"own": own, "own-holey": holey(own), "run": running, "run-holey": holey(running), "run-mute": mute}


@pytest.fixture(scope="module")
def exports(recordings, tmp_path_factory) -> dict[str, dict]:
    """The recordings copied into a home's segments zone as a camera writes them, ingested, exported
    in both modes through the CLI; {mode: the export's JSON}."""
    import os

    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_") and k != "DAGSTER_HOME"}
    env.update({"VIDEOLAKE_HOME": str(home), "VIDEOLAKE_SETTLE_SECONDS": "0"})
    for camera, files in recordings.items():
        for i, path in enumerate(files):
            if path is not None:
                dest = home / "segments" / camera / f"20261120T1000{i}0Z.ts"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
    ingested = cli(env, "ingest")
    assert ingested.returncode == 0, ingested.stderr
    done = {}
    for mode in ("fast", "accurate"):
        cameras = [arg for camera in recordings for arg in ("--camera", camera)]
        proc = cli(env, "export", "create", *cameras, "--start", START, "--end", END, "--mode", mode, "--wait", "--json")
        assert proc.returncode == 0, proc.stderr
        info = json.loads(proc.stdout)
        info["manifest"] = json.loads(Path(info["manifest_uri"].removeprefix("file://")).read_text())
        done[mode] = info
    return done


def packets(path: Path, stream: str) -> list[dict]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                          "packet=pts_time,duration_time,flags", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["packets"]


def timeline(path: Path) -> dict:
    """What ffprobe sees: video start/end, the longest step between consecutive frames, audio end and steps."""
    video = sorted(float(p["pts_time"]) for p in packets(path, "v:0"))
    steps = [b - a for a, b in zip(video, video[1:], strict=False)]
    seen = {"start": video[0], "end": video[-1] + FRAME_S, "longest_video_step": max(steps)}
    audio = packets(path, "a:0")
    if audio:
        starts = sorted(float(p["pts_time"]) for p in audio)
        seen["audio_end"] = starts[-1] + float(audio[-1]["duration_time"])
        seen["longest_audio_step"] = max(b - a for a, b in zip(starts, starts[1:], strict=False))
    return seen


def output(info: dict, camera: str) -> tuple[dict, Path]:
    [out] = [o for o in info["outputs"] if o["camera"] == camera]
    return out, Path(out["uri"].removeprefix("file://"))


CAMERAS = ["own", "own-holey", "run", "run-holey", "run-mute"]


@pytest.mark.parametrize("mode", ["fast", "accurate"])
@pytest.mark.parametrize("camera", CAMERAS)
def test_the_timeline_is_continuous_and_as_long_as_the_footage(exports, mode, camera):
    out, path = output(exports[mode], camera)
    seen = timeline(path)
    footage = 40.0 if "holey" in camera else 50.0  # the range, less the missing file
    # No jump between consecutive frames: not at a join, not across the missing file.
    assert seen["longest_video_step"] <= 3 * FRAME_S + 1e-6, seen
    if mode == "fast":
        # Cut on keyframes: it starts at the keyframe before 10:00:05 (10:00:04), never later.
        assert footage <= seen["end"] - seen["start"] <= footage + GOP_S + 2 * FRAME_S, seen
        assert out["covered_start"].startswith("2026-11-20T10:00:04")
    else:
        assert seen["end"] - seen["start"] == pytest.approx(footage, abs=2 * FRAME_S), seen
        assert out["covered_start"].startswith("2026-11-20T10:00:05")
    # Stream copy ends before the first frame, in decode order, shown at the end: B-frames after it go too.
    ends = dt.datetime.fromisoformat(out["covered_end"])
    assert dt.timedelta(seconds=-4 * FRAME_S) <= ends - dt.datetime.fromisoformat(END) <= dt.timedelta(seconds=FRAME_S)
    assert out["duration_s"] == pytest.approx(seen["end"] - seen["start"], abs=0.1)
    if camera == "run-mute":
        assert "audio_end" not in seen
    else:
        assert abs(seen["audio_end"] - seen["end"]) <= 0.040, seen  # in sync at the end
        assert seen["longest_audio_step"] <= 0.050, seen  # and no hole in the audio
    # Every frame decodes.
    decoded = subprocess.run([ffmpeg_executable(), "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                             capture_output=True, text=True)
    assert decoded.returncode == 0 and decoded.stderr.strip() == "", decoded.stderr[-2000:]


@pytest.mark.parametrize("mode", ["fast", "accurate"])
def test_the_manifest_lists_the_gap_and_where_each_piece_was_recorded(exports, mode):
    manifest = exports[mode]["manifest"]
    gaps = sorted((g["camera"], g["start"][11:19], round(g["seconds"])) for g in manifest["gaps"])
    assert gaps == [("own-holey", "10:00:20", 10), ("run-holey", "10:00:20", 10)]  # ends are probed durations
    [holey] = [o for o in manifest["outputs"] if o["camera"] == "run-holey"]
    recorded = [(piece["recorded_at"][11:19], piece["at_s"]) for piece in holey["timeline"]]
    first = "10:00:04" if mode == "fast" else "10:00:05"
    lead = 1.0 if mode == "fast" else 0.0
    assert recorded == [(first, 0.0), ("10:00:10", 5.0 + lead), ("10:00:30", 15.0 + lead), ("10:00:40", 25.0 + lead),
                        ("10:00:50", 35.0 + lead)]
    assert holey["reencoded"] is None
