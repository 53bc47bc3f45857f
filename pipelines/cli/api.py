"""``videolake api`` (also ``videolake serve``): the HTTP API on uvicorn — uploads, videos, links
(the signed links ``export link`` mints included), operations, metrics. And ``videolake apikey``."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import sys
from pathlib import Path
from typing import Any

from pipelines.cli import common
from pipelines.cli.common import environment, existing_catalog, operator, parsed, print_json, table
from videolake.constants import Env, ExitCode
from videolake.usecases.errors import InvalidInput, Unavailable


MAX_CONNECTIONS = 4096  # connections and requests at once; beyond, a short 503 (never a pile-up)
IDLE_TIMEOUT_SECONDS = 15  # a connection silent this long (before its first request, or between two) is closed
LISTEN_BACKLOG = 4096  # connections waiting to be accepted in a burst
SWITCH_INTERVAL_SECONDS = 0.0005
MAX_WORKERS = 64


def register(sub: Any) -> None:
    for name, text in (("api", "run the HTTP API (uploads, videos, links, health, metrics) on uvicorn"),
                       ("serve", "the same as `videolake api` (it used to serve only the signed links)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host", default="127.0.0.1", help="listen address (loopback by default)")
        p.add_argument("--port", type=int, default=8080, help="TCP port (0 picks a free one)")
        p.add_argument("--workers", type=int, default=None,
                       help=f"processes answering requests, one per core is best (default: {Env.API_WORKERS} or 1)")
        # How the supervisor of --workers N starts each worker on the socket it holds.
        p.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
        p.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
        p.set_defaults(fn=cmd_api)

    keys = sub.add_parser("apikey", help="API keys for the HTTP API: create, list, revoke")
    ksub = keys.add_subparsers(dest="apikey_command", required=True, metavar="{create,list,revoke}")
    create = ksub.add_parser("create", help="a new key, printed once (the catalog keeps only its hash)")
    create.add_argument("--name", required=True, help="who or what uses it")
    create.add_argument("--scope", default="read", help="read, write (upload) or admin (delete, cleanup)")
    create.add_argument("--expires", help="a lifetime like 90d or 12h (default: never)")
    create.add_argument("--import-stdin", action="store_true",
                        help="read an existing key from stdin (the key clients already send) instead of making one")
    create.add_argument("--json", action="store_true")
    create.set_defaults(fn=cmd_apikey_create)
    listing = ksub.add_parser("list", help="every key: id, name, scope, state, last use (never the key)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(fn=cmd_apikey_list)
    revoke = ksub.add_parser("revoke", help="revoke a key from now on")
    revoke.add_argument("id", type=int)
    revoke.add_argument("--json", action="store_true")
    revoke.set_defaults(fn=cmd_apikey_revoke)


def _listen(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise InvalidInput(f"--port {port} is not a TCP port (0-65535; 0 picks a free one)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(LISTEN_BACKLOG)
    sock.set_inheritable(True)
    return sock


def _worker_count(args: argparse.Namespace, env: dict[str, str]) -> int:
    text = str(args.workers) if args.workers is not None else env.get(Env.API_WORKERS) or "1"
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_WORKERS:
        source = "--workers" if args.workers is not None else Env.API_WORKERS
        raise InvalidInput(f"{source} {text!r} is not a number of processes (1-{MAX_WORKERS})")
    return count


def cmd_api(args: argparse.Namespace) -> int:
    import logging

    from pipelines.api.services import ApiServices
    from videolake.links.announce import clear_server, record_server

    env = environment()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not args.verbose:
        logging.getLogger("videolake.api.access").setLevel(logging.WARNING)
    if args.listen_fd is not None:  # one worker of `--workers N`: the supervisor announced the server
        return _serve(args, socket.socket(fileno=args.listen_fd), housekeeping=args.worker_index == 0)
    workers = _worker_count(args, env)
    if workers == 1:
        # Loaded before the port opens: a client that connects the moment it does is not kept
        # waiting for the imports (a supervisor's workers load them in their own processes).
        import pipelines.api.app  # noqa: F401
        import uvicorn  # noqa: F401
    sock = _listen(args.host, args.port)
    port = sock.getsockname()[1]
    base = f"http://{args.host}:{port}"
    home = Path(env[Env.HOME])
    # Links are minted for this server unless VIDEOLAKE_PUBLIC_URL names where clients reach it.
    public = env[Env.PUBLIC_URL] if Env.PUBLIC_URL in common.USER_SET else base
    os.environ[Env.PUBLIC_URL] = public
    common.require_catalog()
    ApiServices.from_environment().close()  # a bad storage URL or policy is one line before listening
    record_server(home, base)  # `videolake export link` mints links for this base from now on
    print(f"videolake: API on {base} (docs {base}/docs); links are minted for {public}"
          + (f" ({Env.PUBLIC_URL})" if public != base else "")
          + (f"; {workers} worker processes" if workers > 1 else ""), flush=True)
    try:
        if workers == 1:
            return _serve(args, sock, housekeeping=True)
        from pipelines.api.supervisor import Supervisor

        return Supervisor(sock, workers, [*(["--verbose"] if args.verbose else [])]).run()
    finally:
        clear_server(home)
        sock.close()


def _serve(args: argparse.Namespace, sock: socket.socket, *, housekeeping: bool) -> int:
    """uvicorn on a listening socket, in this process."""
    import uvicorn

    from pipelines.api.app import create_app
    from pipelines.api.protocol import IdleClosingProtocol
    from pipelines.api.services import ApiServices

    services = ApiServices.from_environment()
    # Threads that wait on the catalog, storage or a disk hand the interpreter back in 0.5 ms, not
    # 5 ms: with the event loop busy, each SQLite step of a catalog thread would otherwise queue
    # behind it for up to the whole interval (GET /api/v1/videos/{id}, 16 clients: 2x the requests/s).
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    app = create_app(lambda: services, housekeeping=housekeeping)
    config = uvicorn.Config(app, log_level="debug" if args.verbose else "warning", access_log=False,
                            timeout_keep_alive=IDLE_TIMEOUT_SECONDS, timeout_graceful_shutdown=10, server_header=False,
                            limit_concurrency=MAX_CONNECTIONS, http=IdleClosingProtocol)
    uvicorn.Server(config).run(sockets=[sock])
    return ExitCode.OK


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from videolake.inputs import parse_duration
    from videolake.usecases.apikeys import create_api_key, parse_scope

    scope = parse_scope(args.scope)
    expires = dt.timedelta(seconds=parsed(parse_duration, args.expires, "--expires")) if args.expires else None
    existing = sys.stdin.readline().strip() if args.import_stdin else None
    if args.import_stdin and not existing:
        raise InvalidInput("--import-stdin read no key from stdin")
    created = create_api_key(existing_catalog(), name=args.name, scope=scope, expires_in=expires,
                             created_by=operator(), existing_key=existing)
    if args.json:
        out = created.to_dict()
        if existing:
            out.pop("key")  # the caller has it; it is never printed back
        print_json(out)
        return ExitCode.OK
    print(f"API key {created.id} ({created.name}, scope {created.scope}"
          + (f", expires {created.expires_at:%Y-%m-%d %H:%M} UTC" if created.expires_at else "") + ")")
    if not existing:
        print(created.key)
        print("It is shown this once: the catalog keeps only its hash.", file=sys.stderr)
    return ExitCode.OK


def cmd_apikey_list(args: argparse.Namespace) -> int:
    from videolake.usecases.apikeys import list_api_keys

    keys = list_api_keys(existing_catalog())
    if args.json:
        print_json([k.to_dict() for k in keys])
        return ExitCode.OK
    if not keys:
        print("no API keys: `videolake apikey create --name NAME --scope read|write|admin`")
        return ExitCode.OK

    def when(value: Any) -> str:
        return f"{value:%Y-%m-%d %H:%M}" if value else "—"

    print(table([[str(k.id), k.name, k.scope, k.state, when(k.created_at), when(k.expires_at), when(k.last_used_at)]
                 for k in keys], ["id", "name", "scope", "state", "created", "expires", "last used"]))
    return ExitCode.OK


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    from videolake.usecases.apikeys import revoke_api_key

    key = revoke_api_key(existing_catalog(), args.id)
    print_json(key.to_dict()) if args.json else print(f"API key {key.id} ({key.name}) revoked")
    return ExitCode.OK
