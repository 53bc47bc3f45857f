"""S3-compatible backend (AWS S3, SeaweedFS, MinIO, ...) on boto3.

Integrity: every single-part upload carries the object's SHA256 so the server rejects a corrupted
body (BadDigest); multipart uploads carry a SHA256 per part, the whole-object sha256 is computed
over the same bytes and the upload is only completed when it matches what the caller expects, so
a mismatching object never becomes visible. The sha256 is kept as object metadata.
"""

from __future__ import annotations

import base64
import io
import hashlib
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from videolake.storage.base import (
    BackendUnavailable,
    ChecksumMismatch,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
)
from videolake.storage.object_store import ObjectStoreBackend, as_unavailable, unquoted_etag
from videolake.storage.parts import iter_parts, read_exact, upload_parts

SHA256_METADATA = "sha256"


@dataclass(frozen=True)
class S3Options:
    endpoint_url: str | None = None
    region_name: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    multipart_threshold: int = 64 * 1024 * 1024
    part_size: int = 16 * 1024 * 1024
    max_concurrency: int = 8
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 5
    list_page_size: int = 1000
    confirm_with_head: bool = False  # also HEAD every object after writing it (the write response already attests it)


def _env_endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def _is_not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("404", "NoSuchKey", "NotFound") or status == 404


def _translate(exc: Exception, what: str) -> StorageError:
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"):
            return ChecksumMismatch(f"{what}: server rejected the body's checksum ({code})")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "NoSuchBucket"):
            return BackendUnavailable(f"{what}: {code}: {exc.response.get('Error', {}).get('Message', '')}")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status in (401, 403):  # a HEAD's refusal has no body to name the code
            return BackendUnavailable(f"{what}: the server refused the credentials (HTTP {status})")
        return StorageError(f"{what}: {code or exc}")
    if isinstance(exc, (EndpointConnectionError, NoCredentialsError, ConnectTimeoutError, ReadTimeoutError)):
        return BackendUnavailable(f"{what}: {exc}")
    return StorageError(f"{what}: {exc}")


class S3Backend(ObjectStoreBackend):
    """Objects under ``s3://bucket/prefix``."""

    options_type = S3Options
    options: S3Options

    def __init__(self, bucket: str, prefix: str = "", options: S3Options | None = None) -> None:
        if len(bucket) < 3:
            raise ValueError(f"S3 bucket name {bucket!r} is too short (3 characters at least)")
        super().__init__("s3", bucket, prefix, options)
        self.bucket = bucket
        # Parts in flight across every upload of this backend: many files copied at once share it,
        # so the server is not flooded (measured: 40 parts in flight ran 1.5x slower than 8).
        self._part_slots = threading.BoundedSemaphore(self.options.max_concurrency)
        self._server_checks_sha256 = False  # learned from the first upload whose response reports its SHA256

    def __repr__(self) -> str:
        return f"S3Backend({self.url!r}, endpoint={self.options.endpoint_url!r})"

    @property
    def client(self) -> Any:
        return self._lazy_client()

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config

        opts = self.options
        config = Config(
            signature_version="s3v4",
            connect_timeout=opts.connect_timeout,
            read_timeout=opts.read_timeout,
            retries={"max_attempts": opts.max_attempts, "mode": "standard"},
            max_pool_connections=max(10, opts.max_concurrency * 2),
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # Bodies carry their own SHA256 (x-amz-checksum-sha256, checked by the server), so SigV4
            # need not hash every byte again as the payload hash (botocore does over http otherwise).
            # Custom endpoints (SeaweedFS, MinIO, ...) rarely resolve bucket subdomains.
            s3={"payload_signing_enabled": False,
                **({"addressing_style": "path"} if (opts.endpoint_url or _env_endpoint()) else {})},
        )
        session = boto3.session.Session(
            aws_access_key_id=opts.aws_access_key_id,
            aws_secret_access_key=opts.aws_secret_access_key,
            aws_session_token=opts.aws_session_token,
            region_name=opts.region_name,
        )
        return session.client("s3", endpoint_url=opts.endpoint_url or None, config=config)

    # -- bucket helpers (tests, set-up) ------------------------------------------------------
    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def unfinished_uploads(self, older_than: float = 3600) -> list[ObjectInfo]:
        import time

        cutoff = time.time() - older_than
        out = []
        try:
            for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                                   Prefix=self._listing_prefix()):
                for upload in page.get("Uploads", []):
                    started = upload["Initiated"].timestamp()
                    if started <= cutoff:
                        out.append(ObjectInfo(key=self._relative(upload["Key"]), size=0, mtime=started))
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: list unfinished uploads") from exc
        return out

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                raise BackendUnavailable(f"{self.url}: the bucket does not exist") from exc
            raise as_unavailable(_translate(exc, f"{self.url}: reach the bucket")) from exc

    # -- writes --------------------------------------------------------------------------------
    def _extra(self, sha256: str | None, content_type: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if sha256:
            extra["Metadata"] = {SHA256_METADATA: sha256}
        if content_type:
            extra["ContentType"] = content_type
        return extra

    def _put_single(self, key: str, data: bytes, sha256: str | None, content_type: str | None) -> ObjectInfo:
        # With the expected sha256 known and a server that has shown it handles SHA256 checksums
        # (it reported one for an earlier upload), the server checks the body against it: it hashes
        # what it receives and rejects a mismatch with BadDigest, storing nothing. The bytes are then
        # not hashed here a second time (on 2 cores that hash competes with the server). Until the
        # server has shown it, or for a server that ignores the header, they are hashed first.
        if sha256 is not None and self._server_checks_sha256:
            digest = sha256
        else:
            digest = hashlib.sha256(data).hexdigest()
            if sha256 is not None and digest != sha256:
                raise ChecksumMismatch(f"{self.url}: {key}: content hashes to {digest}, expected {sha256}")
        full = self.full_key(key)
        try:
            resp = self.client.put_object(
                Bucket=self.bucket,
                Key=full,
                Body=data,
                ChecksumSHA256=_b64(digest),
                **self._extra(digest, content_type),
            )
        except Exception as exc:  # noqa: BLE001
            error = _translate(exc, f"{self.url}: put {key}")
            if isinstance(error, ChecksumMismatch) and sha256 is not None:
                error = ChecksumMismatch(f"{self.url}: {key}: content does not hash to {sha256} ({error})")
            raise error from exc
        reported = resp.get("ChecksumSHA256")
        if reported is not None:
            self._server_checks_sha256 = True
        return self._written(key, len(data), digest, _b64(digest), reported)

    def _written(self, key: str, size: int, sha256: str, expected: str, reported: str | None) -> ObjectInfo:
        """What a write stored; ``attested`` when the server's response reports the checksum we sent."""
        if reported is not None and reported != expected:
            raise ChecksumMismatch(f"{self.url}: {key}: the server stored checksum {reported}, not {expected}")
        return ObjectInfo(key=key, size=size, mtime=0.0, sha256=sha256, checksum=expected, attested=reported is not None)

    def _multipart(
        self,
        key: str,
        parts: Iterable[bytes],
        sha256: str | None,
        content_type: str | None,
    ) -> ObjectInfo:
        full = self.full_key(key)
        client = self.client
        try:
            upload_id = client.create_multipart_upload(
                Bucket=self.bucket, Key=full, ChecksumAlgorithm="SHA256", **self._extra(sha256, content_type)
            )["UploadId"]
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: start multipart upload of {key}") from exc

        def upload(number: int, data: bytes) -> dict[str, Any]:
            digest = _b64(hashlib.sha256(data).hexdigest())
            with self._part_slots:
                resp = client.upload_part(
                    Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=data, ChecksumSHA256=digest
                )
            return {"PartNumber": number, "ETag": resp["ETag"], "ChecksumSHA256": digest}

        try:
            results, actual, size = upload_parts(parts, upload, self.options.max_concurrency)
            if sha256 is not None and actual != sha256:
                raise ChecksumMismatch(f"{self.url}: {key}: content hashes to {actual}, expected {sha256}")
            completed = client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": [results[n] for n in sorted(results)]},
            )
        except BaseException as exc:
            try:
                client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            if isinstance(exc, StorageError) or not isinstance(exc, Exception):
                raise
            raise _translate(exc, f"{self.url}: multipart upload of {key}") from exc
        # S3's composite checksum: sha256 over the parts' sha256 digests, "-<number of parts>".
        composite = hashlib.sha256(b"".join(base64.b64decode(results[n]["ChecksumSHA256"]) for n in sorted(results)))
        expected = f"{base64.b64encode(composite.digest()).decode()}-{len(results)}"
        return self._written(key, size, actual, expected, completed.get("ChecksumSHA256"))

    def put_file(self, key, path, *, sha256=None, content_type=None, move=False, link=False) -> ObjectInfo:  # type: ignore[no-untyped-def]
        size = os.path.getsize(path)
        if size <= self.options.multipart_threshold:
            with open(path, "rb") as fh:
                return self._put_single(key, fh.read(), sha256, content_type)
        part_size = self.options.part_size

        def read_parts() -> Iterator[bytes]:
            with open(path, "rb") as fh:
                while data := fh.read(part_size):
                    yield data

        return self._multipart(key, read_parts(), sha256, content_type)

    def put_stream(self, key, stream, *, sha256=None, content_type=None) -> ObjectInfo:  # type: ignore[no-untyped-def]
        part_size = max(self.options.part_size, 5 * 1024 * 1024)
        first = read_exact(stream, max(self.options.multipart_threshold, part_size) + 1)
        if len(first) <= self.options.multipart_threshold:
            return self._put_single(key, first, sha256, content_type)

        return self._multipart(key, iter_parts(stream, part_size, first), sha256, content_type)

    # -- reads ---------------------------------------------------------------------------------
    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"]
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                raise ObjectNotFound(f"{self.url}: {key} does not exist") from exc
            raise _translate(exc, f"{self.url}: get {key}") from exc

    def open_range(self, key: str, start: int, length: int) -> BinaryIO:
        if length <= 0:
            return io.BytesIO(b"")  # type: ignore[return-value]
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key),
                                          Range=f"bytes={start}-{start + length - 1}")["Body"]
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                raise ObjectNotFound(f"{self.url}: {key} does not exist") from exc
            raise _translate(exc, f"{self.url}: get {key}") from exc

    def get_file(self, key: str, dest: str | Path) -> ObjectInfo:
        def translate(exc: Exception, what: str) -> StorageError:
            return ObjectNotFound(f"{self.url}: {key} does not exist") if _is_not_found(exc) else _translate(exc, what)

        full = self.full_key(key)
        return self._download_to(key, dest, lambda tmp: self.client.download_file(self.bucket, full, str(tmp)), translate)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                return None
            raise _translate(exc, f"{self.url}: head {key}") from exc
        return ObjectInfo(
            key=key,
            size=int(resp["ContentLength"]),
            mtime=resp["LastModified"].timestamp(),
            sha256=(resp.get("Metadata") or {}).get(SHA256_METADATA),
            version=unquoted_etag(resp.get("ETag")),
        )

    def _stored_checksum(self, key: str) -> tuple[str | None, int, dict]:
        """(ChecksumSHA256 the server computed at upload, size, head response) — None when it keeps none."""
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key), ChecksumMode="ENABLED")
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                raise ObjectNotFound(f"{self.url}: {key} does not exist") from exc
            raise _translate(exc, f"{self.url}: head {key}") from exc
        return resp.get("ChecksumSHA256"), int(resp["ContentLength"]), resp

    def verify(self, key: str, sha256: str) -> ObjectInfo:
        """A single-part object's server-computed SHA256 is the content's sha256: compare it without
        reading the object back. Multipart objects (composite checksums) are re-read."""
        stored, size, resp = self._stored_checksum(key)
        if stored and "-" not in stored:
            if stored != _b64(sha256):
                raise ChecksumMismatch(f"{self.url}: {key}: the server's SHA256 is {stored}, expected {_b64(sha256)}")
            return ObjectInfo(key=key, size=size, mtime=resp["LastModified"].timestamp(), sha256=sha256, checksum=stored)
        return super().verify(key, sha256)

    def confirm(self, key: str, written: ObjectInfo, sha256: str) -> ObjectInfo:
        """The server validated the SHA256 of the body (or of every part) on upload, ``written``
        hashed the same bytes whole, and the server's response reported the resulting checksum
        (composite for multipart): that is the verification, no multipart ETag involved. Without
        such a response (or with ``confirm_with_head``) the checksum is read back with HEAD."""
        if written.sha256 != sha256 or written.checksum is None:
            return self.verify(key, sha256)
        if written.attested and not self.options.confirm_with_head:
            return written  # the server computed this SHA256 over the bytes it committed, and said so
        stored, size, resp = self._stored_checksum(key)
        if stored is None:
            return super().verify(key, sha256)  # a server that keeps no checksums: read it back
        if stored != written.checksum or size != written.size:
            raise ChecksumMismatch(f"{self.url}: {key}: the server holds checksum {stored} ({size} bytes), "
                                   f"not the uploaded {written.checksum} ({written.size} bytes)")
        return ObjectInfo(key=key, size=size, mtime=resp["LastModified"].timestamp(), sha256=sha256, checksum=stored)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                return
            raise _translate(exc, f"{self.url}: delete {key}") from exc

    def delete_many(self, keys: Iterable[str]) -> None:
        batch: list[dict[str, str]] = []

        def flush() -> None:
            if not batch:
                return
            try:
                resp = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except Exception as exc:  # noqa: BLE001 - a refusing or unreachable server is the contract's error
                raise _translate(exc, f"{self.url}: delete {len(batch)} objects") from exc
            errors = [e for e in resp.get("Errors", []) if e.get("Code") != "NoSuchKey"]
            if errors:
                raise StorageError(f"{self.url}: could not delete {len(errors)} objects: {errors[:3]}")
            batch.clear()

        for key in keys:
            batch.append({"Key": self.full_key(key)})
            if len(batch) == 1000:
                flush()
        flush()

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._listing_prefix(prefix), PaginationConfig={"PageSize": self.options.list_page_size}):
                for obj in page.get("Contents", []):
                    full = obj["Key"]
                    if full.endswith("/"):
                        continue  # folder marker objects
                    yield ObjectInfo(key=self._relative(full), size=int(obj["Size"]), mtime=obj["LastModified"].timestamp(),
                                     version=unquoted_etag(obj.get("ETag")))
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: list {prefix!r}") from exc

    def readable_url(self, key: str, expires_in: int = 3600) -> str:
        try:
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self.full_key(key)}, ExpiresIn=int(expires_in)
            )
        except Exception as exc:  # noqa: BLE001 - no credentials to sign with, a bad endpoint
            raise _translate(exc, f"{self.url}: presign {key}") from exc

    def raw_delete(self, full_key: str) -> None:
        """Delete by the exact stored key, bypassing key validation (quarantine of unsafe keys)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full_key)
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                return
            raise _translate(exc, f"{self.url}: delete {full_key!r}") from exc

    def raw_open(self, full_key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=full_key)["Body"]
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                raise ObjectNotFound(f"{self.url}: {full_key!r}") from exc
            raise _translate(exc, f"{self.url}: open {full_key!r}") from exc

