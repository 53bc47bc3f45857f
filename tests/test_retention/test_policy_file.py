"""The retention file: the documented shape works; a bad file is rejected whole with line and reason."""

from __future__ import annotations

import pytest

from videolake.retention.policy import Keep, PolicyError, load_policy, parse_policy, parse_size

EXAMPLE = """\
default: {keep_hot_days: 30, keep_days: 365}
sources: {uploads: {keep_days: 90}}
cameras: {cam1: {keep_hot_days: 7, keep_days: 30}}
quotas: {"file:///srv/videolake/storage": 500GB}
max_delete_share: 0.2   # refuse a sweep that would delete more than 20% of the catalog
"""


def test_the_documented_shape_works_and_inherits_field_by_field():
    policy = parse_policy(EXAMPLE)
    assert policy.default == Keep(30, 365)
    assert policy.for_video("uploads", None) == (Keep(30, 90), "sources.uploads")
    assert policy.for_video("uploads", "cam1") == (Keep(7, 30), "cameras.cam1")
    assert policy.for_video("other", "cam9") == (Keep(30, 365), "default")
    assert policy.quotas == {"file:///srv/videolake/storage": 500 * 10**9}
    assert policy.max_delete_share == 0.2


@pytest.mark.parametrize("text, line, reason", [
    ("default: {keep_days: -1}", 1, "cannot be negative"),
    ("default:\n  keep_days: 30\n  keep_hot_days: 60\n", 1, "longer than keep_days"),
    ("sources:\n  uploads: {keep_dayz: 3}\n", 2, "not a policy field"),
    ("cameras:\n  cam1: {keep_days: soon}\n", 2, "whole number of days"),
    ("quotas:\n  \"file:///x\": lots\n", 2, "is not a size"),
    ("quotas:\n  \"ftp://x/y\": 1GB\n", 2, "unknown storage scheme"),
    ("max_delete_share: 1.5\n", 1, "at most 1"),
    ("retain: forever\n", 1, "unknown setting"),
    ("sources:\n  a: {keep_days: 1}\n  a: {keep_days: 2}\n", 3, "given twice"),
    ("default: [1, 2\n", 2, "not valid YAML"),
])
def test_bad_files_are_rejected_with_line_and_reason(text, line, reason):
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "retention.yaml")
    assert f"line {line}" in str(err.value) and reason in str(err.value)
    assert "is not applied" in str(err.value) or "not valid YAML" in str(err.value)


def test_every_problem_is_listed_at_once():
    with pytest.raises(PolicyError) as err:
        parse_policy("default: {keep_days: -1}\nmax_delete_share: 0\nwhatever: 1\n")
    assert str(err.value).count("line ") == 3


def test_no_file_keeps_everything(tmp_path):
    policy = load_policy(tmp_path / "retention.yaml")
    assert policy.for_video("uploads", None) == (Keep(None, None), "default") and policy.quotas == {}


@pytest.mark.parametrize("value, expected", [("500GB", 500 * 10**9), ("1.5TiB", int(1.5 * 2**40)), (1000, 1000),
                                             ("20 MiB", 20 * 2**20)])
def test_sizes(value, expected):
    assert parse_size(value) == expected


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9)
) + "default: {keep_days: 30}\n"


def test_yaml_aliases_are_refused_before_they_expand():
    with pytest.raises(PolicyError) as err:
        parse_policy(BILLION_LAUGHS, "retention.yaml")
    assert "line 2: YAML aliases (*a) are not allowed" in str(err.value)


def test_a_bad_or_oversized_policy_file_exits_2_with_one_message_and_quickly(tmp_path, cli_env):
    import time

    from tests.conftest import cli

    policy = tmp_path / "retention.yaml"
    env = {**cli_env, "VIDEOLAKE_RETENTION": str(policy)}
    for text, message in ((BILLION_LAUGHS, "YAML aliases (*a) are not allowed"),
                          ("# filler\n" * (10 * 1024 * 1024 // 9), "larger than 262144 bytes"),
                          ("default: {keep_days: soon}\n", "line 1: default.keep_days must be a whole number")):
        policy.write_text(text)
        started = time.monotonic()
        result = cli(env, "retention", "plan")
        assert result.returncode == 2, result.stdout + result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        assert result.stdout == ""
        assert time.monotonic() - started < 20
