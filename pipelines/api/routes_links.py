"""Links that need no API key: ``/video/{name}?token=…`` (the upload-and-serve service's private
links) and ``/d/{token}`` (the signed links of exports on local storage, as ``videolake serve``
answered them before)."""

from __future__ import annotations

import posixpath

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from pipelines.api.problems import Problem, documented
from pipelines.api.routes_videos import BYTES, serve_stored
from pipelines.api.serving import get_and_head, object_response
from pipelines.api.services import ApiServices
from videolake.links.tokens import TokenError, verify
from videolake.storage import InvalidKey, validate_key
from videolake.usecases.video_links import SUBJECT_PREFIX, video_of_link
from videolake.usecases.videos import video_content

router = APIRouter(tags=["links"])
LINK_BYTES = {**BYTES, **documented(403, 404, 410)}


def _services(request: Request) -> ApiServices:
    return request.app.state.services


@get_and_head(router, "/video/{name}", responses=LINK_BYTES, response_class=Response)
async def video_link(name: str, request: Request, token: str | None = Query(None, max_length=4096)) -> Response:
    """A private link: the video's bytes, with Range, for whoever holds the token."""
    services = _services(request)
    video_id = video_of_link(services.catalog, name, token, secret=services.link_secret)  # no catalog read
    stored = await services.call(video_content, services.catalog, video_id, prefer=services.hot.url)
    return serve_stored(request, stored, attachment=False, cache_control="private, no-store")


@get_and_head(router, "/d/{token}", responses=LINK_BYTES, response_class=Response)
def signed_object(token: str, request: Request) -> Response:
    """A signed link to an object on local storage (export outputs and manifests)."""
    services = _services(request)
    try:
        grant = verify(services.link_secret, token)
    except TokenError as exc:
        raise Problem(403, f"the link does not open anything: {exc}", kind="bad-token") from None
    if grant.key.startswith(SUBJECT_PREFIX):
        raise Problem(403, "that token opens a video link: use /video/…", kind="bad-token")
    try:
        validate_key(grant.key)
    except InvalidKey:
        raise Problem(403, "that object is not served", kind="bad-token") from None
    info = services.hot.head(grant.key)
    if info is None:
        raise Problem(404, "the file is gone (expired exports are deleted)", kind="gone")
    return object_response(request, services.hot, grant.key, size=info.size, sha256=info.sha256,
                           filename=grant.filename or posixpath.basename(grant.key), attachment=True,
                           cache_control="private, no-store")
