"""Partitions are days (the landing or recording date), never one per file.

A day is a partition once it has files: the sensors add the days of the batches they claim, the
catalog-runs sensor the days `videolake ingest` ran for, and the landing sensor's first tick the days the catalog already
holds (an instance made before, or a catalog moved in). So the UI shows only days that hold data,
and a complete day is green, not one of thousands of "missing" days since some start date.
Backfills select those days as usual. Days are listed in the order they were added: in date
order, except a day added later than newer ones (old recordings imported after new ones).
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from pipelines import names

landing_days = dg.DynamicPartitionsDefinition(name=names.PARTITIONS_LANDING_DAYS)


def missing_days(instance: dg.DagsterInstance, days: Iterable[str]) -> list[str]:
    """Of ``days``, those that are not partitions yet, in date order."""
    wanted = sorted(set(days))
    if not wanted:
        return []
    known = set(instance.get_dynamic_partitions(names.PARTITIONS_LANDING_DAYS))
    return [day for day in wanted if day not in known]


def add_landing_days(instance: dg.DagsterInstance, days: Iterable[str]) -> list[str]:
    """Make ``days`` partitions (those that are not yet); returns the ones added."""
    new = missing_days(instance, days)
    if new:
        instance.add_dynamic_partitions(names.PARTITIONS_LANDING_DAYS, new)
    return new
