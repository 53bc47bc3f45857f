"""The commands that only look at the catalog (``videos``, ``status``, ``segments``) read its Core
tables and never load SQLAlchemy's ORM or map a model: that is ≈ 40 % of such a command's
imports, and what these commands are timed on (``bench/reads.py``). Run as processes, on a catalog
with videos, thumbnails, replicas and recording segments in it; what they print is checked too."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import cli
from tests.media_files import copy_clip

# Runs one command the way the console script does, then says which parts of SQLAlchemy it loaded.
PROBE = """
import json, sys
from pipelines.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in ("sqlalchemy.orm", "videolake.catalog.models", "videolake.catalog.repository")
                if m in sys.modules)
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def _run_probed(env: dict, *args: str) -> tuple[str, dict]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return done.stdout, report


def test_reading_commands_answer_without_loading_the_orm(cli_env, tmp_path, clips):
    from videolake.media.samples import make_clip

    home = tmp_path / "home"
    copy_clip(clips.good, home / "landing" / "a.mp4")
    make_clip(home / "segments" / "cam3" / "20261120T100000Z.ts", duration=3, size="320x180")
    assert cli(cli_env, "ingest").returncode == 0

    out, report = _run_probed(cli_env, "videos", "--limit", "50", "--json")
    assert report == {"code": 0, "loaded": []}
    videos = json.loads(out)
    assert sorted(v["name"] for v in videos) == ["20261120T100000Z.ts", "a.mp4"]
    assert all(v["poster_uri"] and v["sprite_uri"] and [r["state"] for r in v["replicas"]] == ["verified"]
               for v in videos)

    out, report = _run_probed(cli_env, "status", "--json")
    assert report == {"code": 0, "loaded": []}
    status = json.loads(out)
    assert (status["videos"], status["unprobed"], status["derivatives"]) == (2, 0, {"poster": 2, "sprite": 2})
    assert status["imports"] == {"by_state": {}, "at_risk": [], "missed": []}

    out, report = _run_probed(cli_env, "segments", "--camera", "cam3", "--start", "2026-11-20T10:00:00Z",
                              "--end", "2026-11-20T10:00:05Z", "--json")
    assert report == {"code": 0, "loaded": []}
    assert len(json.loads(out)["segments"]) == 1

    # A command that changes the catalog still loads the ORM: the probe tells the two apart.
    _, report = _run_probed(cli_env, "quarantine", "--json")
    assert report["code"] == 0 and "sqlalchemy.orm" in report["loaded"]
