"""Defaults for the environment-driven configuration.

The Dagster layer reads configuration only through ``EnvVar``; this module computes the default
values for every variable from ``VIDEOLAKE_HOME`` so that ``./scripts/run``, the CLI and the
tests all agree. Nothing here runs at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from videolake import constants as c
from videolake.segments.naming import DEFAULT_TEMPLATE


def default_environment(env: Mapping[str, str]) -> dict[str, str]:
    """Return the VIDEOLAKE_* variables with defaults filled in from ``env``."""
    home = Path(env.get(c.ENV_HOME) or c.DEFAULT_HOME).expanduser().resolve()
    values = {
        c.ENV_HOME: str(home),
        c.ENV_LANDING: str(home / "landing"),
        c.ENV_SEGMENTS_LANDING: str(home / "segments"),
        c.ENV_SEGMENT_TEMPLATE: DEFAULT_TEMPLATE,
        c.ENV_CATALOG_URL: f"sqlite:///{home / 'catalog.sqlite'}",
        c.ENV_HOT_STORAGE: (home / "storage").as_uri(),
        c.ENV_QUARANTINE: (home / "quarantine").as_uri(),
        c.ENV_ARCHIVE_STORAGE: (home / "archive").as_uri(),
        c.ENV_MIGRATION: "copy",
        c.ENV_WRITE_MODE: "LOCAL",
        c.ENV_RETENTION: str(home / "retention.yaml"),
        c.ENV_METRICS_FILE: str(home / "metrics" / "videolake.prom"),
        c.ENV_ARCHIVE_AFTER_DAYS: str(c.DEFAULT_ARCHIVE_AFTER_DAYS),
        c.ENV_STABLE_AFTER_SECONDS: str(c.DEFAULT_STABLE_AFTER_SECONDS),
        c.ENV_SETTLE_SECONDS: str(c.DEFAULT_SETTLE_SECONDS),
        c.ENV_BATCH_MAX_FILES: str(c.DEFAULT_BATCH_MAX_FILES),
        c.ENV_WORKERS: "0",  # 0: two processes per core
        c.ENV_PUBLIC_URL: "http://127.0.0.1:8080",
        c.Env.UPLOAD_SPOOL.value: str(home / "spool"),
        c.Env.MAX_UPLOAD_BYTES.value: str(c.DEFAULT_MAX_UPLOAD_BYTES),
        c.Env.UPLOAD_EXPIRES_HOURS.value: str(c.DEFAULT_UPLOAD_EXPIRES_HOURS),
        c.Env.API_FREE_KEY_FAILURES.value: str(c.DEFAULT_FREE_KEY_FAILURES),
        c.Env.API_WORKERS.value: "1",
        c.Env.IMPORT_DIR.value: str(home / "imports"),
        c.Env.IMPORT_ALLOW_PRIVATE.value: "0",
        c.Env.IMPORT_PER_HOST.value: "4",
        c.Env.IMPORT_BATCH.value: "50",
        c.Env.IMPORT_LEASE_SECONDS.value: str(c.DEFAULT_IMPORT_LEASE_SECONDS),
    }
    for key in values:
        if env.get(key):
            values[key] = env[key]
    for key in WHOLE_NUMBERS:
        try:
            int(values[key])
        except ValueError:
            from videolake.usecases.errors import ConfigurationError

            raise ConfigurationError(f"{key} must be a whole number, not {values[key]!r}") from None
    return values


# The variables read as integers (Dagster's EnvVar.int, the API's settings): a typo is named here,
# once, instead of failing deep inside a run's configuration ("Error in config for job …").
# VIDEOLAKE_API_WORKERS has its own check (a range), VIDEOLAKE_UPLOAD_EXPIRES_HOURS may be 0.5.
WHOLE_NUMBERS = (
    c.ENV_STABLE_AFTER_SECONDS, c.ENV_SETTLE_SECONDS, c.ENV_BATCH_MAX_FILES, c.ENV_WORKERS,
    c.ENV_ARCHIVE_AFTER_DAYS, c.Env.MAX_UPLOAD_BYTES.value, c.Env.API_FREE_KEY_FAILURES.value,
    c.Env.IMPORT_PER_HOST.value, c.Env.IMPORT_BATCH.value, c.Env.IMPORT_LEASE_SECONDS.value,
)


def apply_default_environment(env: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Fill unset VIDEOLAKE_* variables in ``env`` (``os.environ`` by default); return them."""
    target = os.environ if env is None else env
    values = default_environment(target)
    for key, value in values.items():
        target.setdefault(key, value)
    return values
