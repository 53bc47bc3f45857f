"""`videolake export cancel`: a PENDING export is withdrawn (the sensor's run then makes nothing);
one being cut or done cannot be, and says why in one line."""

from __future__ import annotations

import json

from tests.conftest import cli


def test_cancel_a_pending_export_and_refuse_a_finished_one(cli_env, tmp_path):
    from videolake.media.samples import make_clip

    make_clip(tmp_path / "home" / "segments" / "cam3" / "20261120T100000Z.ts", duration=4, size="320x180")
    assert cli(cli_env, "ingest").returncode == 0
    queued = cli(cli_env, "export", "create", "--camera", "cam3", "--start", "2026-11-20T10:00:01Z",
                 "--end", "2026-11-20T10:00:03Z")
    export_id = queued.stdout.strip()
    cancelled = cli(cli_env, "export", "cancel", export_id, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["status"] == "CANCELLED"
    again = cli(cli_env, "export", "cancel", export_id)
    assert again.returncode == 2 and again.stderr == (
        f"videolake: export {export_id} is CANCELLED; only a PENDING export can be cancelled\n")
    status = json.loads(cli(cli_env, "export", "status", export_id, "--json").stdout)
    assert status["status"] == "CANCELLED" and status["outputs"] == []

    done = cli(cli_env, "export", "create", "--camera", "cam3", "--start", "2026-11-20T10:00:01Z",
               "--end", "2026-11-20T10:00:03Z", "--wait", "--json")
    finished = json.loads(done.stdout)["id"]
    refused = cli(cli_env, "export", "cancel", finished)
    assert refused.returncode == 2 and "is COMPLETED; only a PENDING export can be cancelled" in refused.stderr
    missing = cli(cli_env, "export", "cancel", "exp-nope")
    assert missing.returncode == 2 and missing.stderr == "videolake: no export 'exp-nope'\n"
