"""Links to a video: minted with the home's link secret, answered by the API at
``/video/<name>?token=…`` (the upload-and-serve service's link shape) with no API key.

A video link names the video (``video:<id>``), not an object: it keeps working when the video's
copy moves between tiers. Links always expire.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from urllib.parse import quote

from videolake.catalog.repository import Catalog
from videolake.links.tokens import Grant, TokenError, sign, verify
from videolake.usecases.errors import InvalidInput, NotAllowed, NotFound
from videolake.usecases.results import Result
from videolake.usecases.uploads import resolve_video

SUBJECT_PREFIX = "video:"
MAX_LINK_SECONDS = 10 * 365 * 86400


@dataclass(frozen=True)
class VideoLink(Result):
    video_id: int
    name: str  # how the link names the video: the client's alias, or the id
    url: str
    expires_at: dt.datetime


def mint_video_link(catalog: Catalog, name: str, *, ttl_seconds: float, secret: bytes, base: str) -> VideoLink:
    """A link to the video ``name`` (an alias or an id) living ``ttl_seconds``."""
    if not 0 < ttl_seconds <= MAX_LINK_SECONDS:
        raise InvalidInput("a link must live longer than 0 s and at most 10 years")
    video_id = resolve_video(catalog, name)
    if catalog.get_video(video_id) is None:
        raise NotFound(f"no video {name!r}")
    expires = int(time.time() + ttl_seconds)
    token = sign(secret, f"{SUBJECT_PREFIX}{video_id}", name, expires)
    return VideoLink(video_id, name, f"{base.rstrip('/')}/video/{quote(name, safe='')}?token={token}",
                     dt.datetime.fromtimestamp(expires, dt.timezone.utc))


def video_of_link(catalog: Catalog, name: str, token: str | None, *, secret: bytes) -> int:
    """The video a link opens, if its token is good for the name in the path."""
    if not token:
        raise NotAllowed("this link needs its token (?token=…)")
    try:
        grant: Grant = verify(secret, token)
    except TokenError as exc:
        raise NotAllowed(f"the link's token does not open anything: {exc}") from exc
    if not grant.key.startswith(SUBJECT_PREFIX) or grant.filename != name:
        raise NotAllowed("the link's token is for another video")
    return int(grant.key[len(SUBJECT_PREFIX):])
