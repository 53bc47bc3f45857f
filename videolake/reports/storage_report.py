"""Storage report: what each backend holds (by source, camera and day), how fast it grows, and how
many days each quota has left — as pandas tables, PNG charts and Prometheus metrics.

Everything is computed from the catalog (replicas, thumbnails, export outputs), never by listing
backends, so it is cheap enough to run after every sweep.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from videolake import constants as c
from videolake.catalog.models import Derivative, Export, ExportOutput, Replica, Segment, Video
from videolake.catalog.repository import Catalog
from videolake.display import human_bytes

GROWTH_WINDOW_DAYS = 14


@dataclass
class StorageReport:
    objects: "pd.DataFrame"  # noqa: F821 - one row per stored object: backend, kind, source, camera, day, bytes
    by_backend: "pd.DataFrame"  # noqa: F821
    by_source: "pd.DataFrame"  # noqa: F821
    by_camera: "pd.DataFrame"  # noqa: F821
    by_day: "pd.DataFrame"  # noqa: F821 - backend × day, bytes added
    runway: "pd.DataFrame"  # noqa: F821 - backend: used, quota, growth per day, days left
    as_of: dt.datetime
    imports: dict[str, int] = field(default_factory=dict)  # URL imports per state, and "at_risk"


def build_report(catalog: Catalog, quotas: dict[str, int], as_of: dt.datetime | None = None) -> StorageReport:
    import pandas as pd

    as_of = as_of or dt.datetime.now(dt.timezone.utc)
    with catalog.read() as s:
        replicas = s.execute(
            select(Replica.backend, Replica.size_bytes, Replica.state, Video.source, Segment.camera_id, Replica.created_at)
            .join(Video, Video.id == Replica.video_id).outerjoin(Segment, Segment.video_id == Video.id)
        ).all()
        derived = s.execute(
            select(Derivative.backend, Derivative.size_bytes, Derivative.kind, Video.source, Segment.camera_id,
                   Video.ingested_at)
            .join(Video, Video.id == Derivative.video_id).outerjoin(Segment, Segment.video_id == Video.id)
        ).all()
        exports = s.execute(
            select(Export.backend, ExportOutput.size_bytes, Export.requested_at)
            .join(ExportOutput, ExportOutput.export_id == Export.id).where(Export.status != "EXPIRED")
        ).all()
    rows = [(b, "video" if st == c.REPLICA_VERIFIED else f"video ({st})", src, cam, when, int(size or 0))
            for b, size, st, src, cam, when in replicas]
    rows += [(b, kind, src, cam, when, int(size or 0)) for b, size, kind, src, cam, when in derived]
    rows += [(b or "", "export", "exports", None, when, int(size or 0)) for b, size, when in exports]
    objects = pd.DataFrame(rows, columns=["backend", "kind", "source", "camera", "stored_at", "bytes"])
    objects["day"] = pd.to_datetime(objects["stored_at"], utc=True).dt.date if len(objects) else []
    objects["camera"] = objects["camera"].fillna("—")

    def group(col: str) -> pd.DataFrame:
        if objects.empty:
            return pd.DataFrame(columns=[col, "objects", "bytes"])
        return (objects.groupby(col).agg(objects=("bytes", "size"), bytes=("bytes", "sum"))
                .reset_index().sort_values("bytes", ascending=False))

    by_day = (objects.groupby(["backend", "day"])["bytes"].sum().reset_index() if not objects.empty
              else pd.DataFrame(columns=["backend", "day", "bytes"]))
    runway = _runway(objects, quotas, as_of)
    from videolake.catalog import summaries

    imports = {**summaries.imports_by_state(catalog),
               "at_risk": len(summaries.imports_at_risk(catalog, as_of, c.IMPORT_AT_RISK))}
    return StorageReport(objects, group("backend"), group("source"), group("camera"), by_day, runway, as_of, imports)


def _runway(objects, quotas: dict[str, int], as_of: dt.datetime):  # type: ignore[no-untyped-def]
    import pandas as pd

    since = (as_of - dt.timedelta(days=GROWTH_WINDOW_DAYS)).date()
    rows = []
    for backend in sorted(set(objects["backend"]) | set(quotas)):
        mine = objects[objects["backend"] == backend]
        used = int(mine["bytes"].sum())
        recent = int(mine[mine["day"] >= since]["bytes"].sum()) if len(mine) else 0
        per_day = recent / GROWTH_WINDOW_DAYS
        quota = quotas.get(backend)
        if quota is None:
            left = None
        elif used >= quota:
            left = 0.0
        else:
            left = round((quota - used) / per_day, 1) if per_day > 0 else float("inf")
        rows.append({"backend": backend, "used_bytes": used, "quota_bytes": quota,
                     "growth_bytes_per_day": round(per_day), "days_left": left})
    return pd.DataFrame(rows, columns=["backend", "used_bytes", "quota_bytes", "growth_bytes_per_day", "days_left"])


def recent_days(report: StorageReport, days: int = 30):  # type: ignore[no-untyped-def]
    """Bytes stored per day and backend over the last ``days`` days, newest first."""
    frame = report.by_day
    if len(frame) == 0:
        return frame
    since = (report.as_of - dt.timedelta(days=days)).date()
    return frame[frame["day"] >= since].sort_values(["day", "backend"], ascending=[False, True])


def markdown_table(frame, byte_columns=("bytes", "used_bytes", "quota_bytes", "growth_bytes_per_day")) -> str:  # type: ignore[no-untyped-def]
    if frame is None or len(frame) == 0:
        return "_nothing stored_"
    shown = frame.copy()
    for col in byte_columns:
        if col in shown:
            shown[col] = shown[col].map(lambda v: human_bytes(v) if v == v and v is not None else "—")
    header = "| " + " | ".join(shown.columns) + " |"
    sep = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([header, sep, *body])


def _unit(max_bytes: float) -> tuple[float, str]:
    """The unit a chart's axis reads best in: the largest whose values stay at or above 1."""
    for scale, unit in ((1024**4, "TB"), (1024**3, "GB"), (1024**2, "MB"), (1024, "KB")):
        if max_bytes >= scale:
            return scale, unit
    return 1, "bytes"


def _short_backend(url: str, width: int = 42) -> str:
    return url if len(url) <= width else "…" + url[-(width - 1):]


def charts_png(report: StorageReport, days: int = 30) -> dict[str, bytes]:
    """Bytes added per day per backend (stacked), and used vs quota per backend.

    Legends sit beside the plot, never over the bars; axis units follow the data (MB for a small
    install, TB for a big one); a backend with no quota says so instead of drawing an empty bar.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    fig, ax = plt.subplots(figsize=(9, 3.4), dpi=100)
    recent = report.by_day[report.by_day["day"] >= (report.as_of - dt.timedelta(days=days)).date()] \
        if len(report.by_day) else report.by_day
    if len(recent):
        pivot = recent.pivot_table(index="day", columns="backend", values="bytes", aggfunc="sum", fill_value=0)
        scale, unit = _unit(float(pivot.sum(axis=1).max()))
        pivot = (pivot / scale).rename(columns=_short_backend)
        pivot.index = [d.isoformat() for d in pivot.index]
        pivot.plot(kind="bar", stacked=True, ax=ax, width=0.85)
        ax.set_ylabel(f"{unit} added")
        ax.set_xlabel("")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="backend",
                  title_fontsize=7)
        ax.tick_params(axis="x", labelsize=7, rotation=60)
    else:
        ax.text(0.5, 0.5, "nothing stored yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title(f"Bytes stored per day, last {days} days", fontsize=10)
    out["growth"] = _png(fig)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.5 * max(1, len(report.runway))), dpi=100)
    if len(report.runway):
        runway = report.runway
        names = [_short_backend(b) for b in runway["backend"]]
        quotas = runway["quota_bytes"]
        scale, unit = _unit(float(max(runway["used_bytes"].max(), quotas.fillna(0).max())))
        used = runway["used_bytes"] / scale
        ax.barh(names, used, color="#4c72b0", label="used")
        if quotas.notna().any():
            ax.barh(names, (quotas.fillna(0) / scale - used).clip(lower=0), left=used, color="#dddddd",
                    label="quota left")
        for y, (value, quota) in enumerate(zip(used, quotas, strict=True)):
            note = "no quota" if quota != quota or quota is None else f"{value * scale / quota:.0%} of quota"
            ax.annotate(f" {value:.1f} {unit} · {note}", (value, y), va="center", fontsize=7)
        ax.set_xlabel(unit)
        ax.set_xlim(0, max(1e-9, float(max(used.max(), (quotas.fillna(0) / scale).max()))) * 1.45)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.tick_params(axis="y", labelsize=7)
        title = "Used and quota per backend" if quotas.notna().any() else "Used per backend (no quota set)"
    else:
        ax.text(0.5, 0.5, "nothing stored yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        title = "Used and quota per backend"
    ax.set_title(title, fontsize=10)
    out["quota"] = _png(fig)
    plt.close("all")
    return out


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")  # nothing cut: rotated dates, a legend beside the plot
    return buf.getvalue()


def png_markdown(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def prometheus_text(report: StorageReport) -> bytes:
    """The same figures in the Prometheus text format (for node_exporter's textfile collector)."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    stored = Gauge("videolake_stored_bytes", "Bytes the catalog records per backend and kind", ["backend", "kind"],
                   registry=registry)
    objects = Gauge("videolake_stored_objects", "Objects the catalog records per backend and kind", ["backend", "kind"],
                    registry=registry)
    source = Gauge("videolake_source_bytes", "Bytes per source (all backends)", ["source"], registry=registry)
    quota = Gauge("videolake_quota_bytes", "Quota per backend", ["backend"], registry=registry)
    growth = Gauge("videolake_growth_bytes_per_day", f"Bytes added per day over the last {GROWTH_WINDOW_DAYS} days",
                   ["backend"], registry=registry)
    days_left = Gauge("videolake_quota_days_left", "Days until the quota is full at the current growth", ["backend"],
                      registry=registry)
    imports = Gauge("videolake_imports", "URL imports per state (at_risk: not done, deadline within 10 minutes)",
                    ["state"], registry=registry)
    for state, count in sorted(report.imports.items()):
        imports.labels(state).set(count)
    if len(report.objects):
        for (backend, kind), frame in report.objects.groupby(["backend", "kind"]):
            stored.labels(backend, kind).set(int(frame["bytes"].sum()))
            objects.labels(backend, kind).set(len(frame))
    for row in report.by_source.itertuples(index=False):
        source.labels(row.source).set(int(row.bytes))
    for row in report.runway.itertuples(index=False):
        growth.labels(row.backend).set(row.growth_bytes_per_day)
        if row.quota_bytes is not None and row.quota_bytes == row.quota_bytes:
            quota.labels(row.backend).set(int(row.quota_bytes))
        if row.days_left is not None and row.days_left == row.days_left:
            days_left.labels(row.backend).set(row.days_left)
    return generate_latest(registry)
