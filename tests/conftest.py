from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from tests.media_files import make_bad_files
from tests.servers import (
    start_azurite,
    start_fake_gcs,
    start_postgres,
    start_seaweedfs,
    stop_postgres,
    stop_process_group,
    stop_seaweedfs,
)
from videolake.media.samples import make_clip


# -- servers ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("postgres")
    server, pid = start_postgres(base)
    yield server
    stop_postgres(server, pid)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    stop_seaweedfs(server)


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory):
    server = start_fake_gcs(tmp_path_factory.mktemp("fake-gcs"))
    yield server
    stop_process_group(server.pid)


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory):
    server = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    stop_process_group(server.pid)


@pytest.fixture
def gcs_env(gcs_server, monkeypatch):
    for key, value in gcs_server.env().items():
        monkeypatch.setenv(key, value)
    return gcs_server


@pytest.fixture
def azure_env(azure_server, monkeypatch):
    for key, value in azure_server.env().items():
        monkeypatch.setenv(key, value)
    return azure_server


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """The standard AWS variables pointing at the test SeaweedFS."""
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_server


@pytest.fixture
def pg_catalog_url(pg_server):
    return pg_server.url(pg_server.create_database())


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    server = request.getfixturevalue("pg_server")
    return server.url(server.create_database())


# -- media -----------------------------------------------------------------------------------------
@dataclass
class Clips:
    folder: Path
    good: Path  # 5 s 640x360 h264+aac mp4
    other: Path  # a different 3 s clip
    segment_ts: Path
    portrait: Path  # rotated 90 degrees by its display matrix
    bad: dict[str, Path]

    def variant(self, dest: Path, seed: int) -> Path:
        """A distinct small clip (different content, hence a different sha256)."""
        return make_clip(dest, duration=1, size="320x180", frequency=200 + seed * 7, pattern="testsrc2",
                         extra_output_args={"metadata": f"comment=variant {seed}"})


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Clips:
    folder = tmp_path_factory.mktemp("clips")
    good = make_clip(folder / "good.mp4", duration=5)
    other = make_clip(folder / "other.mp4", duration=3, pattern="smptebars", frequency=880)
    segment = make_clip(folder / "segment.ts", duration=3)
    portrait = make_clip(folder / "portrait.mp4", duration=2, size="320x240", audio=False,
                         extra_output_args={"metadata:s:v:0": "rotate=90"})
    from videolake.media.ffmpeg_tools import ffmpeg_executable
    import subprocess

    rotated = folder / "rotated.mp4"
    subprocess.run([ffmpeg_executable(), "-v", "error", "-y", "-display_rotation", "90", "-i", str(portrait),
                    "-c", "copy", str(rotated)], check=True)
    bad = make_bad_files(folder / "bad", good)
    return Clips(folder, good, other, segment, rotated, bad)


# -- a videolake home with resources ----------------------------------------------------------------
@dataclass
class Lake:
    home: Path
    landing: Path
    storage: Path
    quarantine: Path
    catalog_url: str
    segments: Path

    def environment(self) -> dict[str, str]:
        """This lake's configuration, as VIDEOLAKE_* variables."""
        return {
            "VIDEOLAKE_HOME": str(self.home),
            "VIDEOLAKE_CATALOG_URL": self.catalog_url,
            "VIDEOLAKE_HOT_STORAGE": self.storage.as_uri(),
            "VIDEOLAKE_QUARANTINE": self.quarantine.as_uri(),
            "VIDEOLAKE_LANDING": str(self.landing),
            "VIDEOLAKE_SEGMENTS_LANDING": str(self.segments),
            "VIDEOLAKE_ARCHIVE_STORAGE": (self.home / "archive").as_uri(),
            "VIDEOLAKE_RETENTION": str(self.home / "retention.yaml"),
            "VIDEOLAKE_METRICS_FILE": str(self.home / "metrics" / "videolake.prom"),
            "VIDEOLAKE_SETTLE_SECONDS": "0",
            "VIDEOLAKE_WORKERS": "2",
        }

    def resources(self, **overrides):
        """The Definitions' resources (the same function builds them) over this lake, with ``overrides``."""
        from pipelines.definitions import build_resources

        return {**build_resources(self.environment()), **overrides}

    def catalog(self):
        from videolake.catalog.repository import Catalog

        return Catalog(self.catalog_url)

    def drop(self, src: Path, relative: str) -> Path:
        dest = self.landing / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return dest


def make_lake(base: Path, catalog_url: str) -> Lake:
    lake = Lake(base, base / "landing", base / "storage", base / "quarantine", catalog_url, base / "segments")
    lake.landing.mkdir(parents=True)
    lake.segments.mkdir(parents=True)
    return lake


@pytest.fixture
def lake(tmp_path, catalog_url) -> Lake:
    return make_lake(tmp_path / "lake", catalog_url)


@pytest.fixture
def sqlite_lake(tmp_path) -> Lake:
    return make_lake(tmp_path / "lake", f"sqlite:///{tmp_path / 'catalog.sqlite'}")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """No test sees the developer's VIDEOLAKE_* or DAGSTER_HOME settings, nor the Dagster instance
    of a test before it: an instance entered as a context sets a definitions-state storage for the
    process (a ContextVar) that outlives it, and a later ``materialize`` then failed with
    "Attempted to resolve undefined DagsterInstance weakref" (seen with tests/test_imports run
    before tests/test_archive)."""
    from dagster._core.storage.defs_state.base import set_defs_state_storage

    for key in list(os.environ):
        if key.startswith("VIDEOLAKE_") or key == "DAGSTER_HOME":
            monkeypatch.delenv(key)
    with set_defs_state_storage(None):
        yield


def materialize_day(assets: list, day: str, *, instance: dg.DagsterInstance | None = None, **kwargs):
    """``dg.materialize`` for one landing day, its partition added first (as the sensors and the CLI do)."""
    from pipelines.partitions import add_landing_days

    instance = instance or dg.DagsterInstance.ephemeral()
    add_landing_days(instance, [day])
    return dg.materialize(assets, instance=instance, partition_key=day, **kwargs)


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    """Run the ``videolake`` console script as operators do: a subprocess with its own environment.

    A command stuck past the timeout is asked for its stack traces (SIGUSR1) before it is killed.
    """
    proc = subprocess.Popen([str(Path(sys.executable).with_name("videolake")), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(2)
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"videolake {' '.join(args)} hung for 300 s; its threads:\n{err[-20000:]}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def cli_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_") and k != "DAGSTER_HOME"}
    env.update({"VIDEOLAKE_HOME": str(tmp_path / "home"), "VIDEOLAKE_SETTLE_SECONDS": "0"})
    return env


def unique(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
