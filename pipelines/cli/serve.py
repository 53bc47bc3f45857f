"""``videolake serve``: answer the signed download links of local storage (HTTP, Range requests)."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import Any

from pipelines.cli import common
from pipelines.cli.common import environment
from videolake.constants import Env, ExitCode
from videolake.usecases.errors import InvalidInput, Unavailable


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve signed download links for local storage (HTTP, Range requests)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (loopback by default)")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(fn=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from videolake.links.announce import clear_server, record_server
    from videolake.links.server import make_server
    from videolake.links.tokens import load_or_create_secret
    from videolake.storage import open_backend
    from videolake.storage.local_backend import LocalBackend

    env = environment()
    storage = open_backend(env[Env.HOT_STORAGE])
    if not isinstance(storage, LocalBackend):
        raise InvalidInput(f"hot storage {storage.url} is not local: its links are presigned URLs, nothing to serve")
    if not 0 <= args.port <= 65535:
        raise InvalidInput(f"--port {args.port} is not a TCP port (0-65535; 0 picks a free one)")
    secret = load_or_create_secret(os.environ.get(Env.LINK_SECRET), Path(env[Env.HOME]))
    try:
        server = make_server(storage, secret, args.host, args.port)
    except OSError as exc:
        raise Unavailable(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    home = Path(env[Env.HOME])
    base = f"http://{args.host}:{server.server_port}"
    record_server(home, base)  # `videolake export link` mints links for this base from now on
    print(f"videolake: serving download links from {storage.url} on {base}/d/… (links are minted for {base}"
          + (f"; {Env.PUBLIC_URL}={os.environ[Env.PUBLIC_URL]} overrides that" if Env.PUBLIC_URL in common.USER_SET else "")
          + ")", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        clear_server(home)
    return ExitCode.OK
