"""Jobs run in this process, recorded in the Dagster instance ($DAGSTER_HOME) so they show in the UI.

A command learns what a run did from the catalog, by run id (the use cases' ``*_outcome`` /
``*_result`` readers); from the run itself only whether it succeeded, and the failure's message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines import names
from pipelines.cli.common import environment
from videolake.constants import Env

CLI_TRIGGER = "cli"


def dagster_instance():  # type: ignore[no-untyped-def]
    import dagster as dg

    from videolake.catalog.locks import file_lock

    env = environment()
    if not os.environ.get("DAGSTER_HOME"):
        home = Path(env[Env.HOME]) / "dagster"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(home)
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    # Two commands starting at once in a new home would both create the instance's SQLite tables
    # ("table runs already exists"): the first creates them under this lock, the second finds them.
    with file_lock(home / ".videolake-instance.lock"):
        config = home / "dagster.yaml"
        if not config.exists():
            template = Path(__file__).resolve().parents[2] / "dagster.yaml"
            tmp = home / f".dagster.yaml.{os.getpid()}.tmp"
            tmp.write_text(template.read_text() if template.exists() else "telemetry:\n  enabled: false\n")
            os.replace(tmp, config)
        instance = dg.DagsterInstance.get()
        if not (home / ".videolake-instance-ready").exists():
            instance.get_runs(limit=1)  # creates the run, event log and schedule storages' tables now
            instance.get_run_records(limit=1)
            instance.all_instigator_state()
            (home / ".videolake-instance-ready").touch()
    return instance


def run_job(job_name: str, *, op_config: dict[str, Any], tags: dict[str, str], verbose: bool,
            partition_key: str | None = None, instance: Any = None) -> Any:
    """Run a job of the Definitions here and now; its outcome is printed by the command as one line,
    Dagster's own log (a failed step's traceback) only with ``--verbose``."""
    from pipelines.definitions import defs

    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance or dagster_instance(),
        partition_key=partition_key,
        run_config={"ops": op_config, "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}},
        tags={names.TAG_TRIGGER: CLI_TRIGGER, **tags},
        raise_on_error=False,
    )


def run_failure(result: Any, step_key: str) -> str | None:
    """Why an in-process run failed, in a sentence (None when it succeeded): the ``Failure`` a step
    raised, or the first failed step's error with that step's name."""
    if result.success:
        return None
    failed = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    if not failed:
        return "the run failed"
    event = next((e for e in failed if e.step_key == step_key), failed[0])
    data = event.event_specific_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    message = data.error.message.strip() if data.error else "unknown error"
    return message if event.step_key == step_key else f"{event.step_key} failed: {message}"
