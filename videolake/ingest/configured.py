"""Ingest wired from the VIDEOLAKE_* settings, without Dagster: what the Definitions' resources
build for the ingest multi-asset (``pipelines/definitions.py``), from the same values, for an
entry point that runs the lineage itself (``videolake ingest``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from videolake import constants as c
from videolake.archive.write_modes import parse_write_mode
from videolake.catalog.repository import Catalog
from videolake.constants import Env, WriteMode
from videolake.ingest.engine import IngestEngine, IngestSettings
from videolake.segments.naming import SegmentTemplate
from videolake.storage import StorageBackend, open_backend
from videolake.usecases.errors import ConfigurationError
from videolake.usecases.ingest import IngestStorages

ARCHIVE_TRANSFERS = 8  # parallel replica copies within a run (the archive resource's default)


def ingest_settings(values: Mapping[str, str]) -> IngestSettings:
    """How landed files are batched and judged, from settings filled with their defaults."""
    return IngestSettings(
        stable_after_seconds=int(values[Env.STABLE_AFTER_SECONDS]),
        min_unchanged_seconds=int(values[Env.SETTLE_SECONDS]),
        batch_max_files=int(values[Env.BATCH_MAX_FILES]),
        workers=int(values[Env.WORKERS]) or None,
    )


def configured_write_mode(values: Mapping[str, str]) -> WriteMode:
    """VIDEOLAKE_WRITE_MODE; a value that is none of the modes is a configuration error (exit 2)."""
    try:
        return parse_write_mode(values.get(Env.WRITE_MODE))
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


@dataclass
class ConfiguredIngest:
    """The catalog, the backends and the settings of ingest, each opened once."""

    values: Mapping[str, str]  # the settings, defaults filled in (``videolake.settings.default_environment``)
    catalog: Catalog
    _backends: dict[str, StorageBackend] = field(default_factory=dict)

    def backend(self, key: Env) -> StorageBackend:
        if key not in self._backends:
            backend = open_backend(self.values[key])
            # Folders people and cameras write into stay, even when ingest has emptied them.
            landing = key in (Env.LANDING, Env.SEGMENTS_LANDING)
            self._backends[key] = backend.keeping_folders() if landing else backend
        return self._backends[key]

    def storages(self) -> IngestStorages:
        mode = configured_write_mode(self.values)
        archive = open_backend(self.values[Env.ARCHIVE_STORAGE]) if mode is not WriteMode.LOCAL else None
        return IngestStorages(hot=self.backend(Env.HOT_STORAGE), archive=archive, mode=mode,
                              transfers=ARCHIVE_TRANSFERS)

    def engine_for(self, zone: str) -> Callable[[StorageBackend | None], IngestEngine]:
        """The ingestor of ``zone`` writing to a target (None: the hot tier)."""
        segments = zone == c.ZONE_SEGMENTS
        settings = ingest_settings(self.values)

        def build(target: StorageBackend | None) -> IngestEngine:
            return IngestEngine(
                catalog=self.catalog, hot=target or self.backend(Env.HOT_STORAGE),
                quarantine=self.backend(Env.QUARANTINE),
                landing=self.backend(Env.SEGMENTS_LANDING if segments else Env.LANDING), settings=settings,
                segment_template=SegmentTemplate(self.values[Env.SEGMENT_TEMPLATE]) if segments else None)

        return build
