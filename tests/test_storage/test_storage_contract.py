"""One contract, every backend: local filesystem, S3 (SeaweedFS), GCS (fake-gcs-server) and Azure Blob
(Azurite), each a real server on loopback."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import urllib.request

import pytest

from videolake.storage import (
    ChecksumMismatch,
    InvalidKey,
    ObjectNotFound,
    StorageBackend,
    copy_object,
    open_backend,
)
from videolake.storage.local_backend import LocalBackend
from videolake.storage.azure_backend import AzureOptions
from videolake.storage.gcs_backend import GCSOptions
from videolake.storage.s3_backend import S3Backend, S3Options

MB = 1024 * 1024


@pytest.fixture(params=["local", "s3", "gcs", "azure"])
def backend(request, tmp_path) -> StorageBackend:
    # Small thresholds so the multi-part paths (S3 multipart, GCS resumable, Azure blocks) run.
    if request.param == "local":
        return open_backend((tmp_path / "store").as_uri())
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_env").create_bucket()
        return open_backend(
            f"s3://{bucket}/some/prefix",
            s3_options=S3Options(multipart_threshold=6 * MB, part_size=5 * MB, max_concurrency=4, list_page_size=7),
        )
    if request.param == "gcs":
        bucket = request.getfixturevalue("gcs_env").create_bucket()
        return open_backend(f"gs://{bucket}/some/prefix",
                            gcs_options=GCSOptions(chunk_size=4 * MB, read_chunk_size=3 * MB, list_page_size=7))
    container = request.getfixturevalue("azure_env").create_container()
    return open_backend(f"az://{container}/some/prefix",
                        azure_options=AzureOptions(single_put_threshold=6 * MB, block_size=5 * MB, max_concurrency=4,
                                                   list_page_size=7))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_put_file_head_open_and_get(backend, tmp_path):
    data = os.urandom(300_000)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    info = backend.put_file("a/b/obj.bin", src, sha256=sha(data))
    assert info.size == len(data) and info.sha256 == sha(data)
    head = backend.head("a/b/obj.bin")
    assert head is not None and head.size == len(data)
    assert backend.exists("a/b/obj.bin") and not backend.exists("a/b/other.bin")
    with backend.open("a/b/obj.bin") as stream:
        assert stream.read() == data
    dest = tmp_path / "dest.bin"
    backend.get_file("a/b/obj.bin", dest)
    assert dest.read_bytes() == data
    assert backend.verify("a/b/obj.bin", sha(data)).size == len(data)


def test_wrong_checksum_stores_nothing(backend):
    data = b"video bytes" * 1000
    with pytest.raises(ChecksumMismatch):
        backend.put_bytes("bad.bin", data, sha256=sha(b"something else"))
    assert not backend.exists("bad.bin")
    assert list(backend.list()) == []


def test_s3_single_uploads_checked_by_the_server_once_it_has_shown_it_checks(s3_env):
    backend = open_backend(f"s3://{s3_env.create_bucket()}/p")
    data = b"video bytes" * 1000
    with pytest.raises(ChecksumMismatch, match="content hashes to"):  # not yet known: hashed here first
        backend.put_bytes("bad.bin", data, sha256=sha(b"something else"))
    backend.put_bytes("good.bin", data, sha256=sha(data))  # the response reports the SHA256 the server computed
    with pytest.raises(ChecksumMismatch, match="BadDigest"):  # from now on the server checks the expected sha256
        backend.put_bytes("bad.bin", data, sha256=sha(b"something else"))
    assert [o.key for o in backend.list()] == ["good.bin"]


def test_multipart_stream_verified_and_mismatch_aborted(backend):
    data = os.urandom(13 * MB)  # over the 6 MB threshold: three 5 MB parts on S3
    info = backend.put_stream("big/one.bin", io.BytesIO(data), sha256=sha(data))
    assert info.size == len(data)
    with backend.open("big/one.bin") as stream:
        assert sha(stream.read()) == sha(data)
    with pytest.raises(ChecksumMismatch):
        backend.put_stream("big/two.bin", io.BytesIO(data), sha256=sha(b"nope"))
    assert not backend.exists("big/two.bin")
    if not isinstance(backend, LocalBackend):  # object stores keep the sha256 we verified as metadata
        assert backend.head("big/one.bin").sha256 == sha(data)
    if isinstance(backend, S3Backend):
        uploads = backend.client.list_multipart_uploads(Bucket=backend.bucket).get("Uploads", [])
        assert [u for u in uploads if u["Key"].endswith("big/two.bin")] == []


def test_multipart_file_upload(backend, tmp_path):
    data = os.urandom(11 * MB + 17)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    backend.put_file("big/file.bin", src, sha256=sha(data))
    assert backend.head("big/file.bin").size == len(data)
    assert backend.verify("big/file.bin", sha(data))


def test_list_is_paginated_and_complete(backend):
    keys = sorted(f"dir{i % 3}/obj-{i:03d}.bin" for i in range(23))  # page size 7 on S3
    for key in keys:
        backend.put_bytes(key, key.encode())
    listed = sorted(info.key for info in backend.list())
    assert listed == keys
    assert sorted(i.key for i in backend.list("dir1/")) == [k for k in keys if k.startswith("dir1/")]


def test_delete_is_idempotent(backend):
    backend.put_bytes("x/y.bin", b"123")
    backend.delete("x/y.bin")
    backend.delete("x/y.bin")
    assert not backend.exists("x/y.bin")
    backend.put_bytes("m/1", b"1")
    backend.put_bytes("m/2", b"2")
    backend.delete_many(["m/1", "m/2", "m/missing"])
    assert list(backend.list("m/")) == []
    with pytest.raises(ObjectNotFound):
        backend.open("x/y.bin")


@pytest.mark.parametrize("key", ["../escape", "/abs", "a/../../b", "a//b", "dir/", "bad\x00name", ""])
def test_unsafe_keys_are_refused(backend, key):
    with pytest.raises(InvalidKey):
        backend.put_bytes(key, b"x")


def test_readable_url_serves_the_object(backend):
    data = b"readable" * 100
    backend.put_bytes("u/file.bin", data)
    url = backend.readable_url("u/file.bin", expires_in=60)
    if url.startswith("file://"):
        assert open(url.removeprefix("file://"), "rb").read() == data
    else:
        assert "127.0.0.1" in url
        if isinstance(backend, S3Backend):
            assert "X-Amz-Signature" in url
        elif url.startswith("http://127.0.0.1") and "/devstoreaccount1/" in url:
            assert "sig=" in url  # an Azure shared access signature
        with urllib.request.urlopen(url, timeout=10) as resp:  # presigned: no credentials needed
            assert resp.read() == data


def test_copy_between_backends_streams_and_verifies(backend, tmp_path):
    local = LocalBackend(tmp_path / "other")
    data = os.urandom(200_000)
    local.put_bytes("src.bin", data)
    copy_object(local, "src.bin", backend, "copied/dst.bin", sha256=sha(data))
    copy_object(backend, "copied/dst.bin", local, "back.bin", sha256=sha(data))
    assert (tmp_path / "other" / "back.bin").read_bytes() == data
    with pytest.raises(ChecksumMismatch):
        copy_object(local, "src.bin", backend, "copied/wrong.bin", sha256=sha(b"other"))
    assert not backend.exists("copied/wrong.bin")


def test_local_backend_writes_are_atomic_and_stay_inside_root(tmp_path):
    store = LocalBackend(tmp_path / "root")
    store.put_bytes("a/b.bin", b"x")
    assert not any((tmp_path / "root" / ".videolake-tmp").iterdir())
    assert [i.key for i in store.list()] == ["a/b.bin"]  # the temp folder is never listed
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(tmp_path / "outside.txt", tmp_path / "root" / "link.bin")
    listed = {i.key: i for i in store.list()}
    assert listed["link.bin"].regular is False  # reported, never followed as a regular file


def test_bad_urls_are_explained():
    from videolake.storage import UnsupportedStorageUrl

    with pytest.raises(UnsupportedStorageUrl, match="bucket"):
        open_backend("s3://")
    with pytest.raises(UnsupportedStorageUrl, match="unknown storage scheme"):
        open_backend("ftp://host/x")
    with pytest.raises(ValueError, match="too short"):
        open_backend("s3://ab/prefix")
    with pytest.raises(UnsupportedStorageUrl, match="bucket"):
        open_backend("gs:///prefix")
    with pytest.raises(UnsupportedStorageUrl, match="container"):
        open_backend("az:///prefix")


def test_put_file_move_takes_the_file_where_it_can(backend, tmp_path):
    scratch = backend.scratch_dir() or tmp_path
    src = scratch / "work.bin"
    data = os.urandom(50_000)
    src.write_bytes(data)
    backend.put_file("moved/obj.bin", src, sha256=sha(data), move=True)
    with backend.open("moved/obj.bin") as stream:
        assert stream.read() == data
    # Local storage renames the file into place; object stores upload a copy and the caller removes its file.
    assert src.exists() == (backend.scratch_dir() is None)
    assert all(i.key != "work.bin" for i in backend.list())  # scratch files are never listed


def test_put_file_link_stores_the_bytes_and_leaves_the_file(backend, tmp_path):
    src = tmp_path / "finished.bin"
    data = os.urandom(70_000)
    src.write_bytes(data)
    src.chmod(0o600)  # as the upload spool writes its files
    backend.put_file("linked/obj.bin", src, sha256=sha(data), link=True)
    assert src.read_bytes() == data  # the file stays where it is, whole
    with backend.open("linked/obj.bin") as stream:
        assert stream.read() == data
    local = backend.local_path("linked/obj.bin")
    if local is not None:  # local storage on the same filesystem: the same bytes under a second name
        assert os.path.samefile(local, src) and os.stat(src).st_nlink == 2
        assert local.stat().st_mode & 0o777 == 0o644
        src.unlink()  # what ingest does once the video is cataloged
        with backend.open("linked/obj.bin") as stream:
            assert stream.read() == data
    assert all(".part" not in i.key for i in backend.list())  # its temporary name is never listed


@pytest.mark.parametrize("scheme", ["s3", "gcs", "azure"])
def test_unreachable_backend_is_reported_as_unavailable(scheme, monkeypatch):
    from tests.servers import AZURITE_ACCOUNT, AZURITE_KEY, free_port
    from videolake.storage import BackendUnavailable

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    if scheme == "s3":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
        backend = open_backend("s3://bucket/p", s3_options=S3Options(endpoint_url=dead, region_name="us-east-1",
                                                                     max_attempts=1, connect_timeout=1))
    elif scheme == "gcs":
        backend = open_backend("gs://bucket/p", gcs_options=GCSOptions(emulator_host=dead, timeout=2, retry_deadline=1))
    else:
        conn = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={dead}/{AZURITE_ACCOUNT};")
        backend = open_backend("az://container/p", azure_options=AzureOptions(connection_string=conn, timeout=2, retry_total=0))
    with pytest.raises(BackendUnavailable):
        backend.head("some/key")
    with pytest.raises(BackendUnavailable):
        backend.put_bytes("some/key", b"data")
    with pytest.raises(BackendUnavailable):
        backend.check()


@pytest.mark.parametrize("size", [100_000, 13 * MB])  # single request and multi-part (S3 composite checksum)
def test_confirm_checks_what_the_backend_now_holds(backend, size):
    first, second = os.urandom(size), os.urandom(size)
    written = backend.put_bytes("c/obj.bin", first, sha256=sha(first))
    assert backend.confirm("c/obj.bin", written, sha(first)).size == size
    if isinstance(backend, S3Backend):
        # The write response reported the SHA256 the server computed (composite for multipart).
        assert written.attested and written.checksum.endswith("-3") == (size > 6 * MB)
        backend = S3Backend(backend.bucket, backend.prefix, dataclasses.replace(backend.options, confirm_with_head=True))
    backend.put_bytes("c/obj.bin", second)  # replaced behind our back, same size
    with pytest.raises(ChecksumMismatch):
        backend.confirm("c/obj.bin", written, sha(first))
    with pytest.raises(ChecksumMismatch):
        backend.verify("c/obj.bin", sha(first))
    assert backend.verify("c/obj.bin", sha(second)).size == size


def test_check_passes_on_a_reachable_backend(backend):
    backend.check()


@pytest.mark.parametrize("scheme", ["s3", "gcs", "azure"])
def test_check_fails_for_a_missing_bucket(scheme, request):
    from videolake.storage import BackendUnavailable

    if scheme == "s3":
        request.getfixturevalue("s3_env")
        backend = open_backend("s3://videolake-no-such-bucket/x")
    elif scheme == "gcs":
        request.getfixturevalue("gcs_env")
        backend = open_backend("gs://videolake-no-such-bucket/x")
    else:
        request.getfixturevalue("azure_env")
        backend = open_backend("az://videolake-no-such-container/x")
    with pytest.raises(BackendUnavailable, match="does not exist|ContainerNotFound|container"):
        backend.check()


def test_an_overwritten_object_is_not_the_same_object(backend):
    """A landed object is removed only if it is still the one that was read: the version (inode +
    mtime, ETag, generation) tells an overwrite with other bytes of the same size."""
    backend.put_bytes("landing/clip.mp4", b"a" * 5000)
    read = backend.head("landing/clip.mp4")
    listed = next(i for i in backend.list("landing/") if i.key == "landing/clip.mp4")
    assert read.version is not None and read.same_object(backend.head("landing/clip.mp4"))
    assert listed.same_object(read)
    backend.put_bytes("landing/clip.mp4", b"b" * 5000)
    assert not read.same_object(backend.head("landing/clip.mp4"))
    assert not read.same_object(None)


def test_move_to_another_backend_copies_confirms_then_deletes(backend, tmp_path):
    data = os.urandom(300_000)
    backend.put_bytes("aside/clip.mp4", data, sha256=sha(data))
    elsewhere = LocalBackend(tmp_path / "elsewhere")
    moved = backend.move_to("aside/clip.mp4", elsewhere, "q/clip.mp4")
    assert moved.sha256 == sha(data) and (tmp_path / "elsewhere" / "q" / "clip.mp4").read_bytes() == data
    assert backend.head("aside/clip.mp4") is None  # deleted here only once the copy was confirmed there
    with pytest.raises(ObjectNotFound):
        backend.move_to("aside/clip.mp4", elsewhere, "q/again.mp4")
    # And into this backend from another.
    elsewhere.put_bytes("in.mp4", data, sha256=sha(data))
    assert elsewhere.move_to("in.mp4", backend, "moved/in.mp4").sha256 == sha(data)
    assert backend.verify("moved/in.mp4", sha(data)).size == len(data) and elsewhere.head("in.mp4") is None


def test_open_range_reads_exactly_the_bytes_asked_for(backend):
    data = os.urandom(7 * MB + 123)  # past the read chunk sizes, so ranges cross chunks
    backend.put_bytes("ranged/clip.mp4", data, sha256=sha(data))
    for start, length in [(0, 10), (5, 1), (3 * MB - 7, 3 * MB + 11), (len(data) - 100, 100), (0, len(data)),
                          (len(data) - 1, 1), (123, 0)]:
        with backend.open_range("ranged/clip.mp4", start, length) as stream:
            assert stream.read() == data[start:start + length], (start, length)
    with pytest.raises(ObjectNotFound):
        backend.open_range("ranged/missing.mp4", 0, 10).read()
