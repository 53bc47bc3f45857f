"""Nothing landed is lost: a disk that fills up mid-run, an object cut short under its sha256
name, a landed file that changes the moment its content is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from resources import LandingZoneResource
from tests.conftest import cli
from videolake.catalog.models import Replica, Video
from videolake.catalog.repository import Catalog
from videolake.ingest.engine import IngestEngine, IngestSettings
from videolake.storage.layout import video_key
from videolake.storage.local_backend import LocalBackend

TODAY = dt.date(2026, 11, 30)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_objects_all_intact(root: Path) -> list[Path]:
    """Every object under videos/ hashes to its own name; returns them."""
    objects = [p for p in (root / "videos").rglob("*") if p.is_file()] if (root / "videos").exists() else []
    for obj in objects:
        assert digest(obj) == obj.name, f"{obj} is stored under its sha256 name with other bytes"
    return objects


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs that the test can fill and then grow (mount needs root, as this suite runs)."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mountpoint)], check=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def resize(mountpoint: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mountpoint)], check=True)


def test_a_disk_filling_up_mid_run_loses_nothing_and_the_rerun_finishes(tmp_path, cli_env, clips, small_disk):
    landing = Path(cli_env["VIDEOLAKE_HOME"]) / "landing"
    landing.mkdir(parents=True)
    originals: dict[str, str] = {}
    for i in range(8):
        clip = clips.variant(tmp_path / f"v{i}.mp4", seed=40 + i)
        dest = landing / "uploads" / f"clip {i}.mp4"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(clip.read_bytes())
        originals[dest.name] = digest(dest)
    total = sum((landing / "uploads" / n).stat().st_size for n in originals)
    # Room for about half of the videos (and their thumbnails): the disk fills in the middle of the run.
    resize(small_disk, str(total // 2))
    env = {**cli_env, "VIDEOLAKE_HOT_STORAGE": small_disk.as_uri(), "VIDEOLAKE_WORKERS": "2"}

    first = cli(env, "ingest", "--json")
    assert first.returncode != 0, first.stdout + first.stderr
    assert "No space left on device" in first.stdout, first.stdout
    catalog = Catalog(f"sqlite:///{Path(cli_env['VIDEOLAKE_HOME']) / 'catalog.sqlite'}")
    with catalog.read() as s:
        cataloged = {sha for (sha,) in s.execute(select(Video.sha256))}
    still_landed = {p.name for p in (landing / "uploads").iterdir()}
    for name, sha in originals.items():
        if name in still_landed:
            assert digest(landing / "uploads" / name) == sha, f"{name} was changed in the landing zone"
        else:
            assert sha in cataloged, f"{name} left the landing zone but is not in the catalog"
            obj = small_disk / video_key(sha)
            assert obj.is_file() and digest(obj) == sha, f"{name} left the landing zone without its bytes stored"
    assert still_landed, "the disk was meant to fill up before every file was stored"
    stored_objects_all_intact(small_disk)
    assert not list((small_disk / ".videolake-tmp").glob("*.part")), "cut-short work files were left on the full disk"

    resize(small_disk, "64m")  # the operator makes room, and runs it again
    second = cli(env, "ingest", "--json")
    assert second.returncode == 0, second.stdout + second.stderr
    assert not list(landing.rglob("*.mp4")), "every file is stored once the disk has room"
    objects = stored_objects_all_intact(small_disk)
    assert {o.name for o in objects} == set(originals.values())
    with catalog.read() as s:
        replicas = {sha: state for sha, state in s.execute(
            select(Video.sha256, Replica.state).join(Replica, Replica.video_id == Video.id))}
    assert replicas == {sha: "verified" for sha in originals.values()}


def _engine(tmp_path: Path, landing: Path, hot: Path, **settings) -> IngestEngine:
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    return IngestEngine(catalog, LocalBackend(hot), LocalBackend(tmp_path / "quarantine"),
                        LandingZoneResource(url=str(landing)).backend(),  # as assets and sensors open it
                        IngestSettings(stable_after_seconds=0, min_unchanged_seconds=0, **settings))


def test_an_object_cut_short_under_its_sha256_name_is_not_trusted(tmp_path, clips):
    landing, hot = tmp_path / "landing", tmp_path / "hot"
    landing.mkdir()
    dropped = landing / "clip.mp4"
    dropped.write_bytes(clips.good.read_bytes())
    sha = digest(dropped)
    short = hot / video_key(sha)
    short.parent.mkdir(parents=True)
    short.write_bytes(dropped.read_bytes()[:-4096])  # what a full disk left behind
    engine = _engine(tmp_path, landing, hot, workers=1)
    batches, _ = engine.claim_all_now()
    report = engine.ingest(engine.items_for_batch(batches[0].batch_id), TODAY)
    assert [r.outcome for r in report.results] == ["ingested"]
    assert digest(short) == sha, "the cut-short object was replaced with the right bytes"
    assert not dropped.exists()

    # Same size, other bytes (a damaged object): also replaced, never recorded as verified as is.
    dropped2 = landing / "again.mp4"
    dropped2.write_bytes(clips.other.read_bytes())
    sha2 = digest(dropped2)
    damaged = hot / video_key(sha2)
    damaged.parent.mkdir(parents=True, exist_ok=True)
    data = bytearray(dropped2.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    batches, _ = engine.claim_all_now()
    engine.ingest(engine.items_for_batch(batches[0].batch_id), TODAY)
    assert digest(damaged) == sha2


def test_a_landed_file_changed_the_moment_its_object_appears_stays_landed(tmp_path, clips):
    landing, hot = tmp_path / "landing", tmp_path / "hot"
    (landing / "cam").mkdir(parents=True)
    files = []
    for i in range(6):
        clip = clips.variant(tmp_path / f"w{i}.mp4", seed=70 + i)
        dest = landing / "cam" / f"take {i}.mp4"
        dest.write_bytes(clip.read_bytes())
        files.append((dest, digest(dest)))
    appended = b"\x00" * 1000
    overwrite_target = files[1][0]

    def writer() -> None:
        """Waits for each file's object to appear in storage, then changes the landed file at once."""
        pending = {sha: path for path, sha in files[:3]}
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for sha, path in list(pending.items()):
                if (hot / video_key(sha)).exists():
                    if path == overwrite_target:  # overwritten in place: same size, other bytes
                        with open(path, "r+b") as fh:
                            fh.seek(100)
                            fh.write(b"\xff" * 16)
                    else:
                        with open(path, "ab") as fh:  # appended to
                            fh.write(appended)
                    del pending[sha]
            time.sleep(0.0005)

    engine = _engine(tmp_path, landing, hot, workers=2)
    batches, _ = engine.claim_all_now()
    thread = threading.Thread(target=writer)
    thread.start()
    report = engine.ingest(engine.items_for_batch(batches[0].batch_id), TODAY)
    thread.join()
    by_name = {r.name: r for r in report.results}
    for path, sha in files[:3]:
        assert path.exists(), f"{path.name} was changed after it was read and must not be removed"
        assert digest(path) != sha
        assert "changed after it was read" in by_name[path.name].detail
        assert digest(hot / video_key(sha)) == sha  # what was read is stored
    for path, _sha in files[3:]:
        assert not path.exists(), "unchanged files are removed once stored"

    # The changed files are ingested again as what they are now.
    batches, _ = engine.claim_all_now()
    report = engine.ingest(engine.items_for_batch(batches[0].batch_id), TODAY)
    by_name = {r.name: r.outcome for r in report.results}
    assert set(by_name) == {path.name for path, _ in files[:3]}
    assert by_name[files[0][0].name] == by_name[files[2][0].name] == "ingested"  # appended: a new content
    assert by_name[overwrite_target.name] in ("ingested", "quarantined")  # overwritten: whatever it is now
    assert not list(landing.rglob("*.mp4")), "each is stored (or moved aside) as what it is now"
    with engine.catalog.read() as s:
        shas = set(s.scalars(select(Video.sha256)))
    assert {sha for _, sha in files} <= shas


def test_folders_in_the_landing_zone_stay_for_the_next_file(tmp_path, clips):
    """A camera or uploader writes into cam3/ again a moment later: ingest empties it, never removes it."""
    landing, hot = tmp_path / "landing", tmp_path / "hot"
    (landing / "cam3" / "2026" / "11").mkdir(parents=True)
    (landing / "cam3" / "2026" / "11" / "clip.mp4").write_bytes(clips.good.read_bytes())
    engine = _engine(tmp_path, landing, hot, workers=1)
    batches, _ = engine.claim_all_now()
    report = engine.ingest(engine.items_for_batch(batches[0].batch_id), TODAY)
    assert [r.outcome for r in report.results] == ["ingested"]
    assert (landing / "cam3" / "2026" / "11").is_dir() and not list((landing / "cam3").rglob("*.mp4"))
    assert [p for p in (hot / "videos").rglob("*") if p.is_file()]  # storage's own tree is still kept shallow
