"""Content-addressed keys: the same bytes always live at the same key, whatever their name."""

from __future__ import annotations

import re

from videolake import constants as c

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_sha256(sha256: str) -> str:
    if not _SHA256.match(sha256 or ""):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


def video_key(sha256: str) -> str:
    check_sha256(sha256)
    return f"{c.VIDEOS_PREFIX}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def derivative_key(sha256: str, kind: str, extension: str = "jpg") -> str:
    check_sha256(sha256)
    return f"{c.DERIVATIVES_PREFIX}/{sha256[:2]}/{sha256[2:4]}/{sha256}/{kind}.{extension}"
