"""Exports through Dagster: the request sensor, the asset, the launchpad config, failures."""

from __future__ import annotations

import dagster as dg
import pytest

from assets import video_exports
from pipelines.definitions import defs
from sensors import export_requests_sensor
from tests.test_exports.conftest import at
from videolake.exports.engine import ExportRequest, create_export, load_export


def materialize_export(lake, config, instance=None, raise_on_error=True):
    return dg.materialize(
        [video_exports], resources=lake.resources(), instance=instance, raise_on_error=raise_on_error,
        run_config={"ops": {"video_exports": {"config": config}}},
    )


def test_sensor_launches_pending_exports_once(site):
    catalog = site.catalog()
    export_id = create_export(catalog, ExportRequest(["cam3"], at("10:00:00"), at("10:00:10"), reason="incident 4711"))
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=site.resources(), definitions=defs)
        [request] = export_requests_sensor.evaluate_tick(ctx).run_requests
        assert request.run_key == export_id
        result = materialize_export(site, request.run_config["ops"]["video_exports"]["config"], instance)
        meta = {k: v.value for k, v in result.asset_materializations_for_node("video_exports")[0].metadata.items()}
        assert (meta["export_id"], meta["status"], meta["reason"]) == (export_id, "COMPLETED", "incident 4711")
        ctx = dg.build_sensor_context(instance=instance, resources=site.resources(), definitions=defs)
        assert export_requests_sensor.evaluate_tick(ctx).skip_message == "no pending export requests"
    assert load_export(catalog, export_id).status == "COMPLETED"


def test_launchpad_request_and_a_failing_one(site):
    ok = materialize_export(site, {"cameras": ["cam7"], "start": "2026-11-20T10:00:00Z", "end": "2026-11-20T10:00:03Z"})
    assert ok.success
    bad = materialize_export(site, {"cameras": ["cam3"], "start": "2026-11-20T12:00:00", "end": "2026-11-20T12:10:00"},
                             raise_on_error=False)
    assert not bad.success
    failure = [e for e in bad.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "no footage of cam3" in failure.event_specific_data.user_failure_data.description


@pytest.mark.parametrize("config, message", [
    ({"cameras": ["cam3"], "start": "2026-11-20T10:00:00Z"}, "needs a end time"),
    ({"cameras": ["cam3"], "start": "soon", "end": "2026-11-20T10:00:00Z"}, "not an ISO 8601 time"),
])
def test_launchpad_config_is_checked(site, config, message):
    result = materialize_export(site, config, raise_on_error=False)
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert message in failure.event_specific_data.user_failure_data.description


def test_exports_whose_run_died_are_retried_then_given_up(site):
    from resources import StorageResource

    catalog = site.catalog()
    export_id = create_export(catalog, ExportRequest(["cam3"], at("10:00:00"), at("10:00:05")))
    broken = site.resources(hot_storage=StorageResource(url="ftp://nowhere/x"))  # every run dies before the export
    keys = []
    with dg.instance_for_test() as instance:
        for _ in range(3):
            ctx = dg.build_sensor_context(instance=instance, resources=site.resources(), definitions=defs)
            [request] = export_requests_sensor.evaluate_tick(ctx).run_requests
            keys.append(request.run_key)
            result = dg.materialize([video_exports], resources=broken, instance=instance, tags=request.tags,
                                    run_config=request.run_config, raise_on_error=False)
            assert not result.success
        assert load_export(catalog, export_id).status == "PENDING"
        ctx = dg.build_sensor_context(instance=instance, resources=site.resources(), definitions=defs)
        assert export_requests_sensor.evaluate_tick(ctx).skip_message == "no pending export requests"
    assert keys == [export_id, f"{export_id}:attempt-2", f"{export_id}:attempt-3"]
    failed = load_export(catalog, export_id)
    assert failed.status == "FAILED" and "gave up after 3 runs" in failed.error
