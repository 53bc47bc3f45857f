from __future__ import annotations

import pytest

from videolake.ingest.landing import (
    is_in_progress,
    parse_sidecar,
    rejection_for_listing,
    sidecar_candidates,
    source_for_key,
)
from videolake.storage import ObjectInfo


@pytest.mark.parametrize(
    "key, reason",
    [
        ("uploads/../../etc/passwd.mp4", "unsafe_name"),
        ("../escape.mp4", "unsafe_name"),
        ("uploads/bell\x07.mp4", "unsafe_name"),
        ("uploads/\udcff\udcfe.mp4", "unsafe_name"),  # undecodable bytes from the filesystem
        ("uploads/holiday clip.mp4", None),
        ("uploads/café — 東京.mp4", None),
    ],
)
def test_names(key, reason):
    outcome = rejection_for_listing(ObjectInfo(key=key, size=1, mtime=0.0))
    assert (outcome[0] if outcome else None) == reason


def test_non_regular_files_are_refused():
    assert rejection_for_listing(ObjectInfo("a.mp4", 1, 0.0, regular=False))[0] == "not_regular_file"


@pytest.mark.parametrize("name", [".hidden.mp4", "clip.mp4.part", "clip.MP4.crdownload", "~lock.mp4", "x.tmp"])
def test_uploads_in_progress_are_skipped(name):
    assert is_in_progress(f"uploads/{name}")


def test_sources_and_sidecars():
    assert source_for_key("cams/a.mp4") == "cams"
    assert source_for_key("a.mp4") == "default"
    assert sidecar_candidates("gen/a.mp4") == ["gen/a.mp4.json", "gen/a.json"]
    assert parse_sidecar(b'{"model": "m"}').source_type == "generated"
    assert parse_sidecar(b'{"camera": 1}').source_type == "uploaded"
    assert parse_sidecar(b"[1]").error == "sidecar JSON must be an object"
