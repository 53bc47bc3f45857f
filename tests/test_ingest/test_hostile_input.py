"""Hostile input never stops the zone: each bad file is quarantined (or ignored) with its reason,
the rest is ingested, nothing outside the zone is read, and no name drives the terminal."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from pathlib import Path

from sqlalchemy import select

from tests.conftest import cli
from videolake.catalog.models import QuarantineItem, Video
from videolake.catalog.repository import Catalog
from videolake.ingest.landing import is_in_progress
from videolake.media.ffmpeg_tools import ffmpeg_executable
from videolake.quality import load_probed_videos, validate_probed_catalog

NAME_MAX = 255  # bytes in one path component (ext4, tmpfs, …)


def catalog_of(env: dict) -> Catalog:
    return Catalog(f"sqlite:///{Path(env['VIDEOLAKE_HOME']) / 'catalog.sqlite'}")


def no_terminal_controls(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text, text[-2000:]
    assert "Traceback" not in text, text[-4000:]


def distinct(data: bytes, n: int) -> bytes:
    """The same playable clip with a different sha256 (trailing bytes after the last box)."""
    return data + n.to_bytes(8, "big")


def test_the_zone_goes_on_past_every_hostile_case(tmp_path, cli_env, clips):
    landing = Path(cli_env["VIDEOLAKE_HOME"]) / "landing"
    zone = landing / "cams"
    zone.mkdir(parents=True)
    data = clips.variant(tmp_path / "v.mp4", seed=3).read_bytes()
    private = tmp_path / "private.txt"
    private.write_text(json.dumps({"secret": "the-private-file-contents"}))
    n = iter(range(1000))

    def video(name: str | bytes) -> Path:
        path = os.path.join(os.fsencode(zone), os.fsencode(name))
        with open(path, "wb") as fh:
            fh.write(distinct(data, next(n)))
        return Path(os.fsdecode(path))

    good = video("good.mp4")
    video(b"not-utf8-\xff\xfe.mp4")                           # undecodable name
    long_name = video("L" * (NAME_MAX - 4) + ".mp4")            # its sidecar name would be too long
    deep = video("deep.mp4")
    (zone / "deep.mp4.json").write_text("[" * 5000 + "]" * 5000)
    deep_object = video("deep-object.mp4")
    (zone / "deep-object.mp4.json").write_text('{"a":' * 100 + "1" + "}" * 100)
    dir_named = video("folder-sidecar.mp4")
    (zone / "folder-sidecar.mp4.json").mkdir()
    fifo_owner = video("fifo.mp4")
    os.mkfifo(zone / "fifo.mp4.json")
    escaped = video("title\x1b]0;PWNED\x07\x1b[2J\r.mp4")     # sets the title, clears the screen
    linked = video("linked.mp4")
    os.symlink(private, zone / "linked.mp4.json")
    big = video("big.mp4")
    (zone / "big.mp4.json").write_bytes(b'{"a":"' + b"x" * (50 * 1024 * 1024) + b'"}')

    result = cli(cli_env, "ingest")
    assert result.returncode == 3, result.stdout + result.stderr  # done, with files quarantined (documented)
    no_terminal_controls(result.stdout + result.stderr)
    assert "\\u001b]0;PWNED" in result.stdout
    catalog = catalog_of(cli_env)
    with catalog.read() as s:
        videos = {v.name: v for v in s.scalars(select(Video))}
        quarantined = {q.name: (q.reason, q.detail) for q in s.scalars(select(QuarantineItem))}
    for path in (good, long_name, deep, deep_object, dir_named, fifo_owner, linked, big):
        assert path.name in videos, f"{path.name} was not ingested"
    assert quarantined["not-utf8-\\xff\\xfe.mp4"][0] == "unsafe_name"
    assert quarantined[escaped.name][0] == "unsafe_name"
    assert quarantined["fifo.mp4.json"][0] == "not_regular_file"
    assert quarantined["linked.mp4.json"][0] == "not_regular_file"
    assert "nests deeper than 32 levels" in quarantined["deep.mp4.json"][1]
    assert "nests deeper than 32 levels" in quarantined["deep-object.mp4.json"][1]
    assert f"sidecar is {50 * 1024 * 1024 + 8} bytes; the limit is 1048576 bytes" in quarantined["big.mp4.json"][1]
    assert videos["linked.mp4"].sidecar is None
    listing = cli(cli_env, "videos", "--json")
    assert "the-private-file-contents" not in listing.stdout, "a symlinked sidecar was followed"
    assert private.read_text().startswith('{"secret"'), "the symlink target is untouched"
    assert (zone / "folder-sidecar.mp4.json").is_dir(), "a folder named like a sidecar is left alone"
    quarantine_listing = cli(cli_env, "quarantine")
    no_terminal_controls(quarantine_listing.stdout + quarantine_listing.stderr)
    assert "title\\u001b]0;PWNED\\u0007" in quarantine_listing.stdout
    again = cli(cli_env, "ingest", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["files"] == 0, again.stdout + again.stderr


def test_av1_is_recorded_as_the_codec_not_the_decoder(tmp_path, cli_env):
    landing = Path(cli_env["VIDEOLAKE_HOME"]) / "landing"
    landing.mkdir(parents=True)
    subprocess.run([ffmpeg_executable(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:d=1",
                    "-c:v", "libaom-av1", "-cpu-used", "8", "-pix_fmt", "yuv420p", str(landing / "av1.mp4")], check=True)
    result = cli(cli_env, "ingest")
    assert result.returncode == 0, result.stdout + result.stderr
    catalog = catalog_of(cli_env)
    with catalog.read() as s:
        assert s.scalar(select(Video.video_codec)) == "av1"
    assert validate_probed_catalog(load_probed_videos(catalog))["known_codecs"].passed


def _hostile_name(rng: random.Random, i: int) -> bytes:
    """A file name: random bytes (controls, invalid UTF-8, Unicode, spaces), up to the length limit."""
    alphabet = [bytes([b]) for b in range(1, 256) if b != ord("/")] + [
        "é".encode(), "字".encode(), "\u202e".encode(), b" ", b"\x1b[2J", b"\r", b"\n"]
    stem = b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
    tag = f"-{i}".encode()
    if rng.random() < 0.2:  # as long as the file system allows
        stem = (stem * (NAME_MAX // max(1, len(stem)) + 1))[: NAME_MAX - len(tag) - 4]
    name = stem[: NAME_MAX - len(tag) - 4] + tag + b".mp4"
    return b"x" + name if name.startswith((b".", b"~")) else name


def _expect_bad_name(name: bytes) -> bool:
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def _hostile_sidecar(rng: random.Random) -> bytes | str:
    kind = rng.choice(["json", "deep", "bytes", "huge-string", "array", "fifo", "symlink", "folder"])
    if kind == "json":
        return json.dumps({"provider": "acme", "prompt": "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(30))}).encode()
    if kind == "deep":
        depth = rng.randint(33, 20000)
        return b'{"a":' * depth + b"1" + b"}" * depth
    if kind == "bytes":
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 300)))
    if kind == "huge-string":
        return b'{"a":"' + b"y" * (1024 * 1024 + rng.randint(1, 1000)) + b'"}'
    if kind == "array":
        return b"[1,2,3]"
    return kind


def test_a_few_hundred_generated_hostile_names_and_sidecars(tmp_path, cli_env, clips):
    rng = random.Random(20261201)
    landing = Path(cli_env["VIDEOLAKE_HOME"]) / "landing"
    zone = os.fsencode(landing / "fuzz")
    os.makedirs(zone)
    outside = tmp_path / "outside.json"
    outside.write_text('{"outside": true}')
    outside_sha = hashlib.sha256(outside.read_bytes()).hexdigest()
    data = clips.variant(tmp_path / "fuzz.mp4", seed=9).read_bytes()
    expected_good: set[str] = set()
    expected_bad: set[str] = set()
    ignored: list[bytes] = []
    for i in range(300):
        name = _hostile_name(rng, i)
        path = os.path.join(zone, name)
        with open(path, "wb") as fh:
            fh.write(distinct(data, i))
        display = os.fsdecode(name).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        if is_in_progress(os.fsdecode(name)):
            ignored.append(path)
        elif _expect_bad_name(name):
            expected_bad.add(display)
        else:
            expected_good.add(display)
        if rng.random() < 0.5 and len(name) + 5 <= NAME_MAX:
            sidecar = path + b".json"
            content = _hostile_sidecar(rng)
            if content == "fifo":
                os.mkfifo(sidecar)
            elif content == "symlink":
                os.symlink(outside, sidecar)
            elif content == "folder":
                os.mkdir(sidecar)
            else:
                with open(sidecar, "wb") as fh:
                    fh.write(content)  # type: ignore[arg-type]

    result = cli({**cli_env, "VIDEOLAKE_WORKERS": "2"}, "ingest", "--json")
    assert result.returncode in (0, 3), result.stdout[-3000:] + result.stderr[-3000:]
    no_terminal_controls(result.stderr)
    summary = json.loads(result.stdout)
    catalog = catalog_of(cli_env)
    with catalog.read() as s:
        ingested = set(s.scalars(select(Video.name)))
        quarantine = {name: reason for name, reason in s.execute(select(QuarantineItem.name, QuarantineItem.reason))}
    assert expected_good <= ingested, f"not ingested: {sorted(expected_good - ingested)[:5]}"
    assert {n for n in expected_bad if quarantine.get(n) != "unsafe_name"} == set()
    assert not (ingested & expected_bad)
    assert summary["failed"] == 0
    assert all(os.path.exists(p) for p in ignored), "files still being uploaded are not touched"
    left = [os.fsdecode(e.name) for e in os.scandir(zone)]
    leftover_videos = [n for n in left if n.endswith(".mp4") and not is_in_progress(n)]
    assert leftover_videos == [], leftover_videos
    # Whatever is left is a folder named like a sidecar, or an in-progress file: nothing else.
    for entry in os.scandir(zone):
        assert entry.is_dir(follow_symlinks=False) or is_in_progress(os.fsdecode(entry.name)), entry.name
    assert hashlib.sha256(outside.read_bytes()).hexdigest() == outside_sha, "nothing outside the zone is touched"
    assert '"outside": true' not in cli(cli_env, "videos", "--json").stdout
