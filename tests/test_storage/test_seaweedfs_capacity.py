"""The suite's SeaweedFS must not run out of volumes: every test that uses S3 makes a bucket of its
own, each bucket is a collection with a volume of its own, and weed's default cap is free disk
space / 1 GiB. On a CI disk with ~70 GiB free the suite's ~80th bucket got InternalError on every
PutObject ("No writable volumes and no free volumes left")."""

from __future__ import annotations

import json
import urllib.request

from tests.servers import SEAWEEDFS_MAX_VOLUMES


def _topology(s3_server) -> dict:
    master_port = s3_server.ports[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{master_port}/dir/status", timeout=10) as response:
        return json.load(response)["Topology"]


def test_the_volume_cap_is_set_not_taken_from_free_disk_space(s3_server):
    topology = _topology(s3_server)
    assert topology["Max"] == SEAWEEDFS_MAX_VOLUMES


def test_buckets_beyond_a_gigabyte_per_volume_still_take_writes(s3_server):
    client = s3_server.client()
    free_before = _topology(s3_server)["Free"]
    buckets = [s3_server.create_bucket() for _ in range(5)]
    for bucket in buckets:
        client.put_object(Bucket=bucket, Key="probe", Body=b"written")
        assert client.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"written"
    free_after = _topology(s3_server)["Free"]
    # Each new bucket took at least one volume: the cap is what bounds how many tests can use S3.
    assert free_before - free_after >= len(buckets)
    assert free_after > 500
