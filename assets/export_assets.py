"""Exports of recorded footage: one MP4 per camera plus a manifest, stored and cataloged."""

import datetime as dt

import dagster as dg

from pipelines import names
from resources import CatalogResource, StorageResource
from videolake.exports.engine import DEFAULT_TTL_SECONDS, ExportEngine, ExportError, ExportRequest, create_export, export_to_dict
from videolake.inputs import parse_instant
from videolake.segments.index import SegmentQueryError


class ExportConfig(dg.Config):
    """An export to make: an id from `videolake export create`, or a request typed in the launchpad."""

    export_id: str | None = None
    cameras: list[str] = []
    start: str | None = None  # ISO 8601; no offset means UTC
    end: str | None = None
    mode: str = "fast"
    reason: str | None = None
    ttl_hours: float = DEFAULT_TTL_SECONDS / 3600


def _time(text: str | None, what: str) -> dt.datetime:
    if not text:
        raise dg.Failure(description=f"the export needs a {what} time")
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise dg.Failure(description=f"{what} {exc}") from exc


@dg.asset(
    name=names.ASSET_VIDEO_EXPORTS,
    deps=[dg.AssetKey(names.ASSET_INGESTED_VIDEOS)],
    group_name=names.GROUP_EXPORTS,
    kinds={"python", "mp4"},
    description="Footage of cameras over a time range, cut per camera (fast: keyframes; accurate: exact), with a manifest.",
)
def video_exports(
    context: dg.AssetExecutionContext, config: ExportConfig, catalog: CatalogResource, hot_storage: StorageResource
) -> dg.MaterializeResult:
    cat = catalog.catalog()
    export_id = config.export_id
    try:
        if export_id is None:
            request = ExportRequest(config.cameras, _time(config.start, "start"), _time(config.end, "end"), config.mode,
                                    config.reason, int(config.ttl_hours * 3600))
            export_id = create_export(cat, request)
        export = ExportEngine(cat, hot_storage.backend()).run(export_id, run_id=context.run_id)
    except (ExportError, SegmentQueryError) as exc:
        raise dg.Failure(description=f"export {export_id or '(not created)'} failed: {exc}",
                         metadata={"export_id": export_id or "", "status": "FAILED"}) from exc
    info = export_to_dict(export)
    rows = ["| camera | covered | duration | size | sha256 |", "|---|---|---:|---:|---|"] + [
        f"| {o['camera']} | {o['covered_start'][11:19]}–{o['covered_end'][11:19]} | {o['duration_s']:.1f} s | "
        f"{o['size_bytes']} | {o['sha256'][:12]} |"
        for o in info["outputs"]
    ]
    gaps = ["", "| camera | gap from | seconds |", "|---|---|---:|"] + [
        f"| {g['camera']} | {g['start']} | {g['seconds']:.1f} |" for g in info["gaps"]
    ]
    return dg.MaterializeResult(
        metadata={
            "export_id": export.id,
            "status": export.status,
            "reason": export.reason or "",
            "mode": export.mode,
            "outputs": dg.MetadataValue.md("\n".join(rows + (gaps if info["gaps"] else []))),
            "manifest_uri": info["manifest_uri"] or "",
            "expires_at": info["expires_at"] or "",
            "gaps": dg.MetadataValue.int(len(info["gaps"])),
        }
    )
