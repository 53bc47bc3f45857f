"""What the catalog records as stored, summed in SQL (no per-object rows leave the database): per
backend and kind (the storage report's ``videolake_stored_*`` figures), and per source."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from videolake import constants as c
from videolake.catalog.models import Derivative, Export, ExportOutput, Replica, Video
from videolake.catalog.repository import Catalog


@dataclass(frozen=True)
class StoredTotal:
    backend: str
    kind: str  # video, "video (pending)" …, poster, sprite, export
    objects: int
    bytes: int


def stored_totals(catalog: Catalog) -> list[StoredTotal]:
    with catalog.read() as s:
        replicas = s.execute(select(Replica.backend, Replica.state, func.count(), func.coalesce(func.sum(Replica.size_bytes), 0))
                             .group_by(Replica.backend, Replica.state)).all()
        derived = s.execute(select(Derivative.backend, Derivative.kind, func.count(),
                                   func.coalesce(func.sum(Derivative.size_bytes), 0))
                            .group_by(Derivative.backend, Derivative.kind)).all()
        exports = s.execute(select(Export.backend, func.count(), func.coalesce(func.sum(ExportOutput.size_bytes), 0))
                            .join(ExportOutput, ExportOutput.export_id == Export.id)
                            .where(Export.status != c.ExportStatus.EXPIRED).group_by(Export.backend)).all()
    out = [StoredTotal(b, "video" if st == c.REPLICA_VERIFIED else f"video ({st})", int(n), int(size))
           for b, st, n, size in replicas]
    out += [StoredTotal(b, kind, int(n), int(size)) for b, kind, n, size in derived]
    out += [StoredTotal(b or "", "export", int(n), int(size)) for b, n, size in exports]
    return sorted(out, key=lambda t: (t.backend, t.kind))


def source_totals(catalog: Catalog) -> dict[str, int]:
    """Bytes of verified video copies per source (all backends)."""
    with catalog.read() as s:
        rows = s.execute(select(Video.source, func.coalesce(func.sum(Replica.size_bytes), 0))
                         .join(Replica, Replica.video_id == Video.id)
                         .where(Replica.state == c.REPLICA_VERIFIED).group_by(Video.source)).all()
    return {src: int(size) for src, size in rows}
