"""The quarantiner: a file that cannot be ingested is moved aside with its reason, never deleted.

Invariants:
- The reason is recorded in the catalog before the file moves; two runs quarantining one file
  record it once (the quarantine lock).
- A landed file moves with the storage contract's ``move_to`` (copy, confirm, then delete the
  original), so every landing backend can quarantine into every quarantine backend; its sidecar
  moves beside it.
- A file named from outside a landing zone (a path on the command line) stays where it is.
- A move that fails leaves the file where it landed, and says so in the result.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import PurePosixPath

from videolake import constants as c
from videolake.catalog.locks import lock_in_transaction
from videolake.catalog.models import QuarantineItem, utcnow
from videolake.catalog.repository import Catalog
from videolake.ingest.landing import LandedItem, find_sidecar, sidecar_candidates
from videolake.ingest.reports import FileResult
from videolake.inputs import safe_name
from videolake.storage import InvalidKey, StorageBackend, StorageError, validate_key
from videolake.storage.local_backend import LocalBackend


class Quarantiner:
    def __init__(self, catalog: Catalog, quarantine: StorageBackend, landing: StorageBackend | None) -> None:
        self.catalog = catalog
        self.quarantine = quarantine
        self.landing = landing

    def quarantine_file(self, item: LandedItem, reason: str, detail: str, sha256: str | None,
                        run_id: str | None) -> FileResult:
        """Record why, then move the landed file (and its sidecar) aside; external files stay put."""
        quarantined_uri = None
        dest_key = None
        if item.zone is not None:
            token = hashlib.sha256(f"{item.uri}\0{item.size}\0{item.mtime}".encode("utf-8", "surrogateescape")).hexdigest()[:16]
            dest_key = f"{utcnow():%Y-%m-%d}/{token}/{safe_name(PurePosixPath(item.key).name)}"
            quarantined_uri = f"{self.quarantine.url.rstrip('/')}/{dest_key}"
        with self.catalog.write() as s:
            lock_in_transaction(s, c.CatalogLock.QUARANTINE)  # two runs quarantining one file record it once
            if self.catalog.quarantine_for(s, item.uri, quarantined_uri) is None:
                s.add(QuarantineItem(landing_uri=item.uri, name=item.name, source=item.source, reason=reason,
                                     detail=detail, size_bytes=item.size, sha256=sha256,
                                     quarantined_uri=quarantined_uri, run_id=run_id))
        if dest_key is not None:
            try:
                self._move_aside(item.key, dest_key)
                sidecar = self._sidecar_beside(item.key) if reason != "invalid_sidecar" else None
                if sidecar:
                    self._move_aside(sidecar, f"{dest_key}.json")
            except (OSError, StorageError) as exc:
                detail = f"{detail} (could not be moved aside yet: {exc}; it stays in the landing zone)"
        return FileResult(item.name, item.uri, c.OUTCOME_QUARANTINED, item.size, sha256, None, f"{reason}: {detail}")

    def _sidecar_beside(self, key: str) -> str | None:
        """The regular-file sidecar next to a landed file, also for a name the catalog cannot hold."""
        if isinstance(self.landing, LocalBackend):
            for candidate in sidecar_candidates(key):
                try:
                    if stat.S_ISREG(os.lstat(self.landing.root / candidate).st_mode):
                        return candidate
                except OSError:
                    continue
            return None
        info = find_sidecar(self.landing, key)  # type: ignore[arg-type]
        return info.key if info is not None else None

    def _move_aside(self, key: str, dest_key: str) -> None:
        landing, quarantine = self.landing, self.quarantine
        if isinstance(landing, LocalBackend):
            # A local landing zone holds what no object store can: symlinks, FIFOs, names that are
            # not UTF-8. They are moved by path (a rename when both are on one file system).
            src = landing.root / key
            if not os.path.lexists(src):
                return
            if isinstance(quarantine, LocalBackend):
                try:
                    quarantine.move_from(dest_key, src)
                    return
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
            if os.path.islink(src) or not os.path.isfile(src):
                quarantine.put_bytes(f"{dest_key}.link", os.fsencode(os.readlink(src)) if os.path.islink(src) else b"")
            else:
                quarantine.put_file(dest_key, src)
            os.unlink(src)
            return
        # Remote landing zone: the contract's move (copy, confirm, then delete the original).
        try:
            validate_key(key)
        except InvalidKey:
            # A name the contract refuses (control characters, bytes that are not UTF-8): S3 alone
            # can address it by its exact stored key.
            from videolake.storage.s3_backend import S3Backend

            if not isinstance(landing, S3Backend):
                raise
            full = f"{landing.prefix}/{key}" if landing.prefix else key
            with landing.raw_open(full) as stream:
                quarantine.put_stream(dest_key, stream)
            landing.raw_delete(full)
            return
        if landing.head(key) is not None:
            landing.move_to(key, quarantine, dest_key)
