"""Property-based requests from the live OpenAPI document: the schemathesis command, run as users
run it, against a real ``videolake api`` — every operation, bounded examples, every default check
(no server error, statuses, content types and headers as documented, responses matching their
schemas, invalid input refused, valid input accepted). Its findings fail the test.

The test's client sends invalid keys on purpose, many of them, from one address: the slow-down of
failing clients (tested in test_auth.py) is set to start late here, or the run would mostly wait.
``schemathesis.toml`` beside this file says which answers to generated input are right although
no schema can say so (a generated PNG is not a video; schemathesis warns that the upload operations
mostly refuse what it generates, and that is right).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.test_api.conftest import start_api, stop_api

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def test_schemathesis_finds_nothing(tmp_path):
    api = start_api(tmp_path, {"VIDEOLAKE_API_FREE_KEY_FAILURES": "100000"})
    try:
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.test_api.schemathesis_hooks", "PYTHONPATH": str(ROOT),
               "NO_COLOR": "1"}
        run = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(HERE / "schemathesis.toml"),
             "run", f"{api.base}/openapi.json", "--header", f"Authorization: Bearer {api.keys['admin']}",
             "--max-examples", "10", "--generation-deterministic", "--no-color",
             "--request-timeout", "30"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-2000:]
        tested = int(run.stdout.split("Tested: ", 1)[1].split()[0])
        selected, total = run.stdout.split("Selected: ", 1)[1].split()[0].split("/")
        assert tested == int(selected) == int(total) >= 25, run.stdout[-3000:]  # every operation was exercised
    finally:
        stop_api(api)
