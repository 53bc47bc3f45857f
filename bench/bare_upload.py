"""The yardstick of bench/api.py: a minimal ASGI app on the same server stack as ``videolake api``
(uvicorn, uvloop, httptools) that does the least an upload must — hash the bytes and write them,
synced, to a file — and a ``GET /ping`` answering a fixed JSON (the stack's floor for reads).

    BARE_SPOOL=/path .venv/bin/python -m uvicorn bench.bare_upload:app --port P
"""

from __future__ import annotations

import hashlib
import os
import uuid


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["method"] == "PUT":
        digest = hashlib.sha256()
        path = os.path.join(os.environ["BARE_SPOOL"], uuid.uuid4().hex)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            more = True
            while more:
                message = await receive()
                chunk = message.get("body", b"")
                if chunk:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
                    digest.update(chunk)
                more = message.get("more_body", False)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.unlink(path)  # the benchmark measures the receiving; the disk is not filled
        body = digest.hexdigest().encode()
    else:
        body = b'{"ok":true}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
