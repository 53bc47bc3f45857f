"""What every command shares: the configuration, the catalog, printing, and turning text into values."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from videolake.constants import Env, WriteMode
from videolake.usecases.errors import ConfigurationError, InvalidInput, Unavailable

T = TypeVar("T")

# The VIDEOLAKE_* variables the user set (before defaults are filled in); set by ``main``.
USER_SET: set[str] = set()


def environment() -> dict[str, str]:
    from videolake.settings import apply_default_environment

    return apply_default_environment()


def catalog():  # type: ignore[no-untyped-def]
    """The catalog (created when new): for commands that may start one (ingest, adopt)."""
    from videolake.catalog.repository import Catalog

    return _opened(Catalog)


def existing_catalog():  # type: ignore[no-untyped-def]
    """The catalog, for a command that reads or changes what is in it (see ``require_catalog``)."""
    require_catalog()
    return catalog()


def existing_catalog_reader():  # type: ignore[no-untyped-def]
    """The catalog for a command that only reads it (``status``, ``videos``, ``segments``): Core
    tables, no ORM, so the look costs a fraction of the start-up (see ``catalog.tables``)."""
    from videolake.catalog.database import CatalogReader

    require_catalog()
    return _opened(CatalogReader)


def _opened(kind):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import DBAPIError

    from videolake.catalog.database import CatalogConfigError

    url = environment()[Env.CATALOG_URL]
    try:
        return kind(url)
    except CatalogConfigError as exc:
        raise ConfigurationError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - driver errors vary
        raise Unavailable(one_line(exc) if isinstance(exc, DBAPIError) else
                          f"cannot open the catalog at {redact(url)}: {one_line(exc)}") from exc


def require_catalog() -> None:
    """Where the embedded catalog does not exist, say so: a command run from another folder would
    otherwise open a new, empty one and report nothing."""
    from sqlalchemy.engine import make_url

    url = make_url(environment()[Env.CATALOG_URL])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not Path(url.database).exists():
        where = ("VIDEOLAKE_CATALOG_URL" if Env.CATALOG_URL in USER_SET else
                 "VIDEOLAKE_HOME" if Env.HOME in USER_SET else "VIDEOLAKE_HOME (default: .videolake in this folder)")
        raise InvalidInput(f"no catalog at {url.database} (from {where}): run videolake from the folder that holds "
                           "its .videolake, or set VIDEOLAKE_HOME to that .videolake folder (or VIDEOLAKE_CATALOG_URL "
                           "to the catalog); `videolake ingest` or `videolake db upgrade` creates a new one")


def require_ingest_target(env: dict[str, str]) -> None:
    """Where new videos must go to hot storage (write mode LOCAL), that it can be reached; BOTH and
    REMOTE fall back when hot storage is down. A write mode that is none of them is a configuration error."""
    from videolake.ingest.configured import configured_write_mode

    if configured_write_mode(env) is WriteMode.LOCAL:
        require_storage(env[Env.HOT_STORAGE], "hot storage")


def require_storage(url: str, role: str) -> None:
    """One line and exit 1 when a backend cannot be reached, before any run starts or any file is claimed."""
    from videolake.storage import StorageError, UnsupportedStorageUrl, open_backend

    try:
        open_backend(url).check()
    except UnsupportedStorageUrl as exc:
        raise ConfigurationError(f"{role}: {exc}") from exc
    except StorageError as exc:
        raise Unavailable(f"{role} cannot be reached, nothing was ingested (landed files are untouched): "
                          f"{str(exc).splitlines()[0]}") from exc


def backend(url: str):  # type: ignore[no-untyped-def]
    """The storage a URL names; an unknown scheme is a usage error."""
    from videolake.storage import UnsupportedStorageUrl, open_backend

    try:
        return open_backend(url)
    except (UnsupportedStorageUrl, ValueError) as exc:
        raise InvalidInput(str(exc)) from exc


def parsed(parse: Callable[[str], T], text: str, flag: str) -> T:
    """``parse(text)``, its ValueError told as a usage error of ``flag``."""
    try:
        return parse(text)
    except ValueError as exc:
        raise InvalidInput(f"{flag} {exc}") from exc


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` for a count: a whole number no smaller than ``minimum`` (else exit 2, one line)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is out of range: it must be {minimum} or more")
        return value

    return parse


def redact(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<catalog URL>"


def operator() -> str:
    """Who the audit names for what this shell does."""
    import getpass

    return os.environ.get(Env.OPERATOR) or getpass.getuser()


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def one_line(exc: BaseException) -> str:
    """What failed, in one line: the catalog or a backend that cannot be reached, or the error itself."""
    from sqlalchemy.exc import DBAPIError

    from videolake.storage import StorageError

    if isinstance(exc, DBAPIError):
        url = environment().get(Env.CATALOG_URL, "")
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        return f"the catalog at {redact(url)} cannot be used: {reason}"
    if isinstance(exc, StorageError):
        return str(exc).splitlines()[0]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
