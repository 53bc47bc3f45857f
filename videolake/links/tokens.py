"""Signed, expiring download tokens for objects in local storage (HMAC-SHA256).

A token is ``base64url(payload).base64url(hmac)`` where the payload names the object key, the
download file name and the expiry (UNIX seconds). Tampering with any byte breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path


class TokenError(Exception):
    """The token is malformed, forged or expired (the server answers 403)."""


@dataclass(frozen=True)
class Grant:
    key: str
    filename: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_secret(env_value: str | None, home: Path) -> bytes:
    """VIDEOLAKE_LINK_SECRET if set, else a random secret kept in $VIDEOLAKE_HOME/link-secret (0600)."""
    if env_value:
        if len(env_value) < 16:
            raise ValueError("VIDEOLAKE_LINK_SECRET must be at least 16 characters")
        return env_value.encode("utf-8")
    path = home / "link-secret"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


def sign(secret: bytes, key: str, filename: str, expires_at: int) -> str:
    payload = json.dumps({"k": key, "f": filename, "e": int(expires_at)}, separators=(",", ":")).encode("utf-8")
    mac = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(secret: bytes, token: str, now: float | None = None) -> Grant:
    try:
        payload_part, mac_part = token.split(".", 1)
        payload = _unb64(payload_part)
        mac = _unb64(mac_part)
    except (ValueError, TypeError) as exc:
        raise TokenError("malformed token") from exc
    # One canonical spelling per token: unpadded base64url. Padding, '+' or '/', stray characters
    # (which a lenient decoder skips) or other trailing bits all make a different string: refused.
    if _b64(payload) != payload_part or _b64(mac) != mac_part:
        raise TokenError("malformed token")
    if not hmac.compare_digest(mac, hmac.new(secret, payload, hashlib.sha256).digest()):
        raise TokenError("bad signature")
    try:
        data = json.loads(payload)
        grant = Grant(str(data["k"]), str(data["f"]), int(data["e"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("malformed token payload") from exc
    if (now if now is not None else time.time()) >= grant.expires_at:
        raise TokenError("link expired")
    return grant
