"""An S3 server that refuses (wrong secret), one that is not there (a closed port), and no
credentials at all: every call answers with the contract's errors, never a botocore exception, so
a caller (a retention sweep) records a failure and goes on instead of crashing halfway."""

from __future__ import annotations

import hashlib

import botocore.exceptions
import pytest

from tests.servers import free_port
from videolake.retention.sweep import Deletion, RetentionSweep, SweepReport
from videolake.storage import BackendUnavailable, StorageError
from videolake.storage.s3_backend import S3Backend, S3Options


def _options(server, **overrides) -> S3Options:
    base = {"endpoint_url": server.endpoint_url, "region_name": "us-east-1", "aws_access_key_id": server.access_key,
            "aws_secret_access_key": server.secret_key, "max_attempts": 1, "connect_timeout": 2.0}
    return S3Options(**{**base, **overrides})


CALLS = {
    "delete_many": lambda b: b.delete_many(["a", "b"]),
    "raw_open": lambda b: b.raw_open("p/a").read(),
    "raw_delete": lambda b: b.raw_delete("p/a"),
    "delete": lambda b: b.delete("a"),
    "head": lambda b: b.head("a"),
    "list": lambda b: list(b.list("")),
    "put_bytes": lambda b: b.put_bytes("c", b"data", sha256=hashlib.sha256(b"data").hexdigest()),
    "check": lambda b: b.check(),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("server_kind", ["wrong secret", "closed port"])
def test_every_call_fails_with_the_contracts_error(s3_server, server_kind, call):
    bucket = s3_server.create_bucket()
    good = S3Backend(bucket, "p", _options(s3_server))
    good.put_bytes("a", b"kept", sha256=hashlib.sha256(b"kept").hexdigest())
    overrides = ({"aws_secret_access_key": "not-the-secret"} if server_kind == "wrong secret"
                 else {"endpoint_url": f"http://127.0.0.1:{free_port()}"})
    refusing = S3Backend(bucket, "p", _options(s3_server, **overrides))
    with pytest.raises(StorageError) as raised:
        CALLS[call](refusing)
    assert not isinstance(raised.value, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError)
    assert isinstance(raised.value, BackendUnavailable), f"{type(raised.value).__name__}: {raised.value}"
    assert refusing.url in str(raised.value)
    assert good.head("a").size == 4  # nothing was lost


def test_no_credentials_to_sign_a_link_with(s3_server, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookup off the machine
    anonymous = S3Backend("some-bucket", "p", _options(s3_server, aws_access_key_id=None, aws_secret_access_key=None))
    with pytest.raises(BackendUnavailable, match="presign a"):
        anonymous.readable_url("a")


def test_a_sweep_against_a_refusing_server_lists_the_failure_and_goes_on(s3_server, tmp_path):
    """The sweep's delete step: the refusing backend's batch is a failure line; the other is deleted."""
    bucket = s3_server.create_bucket()
    good = S3Backend(bucket, "ok", _options(s3_server))
    good.put_bytes("gone", b"old", sha256=hashlib.sha256(b"old").hexdigest())
    refusing = S3Backend(bucket, "no", _options(s3_server, aws_secret_access_key="not-the-secret"))
    backends = {good.url: good, refusing.url: refusing}
    sweep = RetentionSweep(None, None, good.url, backend_for=backends.__getitem__)  # type: ignore[arg-type]
    report = SweepReport()
    done = sweep._delete_objects([
        Deletion("retention_delete", refusing.url, "x", 10, "default", "video", 1),
        Deletion("retention_delete", good.url, "gone", 3, "default", "video", 2),
    ], report)
    assert [d.key for d in done] == ["gone"] and not good.exists("gone")
    [failure] = report.failures
    assert failure.startswith(f"{refusing.url}: ") and "SignatureDoesNotMatch" in failure or "Access" in failure
