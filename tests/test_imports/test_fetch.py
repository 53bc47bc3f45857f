"""Fetching a URL before its deadline, against a loopback server that misbehaves the ways
providers do: 500s, 429 with Retry-After, a body cut in the middle, Range ignored, a slow trickle,
silence, a wrong Content-Length, redirect chains, an HTML page sent with 200, an expired signed URL."""

from __future__ import annotations

import dataclasses
import time
import urllib.request

import pytest

from tests.test_imports.conftest import in_seconds
from videolake.constants import FetchFailure
from videolake.imports.fetch import fetch_url
from videolake.imports.urls import FetchError, FetchPolicy, check_url

FAST = FetchPolicy(allow_private=True, wait_initial_s=0.05, wait_max_s=0.3, wait_jitter_s=0.0, max_attempts=5,
                   read_timeout_s=5)


def test_a_plain_file_arrives_whole_and_hashed(flaky, tmp_path):
    base, clip, sha = flaky
    got = fetch_url(f"{base}/ok/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60), policy=FAST)
    assert (got.sha256, got.size, got.attempts) == (sha, clip.stat().st_size, 1)
    assert got.content_type == "video/mp4" and (tmp_path / "f.part").read_bytes() == clip.read_bytes()


def test_server_errors_are_tried_again(flaky, tmp_path):
    base, _, sha = flaky
    got = fetch_url(f"{base}/fail500/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60), policy=FAST)
    assert got.sha256 == sha and got.attempts == 3


def test_429_waits_for_retry_after(flaky, tmp_path):
    base, _, sha = flaky
    started = time.monotonic()
    got = fetch_url(f"{base}/ratelimit/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60), policy=FAST)
    assert got.sha256 == sha and got.attempts == 2
    assert time.monotonic() - started >= 0.9  # Retry-After: 1, not the 0.05 s backoff


def test_a_cut_body_resumes_from_where_it_stopped(flaky, tmp_path):
    base, clip, sha = flaky
    got = fetch_url(f"{base}/cut/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60), policy=FAST)
    assert got.sha256 == sha and got.attempts == 2
    assert got.resumed_from == [clip.stat().st_size // 3]  # a 206 from the first missing byte


def test_a_server_that_ignores_range_is_read_again_from_the_start(flaky, tmp_path):
    base, _, sha = flaky
    got = fetch_url(f"{base}/norange/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60), policy=FAST)
    assert got.sha256 == sha and got.attempts == 2 and got.resumed_from == []  # its 200 started over


def test_a_slow_trickle_is_fine(flaky, tmp_path):
    base, _, sha = flaky
    assert fetch_url(f"{base}/trickle/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60), policy=FAST).sha256 == sha


def test_silence_times_out_and_the_deadline_ends_it(flaky, tmp_path):
    base, _, _ = flaky
    policy = FetchPolicy(allow_private=True, read_timeout_s=0.5, wait_initial_s=0.05, wait_max_s=0.1, wait_jitter_s=0)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch_url(f"{base}/silent/clip.mp4", tmp_path / "f.part", deadline=in_seconds(3), policy=policy)
    assert caught.value.failure == FetchFailure.DEADLINE and "timed out" in str(caught.value).lower()
    assert time.monotonic() - started < 8


def test_a_wrong_content_length_is_never_a_short_file(flaky, tmp_path):
    base, _, _ = flaky
    with pytest.raises(FetchError) as caught:
        fetch_url(f"{base}/shortlength/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60),
                  policy=dataclasses.replace(FAST, max_attempts=3))
    assert caught.value.failure in (FetchFailure.SIZE_MISMATCH, FetchFailure.CONNECTION)
    assert "declared" in str(caught.value) or "broke" in str(caught.value)


def test_redirects_are_followed_up_to_the_limit(flaky, tmp_path):
    base, _, sha = flaky
    got = fetch_url(f"{base}/redirect3/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60), policy=FAST)
    assert got.sha256 == sha and got.final_url == f"{base}/ok/clip.mp4"
    with pytest.raises(FetchError) as caught:
        fetch_url(f"{base}/redirect9/clip.mp4", tmp_path / "g.part", deadline=in_seconds(60), policy=FAST)
    assert caught.value.failure == FetchFailure.TOO_MANY_REDIRECTS


@pytest.mark.parametrize("behaviour, failure, text", [
    ("html", FetchFailure.NOT_A_FILE, "HTML page"),
    ("gone", FetchFailure.HTTP_STATUS, "HTTP 404"),
])
def test_final_answers_are_not_tried_again(flaky, tmp_path, behaviour, failure, text):
    base, _, _ = flaky
    with pytest.raises(FetchError) as caught:
        fetch_url(f"{base}/{behaviour}/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60), policy=FAST)
    assert caught.value.failure == failure and text in str(caught.value) and not caught.value.retryable
    assert urllib.request.urlopen(f"{base}/_reset", timeout=10).read() == b"reset"


def test_an_expired_signed_url_is_a_clear_403(flaky, tmp_path):
    base, _, sha = flaky
    live = fetch_url(f"{base}/signed/clip.mp4?expires={time.time() + 60}", tmp_path / "f.part",
                     deadline=in_seconds(60), policy=FAST)
    assert live.sha256 == sha
    with pytest.raises(FetchError) as caught:
        fetch_url(f"{base}/signed/clip.mp4?expires={time.time() - 1}", tmp_path / "g.part",
                  deadline=in_seconds(60), policy=FAST)
    assert caught.value.failure == FetchFailure.HTTP_STATUS and "403" in str(caught.value)


def test_the_size_cap_holds(flaky, tmp_path):
    base, _, _ = flaky
    with pytest.raises(FetchError) as caught:
        fetch_url(f"{base}/ok/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60),
                  policy=dataclasses.replace(FAST, max_bytes=100_000))
    assert caught.value.failure == FetchFailure.TOO_LARGE


def test_a_passed_deadline_fetches_nothing(flaky, tmp_path):
    base, _, _ = flaky
    with pytest.raises(FetchError) as caught:
        fetch_url(f"{base}/ok/clip.mp4", tmp_path / "f.part", deadline=in_seconds(-5), policy=FAST)
    assert caught.value.failure == FetchFailure.DEADLINE


@pytest.mark.parametrize("url, failure", [
    ("http://127.0.0.1:9/x.mp4", FetchFailure.REFUSED_ADDRESS),
    ("http://169.254.169.254/latest/meta-data", FetchFailure.REFUSED_ADDRESS),
    ("http://10.1.2.3/x.mp4", FetchFailure.REFUSED_ADDRESS),
    ("http://[::1]/x.mp4", FetchFailure.REFUSED_ADDRESS),
    ("http://localhost/x.mp4", FetchFailure.REFUSED_ADDRESS),
    ("ftp://example.com/x.mp4", FetchFailure.BAD_URL),
    ("file:///etc/passwd", FetchFailure.BAD_URL),
    ("http://user:secret@example.com/x.mp4", FetchFailure.BAD_URL),
    ("http:///x.mp4", FetchFailure.BAD_URL),
    ("http://example.com:99999/x.mp4", FetchFailure.BAD_URL),
])
def test_private_addresses_and_other_schemes_are_refused(url, failure):
    with pytest.raises(FetchError) as caught:
        check_url(url, allow_private=False)
    assert caught.value.failure == failure and "secret" not in str(caught.value)


def test_a_redirect_to_a_private_address_is_refused_before_it_is_asked(flaky, tmp_path):
    base, _, _ = flaky
    # The loopback server itself is private: only the allow switch lets the tests reach it at all.
    with pytest.raises(FetchError) as caught:
        fetch_url(f"{base}/redirect3/clip.mp4", tmp_path / "f.part", deadline=in_seconds(60),
                  policy=dataclasses.replace(FAST, allow_private=False))
    assert caught.value.failure == FetchFailure.REFUSED_ADDRESS


def test_the_connected_address_is_checked_too(flaky):
    """A name that passed the check but connects to a private address (DNS rebinding) is refused on
    the socket: here the pool itself is asked for the loopback server, the name check left out."""
    from videolake.imports.fetch import Fetcher, RefusedPeer

    base, _, _ = flaky
    with pytest.raises(RefusedPeer, match="127.0.0.1, a private, loopback or link-local address"):
        Fetcher(dataclasses.replace(FAST, allow_private=False)).http.request("GET", f"{base}/ok/clip.mp4")


def test_a_later_process_continues_what_an_earlier_one_left(flaky, tmp_path):
    base, clip, sha = flaky
    part = tmp_path / "f.part"
    once = dataclasses.replace(FAST, max_attempts=1)
    with pytest.raises(FetchError):  # the first answer is cut after a third: this "process" stops there
        fetch_url(f"{base}/cut/clip.mp4", part, deadline=in_seconds(60), policy=once)
    left = part.stat().st_size
    assert left == clip.stat().st_size // 3 and part.with_name("f.part.resume").exists()
    got = fetch_url(f"{base}/cut/clip.mp4", part, deadline=in_seconds(60), policy=FAST, resume=True)
    assert got.sha256 == sha and got.resumed_from == [left] and got.attempts == 1
    assert not part.with_name("f.part.resume").exists()


def test_a_changed_file_is_not_continued(flaky, tmp_path):
    """The kept validator no longer matches (the file changed): the server's 200 starts it over."""
    base, clip, sha = flaky
    part = tmp_path / "f.part"
    with pytest.raises(FetchError):
        fetch_url(f"{base}/cut/clip.mp4", part, deadline=in_seconds(60), policy=dataclasses.replace(FAST, max_attempts=1))
    resume = part.with_name("f.part.resume")
    resume.write_text(resume.read_text().replace('"validator": "\\"', '"validator": "\\"0ld'))
    got = fetch_url(f"{base}/cut/clip.mp4", part, deadline=in_seconds(60), policy=FAST, resume=True)
    assert got.sha256 == sha and got.resumed_from == [] and got.size == clip.stat().st_size


def test_without_resume_a_left_part_file_is_started_over(flaky, tmp_path):
    base, _, sha = flaky
    part = tmp_path / "f.part"
    with pytest.raises(FetchError):
        fetch_url(f"{base}/cut/clip.mp4", part, deadline=in_seconds(60), policy=dataclasses.replace(FAST, max_attempts=1))
    got = fetch_url(f"{base}/ok/clip.mp4", part, deadline=in_seconds(60), policy=FAST)
    assert got.sha256 == sha and got.resumed_from == []
